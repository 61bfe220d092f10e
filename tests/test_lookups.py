"""The engine's quick lookups give what their plain definitions give.

``Calendar.window_of`` searches the windows (outputs ask it for every dose day) and the plan numbers a
drug's own cycles in one pass (999 cycles once cost half a million membership tests, and a 7-second
``dispense``): each is checked here against the obvious, slow definition it replaced.
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace
from typing import cast

from hypothesis import given, settings
from hypothesis import strategies as st

from lenasched import expand, get_protocol
from lenasched.engine.calendar import Calendar
from lenasched.engine.plan import _own_cycles
from lenasched.model.dayspec import CycleSet
from lenasched.model.events import Delay, PatientEvents
from lenasched.model.protocol import DrugRegimen


def _scan(calendar: Calendar, day: date) -> object:
    return next((w for w in calendar.windows if w.start <= day <= w.end), None)


@settings(max_examples=40, deadline=None)
@given(
    delays=st.dictionaries(st.integers(2, 6), st.integers(1, 20), max_size=3),
    probes=st.lists(st.integers(-10, 260), min_size=1, max_size=30),
)
def test_window_of_is_the_window_containing_the_day(delays: dict[int, int], probes: list[int]) -> None:
    events = PatientEvents(events=[Delay(cycle=c, days=d) for c, d in delays.items()])
    start = date(2027, 1, 4)
    calendar = expand(get_protocol("chen-2011"), start, cycles=6, events=events)
    for k in probes:
        day = start + timedelta(days=k)
        assert calendar.window_of(day) is _scan(calendar, day), day
    for window in calendar.windows:  # its first and last day, and the day after: the next window or a delay's gap
        for day in (window.start, window.end, window.end + timedelta(days=1)):
            assert calendar.window_of(day) is _scan(calendar, day), day


def test_window_of_a_hand_built_calendar_with_windows_out_of_order() -> None:
    calendar = expand(get_protocol("badoux-2011"), date(2027, 1, 4), cycles=3)
    shuffled = Calendar(
        protocol=calendar.protocol,
        start=calendar.start,
        days=calendar.days,
        windows=tuple(reversed(calendar.windows)),
    )
    for window in calendar.windows:
        assert shuffled.window_of(window.start) == window
        assert shuffled.window_of(window.end) == window


def _naive(applies: CycleSet, cycle: int) -> int:
    return sum(1 for c in range(applies.first, cycle + 1) if c in applies)


@settings(max_examples=60, deadline=None)
@given(
    lo=st.integers(1, 12),
    span=st.one_of(st.none(), st.integers(0, 30)),
    every=st.integers(1, 4),
    extra=st.lists(st.integers(1, 60), max_size=3),
    cycles=st.lists(st.integers(1, 80), min_size=1, max_size=20, unique=True),
)
def test_own_cycles_counts_as_the_definition_does(
    lo: int, span: int | None, every: int, extra: list[int], cycles: list[int]
) -> None:
    hi = None if span is None else lo + span
    applies = CycleSet(ranges=((lo, hi),), every=every) if every > 1 else CycleSet(((lo, hi), *((e, e) for e in extra)))
    regimen = cast(DrugRegimen, SimpleNamespace(applies_to=applies))  # all that _own_cycles reads
    wanted = sorted(c for c in cycles if c >= applies.first)
    assert _own_cycles(regimen, wanted) == {c: _naive(applies, c) for c in wanted}
