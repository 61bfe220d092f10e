"""Apply: fold the patient's modifiers over the plan, one drug at a time, in date order.

Delays move cycles (and everything in them) on the calendar; holds, resumptions, reductions,
escalation freezes and stops change each drug's state; a renal ceiling lowers or spaces the label
drug's doses. The dose itself is always decided by the shared transitions (``transitions.py``),
and every change lands in one audit trail and in the changed row's ``modified_by``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from lenasched.engine.calendar import DoseDay
from lenasched.engine.modifiers import (
    DrugState,
    FreezeEscalation,
    HoldDrug,
    Modifier,
    ResumeDrug,
    StopDrug,
    Trail,
    describe_change,
)
from lenasched.engine.plan import Course, Plan, Planned
from lenasched.engine.transitions import NO_LEVEL, capped, climb, lowered
from lenasched.model.doses import format_dose

if TYPE_CHECKING:
    from lenasched.model.events import PatientEvents

__all__ = ["RenalCeiling", "apply_plan", "modifiers_for"]

_MG_PLACES = Decimal("0.1")


@dataclass(frozen=True)
class RenalCeiling:
    """The label's renal band as a row modifier: no dose above ``ceiling`` mg, doses ``interval_days`` apart."""

    drug: str
    ceiling: Decimal
    interval_days: int
    band: str
    interval_hours: int

    @property
    def why_cap(self) -> str:
        return f"renal: {self.band} band, at most {format_dose(self.ceiling)} mg"

    @property
    def why_gap(self) -> str:
        return f"renal: {self.band} band, one dose every {self.interval_hours} hours"


@dataclass(frozen=True)
class RenalChangeRecord:
    row: DoseDay
    after_mg: Decimal | None
    reason: str


def modifiers_for(drug: str, events: PatientEvents) -> list[Modifier]:
    """The events that concern ``drug``, as modifiers in fold order (date, then resumes first)."""
    if not events.events:
        return []
    from lenasched.model.events import Hold, NoEscalation, Resume, Stop  # only with events (start-up)

    dated = sorted(events.dated(), key=lambda e: e.date)
    out: list[Modifier] = []
    open_hold: Hold | None = None
    for event in dated:
        if isinstance(event, Stop):
            if event.drug in (None, drug):
                out.append(StopDrug(event))
            continue
        if event.drug != drug:
            continue
        if isinstance(event, Hold):
            out.append(HoldDrug(event))
            open_hold = event
        elif isinstance(event, Resume):
            assert open_hold is not None  # PatientEvents checks every resume has its hold
            out.append(ResumeDrug(event, open_hold))
            open_hold = None
        elif isinstance(event, NoEscalation):
            out.append(FreezeEscalation(event))
    out.sort(key=lambda m: (m.date, m.order))
    return out


def apply_plan(
    plan: Plan,
    events: PatientEvents,
    shifts: Sequence[int],
    delay_notes: Sequence[str],
    until: date | None,
    factors: dict[int, Decimal | None],
    renal: RenalCeiling | None,
    trail: Trail,
) -> tuple[list[DoseDay], list[RenalChangeRecord]]:
    """Every given dose as a row, in calendar order (date, then protocol drug order); changes go to ``trail``."""
    renal_changes: list[RenalChangeRecord] = []
    given: list[list[DoseDay | None]] = [[None] * len(c.doses) for c in plan.courses]
    by_drug: dict[str, list[Course]] = {}
    for course in plan.live_courses:
        by_drug.setdefault(course.drug, []).append(course)
    for drug, courses in by_drug.items():
        modifiers = modifiers_for(drug, events)
        if not modifiers and (renal is None or drug != renal.drug):
            for course in courses:
                _as_planned(plan, course, shifts, delay_notes, until, factors.get(course.key), given[course.key])
            continue
        placed = _fold_drug(plan, drug, courses, modifiers, shifts, delay_notes, until, factors, trail)
        if renal is not None and drug == renal.drug:
            placed = _renal(placed, renal, renal_changes, trail)
        for key, i, row in placed:
            given[key][i] = row
    rows = [given[key][i] for key, i in plan.order]
    return [row for row in rows if row is not None], renal_changes


def _as_planned(
    plan: Plan,
    course: Course,
    shifts: Sequence[int],
    delay_notes: Sequence[str],
    until: date | None,
    factor: Decimal | None,
    out: list[DoseDay | None],
) -> None:
    """A course no modifier touches: its planned doses, moved only by delays (the hot path of ``expand``)."""
    start, ladder, regimen = plan.start, course.ladder, course.regimen
    phase, drug, unit, route, role = course.phase, course.drug, regimen.unit, regimen.route, regimen.role
    mg = [dose if factor is None else (dose * factor).quantize(_MG_PLACES, ROUND_HALF_UP) for dose in ladder]
    template = course.template
    if not any(shifts):  # no delay: every row is the plan's, up to ``until``
        if until is not None:
            last = (until - start).days
            template = template[: bisect_right([p.offset for p in course.doses], last)]
        new = tuple.__new__  # DoseDay is a NamedTuple: skip its Python-level __new__ on the hot path
        out[: len(template)] = [
            new(DoseDay, (start + delta, day, phase, cycle, cycle_day, drug, ladder[i], unit, route, mg[i], role, ""))
            for delta, day, cycle, cycle_day, _, i in template
        ]
        return
    for n, (delta, _, cycle, cycle_day, slot, i) in enumerate(template):
        shift = shifts[slot] if slot >= 0 else 0
        when = start + delta + timedelta(days=shift)
        if until is not None and when > until:
            break
        offset = (when - start).days
        out[n] = DoseDay(
            when,
            offset + 1 if offset >= 0 else offset,
            phase,
            cycle,
            cycle_day,
            drug,
            ladder[i],
            unit,
            route,
            mg[i],
            role,
            delay_notes[slot] if shift else "",
        )


def _fold_drug(
    plan: Plan,
    drug: str,
    courses: list[Course],
    modifiers: list[Modifier],
    shifts: Sequence[int],
    delay_notes: Sequence[str],
    until: date | None,
    factors: dict[int, Decimal | None],
    trail: Trail,
) -> list[tuple[int, int, DoseDay]]:
    """One drug's doses in date order, with its modifiers folded in: (course key, dose index, row)."""
    start = plan.start
    doses: list[tuple[date, Course, int, Planned]] = []
    firsts: dict[int, date] = {}
    for course in courses:
        for i, planned in enumerate(course.doses):
            shift = shifts[planned.slot] if planned.slot >= 0 else 0
            when = start + timedelta(days=planned.offset + shift)
            firsts.setdefault(course.key, when)
            if until is not None and when > until:
                continue
            doses.append((when, course, i, planned))
    doses.sort(key=lambda d: d[0])
    phase_at = _phase_finder(plan, shifts)
    state = DrugState(drug)
    rows: list[tuple[int, int, DoseDay]] = []
    m = 0
    for when, course, i, planned in doses:
        while m < len(modifiers) and modifiers[m].date <= when:
            modifiers[m].apply(state, trail)
            m += 1
        state.unit = course.regimen.unit
        if state.stopped is not None:
            if not state.stop_noted:
                stop = state.stopped
                trail.note(stop.date, drug, stop.describe(), f"{drug}: no doses from {stop.date.isoformat()}")
                state.stop_noted = True
            continue
        if state.held is not None:
            state.held_days[state.held].append(when)
            continue
        state.enter_phase(course.phase)
        index = _dose_index(state, course, planned, when, firsts[course.key], phase_at, trail)
        if index is None:
            continue
        dose = course.ladder[index]
        state.last_dose = dose
        factor = factors[course.key]
        dose_mg = dose if factor is None else (dose * factor).quantize(_MG_PLACES, ROUND_HALF_UP)
        notes = []
        if planned.slot >= 0 and shifts[planned.slot]:
            notes.append(delay_notes[planned.slot])
        if index != planned.index and state.reason:
            notes.append(state.reason)
        offset = (when - start).days
        regimen = course.regimen
        row = DoseDay(
            when,
            offset + 1 if offset >= 0 else offset,
            course.phase,
            plan.slots[planned.slot].cycle if planned.slot >= 0 else None,
            planned.cycle_day,
            drug,
            dose,
            regimen.unit,
            regimen.route,
            dose_mg,
            regimen.role,
            "; ".join(notes),
        )
        rows.append((course.key, i, row))
    while m < len(modifiers):  # events after the last planned dose still take effect and are recorded
        modifiers[m].apply(state, trail)
        m += 1
    _account(state, drug, trail)
    return rows


def _dose_index(
    state: DrugState,
    course: Course,
    planned: Planned,
    when: date,
    first: date,
    phase_at: Callable[[date], str],
    trail: Trail,
) -> int | None:
    """The ladder index given at ``planned``, or None when a reduction below the lowest level stops the drug."""
    drug = course.drug
    previous = state.steps.get(course.key, -1)
    index = planned.index
    if course.escalates:
        due = course.due_on(planned, state.paused_days(first, when) if state.pauses else 0)
        step = climb(due, previous)
        frozen = state.frozen
        if frozen is not None and step > previous:
            step = max(previous, 0)
            if course.steps[step] != planned.index:
                state.reason = frozen.describe()
            if course.steps[step] != planned.index and not state.freeze_noted:
                state.freeze_noted = True
                trail.note(
                    frozen.date,
                    drug,
                    frozen.describe(),
                    f"{drug} stays at {format_dose(course.ladder[course.steps[step]])} {course.regimen.unit}",
                )
        state.steps[course.key] = step
        index = course.steps[step]
    pending, state.pending = state.pending, []
    for n, (resume, hold) in enumerate(pending):
        belongs = phase_at(resume.date)
        if belongs != course.phase and resume.dose is None:
            # A reduction belongs to the phase it is dated in: that phase gave no dose after it.
            trail.note(
                resume.date,
                drug,
                resume.describe(),
                f"{drug}: no {belongs} dose after it; {course.phase} starts at its own planned dose",
            )
            continue
        reference = state.last_dose if state.last_dose is not None else course.ladder[_cap(state, course, index)]
        if n and state.ceiling is not None:  # a second reduction before any dose reduces from the first
            reference = min(reference, state.ceiling)
        if state.pinned is not None and n:
            reference = state.pinned
        if resume.dose is not None:
            state.pinned = resume.dose
            state.reason = f"{resume.describe()} after {hold.describe()}"
            carried = f" (carried into {course.phase}: the prescriber's dose)" if belongs != course.phase else ""
            trail.note(
                when,
                drug,
                resume.describe(),
                f"{describe_change(drug, reference, resume.dose, course.regimen.unit)}; no further escalation"
                + carried,
            )
        elif resume.level == "lower":
            at = bisect_right(course.ladder, reference) - 1
            new = lowered(at)
            if new == NO_LEVEL:
                from lenasched.model.events import Stop

                state.stopped = Stop(date=resume.date, drug=drug)
                state.stop_noted = True
                trail.note(
                    resume.date,
                    drug,
                    resume.describe(),
                    f"{drug} stopped: no dose level below {format_dose(reference)} {course.regimen.unit}",
                )
                for later, _ in pending[n + 1 :]:
                    trail.note(later.date, drug, later.describe(), f"{drug}: stopped before it; nothing resumed")
                return None
            state.ceiling = course.ladder[new]
            state.pinned = None
            state.reason = f"{resume.describe()} after {hold.describe()}"
            trail.note(
                when,
                drug,
                state.reason,
                f"{describe_change(drug, reference, state.ceiling, course.regimen.unit)}; no further escalation",
            )
        else:
            trail.note(
                when,
                drug,
                resume.describe(),
                f"{drug} resumes at {format_dose(reference)} {course.regimen.unit}; "
                "day-counted escalation shifted by the held days",
            )
    if state.pinned is not None:
        pinned = course.index_of(state.pinned)
        return pinned if pinned is not None else _cap(state, course, index)
    return _cap(state, course, index)


def _phase_finder(plan: Plan, shifts: Sequence[int]) -> Callable[[date], str]:
    """The phase a date belongs to: lead-in before the start; a delay gap to the cycle before it, since the
    delayed cycle (and its phase) has not begun."""
    starts = [plan.start + timedelta(days=s.offset + shifts[k]) for k, s in enumerate(plan.slots)]
    names = [s.phase.name for s in plan.slots]

    def phase_at(day: date) -> str:
        if day < plan.start or not names:
            return "lead-in"
        return names[bisect_right(starts, day) - 1]  # a delay gap belongs to the cycle before it

    return phase_at


def _cap(state: DrugState, course: Course, index: int) -> int:
    if state.ceiling is None:
        return index
    return int(capped(index, bisect_right(course.ladder, state.ceiling) - 1))


def _account(state: DrugState, drug: str, trail: Trail) -> None:
    """Every hold is in the audit trail: the doses it took away, or that it took none."""
    for hold, days in state.held_days.items():
        if days:
            effect = f"{drug}: {len(days)} planned dose(s) not given ({days[0].isoformat()} to {days[-1].isoformat()})"
        else:
            effect = f"{drug}: no planned dose fell in the hold; nothing held"
        trail.note(hold.date, drug, hold.describe(), effect)
    for resume, _ in state.pending:
        trail.note(resume.date, drug, resume.describe(), f"{drug}: no planned dose after it; nothing to resume")
    if state.stopped is not None and not state.stop_noted:
        stop = state.stopped
        trail.note(stop.date, drug, stop.describe(), f"{drug}: no planned dose on or after it; nothing stopped")
    if state.frozen is not None and not state.freeze_noted:
        frozen = state.frozen
        trail.note(frozen.date, drug, frozen.describe(), f"{drug}: no increase was planned after it; nothing changed")


def _renal(
    placed: list[tuple[int, int, DoseDay]], rule: RenalCeiling, changes: list[RenalChangeRecord], trail: Trail
) -> list[tuple[int, int, DoseDay]]:
    """Lower every dose above the band's ceiling; drop a dose closer than the band's interval to the last kept one."""
    from lenasched.errors import ScheduleError

    kept: list[tuple[int, int, DoseDay]] = []
    last: date | None = None
    for key, i, row in placed:
        if row.unit != "mg":
            raise ScheduleError(f"{row.drug} on {row.date} is dosed in {row.unit}; the renal table is in mg")
        if last is not None and (row.date - last).days < rule.interval_days:
            changes.append(RenalChangeRecord(row, None, rule.why_gap))
            continue
        last = row.date
        if row.dose_mg > rule.ceiling:
            changes.append(RenalChangeRecord(row, rule.ceiling, rule.why_cap))
            note = rule.why_cap if not row.modified_by else f"{row.modified_by}; {rule.why_cap}"
            row = row._replace(dose=rule.ceiling, dose_mg=rule.ceiling, modified_by=note)
        kept.append((key, i, row))
    lowered_n = sum(1 for c in changes if c.after_mg is not None)
    dropped_n = len(changes) - lowered_n
    if changes:
        trail.note(
            changes[0].row.date,
            rule.drug,
            f"renal dose adjustment ({rule.band} band)",
            f"{rule.drug}: {lowered_n} dose day(s) lowered to {format_dose(rule.ceiling)} mg, {dropped_n} dropped "
            f"to keep one dose every {rule.interval_hours} hours",
        )
    return kept
