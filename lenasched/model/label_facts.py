"""The few label facts every calendar needs (capsule strengths, the CLL sentence), without pydantic.

``lenasched.model.label`` validates the whole label file; a calendar needs only these facts, so they
are kept in the user's cache (``lenasched.model.cache``) as plain JSON keyed by the file's bytes and
read back here without importing the label's models (the command line's start-up).
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, NamedTuple

__all__ = ["MARKETS", "MAX_BYTES", "LabelFacts", "Market", "bundled_facts", "bundled_strengths", "label_path"]

MAX_BYTES = 200_000
"""The largest label file read."""

Market = Literal["us", "eu"]
MARKETS: tuple[Market, ...] = ("us", "eu")
"""Where the capsules are dispensed: the strengths on the market differ (the EU has 7.5 mg)."""


def label_path() -> Path:
    """Where the bundled label file is (beside the bundled protocols, in ``label/``)."""
    from lenasched.model.registry import protocols_dir

    return protocols_dir() / "label" / "lenalidomide.yaml"


class LabelFacts(NamedTuple):
    """The few label values every calendar needs, readable without validating the whole label again."""

    strengths_us: tuple[Decimal, ...]
    strengths_eu: tuple[Decimal, ...]
    not_indicated_cll: str


@cache
def bundled_facts() -> LabelFacts:
    """``LabelFacts`` of the bundled label: from the cache (``lenasched.model.cache``) when this exact file was
    validated before by this version of lenasched, else from ``load_label()`` (which validates it all)."""
    from lenasched.model.cache import load as load_cached
    from lenasched.model.cache import store as store_cached

    path = label_path()
    try:
        data = path.read_bytes() if path.is_file() and path.stat().st_size <= MAX_BYTES else None
    except OSError:
        data = None
    if data is not None:
        facts = _facts_from(load_cached("label-facts", data))
        if facts is not None:
            return facts
    from lenasched.model.label import load_label

    label = load_label()  # validates, and raises the located error for a missing or invalid file
    facts = LabelFacts(label.strengths_for("us"), label.strengths_for("eu"), label.not_indicated_cll.value)
    if data is not None:
        store_cached(
            "label-facts",
            data,
            {
                "strengths_us": [str(s) for s in facts.strengths_us],
                "strengths_eu": [str(s) for s in facts.strengths_eu],
                "not_indicated_cll": facts.not_indicated_cll,
            },
        )
    return facts


def _facts_from(value: Any) -> LabelFacts | None:
    """A cache entry back as ``LabelFacts``; None for anything not exactly of the stored shape."""
    try:
        us = tuple(Decimal(s) for s in value["strengths_us"] if isinstance(s, str))
        eu = tuple(Decimal(s) for s in value["strengths_eu"] if isinstance(s, str))
        quote = value["not_indicated_cll"]
    except (TypeError, KeyError, ArithmeticError, ValueError):
        return None
    if not us or not eu or not isinstance(quote, str) or not all(d.is_finite() and d > 0 for d in (*us, *eu)):
        return None
    if len(us) != len(value["strengths_us"]) or len(eu) != len(value["strengths_eu"]):
        return None
    return LabelFacts(us, eu, quote)


def bundled_strengths(market: Market) -> tuple[Decimal, ...]:
    """Capsule strengths in mg on ``market`` according to the bundled label, smallest first."""
    facts = bundled_facts()
    if market == "eu":
        return facts.strengths_eu
    if market == "us":
        return facts.strengths_us
    raise ValueError(f"unknown market {market!r}; known: {', '.join(MARKETS)}")
