"""How far ahead to look: ``"24w"``, ``"168d"`` or ``168`` (days), as ``compare`` and ``simulate`` take it.

A horizon is a whole number of days counted from day 1, so "day 168" and "24 weeks" are the same
calendar everywhere. Months and years are not accepted: their length in days is ambiguous.
"""

from __future__ import annotations

import re

__all__ = ["MAX_HORIZON_DAYS", "format_horizon", "parse_horizon"]

MAX_HORIZON_DAYS = 20 * 366

_PATTERN = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_horizon(text: str | int) -> int:
    """Days in a horizon: ``"24w"`` -> 168, ``"30d"`` -> 30, ``"30"`` -> 30.

    >>> parse_horizon("24w"), parse_horizon("730d"), parse_horizon(28)
    (168, 730, 28)
    """
    if isinstance(text, bool):
        raise ValueError("a horizon is a number of days or weeks, not a boolean")
    if isinstance(text, int):
        days = text
    else:
        match = _PATTERN.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a horizon; write days or weeks, e.g. 168d or 24w")
        days = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
    if days < 1:
        raise ValueError(f"a horizon must be at least 1 day, got {days}")
    if days > MAX_HORIZON_DAYS:
        raise ValueError(f"a horizon of {days} days is longer than the {MAX_HORIZON_DAYS}-day limit")
    return days


def format_horizon(days: int) -> str:
    """``168`` -> ``"168 days (24 weeks)"``; weeks only when whole."""
    return f"{days} days" + (f" ({days // 7} weeks)" if days % 7 == 0 else "")
