"""REMS pregnancy-test dates for a patient who can become pregnant.

The label requires two negative tests before the prescription (10-14 days before, and within 24
hours before), then tests weekly for the first 4 weeks and every 4 weeks after that (every 2
weeks if menstrual cycles are irregular), also during dose interruptions. The numbers come from
the label data file; this module only lays them out as dates for the calendar outputs to show.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from lenasched.engine.calendar import Calendar
from lenasched.errors import ScheduleError
from lenasched.model.doses import format_dose
from lenasched.model.label import Label, load_label

__all__ = [
    "THROMBOPROPHYLAXIS_DRUGS",
    "PregnancyTest",
    "pregnancy_test_dates",
    "pregnancy_tests",
    "thromboprophylaxis_reminder",
]

TestKind = Literal["before-start", "weekly", "periodic"]


@dataclass(frozen=True, slots=True)
class PregnancyTest:
    """One pregnancy test: the suggested ``date`` and the window the label allows (``earliest``-``latest``).

    The suggested date is the start of the window, so a missed test can still be done in time.
    """

    date: _dt.date
    earliest: _dt.date
    latest: _dt.date
    kind: TestKind
    number: int
    title: str
    source: str

    @property
    def is_window(self) -> bool:
        return self.earliest != self.latest


def pregnancy_test_dates(
    start: date,
    end: date,
    *,
    prescribed_on: date | None = None,
    irregular_cycles: bool = False,
    label: Label | None = None,
) -> tuple[PregnancyTest, ...]:
    """Every test from before ``start`` up to ``end`` (the last day of the calendar), in date order."""
    if end < start:
        raise ScheduleError(f"the end date {end.isoformat()} is before the start date {start.isoformat()}")
    prescribed = prescribed_on or start
    if prescribed > start:
        raise ScheduleError(
            f"the prescription date {prescribed.isoformat()} is after the start date {start.isoformat()}"
        )
    label = label or load_label()
    rules = label.pregnancy_testing
    out: list[PregnancyTest] = []
    count = len(rules.before_start)
    for i, window in enumerate(rules.before_start, start=1):
        earliest = prescribed - timedelta(days=window.days_before_earliest.value)
        latest = prescribed - timedelta(days=window.days_before_latest.value)
        out.append(
            PregnancyTest(
                date=earliest,
                earliest=earliest,
                latest=latest,
                kind="before-start",
                number=len(out) + 1,
                title=f"Pregnancy test {i} of {count} before starting ({window.name})",
                source=label.cite(window.days_before_earliest.source),
            )
        )
    weekly_source = label.cite(rules.weekly_for_weeks.source)
    last = start
    for week in range(1, rules.weekly_for_weeks.value + 1):
        when = start + timedelta(days=7 * week)
        if when > end:
            return tuple(out)
        out.append(
            PregnancyTest(when, when, when, "weekly", len(out) + 1, f"Pregnancy test (week {week})", weekly_source)
        )
        last = when
    every = rules.irregular_every_days if irregular_cycles else rules.then_every_days
    why = "irregular menstrual cycles" if irregular_cycles else "regular menstrual cycles"
    weeks = every.value // 7 if every.value % 7 == 0 else None
    step = f"every {weeks} weeks" if weeks else f"every {every.value} days"
    when = last + timedelta(days=every.value)
    while when <= end:
        out.append(
            PregnancyTest(
                when,
                when,
                when,
                "periodic",
                len(out) + 1,
                f"Pregnancy test ({step}, {why})",
                label.cite(every.source),
            )
        )
        when += timedelta(days=every.value)
    return tuple(out)


def pregnancy_tests(
    calendar: Calendar,
    *,
    prescribed_on: date | None = None,
    irregular_cycles: bool = False,
    label: Label | None = None,
) -> tuple[PregnancyTest, ...]:
    """Pregnancy tests for the whole calendar, rest days and interruptions included."""
    return pregnancy_test_dates(
        calendar.start, calendar.end, prescribed_on=prescribed_on, irregular_cycles=irregular_cycles, label=label
    )


#: Antithrombotic drugs that, given as prophylaxis in a protocol, make up its thromboprophylaxis.
THROMBOPROPHYLAXIS_DRUGS = frozenset(
    {
        "aspirin", "enoxaparin", "dalteparin", "tinzaparin", "heparin", "fondaparinux",
        "warfarin", "apixaban", "rivaroxaban", "dabigatran", "edoxaban",
    }
)  # fmt: skip


def thromboprophylaxis_reminder(calendar: Calendar) -> str | None:
    """A reminder sentence when the protocol gives thromboprophylaxis, else None.

    The lenalidomide label carries a boxed warning for venous and arterial thromboembolism; where a
    protocol pairs it with prophylaxis, the calendar says so once, next to the REMS dates.
    """
    rows = [d for d in calendar.days if d.role == "prophylaxis" and d.drug in THROMBOPROPHYLAXIS_DRUGS]
    if not rows:
        return None
    parts = []
    for drug in dict.fromkeys(d.drug for d in rows):
        mine = [d for d in rows if d.drug == drug]
        doses = "/".join(dict.fromkeys(f"{format_dose(d.dose_mg)} mg" for d in mine))
        parts.append(f"{drug} {doses} on {len(mine)} day(s), {mine[0].date.isoformat()} to {mine[-1].date.isoformat()}")
    return (
        "Thromboprophylaxis is part of this protocol: "
        + "; ".join(parts)
        + ". Lenalidomide carries a boxed warning for venous and arterial thromboembolism."
    )
