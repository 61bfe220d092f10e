"""The scheduling engine: a pure function from a protocol and a start date to a ``Calendar``.

It reads no files and prints nothing. Each phase is laid out as back-to-back cycle windows; each
drug regimen places its on-days in those windows; escalation is a list of dated change points
along the drug's own course. Calendar arithmetic (cycles, months) uses python-dateutil's ``relativedelta``;
plain day offsets in the hot loops use ``timedelta``.
"""

from __future__ import annotations

import difflib
import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from .calendar import Calendar, CycleWindow, DoseDay, Modification
from .doses import format_dose
from .errors import ScheduleError
from .events import Hold, NoEscalation, PatientEvents, Resume, Stop
from .patient import Patient
from .protocol import DrugRegimen, Escalation, Phase, Protocol

__all__ = ["expand"]

_MG_PLACES = Decimal("0.1")
MAX_CYCLES = 2000


@dataclass(frozen=True, slots=True)
class _Slot:
    """A cycle window before on/rest days are known."""

    phase: Phase
    cycle: int
    index: int
    start: date
    end: date


def expand(
    protocol: Protocol,
    start: date,
    *,
    cycles: int | None = None,
    until: date | None = None,
    patient: Patient | None = None,
    events: PatientEvents | None = None,
) -> Calendar:
    """Expand ``protocol`` from ``start`` into a calendar.

    ``cycles`` limits the number of cycles (counted across phases); ``until`` cuts the calendar
    after that date. A protocol that runs until progression needs one of the two. ``events``
    (holds, reductions, delays, stops) re-flow the calendar; each change is in ``modifications``.
    """
    if cycles is not None and cycles < 1:
        raise ScheduleError(f"cycles must be at least 1, got {cycles}")
    if until is not None and until < start:
        raise ScheduleError(f"the end date {until.isoformat()} is before the start date {start.isoformat()}")
    if protocol.open_ended and cycles is None and until is None:
        raise ScheduleError(
            f"{protocol.id} continues until progression: give a number of cycles or an end date to expand it"
        )
    events = events or PatientEvents()
    _check_events(protocol, start, events)
    slots = _lay_out(protocol, start, cycles, until, events.delays())
    mods: list[Modification] = []
    _check_delays(slots, events, mods)
    pauses = _pauses(slots)
    rows: list[DoseDay] = []
    order = {name: i for i, name in enumerate(protocol.drugs)}
    for phase in protocol.phases:
        phase_slots = [s for s in slots if s.phase is phase]
        for regimen in phase.drugs:
            course = _Course.of(regimen.drug, events, pauses)
            rows.extend(_place(regimen, phase_slots, start, until, patient, course, mods))
    rows.sort(key=lambda r: (r.date, order[r.drug]))
    for before, after in itertools.pairwise(rows):
        if before.date == after.date and before.drug == after.drug:
            raise ScheduleError(f"{after.drug} would be given twice on {after.date.isoformat()}; refusing")
    windows = _windows(slots, rows, until)
    mods.sort(key=lambda m: (m.date, order.get(m.drug or "", -1)))
    return Calendar(
        protocol=protocol,
        start=start,
        days=tuple(rows),
        windows=windows,
        patient=patient,
        modifications=tuple(dict.fromkeys(mods)),  # two regimens of one drug report a stop once
    )


@dataclass(frozen=True)
class _Course:
    """The patient events that concern one drug, in the form ``_place`` needs."""

    holds: tuple[tuple[Hold, Resume | None], ...]
    frozen_from: date | None
    stop: date | None
    pauses: tuple[tuple[date, date], ...]

    @staticmethod
    def of(drug: str, events: PatientEvents, delay_pauses: list[tuple[date, date]]) -> _Course:
        dated = sorted(events.dated(), key=lambda e: e.date)
        holds: list[tuple[Hold, Resume | None]] = []
        for event in dated:
            if isinstance(event, Hold) and event.drug == drug:
                resume = next(
                    (e for e in dated if isinstance(e, Resume) and e.drug == drug and e.date > event.date), None
                )
                holds.append((event, resume))
        frozen = [e.date for e in dated if isinstance(e, NoEscalation) and e.drug == drug]
        stops = [e.date for e in dated if isinstance(e, Stop) and e.drug in (None, drug)]
        hold_pauses = [(h.date, r.date) for h, r in holds if r is not None and r.level == "same" and r.dose is None]
        return _Course(
            holds=tuple(holds),
            frozen_from=min(frozen) if frozen else None,
            stop=min(stops) if stops else None,
            pauses=tuple(sorted([*delay_pauses, *hold_pauses])),
        )

    def hold_on(self, when: date) -> tuple[Hold, Resume | None] | None:
        for hold, resume in self.holds:
            if hold.date <= when and (resume is None or when < resume.date):
                return hold, resume
        return None


def _check_events(protocol: Protocol, start: date, events: PatientEvents) -> None:
    known = set(protocol.drugs)
    for event in events.dated():
        if event.drug is not None and event.drug not in known:
            close = difflib.get_close_matches(event.drug, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; drugs: {', '.join(protocol.drugs)}"
            raise ScheduleError(f"{event.describe()}: {event.drug!r} is not a drug of {protocol.id}{hint}")
        if event.date < start:
            raise ScheduleError(f"{event.describe()}: the date is before the start {start.isoformat()}")
        if isinstance(event, Resume) and event.dose is not None:
            regimens = [r for p in protocol.phases for r in p.drugs if r.drug == event.drug]
            cap = max(r.max_dose for r in regimens)
            if event.dose > cap:
                raise ScheduleError(f"{event.describe()}: {event.dose} is above the cap {cap}")
            levels = sorted({level for r in regimens for level in _ladder(r)}, reverse=True)
            if event.dose not in levels:
                raise ScheduleError(
                    f"{event.describe()}: {format_dose(event.dose)} is not one of {event.drug}'s dose levels "
                    f"({', '.join(format_dose(x) for x in levels)})"
                )


def _check_delays(slots: Sequence[_Slot], events: PatientEvents, mods: list[Modification]) -> None:
    indexes = {s.index: s for s in slots}
    for cycle, days in sorted(events.delays().items()):
        if cycle not in indexes:
            raise ScheduleError(f"cycle {cycle} cannot be delayed: this calendar has cycles 1-{len(slots)}")
        if cycle == 1:
            raise ScheduleError("cycle 1 cannot be delayed: choose a later start date instead")
        slot = indexes[cycle]
        mods.append(
            Modification(
                slot.start,
                None,
                f"cycle {cycle} delayed by {days} day(s)",
                f"{slot.phase.name} cycle {slot.cycle} now starts {slot.start.isoformat()}; later cycles move too",
            )
        )


def _pauses(slots: Sequence[_Slot]) -> list[tuple[date, date]]:
    """Gaps between cycles (from delays) as [first day, first day after) intervals."""
    return [
        (before.end + timedelta(days=1), after.start)
        for before, after in itertools.pairwise(slots)
        if after.start > before.end + timedelta(days=1)
    ]


def _shifted(changes: list[date], pauses: Sequence[tuple[date, date]]) -> list[date]:
    """Day-counted escalation pauses while treatment pauses: move each change by earlier pauses."""
    out = []
    for change in changes:
        for first, after in pauses:
            if first <= change:
                change += after - first
        out.append(change)
    return out


def _ladder(regimen: DrugRegimen) -> tuple[Decimal, ...]:
    """The doses a reduction may land on: the protocol's dose levels, else its planned doses."""
    return tuple(regimen.dose_levels.value) if regimen.dose_levels is not None else regimen.planned_doses


def _lower_level(regimen: DrugRegimen, dose: Decimal) -> Decimal | None:
    """The next dose level below ``dose`` on the regimen's ladder."""
    below = [level for level in _ladder(regimen) if level < dose]
    return max(below) if below else None


def _lay_out(
    protocol: Protocol, start: date, cycles: int | None, until: date | None, delays: dict[int, int]
) -> list[_Slot]:
    slots: list[_Slot] = []
    cursor = start
    for phase in protocol.phases:
        number = 1
        last = phase.cycles.value if phase.cycles is not None else None
        while last is None or number <= last:
            if cycles is not None and len(slots) >= cycles:
                return slots
            if until is not None and cursor > until:
                return slots
            if len(slots) >= MAX_CYCLES:
                raise ScheduleError(f"refusing to expand more than {MAX_CYCLES} cycles")
            cursor += timedelta(days=delays.get(len(slots) + 1, 0))
            if until is not None and cursor > until:
                return slots
            end = cursor + relativedelta(days=phase.length_of(number) - 1)
            slots.append(_Slot(phase, number, len(slots) + 1, cursor, end))
            cursor = end + relativedelta(days=1)
            number += 1
    return slots


def _place(
    regimen: DrugRegimen,
    slots: Sequence[_Slot],
    start: date,
    until: date | None,
    patient: Patient | None,
    course: _Course,
    mods: list[Modification],
) -> list[DoseDay]:
    dates = _repeat_dates(regimen, slots, until) if regimen.repeat is not None else _cycle_dates(regimen, slots, until)
    if not dates:
        return []
    changes: list[date] = []
    if regimen.escalation is not None:
        changes = _change_points(regimen.escalation, slots, dates[0][2])
        if regimen.escalation.every_days is not None:
            changes = _shifted(changes, course.pauses)
    factor = _body_size_factor(regimen, patient)
    cap = regimen.max_dose
    rows: list[DoseDay] = []
    firsts = regimen.first_doses.value if regimen.first_doses is not None else []
    levels = regimen.escalation.levels if regimen.escalation is not None else ()
    level = 0
    given = 0
    held: dict[Hold, list[date]] = {}
    resumed: set[Resume] = set()
    reduced: Decimal | None = None
    note = ""
    planned: Decimal = regimen.planned_doses[0]  # the dose a hold interrupts if none was given yet
    for slot, day, when in dates:
        if course.stop is not None and when >= course.stop:
            mods.append(
                Modification(
                    course.stop,
                    regimen.drug,
                    f"stop on {course.stop.isoformat()}",
                    f"{regimen.drug}: no doses from {course.stop.isoformat()}",
                )
            )
            break
        active = course.hold_on(when)
        if active is not None:
            held.setdefault(active[0], []).append(when)
            continue
        for hold, resume in course.holds:
            if resume is None or resume in resumed or when < resume.date:
                continue
            resumed.add(resume)
            if hold not in held and not rows:
                continue  # the hold ended before this regimen began (an earlier phase): its plan stands
            before = rows[-1].dose if rows and rows[-1].drug == regimen.drug else planned
            if resume.dose is not None:
                reduced = resume.dose
            elif resume.level == "lower":
                reduced = _lower_level(regimen, reduced if reduced is not None else before)
                if reduced is None:
                    mods.append(
                        Modification(
                            resume.date,
                            regimen.drug,
                            resume.describe(),
                            f"{regimen.drug} stopped: no dose level below {format_dose(before)} {regimen.unit}",
                        )
                    )
                    return _finish(rows, held, regimen, mods)
            if reduced is not None:
                note = f"{resume.describe()} after {hold.describe()}"
                mods.append(
                    Modification(
                        when,
                        regimen.drug,
                        note,
                        f"{regimen.drug} {format_dose(before)} -> {format_dose(reduced)} "
                        f"{regimen.unit}; no further escalation",
                    )
                )
            else:
                note = f"escalation paused by {hold.describe()}"
                mods.append(
                    Modification(
                        when,
                        regimen.drug,
                        resume.describe(),
                        f"{regimen.drug} resumes at {format_dose(before)} {regimen.unit}; "
                        "day-counted escalation shifted by the held days",
                    )
                )
        if reduced is not None:
            dose = reduced
        elif levels:
            # Never climb more than one level between two administrations, even when two increases
            # fall due during a rest period: every level is taken before the next one.
            due = min(bisect_right(changes, when), level + 1)
            if course.frozen_from is not None and when >= course.frozen_from and due > level:
                mods.append(
                    Modification(
                        course.frozen_from,
                        regimen.drug,
                        f"no further escalation from {course.frozen_from.isoformat()}",
                        f"{regimen.drug} stays at {format_dose(levels[level])} {regimen.unit}",
                    )
                )
                note = note or f"no further escalation from {course.frozen_from.isoformat()}"
                due = level
            level = due
            dose = levels[level]
        else:
            assert regimen.dose is not None
            dose = firsts[given] if given < len(firsts) else regimen.dose.value
        planned = dose
        given += 1
        if dose > cap:  # models forbid this; the engine refuses rather than trusts
            raise ScheduleError(f"{regimen.drug} {dose} {regimen.unit} on {when} is above the cap {cap}")
        dose_mg = dose if factor is None else (dose * factor).quantize(_MG_PLACES, ROUND_HALF_UP)
        rows.append(
            DoseDay(
                date=when,
                study_day=(when - start).days + 1,
                phase=slot.phase.name,
                cycle=slot.cycle,
                cycle_day=day,
                drug=regimen.drug,
                dose=dose,
                unit=regimen.unit,
                route=regimen.route,
                dose_mg=dose_mg,
                role=regimen.role,
                modified_by=note,
            )
        )
    return _finish(rows, held, regimen, mods)


def _finish(
    rows: list[DoseDay], held: dict[Hold, list[date]], regimen: DrugRegimen, mods: list[Modification]
) -> list[DoseDay]:
    for hold, days in held.items():
        mods.append(
            Modification(
                hold.date,
                regimen.drug,
                hold.describe(),
                f"{regimen.drug}: {len(days)} planned dose(s) not given "
                f"({days[0].isoformat()} to {days[-1].isoformat()})",
            )
        )
    return rows


def _cycle_dates(regimen: DrugRegimen, slots: Sequence[_Slot], until: date | None) -> list[tuple[_Slot, int, date]]:
    dates = []
    for slot in slots:
        for day in regimen.days_in(slot.cycle):
            when = slot.start + timedelta(days=day - 1)
            if until is not None and when > until:
                break
            dates.append((slot, day, when))
    return dates


def _repeat_dates(regimen: DrugRegimen, slots: Sequence[_Slot], until: date | None) -> list[tuple[_Slot, int, date]]:
    """Dates of an every-N-days/weeks/months schedule, placed in the cycle windows they fall in.

    The schedule runs on treatment time: it is laid out on the cycles as planned, back to back, and
    each date then moves with its cycle, so a delayed cycle delays the doses in it and none falls in
    the gap.
    """
    rep = regimen.repeat
    assert rep is not None
    anchor = next((i for i, s in enumerate(slots) if s.cycle == rep.start.cycle), None)
    if anchor is None:
        return []
    planned: list[date] = []  # where each cycle would start without delays
    cursor = slots[0].start
    for slot in slots:
        planned.append(cursor)
        cursor += slot.end - slot.start + timedelta(days=1)
    first = planned[anchor] + timedelta(days=rep.start.day - 1)
    step: timedelta | relativedelta
    if rep.every_days is not None:
        step = timedelta(days=rep.every_days.value)
    elif rep.every_weeks is not None:
        step = timedelta(weeks=rep.every_weeks.value)
    else:
        assert rep.every_months is not None
        step = relativedelta(months=rep.every_months.value)
    last = cursor - timedelta(days=1)
    if rep.for_days is not None:
        last = min(last, first + timedelta(days=rep.for_days.value - 1))
    out = []
    k = 0
    index = anchor
    while rep.count is None or k < rep.count.value:
        nominal = first + step * k  # multiply the step, so month ends do not drift (Jan 31 -> Feb 28 -> Mar 31)
        if nominal > last:
            break
        while index + 1 < len(slots) and planned[index + 1] <= nominal:  # forward only: walk the cycles once
            index += 1
        slot = slots[index]
        when = slot.start + (nominal - planned[index])
        if until is not None and when > until:
            break
        out.append((slot, (when - slot.start).days + 1, when))
        k += 1
    return out


def _change_points(escalation: Escalation, slots: Sequence[_Slot], first_dose: date) -> list[date]:
    """Dates from which each successive escalation level applies (one per increase)."""
    steps = len(escalation.levels) - 1
    if escalation.every_days is not None:
        every = escalation.every_days.value
        first = escalation.first_step_day.value if escalation.first_step_day else 1 + every
        return [first_dose + relativedelta(days=first - 1 + k * every) for k in range(steps)]
    starts = {slot.cycle: slot.start for slot in slots}
    if escalation.every_cycles is not None:
        every = escalation.every_cycles.value
        first = escalation.first_step_cycle.value if escalation.first_step_cycle else 1 + every
        cycle_numbers = [first + k * every for k in range(steps)]
        return [starts[c] for c in cycle_numbers if c in starts]
    assert escalation.at is not None
    return sorted(
        starts[point.cycle] + relativedelta(days=point.day - 1)
        for point in escalation.at.value[:steps]
        if point.cycle in starts
    )


def _body_size_factor(regimen: DrugRegimen, patient: Patient | None) -> Decimal | None:
    if regimen.unit == "mg":
        return None
    if regimen.unit == "mg/m2":
        bsa = patient.bsa if patient is not None else None
        if bsa is None:
            raise ScheduleError(
                f"{regimen.drug} is dosed in mg/m²: give the body-surface area (--bsa) "
                "or height and weight (--height, --weight) to compute it"
            )
        return bsa
    weight = patient.weight_kg if patient is not None else None
    if weight is None:
        raise ScheduleError(f"{regimen.drug} is dosed in mg/kg: give the patient's weight (--weight)")
    return weight


def _windows(slots: Sequence[_Slot], rows: Sequence[DoseDay], until: date | None) -> tuple[CycleWindow, ...]:
    given = {r.date for r in rows}
    out = []
    for slot in slots:
        end = min(slot.end, until) if until is not None else slot.end
        span = [slot.start + timedelta(days=i) for i in range((end - slot.start).days + 1)]
        out.append(
            CycleWindow(
                phase=slot.phase.name,
                cycle=slot.cycle,
                index=slot.index,
                start=slot.start,
                end=end,
                length_days=slot.phase.length_of(slot.cycle),
                on_days=tuple(d for d in span if d in given),
                rest_days=tuple(d for d in span if d not in given),
                complete=end == slot.end,
            )
        )
    return tuple(out)
