"""The expanded calendar: dose days and cycle windows, with the queries every consumer needs.

Renderers and exporters only read a ``Calendar``; they never look back into the protocol's rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .patient import Patient
from .protocol import Protocol

__all__ = ["Calendar", "CycleWindow", "DoseDay", "Modification"]


@dataclass(frozen=True, slots=True)
class DoseDay:
    """One drug given on one date. ``dose``/``unit`` are as prescribed; ``dose_mg`` is what is given."""

    date: date
    study_day: int
    phase: str
    cycle: int
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


@dataclass(frozen=True)
class Calendar:
    """A protocol expanded from a start date: iterate it for its dose days."""

    protocol: Protocol
    start: date
    days: tuple[DoseDay, ...]
    windows: tuple[CycleWindow, ...]
    patient: Patient | None = None
    modifications: tuple[Modification, ...] = ()
    _by_date: dict[date, tuple[DoseDay, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[date, list[DoseDay]] = {}
        for day in self.days:
            index.setdefault(day.date, []).append(day)
        object.__setattr__(self, "_by_date", {k: tuple(v) for k, v in index.items()})

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
    def drugs(self) -> tuple[str, ...]:
        """Drugs that occur in this calendar, in protocol order."""
        present = {d.drug for d in self.days}
        return tuple(name for name in self.protocol.drugs if name in present)

    def on(self, day: date) -> tuple[DoseDay, ...]:
        """Everything given on ``day`` (empty on rest days)."""
        return self._by_date.get(day, ())

    def for_drug(self, drug: str) -> tuple[DoseDay, ...]:
        return tuple(d for d in self.days if d.drug == drug)

    def between(self, first: date, last: date) -> tuple[DoseDay, ...]:
        """Dose days with ``first <= date <= last``."""
        return tuple(d for d in self.days if first <= d.date <= last)

    def window_of(self, day: date) -> CycleWindow | None:
        for window in self.windows:
            if day in window:
                return window
        return None

    def total_mg(self, drug: str) -> Decimal:
        """Total mg of ``drug`` over the calendar."""
        return sum((d.dose_mg for d in self.days if d.drug == drug), Decimal(0))
