"""Constant-dose intervals: runs of consecutive days on which one drug is given at one dose.

The exchange formats (NONMEM II/ADDL records, SDTM EX records, FHIR dosages) all describe a
schedule as "this dose, once a day, from this date to that date". One grouping rule serves them
all, so the three files always cut the calendar at the same places: an interval ends at a rest
day or when the dose, unit, mg given or route changes. A cycle or phase boundary with no rest day
and no change does not end it (the patient sees no change either).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.errors import ScheduleError

__all__ = ["DoseInterval", "dose_intervals", "require_drug"]


@dataclass(frozen=True, slots=True)
class DoseInterval:
    """``days`` are consecutive dates of one drug at one dose; at least one."""

    days: tuple[DoseDay, ...]

    @property
    def drug(self) -> str:
        return self.days[0].drug

    @property
    def first(self) -> date:
        return self.days[0].date

    @property
    def last(self) -> date:
        return self.days[-1].date

    @property
    def dose(self) -> Decimal:
        return self.days[0].dose

    @property
    def unit(self) -> str:
        return self.days[0].unit

    @property
    def dose_mg(self) -> Decimal:
        return self.days[0].dose_mg

    @property
    def route(self) -> str:
        return self.days[0].route

    def __len__(self) -> int:
        return len(self.days)

    def same_dose(self, other: DoseInterval) -> bool:
        """Same drug, prescribed dose and unit, mg given and route (dates aside)."""
        return _key(self.days[0]) == _key(other.days[0])


def _key(day: DoseDay) -> tuple[str, Decimal, str, Decimal, str]:
    return (day.drug, day.dose, day.unit, day.dose_mg, day.route)


def dose_intervals(days: Iterable[DoseDay]) -> tuple[DoseInterval, ...]:
    """Group dose days into intervals, ordered by first date, then by the order drugs first appear."""
    open_runs: dict[str, list[DoseDay]] = {}
    closed: list[tuple[DoseDay, ...]] = []
    order: dict[str, int] = {}
    for day in days:
        order.setdefault(day.drug, len(order))
        run = open_runs.get(day.drug)
        if run is not None and run[-1].date + timedelta(days=1) == day.date and _key(run[-1]) == _key(day):
            run.append(day)
            continue
        if run is not None:
            closed.append(tuple(run))
        open_runs[day.drug] = [day]
    closed.extend(tuple(run) for run in open_runs.values())
    closed.sort(key=lambda run: (run[0].date, order[run[0].drug]))
    return tuple(DoseInterval(run) for run in closed)


def require_drug(calendar: Calendar, drug: str) -> tuple[DoseDay, ...]:
    """The dose days of ``drug``; refuses (listing the drugs present) when there are none."""
    found = calendar.for_drug(drug)
    if not found:
        present = ", ".join(calendar.drugs) or "none"
        raise ScheduleError(f"{drug!r} is not given in this calendar of {calendar.protocol_id} (drugs: {present})")
    return found
