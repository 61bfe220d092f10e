"""``expand``: plan, then apply. A pure function from a protocol, a start date and what happened to a ``Calendar``.

It reads no files and prints nothing. ``start`` is always cycle 1 day 1 of the first treatment
cycle; lead-in days fall on the dates before it (days -N..-1).
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Collection, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from lenasched.engine.apply import RenalCeiling, apply_plan
from lenasched.engine.calendar import Calendar, CycleWindow, DoseDay, LeadInWindow
from lenasched.engine.modifiers import Trail
from lenasched.engine.plan import Plan, Slot, check_dates, ladder_of, make_plan
from lenasched.engine.safety import Permission
from lenasched.errors import ScheduleError
from lenasched.model.compiled import NO_EVENTS
from lenasched.model.doses import format_dose
from lenasched.model.drugs import normalise_drug

if TYPE_CHECKING:
    from lenasched.engine.apply import RenalChangeRecord
    from lenasched.engine.renal import RenalAdjustment, RenalFunction
    from lenasched.model.events import PatientEvents
    from lenasched.model.label import Label, Market
    from lenasched.model.labs import LabResult
    from lenasched.model.patient import Patient
    from lenasched.model.protocol import DrugRegimen, LeadInRegimen, Protocol

__all__ = ["expand"]


def expand(
    protocol: Protocol,
    start: date,
    *,
    cycles: int | None = None,
    until: date | None = None,
    patient: Patient | None = None,
    events: PatientEvents | None = None,
    renal: RenalFunction | None = None,
    renal_column: str | None = None,
    allow: Collection[Permission] = (),
    label: Label | None = None,
    drugs: Collection[str] | None = None,
    labs: Sequence[LabResult] | None = None,
    market: Market = "us",
) -> Calendar:
    """Expand ``protocol`` from ``start`` (cycle 1 day 1) into a calendar.

    ``cycles`` limits the number of treatment cycles (counted across phases; a lead-in is not a
    cycle); ``until`` cuts the calendar after that date. A protocol that runs until progression
    needs one of the two. ``events`` (holds, reductions, delays, stops) and ``renal`` (the label's
    renal table as a ceiling) are applied to the plan; every change is in ``modifications`` and in
    the changed rows' ``modified_by``. The calendar refuses a dose above the protocol's cap or a
    lenalidomide dose no capsules make unless ``allow`` names the permission. ``label`` is the
    product label data the renal rule reads (default: the bundled one). ``drugs`` keeps only those
    drugs (e.g. lenalidomide, to dispense it): cycles keep their dates, the other drugs' doses are not
    computed (so they need no BSA), and events naming them are checked and recorded as not applied.
    ``market`` (``us`` or ``eu``) sets the capsule strengths every dose is checked against (the EU
    also has 7.5 mg); the EU renal table is not in lenasched's label data, so ``renal`` with ``eu`` is
    refused. ``labs`` (dated results and toxicity grades) go through the protocol's ``dose_modification``
    rules; the holds, resumptions and delays they give join ``events`` and are applied with them.
    """
    if market not in ("us", "eu"):
        raise ScheduleError(f"unknown market {market!r}; known: us, eu")
    if market != "us" and renal is not None:
        raise ScheduleError(
            "lenasched's label data holds the US renal starting-dose table only (the EU SmPC's current table "
            "was not verified, and its moderate band differs: 30-50 mL/min); give the prescribed dose instead "
            "of a CrCl with --market eu"
        )
    if cycles is not None and cycles < 1:
        raise ScheduleError(f"cycles must be at least 1, got {cycles}")
    if until is not None and until < start:
        raise ScheduleError(f"the end date {until.isoformat()} is before the start date {start.isoformat()}")
    if protocol.open_ended and cycles is None and until is None:
        raise ScheduleError(
            f"{protocol.id} continues until progression: give a number of cycles or an end date to expand it"
        )
    # the plain empty list: a calendar without events then imports no events model (the command line's start-up)
    if events is None:
        events = cast("PatientEvents", NO_EVENTS)  # it answers what the engine asks of an empty list
    plan = make_plan(protocol, start, cycles=cycles, until=until)
    check_dates(protocol, start, list(plan.slots), sum(events.delays().values()))  # delays push the end out
    lab_notes: tuple[tuple[date, str, str, str], ...] = ()
    if labs:
        events, lab_notes = _with_labs(protocol, plan, events, labs, until)
        check_dates(protocol, start, list(plan.slots), sum(events.delays().values()))  # and the delays results give
    _check_events(plan, events)
    trail = Trail()
    for note in lab_notes:
        trail.note(*note)
    if drugs is not None:
        plan = _only(plan, drugs, events, trail)
    shifts, notes = _delays(plan, events, trail)
    slots = [s for s, shift in zip(plan.slots, shifts) if until is None or start + timedelta(s.offset + shift) <= until]
    factors = {c.key: _body_size_factor(c.regimen, patient) for c in plan.live_courses if c.doses}
    column = renal_column or (protocol.renal_column.value if protocol.renal_column is not None else "mm_mcl")
    rule, adjustment_of = _renal_rule(protocol, renal, column, label)
    rows, changes = apply_plan(plan, events, shifts, notes, until, factors, rule, trail)
    for before, after in itertools.pairwise(rows):
        if before.date == after.date and before.drug == after.drug:
            raise ScheduleError(f"{after.drug} would be given twice on {after.date.isoformat()}; refusing")
    order = {name: i for i, name in enumerate(protocol.drugs)}
    trail.entries.sort(key=lambda m: (m.date, order.get(m.drug or "", -1)))
    return Calendar(
        protocol=protocol,
        start=start,
        days=tuple(rows),
        windows=_windows(slots, shifts, start, rows, until),
        patient=patient,
        modifications=tuple(trail.entries),
        lead_in=_lead_in_window(plan, rows),
        renal=adjustment_of(changes) if adjustment_of is not None else None,
        events=events,
        cycles=cycles,
        until=until,
        allow=frozenset(allow),
        market=market,
    )


def _with_labs(
    protocol: Protocol, plan: Plan, events: PatientEvents, labs: Sequence[LabResult], until: date | None
) -> tuple[PatientEvents, tuple[tuple[date, str, str, str], ...]]:
    """The entered events and the ones the results give, checked together as one list."""
    from pydantic import ValidationError

    from lenasched.engine.lab_rules import lab_events
    from lenasched.model.events import PatientEvents
    from lenasched.model.labs import LabError  # lab results are rare: their modules load when there are some

    if until is not None:
        late = [r for r in labs if r.date > until]
        if late:
            raise LabError(f"result {late[0].describe()} is after the calendar's end ({until.isoformat()})")
    derived = lab_events(protocol, plan, labs, events.delays())
    entered = len(events.events)
    try:
        return PatientEvents(events=[*events.events, *derived.events]), derived.notes
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = problem.get("loc", ())
        index = where[1] if len(where) > 1 and isinstance(where[1], int) else None
        message = str(problem.get("ctx", {}).get("error", problem.get("msg", "")))
        if index is None:  # a list-level problem: find the first derived event the entered ones cannot take
            for k in range(len(derived.events)):
                try:
                    PatientEvents(events=[*events.events, *derived.events[: k + 1]])
                except ValidationError:
                    index = entered + k
                    break
        if index is not None and index >= entered:
            result = derived.results[index - entered]
            raise LabError(
                f'result {result.describe()} gives "{derived.events[index - entered].describe()}", which does not fit '
                f"the entered events ({message}); change the entered events or the results"
            ) from None
        raise LabError(f"the results do not fit the entered events: {message}") from None


def _only(plan: Plan, drugs: Collection[str], events: PatientEvents, trail: Trail) -> Plan:
    """The drug filter: a plan of ``drugs`` only; events for the others are recorded as not applied here."""
    keep = {normalise_drug(d) for d in drugs}
    unknown = sorted(keep - set(plan.protocol.drugs))
    if unknown:
        raise ScheduleError(
            f"{unknown[0]!r} is not a drug of {plan.protocol.id}; drugs: {', '.join(plan.protocol.drugs)}"
        )
    for event in events.dated():
        if event.drug is not None and event.drug not in keep:
            trail.note(
                event.date,
                event.drug,
                event.describe(),
                f"{event.drug} is not in this calendar ({', '.join(sorted(keep))})",
            )
    courses = tuple(c for c in plan.courses if c.drug in keep)
    kept = {c.key for c in courses}
    order = tuple(k for k in plan.order if k[0] in kept)
    return Plan(plan.protocol, plan.start, plan.slots, plan.courses, plan.lead_in_days, order, frozenset(kept))


def _check_events(plan: Plan, events: PatientEvents) -> None:
    protocol = plan.protocol
    known = set(protocol.drugs)
    first = plan.start - timedelta(days=plan.lead_in_days)
    for event in events.dated():
        if event.drug is not None and event.drug not in known:
            close = difflib.get_close_matches(event.drug, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; drugs: {', '.join(protocol.drugs)}"
            raise ScheduleError(f"{event.describe()}: {event.drug!r} is not a drug of {protocol.id}{hint}")
        if event.date < first:
            what = "the first lead-in day" if plan.lead_in_days else "the start"
            raise ScheduleError(f"{event.describe()}: the date is before {what} {first.isoformat()}")
        if event.kind == "resume" and event.dose is not None:
            courses = [c for c in plan.courses if c.drug == event.drug]
            cap = max(c.regimen.max_dose for c in courses)
            if event.dose > cap:
                raise ScheduleError(f"{event.describe()}: {event.dose} is above the cap {cap}")
            levels = sorted({level for c in courses for level in ladder_of(c.regimen)}, reverse=True)
            if event.dose not in levels:
                raise ScheduleError(
                    f"{event.describe()}: {format_dose(event.dose)} is not one of {event.drug}'s dose levels "
                    f"({', '.join(format_dose(x) for x in levels)})"
                )


def _delays(plan: Plan, events: PatientEvents, trail: Trail) -> tuple[list[int], list[str]]:
    """Days each planned cycle moves (delays add up), and the note its rows carry."""
    delays = events.delays()
    slots = plan.slots
    for cycle in sorted(delays):
        if cycle > len(slots):
            raise ScheduleError(f"cycle {cycle} cannot be delayed: this calendar has cycles 1-{len(slots)}")
        if cycle == 1:
            raise ScheduleError("cycle 1 cannot be delayed: choose a later start date instead")
    shifts: list[int] = []
    notes: list[str] = []
    total = 0
    moved: list[str] = []
    for slot in slots:
        if slot.index in delays:
            total += delays[slot.index]
            moved.append(f"cycle {slot.index} delayed by {delays[slot.index]} day(s)")
            begins = plan.date_of(slot.offset + total)
            trail.note(
                begins,
                None,
                moved[-1],
                f"{slot.phase.name} cycle {slot.cycle} now starts {begins.isoformat()}; later cycles move too",
            )
        shifts.append(total)
        notes.append("; ".join(moved))
    return shifts, notes


def _body_size_factor(regimen: DrugRegimen | LeadInRegimen, patient: Patient | None) -> Decimal | None:
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


def _renal_rule(
    protocol: Protocol, renal: RenalFunction | None, column: str, label: Label | None
) -> tuple[RenalCeiling | None, Callable[[Sequence[RenalChangeRecord]], RenalAdjustment] | None]:
    if renal is None:
        return None, None
    from lenasched.engine.renal import renal_modifier

    return renal_modifier(protocol, renal, column, label)


def _windows(
    slots: Sequence[Slot], shifts: Sequence[int], start: date, rows: Sequence[DoseDay], until: date | None
) -> tuple[CycleWindow, ...]:
    given = {r.study_day - 1 for r in rows if r.cycle is not None}  # offsets from the start with a dose
    if not slots:
        return ()
    total = slots[-1].offset + shifts[-1] + slots[-1].length
    dates = [start + timedelta(days=k) for k in range(total)]  # one date object per day, shared by all windows
    out = []
    for slot in slots:
        first_offset = slot.offset + shifts[slot.index - 1]
        last_offset = first_offset + slot.length - 1
        end_offset = min(last_offset, (until - start).days) if until is not None else last_offset
        span = range(first_offset, end_offset + 1)
        out.append(
            CycleWindow(
                phase=slot.phase.name,
                cycle=slot.cycle,
                index=slot.index,
                start=dates[first_offset],
                end=dates[end_offset],
                length_days=slot.length,
                on_days=tuple([dates[k] for k in span if k in given]),
                rest_days=tuple([dates[k] for k in span if k not in given]),
                complete=end_offset == last_offset,
            )
        )
    return tuple(out)


def _lead_in_window(plan: Plan, rows: Sequence[DoseDay]) -> LeadInWindow | None:
    if not plan.lead_in_days:
        return None
    first = plan.start - timedelta(days=plan.lead_in_days)
    span = [first + timedelta(days=i) for i in range(plan.lead_in_days)]
    given = {r.date for r in rows if r.cycle is None}
    return LeadInWindow(
        start=first,
        end=plan.start - timedelta(days=1),
        on_days=tuple(d for d in span if d in given),
        rest_days=tuple(d for d in span if d not in given),
    )
