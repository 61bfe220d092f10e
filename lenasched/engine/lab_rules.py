"""Lab results through a protocol's dose-modification rules: the holds, resumptions and delays they give.

The rules (``lenasched.model.rules``) say what a table says; this module reads dated results in date
order and turns them into the same events a prescriber would enter by hand, each carrying the
rule, its threshold, the value and the source, so they land in the one audit trail and are
applied with every other event by ``apply``:

- an ``interrupt`` rule whose value falls below its threshold holds the drug from that date
  (once, however many rules fire); the first result at which every fired rule has recovered
  resumes it: at the next lower level if any of them says ``lower``, else at the starting dose if
  any says ``start``, else at the same dose. A rule's first drop uses ``resume_at``; each
  subsequent drop ``then_resume_at`` (the label's "for each subsequent drop").
- a ``delay_cycle`` rule whose value is below its threshold in a result dated in the
  ``checked_within_days`` before a cycle's day 1 delays that cycle to the date of the first later
  result that has recovered. With no such result the drug is held from that day 1, awaiting one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from lenasched.engine.plan import Plan
from lenasched.model.events import Delay, Hold, Resume
from lenasched.model.labs import LabError, LabResult
from lenasched.model.rules import LAB_UNITS, LabRule
from lenasched.model.shapes import DrugRegimenShape

if TYPE_CHECKING:  # either form of a protocol (lenasched.model.compiled)
    from lenasched.model.protocol import Protocol, Reference

__all__ = ["LabDerived", "lab_events"]


@dataclass(frozen=True)
class LabDerived:
    """Events a series of results gives, and for each the result that gave it (for errors)."""

    events: tuple[Hold | Resume | Delay, ...]
    results: tuple[LabResult, ...]
    notes: tuple[tuple[date, str, str, str], ...] = ()  # (date, drug, what the result showed, why no event)
    effective: tuple[date, ...] = ()  # the date each event acts: a delayed cycle's new day 1, else its own date


@dataclass
class _DrugState:
    active: dict[str, str] = field(default_factory=dict)  # rule id -> resume level chosen at its drop
    recovered: list[str] = field(default_factory=list)  # resume levels of the rules recovered in this hold
    held_since: date | None = None
    reduced: bool = False  # a rule already resumed it one level lower: "start" must not climb back


def lab_events(protocol: Protocol, plan: Plan, labs: Sequence[LabResult], delays: dict[int, int]) -> LabDerived:
    """The events ``labs`` give under ``protocol``'s rules, for the calendar laid out by ``plan``.

    ``delays`` are the cycle delays already entered (cycle -> days), so day 1 of each cycle is where
    the patient really is. Results before the start, after the calendar or for a protocol with no
    rules are refused with a :class:`LabError` that names the result.
    """
    if not labs:
        return LabDerived((), ())
    ordered = sorted(labs, key=lambda r: r.date)
    if not protocol.dose_modification:
        raise LabError(
            f"{protocol.id} has no dose-modification rules, so lab results cannot change its calendar "
            f"(first result: {ordered[0].describe()}); use --hold/--resume, or a protocol with rules"
        )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if before.date == after.date:
            raise LabError(f"two results for {after.date.isoformat()}: give one result per date with all its values")
    window = _pre_start_window(protocol)
    if ordered[0].date < plan.start - timedelta(days=window):
        allowed = f" by more than {window} days (the start condition's window)" if window else ""
        raise LabError(f"result {ordered[0].describe()} is before the start ({plan.start.isoformat()}){allowed}")
    events: list[Hold | Resume | Delay] = []
    origins: list[LabResult] = []
    delayed = _cycle_delays(protocol, plan, ordered, dict(delays))
    new_day1: dict[int, date] = {}
    for event, result, acts in delayed:
        events.append(event)
        origins.append(result)
        if isinstance(event, Delay):
            new_day1[len(events) - 1] = acts
    last = _last_day(plan, delays, [e for e in events if isinstance(e, Delay)])
    late = [r for r in ordered if r.date > last]
    if late:
        raise LabError(f"result {late[0].describe()} is after the calendar's last day ({last.isoformat()})")
    states: dict[str, _DrugState] = {}
    drops: dict[str, int] = {}
    names = source_names(protocol)
    notes: list[tuple[date, str, str, str]] = []
    rules = [r for r in protocol.dose_modification if r.action.value == "interrupt"]
    held_by_delay = {e.drug: e.date for e in events if isinstance(e, Hold)}
    for result in ordered:
        if result.date < plan.start:
            continue  # a pre-treatment result: read only by the start condition (delay_cycle) above
        fired: dict[str, list[str]] = {}
        recovered: dict[str, list[str]] = {}
        still: dict[str, list[str]] = {}  # rules already fired, not yet recovered: said, no new event
        for rule in rules:
            value = _value(rule, result)
            if value is None:
                continue
            state = states.setdefault(rule.drug, _DrugState())
            since = held_by_delay.get(rule.drug)
            if since is not None and result.date >= since:
                continue  # held awaiting recovery for a cycle start: nothing to resume into
            if rule.id not in state.active and rule.fires(value):
                drops[rule.id] = drops.get(rule.id, 0) + 1
                choice = rule.resume_at if drops[rule.id] == 1 or rule.then_resume_at is None else rule.then_resume_at
                assert choice is not None
                state.active[rule.id] = choice.value
                fired.setdefault(rule.drug, []).append(_fired(rule, value, _named(rule, result), names))
            elif rule.id in state.active and rule.recovered(value):
                state.recovered.append(state.active.pop(rule.id))
                recovered.setdefault(rule.drug, []).append(_recovered(rule, value, _named(rule, result)))
            elif rule.id in state.active:
                still.setdefault(rule.drug, []).append(_still(rule, value, _named(rule, result)))
        for drug, texts in still.items():
            since = states[drug].held_since
            held = f"held since {since.isoformat()}" if since is not None else "held"
            notes.append((result.date, drug, "; ".join(texts), f"not recovered yet: {drug} stays {held}"))
        for drug in dict.fromkeys([*fired, *recovered]):
            state = states[drug]
            if drug in fired:
                text = "; ".join(fired[drug])
                if state.held_since is None:
                    state.held_since = result.date
                    events.append(Hold(date=result.date, drug=drug, reason=text))
                    origins.append(result)
                else:
                    held = state.held_since.isoformat()
                    notes.append(
                        (result.date, drug, text, f"{drug} already held since {held}; this rule must recover too")
                    )
            if drug not in recovered:
                continue
            text = "; ".join(recovered[drug])
            if state.active:
                waiting = ", ".join(state.active)
                notes.append((result.date, drug, text, f"{drug} stays held: rule {waiting} has not recovered"))
                continue
            resume = _resume(protocol, drug, result.date, state, text)
            events.append(resume)
            origins.append(result)
            state.reduced = state.reduced or (resume.level == "lower" and resume.dose is None)
            state.held_since = None
            state.recovered = []
    notes += _unread(protocol, ordered)
    notes.sort(key=lambda note: note[0])
    effective = tuple(new_day1.get(i, getattr(e, "date", None) or origins[i].date) for i, e in enumerate(events))
    return LabDerived(tuple(events), tuple(origins), tuple(notes), effective)


def _unread(protocol: Protocol, ordered: list[LabResult]) -> list[tuple[date, str, str, str]]:
    """A value no rule reads is said once per result, so "crcl=20" is never silently taken as acted on."""
    rules = protocol.dose_modification
    read = {rule.watches for rule in rules}
    any_grade = any(rule.toxicity == "any" for rule in rules)
    drug = rules[0].drug
    out = []
    for result in ordered:
        unread = [
            f"{name}={value}"
            for name, value in sorted(result.values.items())
            if name not in read and not (any_grade and name.startswith("grade."))
        ]
        if unread:
            names = ", ".join(unread)
            out.append((result.date, drug, names, f"no rule of {protocol.id} reads it: not applied"))
    return out


def source_names(protocol: Protocol) -> dict[str, str]:
    """Source keys in words: ``primary`` is the citation (its title when it has no journal, e.g. a label)."""

    def words(ref: Reference) -> str:
        return ref.short() if ref.journal else ref.title

    return {"primary": words(protocol.citation), **{k: words(r) for k, r in protocol.references.items()}}


def _fired(rule: LabRule, value: Decimal, toxicity: str = "", names: Mapping[str, str] | None = None) -> str:
    """``plt 25 ×10⁹/L, below 30: rule thrombocytopenia (<source in words>, Table 1: "Fall to <30,000/mcL")``."""
    if rule.below is not None:
        what = f"{rule.lab} {value} {LAB_UNITS[rule.lab or '']}, below {rule.below.value}"
    else:
        assert rule.grade_at_least is not None
        what = f"{toxicity or rule.toxicity} grade {value}, at least {rule.grade_at_least.value}"
    return f"{what}: rule {rule.id} ({rule.cited(names)})"


def _still(rule: LabRule, value: Decimal, toxicity: str = "") -> str:
    if rule.recover_at_least is not None:
        what = f"{rule.lab} {value} {LAB_UNITS[rule.lab or '']}, below the {rule.recover_at_least.value} to resume"
    else:
        assert rule.recover_grade_at_most is not None
        what = f"{toxicity or rule.toxicity} grade {value}, above the {rule.recover_grade_at_most.value} to resume"
    return f"{what}: rule {rule.id}"


def _recovered(rule: LabRule, value: Decimal, toxicity: str = "") -> str:
    if rule.recover_at_least is not None:
        return f"{rule.lab} {value} {LAB_UNITS[rule.lab or '']}, at least {rule.recover_at_least.value}: rule {rule.id}"
    assert rule.recover_grade_at_most is not None
    return f"{toxicity or rule.toxicity} grade {value}, at most {rule.recover_grade_at_most.value}: rule {rule.id}"


def _value(rule: LabRule, result: LabResult) -> Decimal | None:
    """The value a rule reads from a result; for ``toxicity: any``, the worst grade given."""
    if rule.toxicity == "any":
        graded = [v for k, v in result.values.items() if k.startswith("grade.")]
        return max(graded) if graded else None
    return result.values.get(rule.watches)


def _named(rule: LabRule, result: LabResult) -> str:
    """The toxicity a ``toxicity: any`` rule fired on (the worst graded one), else the rule's own."""
    if rule.toxicity != "any":
        return rule.toxicity or ""
    graded = sorted(((v, k) for k, v in result.values.items() if k.startswith("grade.")), reverse=True)
    return graded[0][1].removeprefix("grade.")


def _resume(protocol: Protocol, drug: str, when: date, state: _DrugState, reason: str) -> Resume:
    """One resumption for every rule that recovered: lower wins, then start (never above a reduction), then same."""
    levels = state.recovered
    if "lower" in levels:
        return Resume(date=when, drug=drug, level="lower", reason=reason)
    if "start" in levels and state.reduced:
        return Resume(
            date=when, drug=drug, level="same", reason=reason + "; at the reduced dose, not back to the start"
        )
    if "start" in levels:
        start = _starting_dose(protocol, drug)
        return Resume(date=when, drug=drug, dose=start, reason=reason + "; at the starting dose")
    return Resume(date=when, drug=drug, level="same", reason=reason)


def _starting_dose(protocol: Protocol, drug: str) -> Decimal:
    """The first planned dose of the drug's first regimen: the label's "initial starting dose"."""
    for phase in protocol.phases:
        for regimen in phase.drugs:
            if isinstance(regimen, DrugRegimenShape) and regimen.drug == drug:
                return regimen.planned_doses[0]
    raise LabError(f"{drug} has no regimen to resume at its starting dose")


def _cycle_delays(
    protocol: Protocol, plan: Plan, ordered: list[LabResult], delays: dict[int, int]
) -> list[tuple[Hold | Delay, LabResult, date]]:
    """Each cycle delay or awaiting hold, the result that fired it and the date it acts (new day 1 / hold)."""
    rules = [r for r in protocol.dose_modification if r.action.value == "delay_cycle"]
    if not rules:
        return []
    out: list[tuple[Hold | Delay, LabResult, date]] = []
    shift = 0
    for slot in plan.slots:
        shift += delays.get(slot.index, 0)
        day1 = plan.start + timedelta(days=slot.offset + shift)
        for rule in rules:
            assert rule.lab is not None and rule.checked_within_days is not None
            if rule.cycles is not None and rule.cycles.value == "first" and slot.index != 1:
                continue
            window = timedelta(days=rule.checked_within_days.value)
            low = [
                r
                for r in ordered
                if day1 - window <= r.date <= day1 and rule.lab in r.values and rule.fires(r.values[rule.lab])
            ]
            if not low:
                continue
            fired = low[-1]
            recovered = next(
                (
                    r
                    for r in ordered
                    if r.date > fired.date and rule.lab in r.values and rule.recovered(r.values[rule.lab])
                ),
                None,
            )
            why = f"{_fired(rule, fired.values[rule.lab], names=source_names(protocol))} on {fired.date.isoformat()}"
            if recovered is None:
                hold = Hold(
                    date=day1, drug=rule.drug, reason=f"cycle {slot.index} not started: {why}; awaiting recovery"
                )
                return [*out, (hold, fired, day1)]
            if recovered.date <= day1:
                continue
            if slot.index == 1:
                start = recovered.date.isoformat()
                raise LabError(
                    f"cycle 1 cannot start on {day1.isoformat()}: {why}; the counts recovered on {start}, so "
                    f"treatment starts then: give --start {start} (cycle 1 day 1 is the day treatment begins)"
                )
            days = (recovered.date - day1).days
            if slot.index in delays:
                raise LabError(
                    f"cycle {slot.index} is already delayed by an entered delay; the result {fired.describe()} "
                    "would delay it again: give one delay per cycle"
                )
            value = recovered.values[rule.lab]
            reason = f"{why}; started when {rule.lab} {value} on {recovered.date.isoformat()}"
            out.append((Delay(cycle=slot.index, days=days, reason=reason), fired, recovered.date))
            delays[slot.index] = days
            shift += days
            day1 = recovered.date
    return out


def _pre_start_window(protocol: Protocol) -> int:
    """Days before the start a result may be dated: the widest window of a rule that checks cycle 1."""
    windows = [
        r.checked_within_days.value
        for r in protocol.dose_modification
        if r.action.value == "delay_cycle" and r.checked_within_days is not None
    ]
    return max(windows, default=0)


def _last_day(plan: Plan, delays: dict[int, int], lab_delays: list[Delay]) -> date:
    """The calendar's last day: the last cycle's last day, after every delay."""
    if not plan.slots:
        return plan.start
    total = sum(delays.values()) + sum(d.days for d in lab_delays)
    last = plan.slots[-1]
    return plan.start + timedelta(days=last.offset + last.length - 1 + total)
