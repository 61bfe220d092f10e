from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lenasched.model.dayspec import format_days, parse_cycles, parse_days


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("1-21", tuple(range(1, 22))),
        ("1, 8, 15", (1, 8, 15)),
        ("1-3,8", (1, 2, 3, 8)),
        (5, (5,)),
        ([1, "3-4"], (1, 3, 4)),
        ("9–12", (9, 10, 11, 12)),
    ],
)
def test_parse_days(text: object, days: tuple[int, ...]) -> None:
    assert parse_days(text) == days


@pytest.mark.parametrize("bad", ["0", "5-1", "a", "1,,2", "", True, 2.5, "1-"])
def test_parse_days_refuses(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_days(bad)


@given(st.sets(st.integers(1, 366), min_size=1))
def test_format_days_round_trips(days: set[int]) -> None:
    ordered = tuple(sorted(days))
    assert parse_days(format_days(ordered)) == ordered


@pytest.mark.parametrize("days", ["367", "1-367", [1, 400], (1, 367)])
def test_a_day_past_the_longest_cycle_is_refused(days: object) -> None:
    with pytest.raises(ValueError, match="longest possible cycle"):
        parse_days(days)


def test_cycles() -> None:
    assert 7 in parse_cycles("2-") and 1 not in parse_cycles("2-")
    assert [c for c in range(1, 30) if c in parse_cycles("7-23/2")] == list(range(7, 24, 2))
    assert parse_cycles("all").last is None
    assert parse_cycles("1-6").last == 6
    assert str(parse_cycles("3-6")) == "3-6"
    with pytest.raises(ValueError):
        parse_cycles("6-3")
