"""The expanded calendar: dose days and cycle windows, with the queries every consumer needs.

Renderers and exporters only read a ``Calendar``; they never look back into the protocol's rules.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, NamedTuple

from lenasched.engine.safety import Permission, check_rows
from lenasched.errors import ScheduleError, UnknownDrugError, WrongTypeError
from lenasched.model.drugs import LENALIDOMIDE, normalise_drug
from lenasched.model.shapes import ProtocolShape

if TYPE_CHECKING:
    from lenasched.engine.renal import RenalAdjustment
    from lenasched.model.events import PatientEvents
    from lenasched.model.label import Market
    from lenasched.model.patient import Patient
    from lenasched.model.protocol import Protocol

__all__ = ["Calendar", "CycleWindow", "DoseDay", "LeadInWindow", "Modification"]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def as_date(value: object, name: str = "date") -> date:
    """``value`` as a date: a ``datetime.date`` as it is, an ISO ``YYYY-MM-DD`` string parsed.

    Anything else is refused rather than matched against nothing: a ``datetime`` (``WrongTypeError``:
    which day a moment falls on depends on its time zone; pass ``.date()``), a number or None
    (``WrongTypeError``), a string that is not a date (``ScheduleError``).
    """
    if type(value) is date:
        return value
    if isinstance(value, datetime):
        raise WrongTypeError(name, "a date (datetime.date or 'YYYY-MM-DD'); for a datetime pass its .date()", value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        raise ScheduleError(f"{name} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01")
    raise WrongTypeError(name, "a date (datetime.date or 'YYYY-MM-DD')", value)


class DoseDay(NamedTuple):
    """One drug given on one date. ``dose``/``unit`` are as prescribed; ``dose_mg`` is what is given.

    ``study_day`` counts from the start date (cycle 1 day 1 = day 1); lead-in days are -N..-1 (there
    is no day 0), with ``cycle`` None and ``cycle_day`` the same negative number. An immutable named
    tuple: a long calendar builds thousands of them, and a tuple is built several times faster than a
    frozen dataclass. ``row._replace(dose=...)`` gives a changed copy.
    """

    date: date
    study_day: int
    phase: str
    cycle: int | None
    cycle_day: int
    drug: str
    dose: Decimal
    unit: str
    route: str
    dose_mg: Decimal
    role: str = "treatment"
    modified_by: str = ""


@dataclass(frozen=True, slots=True)
class Modification:
    """One entry of the audit trail: what a patient event changed in the planned calendar."""

    date: date
    drug: str | None
    event: str
    effect: str


@dataclass(frozen=True, slots=True)
class CycleWindow:
    """One cycle: its dates, the days something is given (on-days) and the rest days."""

    phase: str
    cycle: int
    index: int
    start: date
    end: date
    length_days: int
    on_days: tuple[date, ...]
    rest_days: tuple[date, ...]
    complete: bool = True

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True, slots=True)
class LeadInWindow:
    """The days before cycle 1 day 1 (days -N..-1): not a cycle, so ``--cycles`` does not count it."""

    start: date
    end: date
    on_days: tuple[date, ...]
    rest_days: tuple[date, ...]

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


@dataclass(frozen=True)
class Calendar:
    """A protocol expanded from a start date (cycle 1 day 1): iterate it for its dose days.

    Built by ``expand``; building one directly runs the same safety check (no dose above the cap,
    no lenalidomide dose that capsules cannot make, unless ``allow`` names the permission).
    """

    protocol: Protocol
    start: date
    days: tuple[DoseDay, ...]
    windows: tuple[CycleWindow, ...]
    patient: Patient | None = None
    modifications: tuple[Modification, ...] = ()
    lead_in: LeadInWindow | None = None
    renal: RenalAdjustment | None = None
    events: PatientEvents | None = field(default=None, repr=False)
    cycles: int | None = None
    until: date | None = None
    allow: frozenset[Permission] = frozenset()
    market: Market = "us"
    """Where the capsules are dispensed (``us`` or ``eu``): the capsule strengths differ."""

    def __post_init__(self) -> None:
        if not isinstance(self.protocol, ProtocolShape):
            raise WrongTypeError("Calendar.protocol", "a lenasched.Protocol", self.protocol)
        if type(self.start) is not date:
            raise WrongTypeError("Calendar.start", "a datetime.date", self.start)
        check_rows(self.protocol, self.days, frozenset(self.allow), self.market)

    @cached_property
    def _by_date(self) -> dict[date, tuple[DoseDay, ...]]:
        """Rows by date, built on the first ``on()`` (most outputs only iterate)."""
        index: dict[date, list[DoseDay]] = {}
        for day in self.days:
            index.setdefault(day.date, []).append(day)
        return {k: tuple(v) for k, v in index.items()}

    def __iter__(self) -> Iterator[DoseDay]:
        return iter(self.days)

    def __len__(self) -> int:
        return len(self.days)

    @property
    def protocol_id(self) -> str:
        return self.protocol.id

    @property
    def end(self) -> date:
        """Last date of the last cycle window."""
        return self.windows[-1].end if self.windows else self.start

    @property
    def first_date(self) -> date:
        """The first date of the calendar: the first lead-in day, else the start."""
        return self.lead_in.start if self.lead_in is not None else self.start

    @property
    def drugs(self) -> tuple[str, ...]:
        """Drugs that occur in this calendar, in protocol order."""
        present = {d.drug for d in self.days}
        return tuple(name for name in self.protocol.drugs if name in present)

    def on(self, day: date | str) -> tuple[DoseDay, ...]:
        """Everything given on ``day`` (empty on rest days and outside the calendar).

        ``day`` is a ``datetime.date`` or an ISO ``YYYY-MM-DD`` string; anything else is refused
        (``WrongTypeError``), so a wrong type never reads as "nothing given that day".
        """
        return self._by_date.get(as_date(day, "day"), ())

    def for_drug(self, drug: str) -> tuple[DoseDay, ...]:
        """The dose days of ``drug`` (any case or spacing: ``"Lenalidomide "``); empty if it is never given.

        A drug the protocol does not name is refused (``UnknownDrugError``, listing its drugs).
        """
        name = self._drug(drug)
        return tuple(d for d in self.days if d.drug == name)

    def between(self, first: date | str, last: date | str) -> tuple[DoseDay, ...]:
        """Dose days with ``first <= date <= last`` (dates or ``YYYY-MM-DD``; ``first`` after ``last`` is refused)."""
        low, high = as_date(first, "first"), as_date(last, "last")
        if low > high:
            raise ScheduleError(f"between({low.isoformat()}, {high.isoformat()}): the first date is after the last")
        return tuple(d for d in self.days if low <= d.date <= high)

    def window_of(self, day: date | str) -> CycleWindow | None:
        """The cycle ``day`` falls in; None for a lead-in day, a delay gap or a day outside the calendar."""
        when = as_date(day, "day")
        starts = self._window_starts
        if starts is None:  # windows out of order (a calendar built by hand): look at each
            return next((window for window in self.windows if when in window), None)
        i = bisect_right(starts, when) - 1  # outputs ask this for every dose day: a search, not a scan
        return self.windows[i] if i >= 0 and when in self.windows[i] else None

    @cached_property
    def _window_starts(self) -> list[date] | None:
        """The windows' first days when they follow each other without overlapping (as ``expand`` makes them)."""
        if any(b.start <= a.end for a, b in itertools.pairwise(self.windows)):
            return None
        return [w.start for w in self.windows]

    def total_mg(self, drug: str) -> Decimal:
        """Total mg of ``drug`` over the calendar (names as in ``for_drug``; an unknown drug is refused)."""
        name = self._drug(drug)
        return sum((d.dose_mg for d in self.days if d.drug == name), Decimal(0))

    def _drug(self, drug: str) -> str:
        """``drug`` in the normal form, if the protocol gives it (or it is lenalidomide, which every calendar
        may be asked about: one without it gives none); ``UnknownDrugError`` otherwise."""
        name = normalise_drug(drug)
        known = self.protocol.drugs
        if name not in known and name != LENALIDOMIDE:
            raise UnknownDrugError(drug, known, where=self.protocol.id)
        return name

    def replace(self, **changes: Any) -> Calendar:
        """A copy with ``changes`` (checked again like any new calendar)."""
        import dataclasses

        names = [f.name for f in dataclasses.fields(self) if f.init]
        unknown = sorted(set(changes) - set(names))
        if unknown:
            raise WrongTypeError(
                "Calendar.replace()'s arguments", "fields of a Calendar (" + ", ".join(names) + ")", unknown[0]
            )
        return dataclasses.replace(self, **changes)
