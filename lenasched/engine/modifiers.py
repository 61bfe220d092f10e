"""Modifiers: what happens to a patient, as small typed objects folded over the plan in date order.

Each patient event becomes one modifier. ``apply`` (in ``apply.py``) walks a drug's planned
administrations in date order and, before each, lets every modifier dated on or before it change
the drug's ``DrugState``; the state then decides the dose with the shared transitions. Every
modifier writes what it did into the one audit trail. A new kind of event is a new class here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from lenasched.engine.calendar import Modification
from lenasched.model.doses import format_dose

if TYPE_CHECKING:
    from lenasched.model.events import Hold, NoEscalation, Resume, Stop

__all__ = ["DrugState", "FreezeEscalation", "HoldDrug", "Modifier", "ResumeDrug", "StopDrug", "Trail"]


@dataclass
class Trail:
    """The one audit trail of a calendar; ``note`` adds an entry once."""

    entries: list[Modification] = field(default_factory=list)
    _seen: set[Modification] = field(default_factory=set)

    def note(self, when: date, drug: str | None, event: str, effect: str) -> None:
        entry = Modification(when, drug, event, effect)
        if entry not in self._seen:
            self._seen.add(entry)
            self.entries.append(entry)


@dataclass
class DrugState:
    """Where one drug's course stands during the fold (one patient)."""

    drug: str
    unit: str = "mg"
    phase: str | None = None  # phase of the last administration considered; a new phase resets reductions
    held: Hold | None = None
    held_days: dict[Hold, list[date]] = field(default_factory=dict)
    pending: list[tuple[Resume, Hold]] = field(default_factory=list)  # resumes applied, in order, at the next dose
    pauses: list[tuple[date, date]] = field(default_factory=list)  # holds resumed at the same level: [from, to)
    ceiling: Decimal | None = None  # no dose above this for the rest of the phase (a reduction)
    pinned: Decimal | None = None  # the prescriber's dose for the rest of the phase (resume with a dose)
    last_dose: Decimal | None = None  # last dose given in this phase
    freeze_noted: bool = False
    frozen: NoEscalation | None = None
    stopped: Stop | None = None
    stop_noted: bool = False
    reason: str = ""  # what constrains the dose now, for ``modified_by``
    steps: dict[int, int] = field(default_factory=dict)  # course key -> escalation step last given

    def paused_days(self, first: date, when: date) -> int:
        """Held days (resumed at the same level) between a course's first planned dose and ``when``.

        Only those days delay the course's day-counted escalation: a hold in an earlier phase does not.
        """
        return sum(max(0, (min(to, when) - max(since, first)).days) for since, to in self.pauses)

    def enter_phase(self, phase: str) -> None:
        """A reduction belongs to its phase: the next phase starts at its own planned dose."""
        if self.phase is not None and phase != self.phase:
            self.ceiling = None
            self.pinned = None
            self.last_dose = None
            if not self.pending:
                self.reason = ""
        self.phase = phase


class Modifier:
    """One patient event in the fold: ``date`` orders it, ``apply`` changes the state."""

    date: date
    order: int = 1  # on the same date: resumes (0) before holds, freezes and stops (1)

    def apply(self, state: DrugState, trail: Trail) -> None:
        raise NotImplementedError


@dataclass
class HoldDrug(Modifier):
    hold: Hold

    @property
    def date(self) -> date:  # type: ignore[override]
        return self.hold.date

    def apply(self, state: DrugState, trail: Trail) -> None:
        state.held = self.hold
        state.held_days.setdefault(self.hold, [])


@dataclass
class ResumeDrug(Modifier):
    resume: Resume
    hold: Hold
    order: int = 0

    @property
    def date(self) -> date:  # type: ignore[override]
        return self.resume.date

    def apply(self, state: DrugState, trail: Trail) -> None:
        state.held = None
        if self.resume.dose is None and self.resume.level == "same":
            state.pauses.append((self.hold.date, self.resume.date))
            state.reason = f"escalation paused by {self.hold.describe()}"
        state.pending.append((self.resume, self.hold))  # a later hold does not undo it: it waits for a dose


@dataclass
class FreezeEscalation(Modifier):
    event: NoEscalation

    @property
    def date(self) -> date:  # type: ignore[override]
        return self.event.date

    def apply(self, state: DrugState, trail: Trail) -> None:
        if state.frozen is not None:  # a second freeze changes nothing more: say so
            trail.note(
                self.event.date,
                state.drug,
                self.event.describe(),
                f"{state.drug}: no escalation already since {state.frozen.date.isoformat()}; nothing more changed",
            )
            return
        state.frozen = self.event


@dataclass
class StopDrug(Modifier):
    event: Stop

    @property
    def date(self) -> date:  # type: ignore[override]
        return self.event.date

    def apply(self, state: DrugState, trail: Trail) -> None:
        if state.stopped is not None:  # already stopped (e.g. a reduction below the lowest level): say so
            trail.note(
                self.event.date,
                state.drug,
                self.event.describe(),
                f"{state.drug}: already stopped on {state.stopped.date.isoformat()}; nothing more to stop",
            )
            return
        state.stopped = self.event


def describe_change(drug: str, before: Decimal, after: Decimal, unit: str) -> str:
    return f"{drug} {format_dose(before)} -> {format_dose(after)} {unit}"
