"""Compact day and cycle selectors: ``"1-21"``, ``"1, 8, 15"``, ``"2-"`` (cycle 2 onwards).

Protocols are written the way papers write them; these parsers turn that text into exact sets
so the engine never re-interprets strings.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date
from typing import Any

from lenasched.errors import ScheduleError
from lenasched.model.limits import MAX_CYCLE_DAY, MAX_CYCLES, MAX_CYCLES_IN_A_PHASE

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "CycleSet",
    "check_date_span",
    "format_days",
    "format_lead_in_days",
    "parse_cycles",
    "parse_days",
    "parse_lead_in_days",
]


EARLIEST_DATE = date(3, 1, 1)
"""The first date a calendar may hold (a lead-in included): two years inside Python's calendar, for
outputs that look back (an iCalendar time zone's span starts a year before the calendar)."""
LATEST_DATE = date(9997, 12, 31)
"""The last date a calendar may reach (delays included): two years inside Python's calendar, for outputs
that look ahead (the next month of a printed grid, a time zone's span, the next pregnancy test)."""


def check_date_span(start: date, before: int, after: int, what: str) -> None:
    """Refuse ``what`` when it reaches ``before`` days before ``start`` or ``after`` days after it outside
    ``EARLIEST_DATE``..``LATEST_DATE`` (checked on day numbers: computing the dates could overflow)."""
    if start.toordinal() - before < EARLIEST_DATE.toordinal() or start.toordinal() + after > LATEST_DATE.toordinal():
        raise ScheduleError(
            f"{what} from {start.isoformat()} would run outside the dates lenasched writes "
            f"({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}); check the year of the start date"
        )


def _parts(value: Any, what: str) -> list[str]:
    if isinstance(value, bool):
        raise ValueError(f"{what} must be numbers or ranges like '1-21', not a boolean")
    if isinstance(value, int):
        return [str(value)]
    if isinstance(value, str):
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
    elif isinstance(value, (list, tuple)):
        parts = []
        for item in value:
            parts.extend(_parts(item, what))
    else:
        raise ValueError(f"{what} must be a number, a range like '1-21' or a list like '1, 8, 15'")
    if not parts or any(p == "" for p in parts):
        raise ValueError(f"{what} has an empty entry in {value!r}")
    return parts


def _bound(text: str, whole: str, what: str) -> int:
    text = text.strip()
    if not text.isdigit():
        raise ValueError(f"{what} entry {whole!r} is not a number or a range like '1-21'")
    number = int(text)
    if number < 1:
        raise ValueError(f"{what} are counted from 1; got {number}")
    return number


def parse_days(value: Any) -> tuple[int, ...]:
    """Parse a day selector into sorted, unique day numbers (1-based)."""
    if isinstance(value, tuple) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        if value and min(value) < 1:
            raise ValueError(f"days are counted from 1; got {min(value)}")
        if value and max(value) > MAX_CYCLE_DAY:
            raise ValueError(f"day {max(value)} is past the longest possible cycle ({MAX_CYCLE_DAY} days)")
        return tuple(sorted(set(value)))
    days: set[int] = set()
    for part in _parts(value, "days"):
        lo_text, sep, hi_text = part.replace("–", "-").partition("-")
        lo = _bound(lo_text, part, "days")
        hi = _bound(hi_text, part, "days") if sep else lo
        if hi < lo:
            raise ValueError(f"day range {part!r} runs backwards")
        if hi > MAX_CYCLE_DAY:  # checked before the range is built: "1-100000000" must not cost gigabytes
            raise ValueError(f"day {hi} in {part!r} is past the longest possible cycle ({MAX_CYCLE_DAY} days)")
        days.update(range(lo, hi + 1))
    return tuple(sorted(days))


def format_days(days: tuple[int, ...]) -> str:
    """The shortest range text for a set of days: ``(1, 2, 3, 8)`` -> ``"1-3, 8"``."""
    out: list[str] = []
    run_start: int | None = None
    prev: int | None = None
    for day in days:
        if run_start is None:
            run_start = prev = day
            continue
        assert prev is not None
        if day == prev + 1:
            prev = day
            continue
        out.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
        run_start = prev = day
    if run_start is not None:
        out.append(str(run_start) if run_start == prev else f"{run_start}-{prev}")
    return ", ".join(out)


MAX_LEAD_IN_DAYS = 366
"""A lead-in longer than a year is not a lead-in; refusing it also bounds the work."""


def parse_lead_in_days(value: Any) -> tuple[int, ...]:
    """Lead-in days before cycle 1 day 1: ``-1``, ``"-7..-1"`` or ``[-3, -2, -1]`` (no day 0).

    >>> parse_lead_in_days("-3..-1")
    (-3, -2, -1)
    """
    if isinstance(value, bool):
        raise ValueError("lead-in days must be negative numbers like -1 or a range like '-7..-1', not a boolean")
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ValueError("lead-in days are empty")
    days: set[int] = set()
    for item in items:
        if isinstance(item, bool):
            raise ValueError("lead-in days must be negative numbers, not booleans")
        if isinstance(item, int):
            lo = hi = item
        elif isinstance(item, str):
            lo_text, sep, hi_text = item.replace("–", "-").replace("−", "-").partition("..")
            try:
                lo = int(lo_text.strip())
                hi = int(hi_text.strip()) if sep else lo
            except ValueError:
                raise ValueError(f"lead-in day {item!r} is not a negative number or a range like '-7..-1'") from None
        else:
            raise ValueError("lead-in days must be a negative number, a range like '-7..-1' or a list of them")
        if lo >= 0 or hi >= 0:
            raise ValueError(
                f"lead-in days are before cycle 1 day 1, so they are negative (-1 is the day before); got {item!r}"
            )
        if hi < lo:
            raise ValueError(f"lead-in range {item!r} runs backwards; write the earliest day first, e.g. '-7..-1'")
        if lo < -MAX_LEAD_IN_DAYS:
            raise ValueError(f"a lead-in of more than {MAX_LEAD_IN_DAYS} days is refused; got {lo}")
        days.update(range(lo, hi + 1))
    return tuple(sorted(days))


def format_lead_in_days(days: tuple[int, ...]) -> str:
    """``(-7, ..., -1)`` -> ``"-7..-1"``; gaps give a comma list of ranges."""
    out: list[str] = []
    for lo, hi in _runs(days):
        out.append(str(lo) if lo == hi else f"{lo}..{hi}")
    return ", ".join(out)


def _runs(days: tuple[int, ...]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for day in days:
        if runs and day == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@dataclass(frozen=True, slots=True)
class CycleSet:
    """Which cycles of a phase something applies to; ``hi=None`` means "and every later cycle"."""

    ranges: tuple[tuple[int, int | None], ...] = ((1, None),)
    every: int = 1

    def __contains__(self, cycle: object) -> bool:
        if not isinstance(cycle, int):
            return False
        return any(
            lo <= cycle and (hi is None or cycle <= hi) and (cycle - lo) % self.every == 0 for lo, hi in self.ranges
        )

    @property
    def first(self) -> int:
        return min(lo for lo, _ in self.ranges)

    @property
    def last(self) -> int | None:
        """The last cycle named, or None when open-ended."""
        if any(hi is None for _, hi in self.ranges):
            return None
        return max(hi for _, hi in self.ranges if hi is not None)

    def first_shared(self, other: CycleSet, *, last: int | None = None, skip: Collection[int] = ()) -> int | None:
        """The first cycle in both sets, up to ``last`` (None: no end), that is not in ``skip``; None if none is.

        Exact for any two sets (ranges, open ends, ``/N`` steps), in time linear in their ranges and
        ``skip``: validation asks it which cycle two regimens of one drug both fall in, so no cycle
        the calendar would expand escapes the check (probing a few sample cycles let some through).
        """
        found: int | None = None
        for lo_a, hi_a, step_a in self._progressions():
            for lo_b, hi_b, step_b in other._progressions():
                ends = [h for h in (hi_a, hi_b, last) if h is not None]
                top = min(ends) if ends else None
                if found is not None:
                    top = found - 1 if top is None else min(top, found - 1)
                first = _first_common(lo_a, step_a, lo_b, step_b)
                if first is None:
                    continue
                period = step_a * step_b // math.gcd(step_a, step_b)
                cycle = first
                while (top is None or cycle <= top) and cycle in skip:
                    cycle += period
                if top is None or cycle <= top:
                    found = cycle
        return found

    def _progressions(self) -> list[tuple[int, int | None, int]]:
        """Each range as (first, last or None, step), overlapping and adjacent plain ranges merged."""
        if self.every > 1:
            return [(lo, hi, self.every) for lo, hi in self.ranges]
        merged: list[tuple[int, int | None, int]] = []
        for lo, hi in sorted(self.ranges, key=lambda r: r[0]):
            if merged:
                prev_lo, prev_hi, _ = merged[-1]
                if prev_hi is None or lo <= prev_hi + 1:
                    merged[-1] = (prev_lo, None if prev_hi is None or hi is None else max(prev_hi, hi), 1)
                    continue
            merged.append((lo, hi, 1))
        return merged

    def __str__(self) -> str:
        if self.ranges == ((1, None),):
            return "all"
        texts = []
        for lo, hi in self.ranges:
            texts.append(f"{lo}-" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}"))
        return ", ".join(texts) + (f"/{self.every}" if self.every > 1 else "")


def _first_common(lo_a: int, step_a: int, lo_b: int, step_b: int) -> int | None:
    """The first number both ``lo_a + k*step_a`` and ``lo_b + m*step_b`` (k, m >= 0) reach, or None."""
    if step_a < step_b:
        lo_a, step_a, lo_b, step_b = lo_b, step_b, lo_a, step_a
    low = max(lo_a, lo_b)
    cycle = lo_a + -(-(low - lo_a) // step_a) * step_a  # the first of a's cycles at or after ``low``
    for _ in range(step_b):  # a's cycles modulo step_b repeat after step_b of them
        if (cycle - lo_b) % step_b == 0:
            return cycle
        cycle += step_a
    return None


def parse_cycles(value: Any) -> CycleSet:
    """Parse ``"all"``, ``3``, ``"1-6"``, ``"2-"``, a list of those, or ``"7-23/2"`` (every 2nd cycle)."""
    if isinstance(value, CycleSet):
        return value
    if isinstance(value, str) and value.strip().lower() == "all":
        return CycleSet()
    every = 1
    if isinstance(value, str) and "/" in value:
        value, _, every_text = value.rpartition("/")
        every = _bound(every_text, every_text, "cycle steps")
        if "," in value:
            raise ValueError("a step '/N' applies to a single range like '7-23/2'")
    ranges: list[tuple[int, int | None]] = []
    if every > MAX_CYCLES:
        raise ValueError(f"a step of every {every} cycles is past the {MAX_CYCLES}-cycle limit of a calendar")
    for part in _parts(value, "cycles"):
        lo_text, sep, hi_text = part.replace("–", "-").partition("-")
        lo = _bound(lo_text, part, "cycles")
        hi_number = _bound(hi_text, part, "cycles") if hi_text.strip() else lo
        if max(lo, hi_number) > MAX_CYCLES_IN_A_PHASE:
            raise ValueError(
                f"cycle {max(lo, hi_number)} in {part!r} is past the {MAX_CYCLES_IN_A_PHASE} cycles a phase may have"
            )
        if not sep:
            ranges.append((lo, lo))
        elif hi_text.strip() == "":
            ranges.append((lo, None))
        else:
            hi = _bound(hi_text, part, "cycles")
            if hi < lo:
                raise ValueError(f"cycle range {part!r} runs backwards")
            ranges.append((lo, hi))
    return CycleSet(tuple(sorted(ranges, key=lambda r: r[0])), every)
