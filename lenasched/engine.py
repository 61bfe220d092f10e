"""The scheduling engine: a pure function from a protocol and a start date to a ``Calendar``.

It reads no files and prints nothing. Each phase is laid out as back-to-back cycle windows; each
drug regimen places its on-days in those windows; escalation is a list of dated change points
along the drug's own course. Calendar arithmetic (cycles, months) uses python-dateutil's ``relativedelta``;
plain day offsets in the hot loops use ``timedelta``.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta

from .calendar import Calendar, CycleWindow, DoseDay
from .errors import ScheduleError
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
) -> Calendar:
    """Expand ``protocol`` from ``start`` into a calendar.

    ``cycles`` limits the number of cycles (counted across phases); ``until`` cuts the calendar
    after that date. A protocol that runs until progression needs one of the two.
    """
    if cycles is not None and cycles < 1:
        raise ScheduleError(f"cycles must be at least 1, got {cycles}")
    if until is not None and until < start:
        raise ScheduleError(f"the end date {until.isoformat()} is before the start date {start.isoformat()}")
    if protocol.open_ended and cycles is None and until is None:
        raise ScheduleError(
            f"{protocol.id} continues until progression: give a number of cycles or an end date to expand it"
        )
    slots = _lay_out(protocol, start, cycles, until)
    rows: list[DoseDay] = []
    order = {name: i for i, name in enumerate(protocol.drugs)}
    for phase in protocol.phases:
        phase_slots = [s for s in slots if s.phase is phase]
        for regimen in phase.drugs:
            rows.extend(_place(regimen, phase_slots, start, until, patient))
    rows.sort(key=lambda r: (r.date, order[r.drug]))
    for before, after in itertools.pairwise(rows):
        if before.date == after.date and before.drug == after.drug:
            raise ScheduleError(f"{after.drug} would be given twice on {after.date.isoformat()}; refusing")
    windows = _windows(slots, rows, until)
    return Calendar(protocol=protocol, start=start, days=tuple(rows), windows=windows, patient=patient)


def _lay_out(protocol: Protocol, start: date, cycles: int | None, until: date | None) -> list[_Slot]:
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
            end = cursor + relativedelta(days=phase.length_of(number) - 1)
            slots.append(_Slot(phase, number, len(slots) + 1, cursor, end))
            cursor = end + relativedelta(days=1)
            number += 1
    return slots


def _place(
    regimen: DrugRegimen, slots: Sequence[_Slot], start: date, until: date | None, patient: Patient | None
) -> list[DoseDay]:
    dates = _repeat_dates(regimen, slots, until) if regimen.repeat is not None else _cycle_dates(regimen, slots, until)
    if not dates:
        return []
    changes = _change_points(regimen.escalation, slots, dates[0][2]) if regimen.escalation else []
    factor = _body_size_factor(regimen, patient)
    cap = regimen.max_dose
    rows = []
    firsts = regimen.first_doses.value if regimen.first_doses is not None else []
    levels = regimen.escalation.levels if regimen.escalation is not None else ()
    level = 0
    for n, (slot, day, when) in enumerate(dates):
        if levels:
            # Never climb more than one level between two administrations, even when two increases
            # fall due during a rest period: every level is taken before the next one.
            level = min(bisect_right(changes, when), level + 1)
            dose = levels[level]
        else:
            assert regimen.dose is not None
            dose = firsts[n] if n < len(firsts) else regimen.dose.value
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
    """Dates of an every-N-days/weeks/months schedule, placed in the cycle windows they fall in."""
    rep = regimen.repeat
    assert rep is not None
    anchor_slot = next((s for s in slots if s.cycle == rep.start.cycle), None)
    if anchor_slot is None:
        return []
    first = anchor_slot.start + relativedelta(days=rep.start.day - 1)
    step: timedelta | relativedelta
    if rep.every_days is not None:
        step = timedelta(days=rep.every_days.value)
    elif rep.every_weeks is not None:
        step = timedelta(weeks=rep.every_weeks.value)
    else:
        assert rep.every_months is not None
        step = relativedelta(months=rep.every_months.value)
    last = slots[-1].end
    if rep.for_days is not None:
        last = min(last, first + relativedelta(days=rep.for_days.value - 1))
    if until is not None:
        last = min(last, until)
    out = []
    k = 0
    index = slots.index(anchor_slot)
    while rep.count is None or k < rep.count.value:
        when = first + step * k  # multiply the step, so month ends do not drift (Jan 31 -> Feb 28 -> Mar 31)
        if when > last:
            break
        while slots[index].end < when:  # dates only move forward: walk the windows once
            index += 1
        slot = slots[index]
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
