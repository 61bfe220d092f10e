"""Whatever a protocol file holds, the loader answers with a valid protocol or a located ProtocolError.

Random documents and random mutations of a bundled protocol must never escape as another exception
(a traceback in the CLI is a defect).
"""

from __future__ import annotations

import contextlib
import copy
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import ProtocolError

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 400),
    st.sampled_from(["1-21", "1, 8, 15", "2-", "all", "mg/m2", "oral", "x", "", "-3", "7-23/2", "1.5"]),
    st.decimals(min_value=-5, max_value=50, places=1, allow_nan=False).map(float),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text("abcdeiklnoprstuvy_", max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


def _parse(text: str) -> None:
    """Parse, and expand what parses: only lenasched's own errors may come out."""
    try:
        protocol = lenasched.parse_protocol(text, "fuzz.yaml")
    except ProtocolError as exc:
        assert str(exc).startswith("fuzz.yaml")
        return
    patient = lenasched.Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal(70))
    with contextlib.suppress(lenasched.LenaschedError):
        lenasched.expand(protocol, date(2026, 1, 5), cycles=4, patient=patient)


@settings(max_examples=300)
@given(documents)
def test_random_documents_never_escape(doc: Any) -> None:
    _parse(yaml.safe_dump({"schema_version": 1, "id": "fuzz", **doc} if isinstance(doc, dict) else doc))


BASE = lenasched.get_protocol("james-2014-lr").model_dump(mode="json", exclude_none=True, exclude={"includes"})


@settings(max_examples=300)
@given(st.data())
def test_mutated_bundled_protocol_never_escapes(data: st.DataObject) -> None:
    doc = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)[1:]))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(scalars)
    _parse(yaml.safe_dump(doc, sort_keys=False))
