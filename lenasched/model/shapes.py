"""What a validated protocol's parts answer (their methods and properties), without pydantic.

Each pydantic model of the protocol format inherits its *shape* from here: the fields it declares
are the model's, the behaviour is the shape's. ``lenasched.model.compiled`` gives every shape a
second, plain form (attributes only, no validation) that a bundled protocol is compiled into once
and read back from the cache, so a calendar of a bundled protocol runs without importing pydantic
(the command line's start-up). One definition of the behaviour serves both forms; a test checks
that the two forms expose the same names and give byte-identical calendars.

The engine checks kinds with these classes (``isinstance(regimen, LeadInRegimenShape)``), so it
works on either form.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lenasched.model.dayspec import CycleSet
from lenasched.model.doses import format_dose
from lenasched.model.routes import is_clinic_route

__all__ = [
    "LAB_UNITS",
    "OUTCOME_FIELDS",
    "AtCycleDays",
    "CycleDayShape",
    "DrugRegimenShape",
    "EscalationShape",
    "EventsShape",
    "EveryCycles",
    "EveryDays",
    "LabRuleShape",
    "LeadInRegimenShape",
    "LeadInShape",
    "OutcomesShape",
    "PhaseShape",
    "ProtocolShape",
    "ReferenceShape",
    "RepeatShape",
    "Shape",
    "SourcedShape",
    "Timing",
    "iter_sourced",
]

LAB_UNITS: Mapping[str, str] = {"anc": "×10⁹/L", "plt": "×10⁹/L", "crcl": "mL/min"}
"""The unit of each lab value that rules and results may name."""


class Shape:
    """Base of every shape: marks a node of a protocol tree, in either form."""

    __slots__ = ()


class SourcedShape(Shape):
    """A value and its provenance: a reference key (``source``) or a stated ``assumption``."""

    __slots__ = ()
    if TYPE_CHECKING:
        value: Any
        source: str | None
        detail: str | None
        assumption: str | None
        differs_from_review: str | None

    @property
    def is_assumption(self) -> bool:
        return self.assumption is not None

    @property
    def is_sourced(self) -> bool:
        return self.source is not None or self.assumption is not None

    def provenance(self) -> str:
        """One line saying where the value came from, for ``show`` and calendars."""
        if self.assumption is not None:
            text = f"ASSUMPTION: {self.assumption}"
            if self.source:
                text += f" [{self.source}]"
            return text
        if self.source is None:
            return "unsourced"
        text = self.source + (f" ({self.detail})" if self.detail else "")
        if self.differs_from_review:
            text += f"; differs from the review: {self.differs_from_review}"
        return text


def _field_names(node: Any) -> Iterator[str]:
    """The fields of a node in declaration order: a pydantic model's ``model_fields``, else its attributes."""
    fields = getattr(type(node), "model_fields", None)
    return iter(fields if fields is not None else vars(node))


def iter_sourced(model: Any, path: str = "") -> Iterator[tuple[str, SourcedShape]]:
    """Every sourced value inside a model tree (either form), with its dotted field path (in file order)."""
    for name in _field_names(model):
        yield from _walk(getattr(model, name), f"{path}.{name}" if path else name)


def _walk(value: Any, path: str) -> Iterator[tuple[str, SourcedShape]]:
    if isinstance(value, SourcedShape):
        yield path, value
    elif isinstance(value, Shape) or hasattr(type(value), "model_fields"):
        yield from iter_sourced(value, path)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")


class ReferenceShape(Shape):
    """A publication or registry record that values can cite."""

    __slots__ = ()
    if TYPE_CHECKING:
        authors: Sequence[str]
        title: str
        journal: str | None
        year: int | None
        registry: str | None

    def short(self) -> str:
        """'Badoux XC et al. Blood 2011' style citation."""
        who = self.authors[0] + (" et al." if len(self.authors) > 1 else "") if self.authors else ""
        bits = [b for b in (who, self.journal, str(self.year) if self.year else None) if b]
        text = " ".join(bits) if bits else self.title
        if self.registry:
            text += f" ({self.registry})"
        return text


class CycleDayShape(Shape):
    """A named day of a phase: day ``day`` of cycle ``cycle``."""

    __slots__ = ()
    if TYPE_CHECKING:
        cycle: int
        day: int

    def __str__(self) -> str:
        return f"cycle {self.cycle} day {self.day}"


class RepeatShape(Shape):
    """A schedule that is not "days of a cycle": every N days, weeks or months from a cycle day."""

    __slots__ = ()
    if TYPE_CHECKING:
        every_days: SourcedShape | None
        every_weeks: SourcedShape | None
        every_months: SourcedShape | None
        start: CycleDayShape
        count: SourcedShape | None
        for_days: SourcedShape | None

    def describe(self) -> str:
        text = ""
        for name, unit in (("every_days", "day"), ("every_weeks", "week"), ("every_months", "month")):
            sourced = getattr(self, name)
            if sourced is not None:
                n = sourced.value
                text = f"every {unit}" if n == 1 else f"every {n} {unit}s"
        text += f" from {self.start}"
        if self.count is not None:
            text += f", {self.count.value} times"
        if self.for_days is not None:
            text += f", for {self.for_days.value} days"
        return text


@dataclass(frozen=True, slots=True)
class EveryDays:
    """Escalate every ``every`` days of the drug's own course; the first increase on course day ``first_step_day``."""

    every: int
    first_step_day: int


@dataclass(frozen=True, slots=True)
class EveryCycles:
    """Escalate every ``every`` of the drug's own cycles; the first increase in its own cycle ``first_step_cycle``."""

    every: int
    first_step_cycle: int


@dataclass(frozen=True, slots=True)
class AtCycleDays:
    """One named day of the drug's own cycles per increase, in order."""

    points: tuple[CycleDayShape, ...]


Timing = EveryDays | EveryCycles | AtCycleDays
"""When an escalation steps up: the typed form of the YAML's ``every_days`` / ``every_cycles`` / ``at``."""


class EscalationShape(Shape):
    """Intra-patient dose escalation: its dose levels and when it steps."""

    __slots__ = ()
    if TYPE_CHECKING:
        start: SourcedShape | None
        step: SourcedShape | None
        cap: SourcedShape | None
        sequence: SourcedShape | None
        every_days: SourcedShape | None
        first_step_day: SourcedShape | None
        every_cycles: SourcedShape | None
        first_step_cycle: SourcedShape | None
        at: SourcedShape | None
        conditional_on_tolerance: bool

    @property
    def levels(self) -> tuple[Decimal, ...]:
        """Every dose on the way up, start first, cap last."""
        if self.sequence is not None:
            return tuple(self.sequence.value)
        assert self.start and self.step and self.cap
        out = [self.start.value]
        while out[-1] < self.cap.value:
            out.append(out[-1] + self.step.value)
        return tuple(out)

    @property
    def timing(self) -> Timing:
        """Which timing rule this is, decided once (the validator guarantees exactly one)."""
        if self.every_days is not None:
            every = self.every_days.value
            first = self.first_step_day.value if self.first_step_day is not None else 1 + every
            return EveryDays(every, first)
        if self.every_cycles is not None:
            every = self.every_cycles.value
            first = self.first_step_cycle.value if self.first_step_cycle is not None else 1 + every
            return EveryCycles(every, first)
        assert self.at is not None
        return AtCycleDays(tuple(self.at.value))

    @property
    def start_dose(self) -> Decimal:
        return self.levels[0]

    @property
    def cap_dose(self) -> Decimal:
        return self.levels[-1]


class DrugRegimenShape(Shape):
    """One drug within a phase: its planned doses, its cap and its days in each cycle."""

    __slots__ = ()
    if TYPE_CHECKING:
        drug: str
        route: str
        role: str
        unit: str
        dose: SourcedShape | None
        first_doses: SourcedShape | None
        escalation: EscalationShape | None
        days: SourcedShape | None
        repeat: RepeatShape | None
        cycles: SourcedShape | None
        cycle_days: Mapping[int, SourcedShape]
        first_cycle_start_day: SourcedShape | None
        cap: SourcedShape | None
        setting: SourcedShape | None

    @property
    def applies_to(self) -> CycleSet:
        """The cycles of its phase this regimen is given in."""
        return self.cycles.value if self.cycles is not None else CycleSet()

    @property
    def planned_doses(self) -> tuple[Decimal, ...]:
        if self.escalation is not None:
            return self.escalation.levels
        assert self.dose is not None
        firsts = tuple(self.first_doses.value) if self.first_doses is not None else ()
        return (*firsts, self.dose.value)

    @property
    def max_dose(self) -> Decimal:
        """The cap: the stated one, else the escalation target, else the fixed dose."""
        if self.cap is not None:
            return Decimal(self.cap.value)
        return max(self.planned_doses)

    def days_in(self, cycle: int, *, offset: bool = True) -> tuple[int, ...]:
        """Cycle days this drug is given in ``cycle`` (1-based, within its phase)."""
        if cycle not in self.applies_to or self.days is None:
            return ()
        days: tuple[int, ...] = self.cycle_days[cycle].value if cycle in self.cycle_days else self.days.value
        if offset and self.first_cycle_start_day is not None and cycle == self.applies_to.first:
            days = tuple(d for d in days if d >= self.first_cycle_start_day.value)
        return days


class PhaseShape(Shape):
    """A run of cycles of one length: how long each cycle is and whether it ends."""

    __slots__ = ()
    if TYPE_CHECKING:
        name: str
        cycle_length_days: SourcedShape
        cycles: SourcedShape | None
        until_progression: SourcedShape | None
        cycle_lengths: Mapping[int, SourcedShape]
        drugs: Sequence[DrugRegimenShape]

    @property
    def open_ended(self) -> bool:
        """True when the phase runs until progression rather than for a number of cycles."""
        return self.until_progression is not None and bool(self.until_progression.value)

    def length_of(self, cycle: int) -> int:
        if cycle in self.cycle_lengths:
            return int(self.cycle_lengths[cycle].value)
        return int(self.cycle_length_days.value)


class LeadInRegimenShape(Shape):
    """A drug given on the days before cycle 1 day 1: fixed dose, negative days."""

    __slots__ = ()
    if TYPE_CHECKING:
        drug: str
        route: str
        role: str
        unit: str
        dose: SourcedShape
        days: SourcedShape

    @property
    def max_dose(self) -> Decimal:
        return Decimal(self.dose.value)


class LeadInShape(Shape):
    """What is given before the first treatment cycle, on days -N..-1."""

    __slots__ = ()
    if TYPE_CHECKING:
        drugs: Sequence[LeadInRegimenShape]

    @property
    def length_days(self) -> int:
        """Days from the earliest lead-in day to day -1."""
        return -min(int(d) for r in self.drugs for d in r.days.value)


class IncludeShape(Shape):
    """A reference to an add-on module and the phase it joins."""

    __slots__ = ()


#: field name -> column label, in display order
OUTCOME_FIELDS: dict[str, str] = {
    "patients": "n",
    "orr_pct": "ORR %",
    "cr_pct": "CR %",
    "tls_pct": "TLS %",
    "tfr_pct": "TFR %",
    "neutropenia_g34_pct": "G3/4 neutro %",
    "thrombocytopenia_g34_pct": "G3/4 thrombo %",
    "anemia_g34_pct": "G3/4 anemia %",
    "os": "OS",
    "pfs": "PFS",
}


class OutcomesShape(Shape):
    """Reported outcomes of a protocol's trial."""

    __slots__ = ()

    def display(self, field: str) -> str:
        """The value as text; ``"NR"`` (not reported) when absent."""
        value = getattr(self, field)
        if value is None:
            return "NR"
        raw = value.value
        return format_dose(raw) if isinstance(raw, Decimal) else str(raw)


class LabRuleShape(Shape):
    """One row of a dose-modification table: when it fires, when it has recovered, where it comes from."""

    __slots__ = ()
    if TYPE_CHECKING:
        lab: str | None
        toxicity: str | None
        below: SourcedShape | None
        grade_at_least: SourcedShape | None
        recover_at_least: SourcedShape | None
        recover_grade_at_most: SourcedShape | None

    @property
    def watches(self) -> str:
        """The result name this rule reads: ``plt`` or ``grade.<toxicity>``."""
        return self.lab if self.lab is not None else f"grade.{self.toxicity}"

    def fires(self, value: Decimal) -> bool:
        if self.below is not None:
            return bool(value < self.below.value)
        assert self.grade_at_least is not None
        return bool(value >= self.grade_at_least.value)

    def recovered(self, value: Decimal) -> bool:
        if self.recover_at_least is not None:
            return bool(value >= self.recover_at_least.value)
        assert self.recover_grade_at_most is not None
        return bool(value <= self.recover_grade_at_most.value)

    def condition(self) -> str:
        """``plt < 30 ×10⁹/L`` or ``rash grade ≥ 3``."""
        if self.below is not None:
            return f"{self.lab} < {self.below.value} {LAB_UNITS[self.lab or '']}"
        assert self.grade_at_least is not None
        return f"{self.toxicity} grade ≥ {self.grade_at_least.value}"

    def recovery(self) -> str:
        if self.recover_at_least is not None:
            return f"{self.lab} ≥ {self.recover_at_least.value} {LAB_UNITS[self.lab or '']}"
        assert self.recover_grade_at_most is not None
        return f"{self.toxicity} grade ≤ {self.recover_grade_at_most.value}"

    def cited(self, names: Mapping[str, str] | None = None) -> str:
        """Where the threshold comes from, for the audit: ``US label, section 2.1, Table 1: "Fall to <30,000/mcL"``.

        ``names`` turns source keys (``primary``, a reference key) into words a reader knows.
        """
        sourced = self.below if self.below is not None else self.grade_at_least
        assert sourced is not None
        if sourced.is_assumption and sourced.source is None:
            return f"assumption: {sourced.assumption}"
        key = sourced.source or "unsourced"
        where = (names or {}).get(key, key)
        return f"{where}, {sourced.detail}" if sourced.detail else where


class ProtocolShape(Shape):
    """A dosing protocol: what the engine and the outputs ask of it beyond its fields."""

    __slots__ = ()
    if TYPE_CHECKING:
        id: str
        lead_in: LeadInShape | None
        phases: Sequence[PhaseShape]

    @property
    def open_ended(self) -> bool:
        return self.phases[-1].open_ended

    @property
    def total_cycles(self) -> int | None:
        """Cycles across all phases, or None when the last phase runs until progression."""
        if self.open_ended:
            return None
        return sum(int(p.cycles.value) for p in self.phases if p.cycles is not None)

    @property
    def regimens(self) -> tuple[DrugRegimenShape | LeadInRegimenShape, ...]:
        """Every regimen, lead-in first, then the phases' in file order."""
        leads: tuple[LeadInRegimenShape, ...] = tuple(self.lead_in.drugs) if self.lead_in is not None else ()
        return (*leads, *(r for phase in self.phases for r in phase.drugs))

    def at_clinic(self, drug: str, phase: str, route: str) -> bool:
        """Whether ``drug`` in ``phase`` is given at the clinic: its regimen's ``setting``, else by route."""
        for p in self.phases:
            if p.name != phase:
                continue
            for regimen in p.drugs:
                if isinstance(regimen, DrugRegimenShape) and regimen.drug == drug and regimen.setting is not None:
                    return bool(regimen.setting.value == "clinic")
        return is_clinic_route(route)

    @property
    def drugs(self) -> tuple[str, ...]:
        """Every drug name, in order of first appearance."""
        seen: dict[str, None] = {}
        if self.lead_in is not None:
            for lead in self.lead_in.drugs:
                seen.setdefault(lead.drug, None)
        for phase in self.phases:
            for regimen in phase.drugs:
                seen.setdefault(regimen.drug, None)
        return tuple(seen)

    def assumptions(self) -> list[tuple[str, Any]]:
        """Every value marked as an assumption, with its field path."""
        return [(path, s) for path, s in iter_sourced(self) if s.is_assumption]

    def unsourced(self) -> list[str]:
        """Field paths of values that state neither a source nor an assumption."""
        return [path for path, s in iter_sourced(self) if not s.is_sourced]


class EventsShape(Shape):
    """A patient's events: what the engine asks of the list beyond the events themselves."""

    __slots__ = ()
    if TYPE_CHECKING:
        events: Sequence[Any]

    def dated(self) -> list[Any]:
        """The events that fall on a date (all but the cycle delays)."""
        return [e for e in self.events if e.kind != "delay"]

    def delays(self) -> dict[int, int]:
        """Cycle number -> days its start moves."""
        return {e.cycle: e.days for e in self.events if e.kind == "delay"}

    def drugs(self) -> set[str]:
        return {e.drug for e in self.dated() if e.drug is not None}
