"""The answer at the counter: what a protocol's dose-modification rules say to do on one date.

"The platelets are 25 today - what now?" is one date, one result and the patient's history: the
results before it decide whether the drug is already held and how many drops came before. This
module runs the same rules the calendar applies (``lenasched.engine.lab_rules``) on the results up
to that date, and reads off the one action for that date, the rule behind it with its source,
and the next dose of the calendar those results give. It advises nothing the calendar would not do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from lenasched.engine.calendar import Calendar
from lenasched.engine.lab_rules import LabDerived
from lenasched.model.doses import format_dose
from lenasched.model.events import Delay, Hold, PatientEvents, Resume
from lenasched.model.labs import LabError, LabResult
from lenasched.model.patient import Patient
from lenasched.model.protocol import Protocol
from lenasched.model.rules import LAB_UNITS, LabRule

__all__ = ["Action", "Advice", "advise"]

Action = Literal["interrupt", "resume", "do_not_start_cycle", "start_cycle", "stay_held", "no_change"]


@dataclass(frozen=True)
class Advice:
    """One date's action under a protocol's rules, with why and what comes next."""

    protocol_id: str
    on: date
    drug: str
    result: LabResult | None
    action: Action
    headline: str
    reasons: tuple[str, ...]
    """Each rule that fired or recovered on this date (or why nothing changes), with its source."""
    checks: tuple[str, ...]
    """Every value of the result against every rule that reads it, fired or not."""
    next_dose: tuple[date, Decimal, str] | None
    """The next date ``drug`` is given in the calendar these results give, its dose and unit."""

    def lines(self) -> list[str]:
        out = [self.headline]
        out += [f"  because {r}" for r in self.reasons]
        if self.next_dose is not None:
            when, dose, unit = self.next_dose
            out.append(f"next {self.drug} dose: {format_dose(dose)} {unit} on {when.isoformat()}")
        elif self.action in ("interrupt", "stay_held", "do_not_start_cycle"):
            out.append(f"no {self.drug} until a result shows recovery")
        else:
            out.append(f"no further {self.drug} dose in the calendar")
        return out


def advise(
    protocol: Protocol,
    start: date,
    labs: Sequence[LabResult],
    *,
    on: date | None = None,
    events: PatientEvents | None = None,
    patient: Patient | None = None,
) -> Advice:
    """What ``protocol``'s rules say on ``on`` (default: the date of the latest result), given every result up to it.

    Results after ``on`` are ignored (they are the future at that date). Raises :class:`LabError`
    when there is no result on or before ``on``, or the protocol has no rules.
    """
    from lenasched.engine import expand
    from lenasched.engine.lab_rules import lab_events
    from lenasched.engine.plan import make_plan

    if not protocol.dose_modification:
        raise LabError(f"{protocol.id} has no dose-modification rules: there is nothing to advise from lab results")
    if not labs:
        raise LabError("give at least one lab result (--lab DATE:NAME=VALUE or --labs FILE)")
    when = on or max(r.date for r in labs)
    known = sorted((r for r in labs if r.date <= when), key=lambda r: r.date)
    if not known:
        raise LabError(f"no result on or before {when.isoformat()}")
    if when < start:  # a pre-treatment result: the question is whether cycle 1 may start
        when = start
    longest = max(phase.cycle_length_days.value for phase in protocol.phases)
    until = when + timedelta(days=2 * longest)
    entered = events or PatientEvents()
    plan = make_plan(protocol, start, until=until)
    derived = lab_events(protocol, plan, known, entered.delays())
    calendar = expand(protocol, start, until=until, events=entered, labs=known, patient=patient)
    result = next((r for r in known if r.date == when), None)
    if result is None and when == start and known[-1].date < start:
        result = known[-1]
    drug = protocol.dose_modification[0].drug
    action, headline, reasons = _action(protocol, when, derived, drug)
    checks = tuple(_checks(protocol, result)) if result is not None else ()
    next_dose = _next_dose(calendar, drug, when)
    if action == "resume" and next_dose is not None:
        headline += f": {format_dose(next_dose[1])} {next_dose[2]} a day"
    if action in ("interrupt", "stay_held", "do_not_start_cycle") and result is not None:
        waiting = [r.recovery() for r in protocol.dose_modification if _fires(r, result)]
        if waiting:
            headline += "; recheck, and resume when " + " and ".join(dict.fromkeys(waiting))
    return Advice(protocol.id, when, drug, result, action, headline, reasons, checks, next_dose)


def _fires(rule: LabRule, result: LabResult) -> bool:
    names = [k for k in result.values if k.startswith("grade.")] if rule.toxicity == "any" else [rule.watches]
    return any(name in result.values and rule.fires(result.values[name]) for name in names)


def _action(protocol: Protocol, when: date, derived: LabDerived, drug: str) -> tuple[Action, str, tuple[str, ...]]:
    day = when.isoformat()
    events, notes = derived.events, derived.notes
    for event, acts in zip(events, derived.effective, strict=True):
        if isinstance(event, Hold) and event.date == when and event.reason and event.reason.startswith("cycle "):
            cycle = event.reason.split(" ")[1]
            return (
                "do_not_start_cycle",
                f"DO NOT START cycle {cycle} of {event.drug}: recheck counts; start when they recover",
                (event.reason,),
            )
        if isinstance(event, Hold) and event.date == when:
            return "interrupt", f"INTERRUPT {event.drug} from {day}", tuple((event.reason or "").split("; "))
        if isinstance(event, Resume) and event.date == when:
            how = (
                f"at {format_dose(event.dose)} mg (the starting dose)"
                if event.dose is not None
                else ("at the next lower dose level" if event.level == "lower" else "at the same dose")
            )
            return "resume", f"RESUME {event.drug} {how} from {day}", tuple((event.reason or "").split("; "))
        if isinstance(event, Delay) and acts == when:
            return "start_cycle", f"START cycle {event.cycle} on {day}: counts have recovered", (event.reason or "",)
    today = [n for n in notes if n[0] == when and not n[3].startswith("no rule")]
    if today:
        return "stay_held", f"KEEP {drug} HELD", tuple(f"{n[2]}: {n[3]}" for n in today)
    held = _held_since(events, when, drug)
    if held is not None:
        return "stay_held", f"KEEP {drug} HELD (since {held.isoformat()}): no rule has recovered yet", ()
    return "no_change", f"NO CHANGE to {drug} on {day}: no rule of {protocol.id} fires", ()


def _held_since(events: Sequence[Hold | Resume | Delay], when: date, drug: str) -> date | None:
    held: date | None = None
    for event in sorted((e for e in events if not isinstance(e, Delay)), key=lambda e: e.date):
        if event.date > when or event.drug != drug:
            continue
        held = event.date if isinstance(event, Hold) else None
    return held


def _checks(protocol: Protocol, result: LabResult) -> list[str]:
    from lenasched.engine.lab_rules import source_names

    sources = source_names(protocol)
    out = []
    for rule in protocol.dose_modification:
        names = [k for k in result.values if k.startswith("grade.")] if rule.toxicity == "any" else [rule.watches]
        for name in names:
            if name not in result.values:
                continue
            value = result.values[name]
            shown = f"{name} {value} {LAB_UNITS.get(name, '')}".rstrip()
            verdict = "fires" if rule.fires(value) else "does not fire"
            out.append(f"{shown}: rule {rule.id} ({rule.condition()}) {verdict}; source: {rule.cited(sources)}")
    return out


def _next_dose(calendar: Calendar, drug: str, when: date) -> tuple[date, Decimal, str] | None:
    for day in calendar.for_drug(drug):
        if day.date >= when:
            return day.date, day.dose, day.unit
    return None
