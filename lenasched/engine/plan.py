"""Plan: a protocol and a start date give the administrations that would happen if nothing happened.

The plan is laid out on **treatment time**: day offsets from cycle 1 day 1 (offset 0) with the
cycles back to back; lead-in days have negative offsets (-1 is the day before cycle 1 day 1).
Nothing here knows about patients or events; delays, holds, reductions and stops are modifiers
applied afterwards (``apply``). Escalation is anchored on each drug's own course: its first
planned dose (``every_days``) or its own first cycle (``every_cycles``, ``at``).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from lenasched.engine.transitions import climb
from lenasched.errors import ScheduleError
from lenasched.model.dayspec import check_date_span
from lenasched.model.limits import MAX_CYCLES, MAX_DOSE_DAYS
from lenasched.model.shapes import AtCycleDays, EveryCycles, EveryDays, LeadInRegimenShape

if TYPE_CHECKING:  # the engine reads either form of a protocol (lenasched.model.compiled): no pydantic at run time
    from lenasched.model.protocol import DrugRegimen, LeadInRegimen, Phase, Protocol

__all__ = ["MAX_CYCLES", "Course", "Plan", "Planned", "Slot", "make_plan"]


@dataclass(frozen=True, slots=True)
class Slot:
    """One planned cycle: its phase, its number in the phase and across phases, where it starts."""

    phase: Phase
    cycle: int
    index: int  # 1-based across phases (what ``--cycles`` and delays count)
    offset: int  # treatment-time offset of its day 1
    length: int


@dataclass(frozen=True, slots=True)
class Planned:
    """One planned administration of one regimen."""

    offset: int  # treatment-time day offset (0 = cycle 1 day 1; negative = lead-in)
    slot: int  # index into ``Plan.slots``; -1 for the lead-in
    cycle_day: int  # day of its cycle; the negative lead-in day for lead-in doses
    course_day: int  # day of the drug's course in this regimen, 1 = its first planned dose
    due: int  # escalation step due by the protocol's rule (for ``every_days``: before any pause)
    step: int  # escalation step planned (``due`` climbed one level at a time); 0 without escalation
    index: int  # ladder index of the planned dose


@dataclass(frozen=True)
class Course:
    """One regimen's planned administrations and the ladder its doses and reductions live on."""

    key: int  # position among all courses of the plan
    drug: str
    regimen: DrugRegimen | LeadInRegimen
    phase: str
    ladder: tuple[Decimal, ...]  # every dose this regimen may give, lowest first
    steps: tuple[int, ...]  # ladder index of each escalation step (one entry without escalation)
    change_days: tuple[int, ...]  # ``every_days``: course day from which each step applies; else empty
    doses: tuple[Planned, ...]
    cycles: dict[int, int | None]  # slot index -> cycle number in its phase (-1, the lead-in: None)

    @cached_property
    def template(self) -> tuple[tuple[timedelta, int, int | None, int, int, int], ...]:
        """Per planned dose: (offset as a timedelta, study day, cycle, cycle day, slot, ladder index).

        Precomputed once per plan, so building rows is only arithmetic on dates (the hot path).
        """
        out = []
        for p in self.doses:
            study_day = p.offset + 1 if p.offset >= 0 else p.offset
            out.append((timedelta(days=p.offset), study_day, self.cycles[p.slot], p.cycle_day, p.slot, p.index))
        return tuple(out)

    @property
    def escalates(self) -> bool:
        return len(self.steps) > 1

    def due_on(self, planned: Planned, paused_days: int) -> int:
        """The escalation step due at ``planned`` when the course clock is ``paused_days`` behind."""
        if not self.change_days or paused_days == 0:
            return planned.due
        return bisect_right(self.change_days, planned.course_day - paused_days)

    def index_of(self, dose: Decimal) -> int | None:
        try:
            return self.ladder.index(dose)
        except ValueError:
            return None


@dataclass(frozen=True)
class Plan:
    """Cycles laid out back to back, and every regimen's planned administrations."""

    protocol: Protocol
    start: date
    slots: tuple[Slot, ...]
    courses: tuple[Course, ...]
    lead_in_days: int  # length of the lead-in (0 without one)
    order: tuple[tuple[int, int], ...]  # (course key, dose index) of every planned dose, in calendar order
    only: frozenset[int] | None = None  # course keys kept by a drug filter (None: all)

    @property
    def live_courses(self) -> tuple[Course, ...]:
        """The courses this calendar gives (all of them, unless a drug filter keeps some)."""
        if self.only is None:
            return self.courses
        return tuple(c for c in self.courses if c.key in self.only)

    def date_of(self, offset: int) -> date:
        return self.start + timedelta(days=offset)


_CACHE: dict[tuple[int, int | None, int | None, date | None], tuple[Protocol, Plan]] = {}
_CACHE_SIZE = 64


def make_plan(protocol: Protocol, start: date, *, cycles: int | None = None, until: date | None = None) -> Plan:
    """The plan of ``protocol`` from ``start`` (cycle 1 day 1), for ``cycles`` treatment cycles or up to ``until``.

    With ``until`` the plan holds every cycle that starts on or before it; delays applied later can
    only push cycles out, never bring more in. A plan is in treatment-time offsets, so it does not
    depend on the start date (unless a schedule steps by calendar months): plans are kept and reused.
    """
    horizon = None if until is None else (until - start).days
    months = any(r.repeat is not None and r.repeat.every_months is not None for p in protocol.phases for r in p.drugs)
    key = (id(protocol), cycles, horizon, start if months else None)
    kept = _CACHE.get(key)
    if kept is not None and kept[0] is protocol:
        plan = kept[1]
        if plan.start != start:
            check_dates(protocol, start, list(plan.slots))
            plan = Plan(protocol, start, plan.slots, plan.courses, plan.lead_in_days, plan.order)
        return plan
    plan = _make_plan(protocol, start, cycles, horizon)
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    _CACHE[key] = (protocol, plan)
    return plan


def _make_plan(protocol: Protocol, start: date, cycles: int | None, horizon: int | None) -> Plan:
    slots = _lay_out(protocol, cycles, horizon)
    _check_size(protocol, slots)
    check_dates(protocol, start, slots)
    courses: list[Course] = []
    if protocol.lead_in is not None:
        for lead in protocol.lead_in.drugs:
            courses.append(_lead_in_course(len(courses), lead))
    for phase in protocol.phases:
        phase_slots = [(i, s) for i, s in enumerate(slots) if s.phase is phase]
        for regimen in phase.drugs:
            courses.append(_course(len(courses), regimen, phase, phase_slots, slots, horizon, start))
    lead_days = protocol.lead_in.length_days if protocol.lead_in is not None else 0
    rank = {name: i for i, name in enumerate(protocol.drugs)}
    order = sorted(
        ((c.key, i) for c in courses for i in range(len(c.doses))),
        key=lambda k: (courses[k[0]].doses[k[1]].offset, rank[courses[k[0]].drug], k[0]),
    )
    return Plan(protocol, start, tuple(slots), tuple(courses), lead_days, tuple(order))


def _lay_out(protocol: Protocol, cycles: int | None, horizon: int | None) -> list[Slot]:
    slots: list[Slot] = []
    offset = 0
    for phase in protocol.phases:
        last = phase.cycles.value if phase.cycles is not None else None
        number = 1
        while last is None or number <= last:
            if cycles is not None and len(slots) >= cycles:
                return slots
            if horizon is not None and offset > horizon:
                return slots
            if len(slots) >= MAX_CYCLES:
                raise ScheduleError(
                    f"refusing to expand more than {MAX_CYCLES} cycles; give fewer cycles or an earlier end date"
                )
            length = phase.length_of(number)
            slots.append(Slot(phase, number, len(slots) + 1, offset, length))
            offset += length
            number += 1
    return slots


def _check_size(protocol: Protocol, slots: list[Slot]) -> None:
    """Refuse, before any dose is placed, a calendar of more than ``MAX_DOSE_DAYS`` rows."""
    rows = row_bound(protocol, slots)
    if rows > MAX_DOSE_DAYS:
        raise ScheduleError(
            f"this calendar would hold up to {rows:,} dose days (one drug on one date), more than the "
            f"{MAX_DOSE_DAYS:,} a calendar may hold; ask for fewer cycles (--cycles) or an earlier end (--until)"
        )


def check_dates(protocol: Protocol, start: date, slots: list[Slot], delayed: int = 0) -> None:
    """Refuse, before any date is computed, a calendar that would leave the dates lenasched writes."""
    lead_in = protocol.lead_in.length_days if protocol.lead_in is not None else 0
    end = slots[-1].offset + slots[-1].length - 1 + delayed if slots else 0
    check_date_span(start, lead_in, end, "this calendar")


def row_bound(protocol: Protocol, slots: list[Slot]) -> int:
    """An upper bound on the rows of a calendar laid out on ``slots``, from the protocol's numbers alone.

    Cycle days are counted exactly; a repeat counts one dose per interval over its phase's span
    (months as 28 days, so never fewer than it gives). Costs microseconds whatever the request.
    """
    rows = protocol.lead_in.length_days * len(protocol.lead_in.drugs) if protocol.lead_in is not None else 0
    for phase in protocol.phases:
        mine = [s for s in slots if s.phase is phase]
        if not mine:
            continue
        span = sum(s.length for s in mine)
        for regimen in phase.drugs:
            repeat = regimen.repeat
            if repeat is None:
                rows += sum(len(regimen.days_in(s.cycle)) for s in mine)
                continue
            if repeat.every_days is not None:
                every = repeat.every_days.value
            elif repeat.every_weeks is not None:
                every = repeat.every_weeks.value * 7
            else:
                assert repeat.every_months is not None
                every = repeat.every_months.value * 28
            most = span // every + 1
            rows += min(most, repeat.count.value) if repeat.count is not None else most
    return rows


def ladder_of(regimen: DrugRegimen | LeadInRegimen) -> tuple[Decimal, ...]:
    """Every dose a regimen may give, lowest first: its planned doses and its dose-reduction levels."""
    if isinstance(regimen, LeadInRegimenShape):
        return (regimen.dose.value,)
    levels = set(regimen.planned_doses)
    if regimen.dose_levels is not None:
        levels.update(regimen.dose_levels.value)
    return tuple(sorted(levels))


def _lead_in_course(key: int, lead: LeadInRegimen) -> Course:
    days = lead.days.value
    doses = tuple(
        Planned(offset=day, slot=-1, cycle_day=day, course_day=day - days[0] + 1, due=0, step=0, index=0)
        for day in days
    )
    return Course(key, lead.drug, lead, "lead-in", (lead.dose.value,), (0,), (), doses, {-1: None})


def _course(
    key: int,
    regimen: DrugRegimen,
    phase: Phase,
    phase_slots: list[tuple[int, Slot]],
    slots: list[Slot],
    horizon: int | None,
    start: date,
) -> Course:
    if regimen.repeat is not None:
        placed = _repeat_offsets(regimen, phase_slots, start)
    else:
        placed = _cycle_offsets(regimen, phase_slots)
    if horizon is not None:
        placed = [p for p in placed if p[2] <= horizon]
    ladder = ladder_of(regimen)
    position = {dose: i for i, dose in enumerate(ladder)}
    escalation = regimen.escalation
    if escalation is not None:
        steps = tuple(position[level] for level in escalation.levels)
    else:
        steps = (position[regimen.planned_doses[-1]],)
    firsts = [position[d] for d in regimen.planned_doses[:-1]] if escalation is None else []
    timing = escalation.timing if escalation is not None else None
    change_days: tuple[int, ...] = ()
    if isinstance(timing, EveryDays):
        change_days = tuple(timing.first_step_day + k * timing.every for k in range(len(steps) - 1))
    cycles: dict[int, int | None] = {i: s.cycle for i, s in phase_slots}
    if not placed:
        return Course(key, regimen.drug, regimen, phase.name, ladder, steps, change_days, (), cycles)
    first_offset = placed[0][2]
    own_cycles = {cycle: n for n, cycle in enumerate(sorted({slots[i].cycle for i, _, _ in placed}), start=1)}
    if regimen.repeat is not None:
        first_cycle = regimen.repeat.start.cycle
        own_cycles = {c: c - first_cycle + 1 for c in own_cycles}
    else:
        own_cycles = _own_cycles(regimen, sorted(own_cycles))
    doses: list[Planned] = []
    step = -1
    for nth, (slot_index, day, offset) in enumerate(placed):
        course_day = offset - first_offset + 1
        own = own_cycles[slots[slot_index].cycle]
        due = _due(timing, len(steps) - 1, course_day, own, day, change_days)
        step = climb(due, step)  # from -1: the course always starts at its start dose
        index = steps[step] if escalation is not None else (firsts[nth] if nth < len(firsts) else steps[0])
        doses.append(Planned(offset, slot_index, day, course_day, due, step, index))
    return Course(key, regimen.drug, regimen, phase.name, ladder, steps, change_days, tuple(doses), cycles)


def _own_cycles(regimen: DrugRegimen, cycles: list[int]) -> dict[int, int]:
    """Each of the phase's ``cycles`` (ascending) as the drug's own cycle number (1 = the first it is given in).

    One pass with a running count: counting from the first cycle again for each one made 999 cycles cost
    half a million membership tests.
    """
    applies = regimen.applies_to
    out: dict[int, int] = {}
    count, cycle = 0, applies.first
    for target in cycles:
        while cycle <= target:
            count += cycle in applies
            cycle += 1
        out[target] = count
    return out


def _due(
    timing: EveryDays | EveryCycles | AtCycleDays | None,
    steps: int,
    course_day: int,
    own_cycle: int,
    cycle_day: int,
    change_days: tuple[int, ...],
) -> int:
    if timing is None or steps == 0:
        return 0
    if isinstance(timing, EveryDays):
        return bisect_right(change_days, course_day)
    if isinstance(timing, EveryCycles):
        if own_cycle < timing.first_step_cycle:
            return 0
        return min(steps, 1 + (own_cycle - timing.first_step_cycle) // timing.every)
    return sum(1 for p in timing.points[:steps] if (p.cycle, p.day) <= (own_cycle, cycle_day))


def _cycle_offsets(regimen: DrugRegimen, phase_slots: list[tuple[int, Slot]]) -> list[tuple[int, int, int]]:
    out = []
    for i, slot in phase_slots:
        for day in regimen.days_in(slot.cycle):
            out.append((i, day, slot.offset + day - 1))
    return out


def _repeat_offsets(
    regimen: DrugRegimen, phase_slots: list[tuple[int, Slot]], start: date
) -> list[tuple[int, int, int]]:
    """Offsets of an every-N-days/weeks/months schedule, placed in the cycles they fall in.

    Month steps are taken on the real calendar of the undelayed plan (multiplied, so month ends do
    not drift: Jan 31 -> Feb 28 -> Mar 31); a delay later moves each dose with its cycle.
    """
    rep = regimen.repeat
    assert rep is not None
    anchor = next((k for k, (_, s) in enumerate(phase_slots) if s.cycle == rep.start.cycle), None)
    if anchor is None:
        return []
    first = phase_slots[anchor][1].offset + rep.start.day - 1
    _, last_slot = phase_slots[-1]
    last = last_slot.offset + last_slot.length - 1
    if rep.for_days is not None:
        last = min(last, first + rep.for_days.value - 1)
    out: list[tuple[int, int, int]] = []
    k = anchor
    for n in itertools.count():
        if rep.count is not None and n >= rep.count.value:
            break
        if rep.every_months is not None:
            from dateutil.relativedelta import relativedelta  # monthly schedules only (start-up)

            anchor_day = start + timedelta(days=first)
            offset = (anchor_day + relativedelta(months=rep.every_months.value * n) - start).days
        else:
            every = rep.every_days.value if rep.every_days is not None else 7 * rep.every_weeks.value  # type: ignore[union-attr]
            offset = first + n * every
        if offset > last:
            break
        while k + 1 < len(phase_slots) and phase_slots[k + 1][1].offset <= offset:
            k += 1
        i, slot = phase_slots[k]
        out.append((i, offset - slot.offset + 1, offset))
    return out
