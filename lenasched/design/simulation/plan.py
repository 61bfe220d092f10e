"""The engine's plan of one drug, flattened into arrays the vectorised run steps through.

Built from ``engine.make_plan`` (the calendar's own plan): every planned administration of the
drug in date order, with its course (ladder, escalation steps), phase and cycle window. Nothing
here is re-derived from the protocol's rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from math import gcd
from typing import Any

from lenasched.engine import expand, make_plan
from lenasched.errors import SimulationError
from lenasched.model.doses import format_dose
from lenasched.model.patient import Patient
from lenasched.model.protocol import DrugRegimen, Protocol

__all__ = ["UNITS_PER_MG", "CoursePlan", "DrugPlan", "Window", "build_plan"]

#: Doses are counted in integer units of 0.0001 mg (the format's finest dose), so sums are exact.
UNITS_PER_MG = 10_000
CLINIC_ROUTES = frozenset({"iv", "sc"})


@dataclass(frozen=True)
class CoursePlan:
    """One regimen of the drug: its ladder (dose units, lowest first) and escalation."""

    key: int
    phase: str
    ladder: Any  # numpy int64, dose units, lowest first
    ladder_mg: tuple[Decimal, ...]
    escalates: bool
    steps: Any  # numpy int64: ladder index of each escalation step
    change_days: Any  # numpy int64: ``every_days`` course days from which each step applies (else empty)
    first_offset: int  # offset of the course's first planned dose (its escalation clock starts there)
    start_index: int  # ladder index of the drug's starting dose (a "resume at start"), -1 if not on it
    capsules: Any  # numpy int64: capsules per dose at each ladder level


@dataclass(frozen=True)
class Window:
    index: int  # 0-based cycle index; -1 for the lead-in
    phase: str
    cycle: int
    first_day: int
    last_day: int
    full_dosing_days: int
    planned_mg: Decimal
    first_dose: int  # index into the dose arrays
    end_dose: int  # one past the last


@dataclass(frozen=True)
class DrugPlan:
    """Every planned dose of the drug (arrays indexed by dose, in date order) and its cycle windows."""

    drug: str
    day: Any  # offset of each dose (0 = cycle 1 day 1; negative: lead-in)
    course: Any  # course key of each dose
    phase: Any  # phase number of each dose (by name; lead-in -1)
    planned: Any  # planned ladder index (in its course's ladder)
    due: Any  # escalation step due by the plan
    course_day: Any
    window: Any  # position in ``windows``
    courses: dict[int, CoursePlan]
    windows: tuple[Window, ...]
    phase_names: tuple[str, ...]
    phase_starts: tuple[tuple[int, int], ...]  # (first offset, phase number) of each cycle, in order
    ladder: tuple[Decimal, ...]  # every level of every course, lowest first
    cap: Decimal
    grid: int  # gcd of every dose in units: delivered totals are multiples of it
    span_days: int
    total_mg: Decimal
    lead_days: int
    horizon_days: int
    clinic_days: int  # companion drugs given iv/sc within the horizon (not simulated: as planned)
    start_units: int  # the drug's starting dose, in units

    def phase_on(self, day: int) -> int:
        """The phase number of offset ``day`` (-1: the lead-in), as the engine's ``phase_at``."""
        found = -1
        for first, phase in self.phase_starts:
            if first > day:
                break
            found = phase
        return found

    @property
    def n_doses(self) -> int:
        return len(self.day)


def _units(dose: Decimal) -> int:
    scaled = dose * UNITS_PER_MG
    if scaled != scaled.to_integral_value():
        raise SimulationError(f"dose {dose} mg is finer than 1/{UNITS_PER_MG} mg")
    return int(scaled)


def _capsules(dose: Decimal, drug: str) -> int:
    from lenasched.engine.capsules import choose_capsules
    from lenasched.errors import CapsuleError

    try:
        return choose_capsules(dose, allow_multiple=True, drug=drug).count
    except CapsuleError:
        return 0


def build_plan(
    protocol: Protocol,
    start: date,
    days: int,
    patient: Patient | None,
    drug: str,
    dose_levels: Sequence[Decimal] | None,
) -> DrugPlan:
    import numpy as np

    regimens = [r for r in protocol.regimens if r.drug == drug]
    if not regimens:
        raise SimulationError(f"{protocol.id} has no {drug} to simulate")
    if any(r.unit != "mg" for r in regimens):
        raise SimulationError(f"{protocol.id}: the simulation handles {drug} dosed in mg only")
    from lenasched.model.dayspec import check_date_span

    check_date_span(start, 0, days - 1, f"a {days}-day simulation")
    calendar = expand(protocol, start, until=start + timedelta(days=days - 1), patient=_sizes(protocol, patient))
    plan = make_plan(protocol, start, cycles=len(calendar.windows))  # whole cycles: each cycle's dosing days
    cap = max(r.max_dose for r in regimens)
    first_regimen = next(
        (r for phase in protocol.phases for r in phase.drugs if isinstance(r, DrugRegimen) and r.drug == drug), None
    )
    start_dose = first_regimen.planned_doses[0] if first_regimen is not None else regimens[0].max_dose
    phases = {phase.name: i for i, phase in enumerate(protocol.phases)}
    courses: dict[int, CoursePlan] = {}
    rows: list[tuple[int, int, int, int, int, int, int]] = []
    full_counts: dict[int, int] = {}
    planned_mg: dict[int, Decimal] = {}
    for course in plan.courses:
        if course.drug != drug:
            continue
        ladder = course.ladder
        if dose_levels is not None:
            ladder = tuple(sorted(set(dose_levels)))
            planned = {course.ladder[p.index] for p in course.doses}
            missing = sorted(planned - set(ladder))
            if missing:
                raise SimulationError(
                    f"planned dose {format_dose(missing[0])} mg is not among the dose levels given "
                    f"({', '.join(format_dose(x) for x in ladder)})"
                )
        if not ladder or ladder[0] <= 0:
            raise SimulationError("dose levels must be positive")
        steps = [ladder.index(course.ladder[s]) for s in course.steps]
        courses[course.key] = CoursePlan(
            key=course.key,
            phase=course.phase,
            ladder=np.array([_units(x) for x in ladder], dtype=np.int64),
            ladder_mg=ladder,
            escalates=course.escalates,
            steps=np.array(steps, dtype=np.int64),
            change_days=np.array(course.change_days, dtype=np.int64),
            first_offset=course.doses[0].offset if course.doses else 0,
            start_index=ladder.index(start_dose) if start_dose in ladder else -1,
            capsules=np.array([_capsules(x, drug) for x in ladder], dtype=np.int64),
        )
        for p in course.doses:
            full_counts[p.slot] = full_counts.get(p.slot, 0) + 1
            if p.offset >= days:
                continue
            dose = course.ladder[p.index]
            rows.append(
                (p.offset, course.key, phases.get(course.phase, -1), ladder.index(dose), p.due, p.course_day, p.slot)
            )
            planned_mg[p.slot] = planned_mg.get(p.slot, Decimal(0)) + dose
    rows.sort()
    slot_to_window: dict[int, int] = {}
    windows: list[Window] = []
    counts: dict[int, int] = {}
    for row in rows:
        counts[row[6]] = counts.get(row[6], 0) + 1
    position = 0
    if -1 in counts:
        n = counts.get(-1, 0)
        lead = plan.lead_in_days
        windows.append(Window(-1, "lead-in", 0, -lead, -1, full_counts.get(-1, 0), planned_mg[-1], 0, n))
        slot_to_window[-1] = 0
        position = n
    for i, w in enumerate(calendar.windows):
        n = counts.get(i, 0)
        slot_to_window[i] = len(windows)
        windows.append(
            Window(
                index=i,
                phase=w.phase,
                cycle=w.cycle,
                first_day=(w.start - start).days,
                last_day=(w.end - start).days,
                full_dosing_days=full_counts.get(i, 0),
                planned_mg=planned_mg.get(i, Decimal(0)),
                first_dose=position,
                end_dose=position + n,
            )
        )
        position += n
    if position != len(rows):
        raise SimulationError("internal: planned doses fall outside the calendar's cycles")
    array = np.array(rows, dtype=np.int64).reshape(-1, 7)
    span = min(days, (calendar.end - start).days + 1) if calendar.windows else 0
    every = sorted({level for c in courses.values() for level in c.ladder_mg})
    grid = 0
    for level in every:
        grid = gcd(grid, _units(level))
    clinic = {
        d.date for d in calendar.days if d.drug != drug and d.route in CLINIC_ROUTES and (d.date - start).days < days
    }
    return DrugPlan(
        drug=drug,
        day=array[:, 0].copy(),
        course=array[:, 1].copy(),
        phase=array[:, 2].copy(),
        planned=array[:, 3].copy(),
        due=array[:, 4].copy(),
        course_day=array[:, 5].copy(),
        window=np.array([slot_to_window[s] for s in array[:, 6]], dtype=np.int64),
        courses=courses,
        windows=tuple(windows),
        phase_names=tuple(phases),
        phase_starts=tuple((s.offset, phases[s.phase.name]) for s in plan.slots),
        ladder=tuple(every),
        cap=cap,
        grid=grid or 1,
        span_days=span,
        total_mg=sum(planned_mg.values(), Decimal(0)),
        lead_days=plan.lead_in_days,
        horizon_days=days,
        clinic_days=len(clinic),
        start_units=_units(start_dose),
    )


def _sizes(protocol: Protocol, patient: Patient | None) -> Patient | None:
    """Companion drugs dosed by body size need a patient to expand; they are not simulated."""
    scaled = any(r.unit != "mg" for phase in protocol.phases for r in phase.drugs)
    if scaled and patient is None:
        from lenasched.design.compare import REFERENCE_PATIENT

        return REFERENCE_PATIENT
    return patient
