"""Engine properties strong enough to catch a broken engine, and meta-tests that prove they can fail.

The older invariants (test_engine.py, test_events.py) all still pass when escalation is switched
off, because they only say what a dose may *not* be. Here each calendar is compared with an
independent oracle (tests/oracle.py: the dose on each date computed straight from the rules), and
patient events are checked as properties of the output. Every check is a plain function
``check_*(protocol, calendar, events) -> list[str]`` (one message per violation, empty = fine), so
the same function serves the hypothesis tests and the meta-tests at the bottom, which apply each
known way of getting it wrong to a correct calendar and assert the check reports it:

1. never escalating;                      2. escalating one cycle late;
3. forgetting a stop when a later phase begins (an explicit stop, or a reduction below the floor);
4. anchoring a late-starting drug's steps on its phase's cycle 1 (skipping its start dose);
5. giving a dose on a held day;           6. exceeding the renal ceiling;

and a few more (a level skipped, a freeze ignored, a delay ignored, a lead-in with a day 0, silent
changes, a lost audit entry, a reduction or an escalation pause leaking into the next phase).
Further meta-tests use ``hypothesis.find`` to show the generators do produce cases that tell each
broken engine from a correct one, so the hypothesis properties would see it too.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cache, cached_property
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from lenasched import Calendar, CycleWindow, DoseDay, Modification, Protocol, expand, protocol_from_dict
from lenasched.engine.renal import RenalFunction
from lenasched.model.events import Delay, Hold, NoEscalation, PatientEvents, Resume, Stop

from .oracle import Row, Span, course_levels, expected, ladder

LENA = "lenalidomide"
NO_EVENTS = PatientEvents()
DOSES = ("2.5", "5", "10", "15", "20", "25")  # every one made by whole capsules
RENAL = RenalFunction.given(Decimal("45"))
RENAL_CEILING = Decimal(10)  # label renal table, CrCl 30-60 mL/min: 10 mg every 24 hours (so no day is dropped)

Check = Callable[[Protocol, Calendar, PatientEvents], list[str]]


# ---- generated protocols and events -----------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A generated protocol (its dict is what hypothesis prints, so a failure can be rebuilt) and a start date."""

    spec: dict[str, Any]
    start: date

    @cached_property
    def protocol(self) -> Protocol:
        return protocol_from_dict(self.spec)


@dataclass(frozen=True)
class EventCase(Case):
    items: tuple[dict[str, Any], ...] = ()

    @property
    def events(self) -> PatientEvents:
        return PatientEvents.model_validate({"events": list(self.items)})


def build(phases: list[dict[str, Any]], lead_in: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"schema_version": 1, "id": "gen", "title": "G", "setting": "s", "citation": {"title": "c"}}
    if lead_in is not None:
        spec["lead_in"] = lead_in
    spec["phases"] = phases
    return spec


@st.composite
def escalations(draw: st.DrawFn, length: int) -> tuple[dict[str, Any], list[Decimal]]:
    """Equal steps or a sequence, timed by every_days, every_cycles or named cycle days; and its levels."""
    body: dict[str, Any]
    if draw(st.booleans()):
        start, step = draw(st.sampled_from([("2.5", "2.5"), ("5", "5"), ("10", "5"), ("5", "2.5")]))
        levels = [Decimal(start) + k * Decimal(step) for k in range(draw(st.integers(2, 4)))]
        body = {"start": start, "step": step, "cap": str(levels[-1])}
    else:
        levels = sorted(Decimal(x) for x in draw(st.sets(st.sampled_from(DOSES), min_size=2, max_size=4)))
        body = {"sequence": [str(x) for x in levels]}
    timing = draw(st.sampled_from(["every_days", "every_cycles", "at"]))
    if timing == "every_days":
        body["every_days"] = draw(st.integers(1, 35))
        if draw(st.booleans()):
            body["first_step_day"] = draw(st.integers(2, 40))
    elif timing == "every_cycles":
        body["every_cycles"] = draw(st.integers(1, 2))
        if draw(st.booleans()):
            body["first_step_cycle"] = draw(st.integers(2, 3))
    else:
        increases = len(levels) - 1
        points = draw(
            st.sets(st.tuples(st.integers(1, 3), st.integers(1, length)), min_size=increases, max_size=increases)
        )
        body["at"] = [{"cycle": c, "day": d} for c, d in sorted(points)]
    return body, levels


@st.composite
def lenalidomide_regimens(draw: st.DrawFn, length: int, cycles: int | None) -> dict[str, Any]:
    """One lenalidomide regimen; it may begin after cycle 1 of its phase or part-way into its first cycle."""
    first = draw(st.integers(1, length))
    last = draw(st.integers(first, length))
    regimen: dict[str, Any] = {"drug": LENA, "days": f"{first}-{last}"}
    begins = draw(st.integers(1, min(cycles or 3, 3)))
    if begins > 1 or draw(st.booleans()):
        forms = [f"{begins}-", f"{begins}-/2"] + ([f"{begins}-{cycles}"] if cycles is not None else [])
        regimen["cycles"] = draw(st.sampled_from(forms))
    if draw(st.booleans()):
        regimen["first_cycle_start_day"] = draw(st.integers(first, last))
    if draw(st.integers(0, 3)):  # mostly escalating: that is what is being tested
        regimen["escalation"], planned = draw(escalations(length))
    else:
        regimen["dose"] = draw(st.sampled_from(DOSES))
        planned = [Decimal(regimen["dose"])]
    if draw(st.booleans()):  # reduction levels below the start (what `resume: lower` steps down to)
        lower = draw(st.sets(st.sampled_from([Decimal("2.5"), Decimal("5"), Decimal("7.5")])))
        levels = sorted({*planned, *(x for x in lower if x <= max(planned))}, reverse=True)
        regimen["dose_levels"] = [str(x) for x in levels]
    return regimen


PHASE_NAMES = (["treatment"], ["induction", "maintenance"], ["induction", "consolidation", "maintenance"])


@st.composite
def protocol_cases(
    draw: st.DrawFn, *, open_ended: bool = False, lead_in: bool | None = None, min_phases: int = 1
) -> Case:
    """One to three phases, each with its own lenalidomide regimen; optionally a lead-in before cycle 1."""
    names = draw(st.sampled_from([names for names in PHASE_NAMES if len(names) >= min_phases]))
    phases = []
    for i, name in enumerate(names):
        length = draw(st.integers(7, 35))
        endless = open_ended and i == len(names) - 1 and draw(st.booleans())
        cycles = None if endless else draw(st.integers(1, 4))
        phase: dict[str, Any] = {"name": name, "cycle_length_days": length}
        phase.update({"until_progression": True} if cycles is None else {"cycles": cycles})
        if draw(st.booleans()):
            phase["cycle_lengths"] = {1: length + draw(st.integers(1, 14))}
        phase["drugs"] = [draw(lenalidomide_regimens(length, cycles))]
        phases.append(phase)
    lead: dict[str, Any] | None = None
    if lead_in if lead_in is not None else draw(st.booleans()):
        earliest = draw(st.integers(1, 7))
        days = f"-{earliest}..-{draw(st.integers(1, earliest))}"
        lead = {"drugs": [{"drug": "allopurinol", "role": "prophylaxis", "dose": 300, "days": days}]}
    spec = build(phases, lead)
    start = draw(st.dates(date(2000, 1, 1), date(2090, 1, 1)))
    case = Case(spec, start)
    assert case.protocol  # validated while generating: an invalid spec is a generator bug
    return case


@st.composite
def event_cases(draw: st.DrawFn, *, delays_only: bool = False) -> EventCase:
    """Holds (resumed lower, at the same level, or never), a freeze, a stop, a delayed cycle.

    Dates are drawn over the planned calendar, so events land on dose days, rest days, phase
    boundaries and holds that run from one phase into the next.
    """
    case = draw(protocol_cases())
    spans = expected(case.protocol, case.start).spans
    last = (spans[-1].end - case.start).days

    def on(offset: int) -> str:
        return (case.start + timedelta(days=offset)).isoformat()

    items: list[dict[str, Any]] = []
    latest = -1  # offset of the latest dated event so far: a stop must come after all of them
    # phase changes are where engines go wrong: half the time the first hold starts just before one
    changes = [(b.start - case.start).days for a, b in itertools.pairwise(spans) if a.phase != b.phase]
    if not delays_only:
        if changes and draw(st.booleans()):  # type: ignore[arg-type]  # mypy types `and` from the list
            cursor = max(0, draw(st.sampled_from(changes)) - draw(st.integers(0, 21)))
        else:
            cursor = draw(st.integers(0, last))
        for _ in range(draw(st.integers(0, 2))):
            items.append({"hold": on(cursor), "reason": "neutropenia", "grade": 3})
            latest = cursor
            how = draw(st.sampled_from(["lower", "same", "never"]))
            if how == "never":
                break
            cursor += draw(st.integers(1, 35))
            items.append({"resume": on(cursor), "level": how})
            latest = cursor
            cursor += draw(st.integers(1, 30))
        if draw(st.booleans()):
            freeze = draw(st.integers(0, last))
            items.append({"no_escalation": on(freeze)})
            latest = max(latest, freeze)
        if draw(st.booleans()):
            stop = latest + 1 + draw(st.integers(0, max(0, last - latest) + 7))
            items.append({"stop": on(stop), "drug": draw(st.sampled_from([None, LENA]))})
    if len(spans) > 1 and (delays_only or draw(st.booleans())):
        for cycle in sorted(draw(st.sets(st.integers(2, len(spans)), min_size=1, max_size=2))):
            items.append({"delay": {"cycle": cycle, "days": draw(st.integers(1, 14))}})
    return EventCase(case.spec, case.start, tuple(items))


@st.composite
def resumed_before_a_phase(draw: st.DrawFn) -> EventCase:
    """A hold that ends (same level or one lower) before a later phase begins, and perhaps a delay."""
    case = draw(protocol_cases(min_phases=2))
    spans = expected(case.protocol, case.start).spans
    begins = [(b.start - case.start).days for a, b in itertools.pairwise(spans) if a.phase != b.phase]
    boundary = draw(st.sampled_from(begins))
    hold = draw(st.integers(0, boundary - 1))
    resume = draw(st.integers(hold + 1, boundary))
    items: list[dict[str, Any]] = [
        {"hold": (case.start + timedelta(hold)).isoformat()},
        {"resume": (case.start + timedelta(resume)).isoformat(), "level": draw(st.sampled_from(["same", "lower"]))},
    ]
    if draw(st.booleans()):
        items.append({"delay": {"cycle": draw(st.integers(2, len(spans))), "days": draw(st.integers(1, 14))}})
    return EventCase(case.spec, case.start, tuple(items))


# ---- checks: each returns one message per violation ----------------------------------------------


def _where(row: DoseDay | Row) -> str:
    place = (
        f"lead-in day {row.cycle_day}" if row.cycle is None else f"{row.phase} cycle {row.cycle} day {row.cycle_day}"
    )
    return f"{row.date.isoformat()} ({place}) {row.drug} {row.dose}"


def _report(problems: list[str], limit: int = 6) -> list[str]:
    return problems if len(problems) <= limit else [*problems[:limit], f"... and {len(problems) - limit} more"]


def _key(row: DoseDay | Row) -> tuple[Any, ...]:
    """What the rules decide about a row; lead-in rows are not in a phase."""
    return (row.date, row.drug, row.study_day, row.phase if row.cycle is not None else None, row.cycle, row.cycle_day)


def _compare(want: Iterable[Row], got: Iterable[DoseDay]) -> list[str]:
    wanted = {(r.date, r.drug): r for r in want}
    given_ = {(d.date, d.drug): d for d in got}
    problems = []
    for key in sorted(wanted.keys() | given_.keys()):
        w, g = wanted.get(key), given_.get(key)
        if g is None:
            problems.append(f"missing: {_where(w)}")  # type: ignore[arg-type]
        elif w is None:
            problems.append(f"not in the protocol: {_where(g)}")
        elif _key(w) != _key(g) or not (g.dose == g.dose_mg == w.dose):
            problems.append(f"expected {_where(w)}, got {_where(g)} (dose_mg {g.dose_mg})")
    return _report(problems)


def check_matches_oracle(
    protocol: Protocol, calendar: Calendar, events: PatientEvents, *, cycles: int | None = None
) -> list[str]:
    """Without events, every row is exactly what the oracle computes from the rules, date by date."""
    assert not events.events, "the oracle knows no events"
    return _compare(expected(protocol, calendar.start, cycles=cycles).rows, calendar.days)


def check_windows(
    protocol: Protocol, calendar: Calendar, events: PatientEvents, *, cycles: int | None = None
) -> list[str]:
    """Without events, the windows are the treatment cycles back to back from ``start``, and only those."""
    assert not events.events
    want = [(s.phase, s.cycle, s.start, s.end) for s in expected(protocol, calendar.start, cycles=cycles).spans]
    got = [(w.phase, w.cycle, w.start, w.end) for w in calendar.windows]
    if want == got:
        return []
    return [f"windows {got[:4]}{'...' if len(got) > 4 else ''} ({len(got)}), expected {want[:4]} ({len(want)})"]


def check_starts_at_first_level(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Without events, each phase's course begins at its first level, however late in the phase it begins."""
    problems = []
    for phase in protocol.phases:
        for regimen in phase.drugs:
            rows = [d for d in calendar.days if d.phase == phase.name and d.drug == regimen.drug and d.cycle]
            if rows and rows[0].dose != course_levels(regimen)[0]:
                problems.append(
                    f"{phase.name} begins {regimen.drug} at {_where(rows[0])}, not {course_levels(regimen)[0]}"
                )
    return problems


def check_one_level_at_a_time(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Within a phase every dose is on the regimen's ladder, and a rise is one escalation level, never more."""
    problems = []
    for phase in protocol.phases:
        for regimen in phase.drugs:
            steps, course = ladder(regimen), course_levels(regimen)
            rows = [d for d in calendar.days if d.phase == phase.name and d.drug == regimen.drug and d.cycle]
            problems += [
                f"{_where(d)} is not one of the levels {[str(s) for s in steps]}" for d in rows if d.dose not in steps
            ]
            for before, after in itertools.pairwise(rows):
                if after.dose > before.dose and not (
                    {before.dose, after.dose} <= set(course)
                    and course.index(after.dose) == course.index(before.dose) + 1
                ):
                    problems.append(f"{_where(before)} then {_where(after)} is not one escalation step")
    return _report(problems)


def check_lead_in(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Lead-in rows fall on ``start + study_day`` (days -N..-1, no day 0); treatment rows from ``start`` on."""
    problems = []
    start = calendar.start
    for row in calendar.days:
        if row.cycle is None:
            if not (
                row.study_day < 0 and row.cycle_day == row.study_day and row.date == start + timedelta(row.study_day)
            ):
                problems.append(f"lead-in row {_where(row)} has study day {row.study_day}")
        elif row.date < start or row.study_day != (row.date - start).days + 1:
            problems.append(f"treatment row {_where(row)} has study day {row.study_day}")
    lead_in = getattr(protocol, "lead_in", None)
    want = {(lead.drug, day) for lead in lead_in.drugs for day in lead.days.value} if lead_in else set()
    got = {(row.drug, row.study_day) for row in calendar.days if row.cycle is None}
    if got != want:
        problems.append(f"lead-in days {sorted(got)}, expected {sorted(want)}")
    if calendar.windows and calendar.windows[0].start != start:
        problems.append(f"the first treatment window starts {calendar.windows[0].start}, not on the start {start}")
    return _report(problems)


def _holds(events: PatientEvents) -> list[tuple[Hold, Resume | None]]:
    dated = sorted(events.dated(), key=lambda e: (e.date, e.kind != "resume"))
    out = []
    for i, event in enumerate(dated):
        if isinstance(event, Hold):
            resume = next((e for e in dated[i + 1 :] if isinstance(e, Resume) and e.drug == event.drug), None)
            out.append((event, resume))
    return out


def check_holds(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Nothing of a held drug is given from the hold's date until its resume (or ever, without one)."""
    problems = []
    for hold, resume in _holds(events):
        for row in calendar.days:
            if row.drug == hold.drug and hold.date <= row.date and (resume is None or row.date < resume.date):
                until = resume.date.isoformat() if resume else "never resumed"
                problems.append(f"{_where(row)} is given during the hold {hold.date.isoformat()} .. {until}")
    return _report(problems)


def _phase_at(protocol: Protocol, calendar: Calendar, when: date) -> str:
    started = [w for w in calendar.windows if w.start <= when]
    return started[-1].phase if started else protocol.phases[0].name


def check_lower_resume(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """After ``resume: lower``, nothing above the next lower level of the ladder for the rest of that phase.

    "That phase" is the one whose cycle the resume date falls in. The level reduced from is the last
    dose given in it before the resume, or its start dose when the hold took all of them. With no
    lower level the drug stops and, like any stop, that carries into later phases; the later phases
    are checked only when the phase still had a dose to give after the resume (otherwise the
    reduction has nothing to act on, and ``check_phase_starts_at_its_own_dose`` has the last word).
    """
    problems = []
    for _, resume in _holds(events):
        if resume is None or resume.level != "lower" or resume.dose is not None:
            continue
        phase_name, reference, lower = _reduction(protocol, calendar, resume)
        drug_rows = [d for d in calendar.days if d.drug == resume.drug and d.date >= resume.date]
        if lower:
            problems += [
                f"{_where(row)} is above {max(lower)}, the level below {reference}, after {resume.describe()}"
                for row in drug_rows
                if row.phase == phase_name and row.dose > max(lower)
            ]
            continue
        stopped_here = _planned_after(protocol, calendar, events, resume, phase_name)
        problems += [
            f"{_where(row)} is given, but no level is below {reference}: the drug stopped in {phase_name}"
            for row in drug_rows
            if row.phase == phase_name or stopped_here
        ]
    return _report(problems)


def _reduction(protocol: Protocol, calendar: Calendar, resume: Resume) -> tuple[str, Decimal, list[Decimal]]:
    """The phase a ``resume: lower`` falls in, the dose it reduces from, and the ladder's levels below that."""
    phase_name = _phase_at(protocol, calendar, resume.date)
    phase = next(p for p in protocol.phases if p.name == phase_name)
    regimen = next(r for r in phase.drugs if r.drug == resume.drug)
    before = [d for d in calendar.days if d.drug == resume.drug and d.phase == phase_name and d.date < resume.date]
    reference = before[-1].dose if before else course_levels(regimen)[0]
    return phase_name, reference, [level for level in ladder(regimen) if level < reference]


def _planned_after(protocol: Protocol, calendar: Calendar, events: PatientEvents, resume: Resume, phase: str) -> bool:
    """Whether the phase had a dose of the drug to give on or after the resume (outside any hold)."""
    rows, _ = delayed_plan(protocol, calendar.start, events)
    holds = [(h.date, u.date if u else date.max) for h, u in _holds(events) if h.drug == resume.drug]
    return any(
        r.drug == resume.drug and r.phase == phase and r.date >= resume.date
        and not any(a <= r.date < b for a, b in holds)
        for r in rows
    )  # fmt: skip


def check_later_phases_as_planned(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """A phase that begins after every hold has ended is exactly as planned (delays aside).

    docs/pharmacists.md: "A reduction belongs to the phase it happened in: a later phase starts at
    its own planned dose, unless the hold runs into it"; and a same-level hold pauses the day-counted
    escalation of the course it interrupted, not of a course that had not begun. Asserted when the
    events are holds that were all resumed, and delays; not after a reduction below the lowest level
    (that stops the drug, see ``check_lower_resume``).
    """
    if any(isinstance(e, (Stop, NoEscalation)) for e in events.events):
        return []
    holds = _holds(events)
    if any(resume is None or resume.dose is not None for _, resume in holds):
        return []
    if any(not _reduction(protocol, calendar, resume)[2] for _, resume in holds if resume and resume.level == "lower"):
        return []
    if any("no dose level below" in m.effect for m in calendar.modifications):
        return []  # successive reductions went below the lowest level: the drug stopped for good (check_lower_resume)
    ended = max((resume.date for _, resume in holds if resume), default=None)
    plan, _ = delayed_plan(protocol, calendar.start, events)
    problems = []
    for phase in protocol.phases:
        begins = next((w.start for w in calendar.windows if w.phase == phase.name), None)
        if begins is None or ended is None or ended >= begins:  # a resume on its day 1 belongs to it
            continue
        want = [r for r in plan if r.phase == phase.name and r.cycle is not None]
        got = [d for d in calendar.days if d.phase == phase.name and d.cycle is not None]
        problems += [f"{phase.name} (after the last resume on {ended}): {p}" for p in _compare(want, got)]
    return _report(problems)


def check_phase_starts_at_its_own_dose(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """A phase's first dose is its own start dose unless a reduction falls inside the phase before it.

    events.py: "A later phase that begins after the resume starts at its own planned dose." So a
    reduction never reaches into a phase that had not begun when the patient resumed.
    """
    reductions = [e.date for e in events.events if isinstance(e, Resume) and (e.level == "lower" or e.dose is not None)]
    problems = []
    for phase in protocol.phases:
        begins = next((w.start for w in calendar.windows if w.phase == phase.name), None)
        for regimen in phase.drugs:
            first = next(
                (d for d in calendar.days if d.phase == phase.name and d.drug == regimen.drug and d.cycle), None
            )
            if begins is None or first is None or any(begins <= when <= first.date for when in reductions):
                continue
            if first.dose != course_levels(regimen)[0]:
                problems.append(
                    f"{phase.name} begins at {_where(first)}, not at its start dose {course_levels(regimen)[0]}"
                )
    return problems


def check_stop_is_final(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Nothing of a stopped drug (everything, for a stop without a drug) on or after the stop, in any phase."""
    problems = []
    for stop in (e for e in events.events if isinstance(e, Stop)):
        for row in calendar.days:
            if stop.drug in (None, row.drug) and row.date >= stop.date:
                problems.append(f"{_where(row)} is given after {stop.describe()}")
    return _report(problems)


def check_no_escalation(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """From a ``no_escalation`` date on, a drug's dose never goes up within a phase."""
    problems = []
    for freeze in (e for e in events.events if isinstance(e, NoEscalation)):
        rows = [d for d in calendar.days if d.drug == freeze.drug and d.cycle is not None]
        for before, after in itertools.pairwise(rows):
            if after.phase == before.phase and after.date >= freeze.date and after.dose > before.dose:
                problems.append(f"{_where(before)} rises to {after.dose} on {after.date} after {freeze.describe()}")
    return _report(problems)


def check_changes_explained(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """A row an event changed (moved, or another dose than planned) says why in ``modified_by``."""
    planned = {(r.date, r.drug): r.dose for r in expected(protocol, calendar.start).rows}
    return _report(
        [
            f"{_where(row)} differs from the plan ({planned.get((row.date, row.drug), 'no dose')}) but says nothing"
            for row in calendar.days
            if planned.get((row.date, row.drug)) != row.dose and not row.modified_by
        ]
    )


def check_audit_trail(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Every event is in the one audit trail, ``calendar.modifications``, whatever it changed."""
    recorded = [m.event for m in calendar.modifications]
    return [
        f"{event.describe()!r} is not in the audit trail {recorded}"
        for event in events.events
        if not any(event.describe() in text for text in recorded)
    ]


def delayed_plan(protocol: Protocol, start: date, events: PatientEvents) -> tuple[list[Row], list[Span]]:
    """The oracle's plan with the delays applied: each cycle moves by the delays of it and earlier cycles."""
    plan = expected(protocol, start)
    delays = events.delays()
    shift: dict[tuple[str | None, int], int] = {
        (s.phase, s.cycle): sum(d for c, d in delays.items() if c <= i) for i, s in enumerate(plan.spans, 1)
    }

    def move(row: Row) -> Row:
        by = shift[(row.phase, row.cycle)] if row.cycle is not None else 0
        return dataclasses.replace(row, date=row.date + timedelta(by), study_day=row.study_day + by)

    spans = [
        dataclasses.replace(s, start=s.start + timedelta(by), end=s.end + timedelta(by))
        for s in plan.spans
        for by in [shift[(s.phase, s.cycle)]]
    ]
    return [move(r) for r in plan.rows], spans


def check_delays_shift_rows(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """Delays alone move a cycle and every later one, doses and all: escalation runs on treatment time."""
    assert all(isinstance(e, Delay) for e in events.events)
    rows, spans = delayed_plan(protocol, calendar.start, events)
    problems = _compare(rows, calendar.days)
    want = [(s.start, s.phase, s.cycle) for s in spans]
    got = [(w.start, w.phase, w.cycle) for w in calendar.windows]
    if want != got:
        problems.append(f"windows start {got}, expected {want}")
    return problems


def check_renal_ceiling(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    """CrCl 45 mL/min: lenalidomide never above 10 mg, lowered days say so, nothing else changes."""
    planned = expected(protocol, calendar.start).rows
    capped = [dataclasses.replace(r, dose=min(r.dose, RENAL_CEILING)) if r.drug == LENA else r for r in planned]
    problems = _compare(capped, calendar.days)
    above = {(r.date, r.drug) for r in planned if r.drug == LENA and r.dose > RENAL_CEILING}
    problems += [
        f"{_where(d)} was lowered but says nothing"
        for d in calendar.days
        if (d.date, d.drug) in above and not d.modified_by
    ]
    problems += [
        f"{_where(d)} is above the renal ceiling" for d in calendar.days if d.drug == LENA and d.dose_mg > RENAL_CEILING
    ]
    if above and not any("renal" in m.event for m in calendar.modifications):
        problems.append("doses were lowered but the audit trail has no renal entry")
    return _report(problems)


EVENT_CHECKS: tuple[Check, ...] = (
    check_holds,
    check_lower_resume,
    check_phase_starts_at_its_own_dose,
    check_later_phases_as_planned,
    check_stop_is_final,
    check_no_escalation,
    check_changes_explained,
    check_audit_trail,
    check_one_level_at_a_time,
    check_lead_in,
)


def failures(checks: Iterable[Check], protocol: Protocol, calendar: Calendar, events: PatientEvents) -> list[str]:
    return [f"{check.__name__}: {problem}" for check in checks for problem in check(protocol, calendar, events)]


# ---- the properties ------------------------------------------------------------------------------


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(protocol_cases())
def test_calendar_is_what_the_rules_give(case: Case) -> None:
    """Row by row the oracle: offsets, cycle windows, escalation on the drug's own course, one level at a time."""
    cal = expand(case.protocol, case.start)
    checks = (
        check_matches_oracle,
        check_windows,
        check_starts_at_first_level,
        check_one_level_at_a_time,
        check_lead_in,
    )
    assert failures(checks, case.protocol, cal, NO_EVENTS) == []


@settings(max_examples=60)
@given(protocol_cases(open_ended=True), st.integers(1, 8))
def test_cycles_option_counts_treatment_cycles_only(case: Case, cycles: int) -> None:
    """``cycles=N`` gives exactly N treatment windows (fewer only if the protocol has fewer); a lead-in is not one."""
    cal = expand(case.protocol, case.start, cycles=cycles)
    total = case.protocol.total_cycles
    assert len(cal.windows) == (cycles if total is None else min(cycles, total))
    assert check_matches_oracle(case.protocol, cal, NO_EVENTS, cycles=cycles) == []
    assert check_windows(case.protocol, cal, NO_EVENTS, cycles=cycles) == []


@settings(max_examples=40)
@given(protocol_cases(lead_in=True))
def test_lead_in_days_fall_before_cycle_1_day_1(case: Case) -> None:
    """``start`` stays cycle 1 day 1: the lead-in occupies the dates before it and is not a window."""
    cal = expand(case.protocol, case.start)
    assert check_lead_in(case.protocol, cal, NO_EVENTS) == []
    first_treatment = next(d for d in cal.days if d.cycle is not None)
    assert first_treatment.date >= case.start
    assert min(d.date for d in cal.days) < case.start


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(event_cases())
def test_events_do_what_they_say(case: EventCase) -> None:
    """Holds give nothing, reductions hold for the phase, stops carry into later phases, freezes freeze,
    and every change is explained in its row and in the audit trail."""
    events = case.events
    cal = expand(case.protocol, case.start, events=events)
    assert failures(EVENT_CHECKS, case.protocol, cal, events) == []


@settings(max_examples=80)
@given(resumed_before_a_phase())
def test_a_phase_that_begins_after_the_resume_is_as_planned(case: EventCase) -> None:
    """Reductions and escalation pauses stay in the phase they happened in."""
    events = case.events
    cal = expand(case.protocol, case.start, events=events)
    checks = (check_later_phases_as_planned, check_phase_starts_at_its_own_dose, check_changes_explained)
    assert failures(checks, case.protocol, cal, events) == []


@settings(max_examples=50)
@given(event_cases(delays_only=True))
def test_delays_move_doses_on_treatment_time(case: EventCase) -> None:
    """A delay moves its cycle and the later ones; day-counted escalation pauses for the gap."""
    events = case.events
    cal = expand(case.protocol, case.start, events=events)
    checks = (check_delays_shift_rows, check_changes_explained, check_audit_trail)
    assert failures(checks, case.protocol, cal, events) == []


@settings(max_examples=50)
@given(protocol_cases())
def test_renal_ceiling_lowers_lenalidomide_only(case: Case) -> None:
    """The 30-60 mL/min band caps lenalidomide at 10 mg a day; lower doses and other drugs are untouched."""
    cal = expand(case.protocol, case.start, renal=RENAL)
    assert check_renal_ceiling(case.protocol, cal, NO_EVENTS) == []


# ---- the named behaviours, once each by hand --------------------------------------------------------

START = date(2026, 3, 2)


def one_phase(regimen: dict[str, Any], cycles: int = 4) -> Protocol:
    return protocol_from_dict(
        build([{"name": "treatment", "cycle_length_days": 28, "cycles": cycles, "drugs": [regimen]}])
    )


@pytest.mark.parametrize(
    "escalation",
    [
        {"sequence": [5, 10, 15], "every_cycles": 1},
        {"sequence": [5, 10, 15], "at": [{"cycle": 2, "day": 1}, {"cycle": 3, "day": 1}]},
        {"start": 5, "step": 5, "cap": 15, "every_days": 28},
    ],
    ids=["every_cycles", "at", "every_days"],
)
def test_a_drug_from_cycle_2_starts_at_its_first_level(escalation: dict[str, Any]) -> None:
    """Cycle 2 is the drug's own cycle 1: 5 mg there, 10 in cycle 3, 15 in cycle 4 (not 10, 15, 15)."""
    proto = one_phase({"drug": LENA, "days": "1-21", "cycles": "2-", "escalation": escalation})
    cal = expand(proto, START)
    assert [str(d.dose) for d in cal if d.cycle_day == 1] == ["5", "10", "15"]
    assert check_matches_oracle(proto, cal, NO_EVENTS) == []


def test_every_days_counts_from_the_first_dose_not_from_day_1() -> None:
    """First dose on day 9 of cycle 1: the first increase is 14 days later, on day 23, not on day 15."""
    proto = one_phase(
        {
            "drug": LENA,
            "days": "1-28",
            "first_cycle_start_day": 9,
            "escalation": {"sequence": [5, 10], "every_days": 14},
        }
    )
    cal = expand(proto, START)
    assert [(d.cycle_day, str(d.dose)) for d in cal if d.cycle == 1 and d.cycle_day in (9, 22, 23)] == [
        (9, "5"), (22, "5"), (23, "10"),
    ]  # fmt: skip


@cache
def two_phases() -> Protocol:
    """Induction 10 mg then maintenance 5 mg, each with its own reduction ladder."""
    induction = {"drug": LENA, "dose": 10, "days": "1-21", "dose_levels": [10, 5, 2.5]}
    maintenance = {"drug": LENA, "dose": 5, "days": "1-21", "dose_levels": [5, 2.5]}
    return protocol_from_dict(
        build(
            [
                {"name": "induction", "cycle_length_days": 28, "cycles": 2, "drugs": [induction]},
                {"name": "maintenance", "cycle_length_days": 28, "cycles": 2, "drugs": [maintenance]},
            ]
        )
    )


def test_a_stop_in_induction_is_not_undone_by_maintenance() -> None:
    events = PatientEvents(events=[Stop(date=START + timedelta(days=35), drug=LENA)])
    cal = expand(two_phases(), START, events=events)
    assert cal.days[-1].date < START + timedelta(days=35)
    assert check_stop_is_final(two_phases(), cal, events) == []


def test_a_failed_reduction_stops_the_drug_in_later_phases_too() -> None:
    """Induction 10 mg has no lower level, so ``resume: lower`` stops lenalidomide; maintenance does not restart it."""
    s = floor_scenario()
    cal = expand(s.protocol, START, events=s.events)
    assert [d.date for d in cal.days] == [d.date for d in s.calendar.days]
    assert check_lower_resume(s.protocol, cal, s.events) == []


def test_a_hold_resumed_in_induction_leaves_maintenance_escalation_alone() -> None:
    """Held induction days 3-5, resumed at the same level: maintenance still steps up on its own days 8 and 15."""
    s = pause_scenario()
    cal = expand(s.protocol, START, events=s.events)
    maintenance = [
        str(d.dose) for d in cal.days if d.phase == "maintenance" and d.cycle == 1 and d.cycle_day in (7, 8, 15)
    ]
    assert maintenance == ["5", "10", "15"]
    assert check_later_phases_as_planned(s.protocol, cal, s.events) == []


def test_a_reduction_after_the_last_induction_dose_does_not_reach_maintenance() -> None:
    """Resumed one level lower on induction day 15, after its last dose: maintenance starts at its own 5 mg."""
    s = reduction_scenario()
    cal = expand(s.protocol, START, events=s.events)
    assert next(d.dose for d in cal.days if d.phase == "maintenance") == Decimal(5)
    assert check_phase_starts_at_its_own_dose(s.protocol, cal, s.events) == []


# ---- meta-tests: each broken engine, as a change to a correct calendar, is reported ---------------------
#
# A scenario is a protocol, events and the correct calendar built by hand from the oracle and the
# plain rule of each event (so these tests do not depend on the engine under test). A mutant is a
# broken engine's behaviour applied to that calendar's rows.

Mutant = Callable[[Protocol, Calendar, PatientEvents], Calendar]


def calendar_of(
    protocol: Protocol,
    start: date,
    rows: Iterable[Row | DoseDay],
    spans: Sequence[Span] = (),
    modifications: Sequence[Modification] = (),
) -> Calendar:
    def dose_day(row: Row | DoseDay) -> DoseDay:
        if isinstance(row, DoseDay):
            return row
        role = "prophylaxis" if row.cycle is None else "treatment"
        phase = row.phase or "lead-in"
        return DoseDay(
            row.date,
            row.study_day,
            phase,
            row.cycle,
            row.cycle_day,
            row.drug,
            row.dose,
            "mg",
            "oral",
            row.dose,
            role,
            "",
        )

    windows = tuple(
        CycleWindow(s.phase, s.cycle, i, s.start, s.end, (s.end - s.start).days + 1, (), ())
        for i, s in enumerate(spans, 1)
    )
    days = tuple(sorted((dose_day(r) for r in rows), key=lambda d: (d.date, d.drug)))
    return Calendar(protocol=protocol, start=start, days=days, windows=windows, modifications=tuple(modifications))


def changed(row: DoseDay, **changes: Any) -> DoseDay:
    """A copy of an engine row with ``changes`` (whether ``DoseDay`` is a named tuple or a dataclass)."""
    if hasattr(row, "_replace"):
        return row._replace(**changes)
    return dataclasses.replace(row, **changes)  # type: ignore[type-var]  # the dataclass form


def with_doses(calendar: Calendar, dose_of: Callable[[DoseDay], Decimal], note: str = "") -> Calendar:
    """The calendar with each lenalidomide row's dose replaced (and ``note`` as its reason when it changes)."""
    rows = []
    for row in calendar.days:
        dose = dose_of(row) if row.drug == LENA else row.dose
        if dose != row.dose:
            row = changed(row, dose=dose, dose_mg=dose, modified_by=note or row.modified_by)
        rows.append(row)
    return dataclasses.replace(calendar, days=tuple(rows))


def _courses(calendar: Calendar) -> dict[str, list[list[DoseDay]]]:
    """Lenalidomide rows by phase, then by cycle: the drug's own cycles 1, 2, ... in order."""
    out: dict[str, list[list[DoseDay]]] = {}
    for (phase, _), rows in itertools.groupby(
        (d for d in calendar.days if d.drug == LENA and d.cycle is not None), key=lambda d: (d.phase, d.cycle)
    ):
        out.setdefault(phase, []).append(list(rows))
    return out


def _shift_cycles(calendar: Calendar, by: Callable[[str], int], fill_first: bool) -> Calendar:
    """Give own cycle k the doses of own cycle k + by(phase), position by position (clamped at the ends)."""
    dose: dict[tuple[date, str], Decimal] = {}
    for phase, cycles in _courses(calendar).items():
        for k, rows in enumerate(cycles):
            source_index = k + by(phase)
            for i, row in enumerate(rows):
                if source_index < 0 and fill_first:
                    dose[(row.date, phase)] = cycles[0][0].dose
                    continue
                source = cycles[min(max(source_index, 0), len(cycles) - 1)]
                dose[(row.date, phase)] = source[min(i, len(source) - 1)].dose
    return with_doses(calendar, lambda d: dose[(d.date, d.phase)])


def never_escalates(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(1) Every dose of a phase is its first one."""
    first = {phase: cycles[0][0].dose for phase, cycles in _courses(calendar).items()}
    return with_doses(calendar, lambda d: first.get(d.phase, d.dose))


def escalates_one_cycle_late(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(2) Own cycle k gets what cycle k-1 should have had; the first cycle stays at the start dose."""
    return _shift_cycles(calendar, lambda phase: -1, fill_first=True)


def counts_from_the_phase_cycle_1(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(4) A drug from cycle c of its phase is c-1 cycles ahead: in its first cycle it is past the start dose."""

    def ahead(phase: str) -> int:
        regimen = next(r for p in protocol.phases if p.name == phase for r in p.drugs if r.drug == LENA)
        return regimen.applies_to.first - 1

    return _shift_cycles(calendar, ahead, fill_first=False)


def climbs_two_levels(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """The second level is skipped: straight from the start dose to the third."""
    levels = {p.name: course_levels(r) for p in protocol.phases for r in p.drugs if r.drug == LENA}
    skip = {phase: (up[1], up[2]) for phase, up in levels.items() if len(up) > 2}
    return with_doses(
        calendar, lambda d: skip[d.phase][1] if d.phase in skip and d.dose == skip[d.phase][0] else d.dose
    )


def _planned_rows(protocol: Protocol, calendar: Calendar) -> tuple[Row, ...]:
    return expected(protocol, calendar.start).rows


def forgets_the_stop(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(3) A stop ends the drug in its phase, but the next phase restarts it."""
    order = [p.name for p in protocol.phases]
    extra: list[Row] = []
    for stop in (e for e in events.events if isinstance(e, Stop)):
        stopped_in = order.index(_phase_at(protocol, calendar, stop.date))
        extra += [
            r
            for r in _planned_rows(protocol, calendar)
            if r.cycle is not None and r.date >= stop.date and order.index(r.phase) > stopped_in  # type: ignore[arg-type]
        ]
    return dataclasses.replace(
        calendar_of(protocol, calendar.start, [*calendar.days, *extra]), windows=calendar.windows
    )


def restarts_after_a_failed_reduction(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(3) A reduction below the lowest level stops the drug in its phase, but the next phase restarts it."""
    order = [p.name for p in protocol.phases]
    extra: list[Row] = []
    for _, resume in _holds(events):
        if resume is not None and resume.level == "lower":
            stopped_in = order.index(_phase_at(protocol, calendar, resume.date))
            extra += [
                r
                for r in _planned_rows(protocol, calendar)
                if r.cycle is not None and r.date >= resume.date and order.index(r.phase) > stopped_in  # type: ignore[arg-type]
            ]
    return dataclasses.replace(
        calendar_of(protocol, calendar.start, [*calendar.days, *extra]), windows=calendar.windows
    )


def gives_dose_on_held_day(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(5) The first planned dose inside each hold is given anyway."""
    have = {(d.date, d.drug) for d in calendar.days}
    extra = []
    for hold, resume in _holds(events):
        held = [
            r
            for r in _planned_rows(protocol, calendar)
            if r.drug == hold.drug and hold.date <= r.date and (resume is None or r.date < resume.date)
        ]
        extra += [r for r in held[:1] if (r.date, r.drug) not in have]
    return dataclasses.replace(
        calendar_of(protocol, calendar.start, [*calendar.days, *extra]), windows=calendar.windows
    )


def ignores_renal_ceiling(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """(6) The planned doses, above the renal ceiling or not."""
    planned = {(r.date, r.drug): r.dose for r in _planned_rows(protocol, calendar)}
    return with_doses(calendar, lambda d: planned[(d.date, d.drug)])


def renal_note_missing(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """Lowered correctly, but neither the rows nor the audit trail say so."""
    rows = tuple(changed(d, modified_by="") for d in calendar.days)
    return dataclasses.replace(calendar, days=rows, modifications=())


def ignores_lower_resume(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """A ``resume: lower`` that resumes at the planned dose."""
    planned = {(r.date, r.drug): r.dose for r in _planned_rows(protocol, calendar)}
    return with_doses(calendar, lambda d: planned[(d.date, d.drug)])


def escalates_through_freeze(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    planned = {(r.date, r.drug): r.dose for r in _planned_rows(protocol, calendar)}
    return with_doses(calendar, lambda d: planned[(d.date, d.drug)])


def explains_nothing(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    return dataclasses.replace(calendar, days=tuple(changed(d, modified_by="") for d in calendar.days))


def loses_the_audit_trail(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    return dataclasses.replace(calendar, modifications=calendar.modifications[1:])


def ignores_delays(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    plan = expected(protocol, calendar.start)
    return calendar_of(protocol, calendar.start, plan.rows, plan.spans, calendar.modifications)


def counts_a_day_0(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """Lead-in rows one day late, as if the day before cycle 1 day 1 were day 0."""
    rows = tuple(changed(d, date=d.date + timedelta(1)) if d.cycle is None else d for d in calendar.days)
    return dataclasses.replace(calendar, days=rows)


def _later_phases(protocol: Protocol, calendar: Calendar, after: date) -> set[str]:
    return {
        p.name for p in protocol.phases if any(w.phase == p.name and w.start >= after for w in calendar.windows)
    } - {w.phase for w in calendar.windows if w.start < after}


def carries_the_pause_into_the_next_phase(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """A same-level hold in one phase also holds back the day-counted escalation of the next one."""
    pause = sum((r.date - h.date).days for h, r in _holds(events) if r is not None and r.level == "same")
    later = _later_phases(protocol, calendar, max(r.date for _, r in _holds(events) if r is not None))
    planned = [r for r in _planned_rows(protocol, calendar) if r.phase in later]

    def held_back(row: DoseDay) -> Decimal:
        course = [r for r in planned if r.phase == row.phase]
        earlier = [r for r in course if r.date <= row.date - timedelta(pause)]
        return earlier[-1].dose if earlier else course[0].dose

    return with_doses(calendar, lambda d: held_back(d) if d.phase in later else d.dose)


def reduces_the_next_phase(protocol: Protocol, calendar: Calendar, events: PatientEvents) -> Calendar:
    """A reduction made after the last dose of its phase lands on the next phase instead."""
    later = _later_phases(protocol, calendar, max(r.date for _, r in _holds(events) if r is not None))
    regimens = {p.name: r for p in protocol.phases for r in p.drugs if r.drug == LENA}

    def reduced(row: DoseDay) -> Decimal:
        regimen = regimens[row.phase]
        below = [level for level in ladder(regimen) if level < course_levels(regimen)[0]]
        return min(row.dose, max(below)) if below else row.dose

    return with_doses(calendar, lambda d: reduced(d) if d.phase in later else d.dose, "reduced")


@dataclass(frozen=True)
class Scenario:
    protocol: Protocol
    events: PatientEvents
    calendar: Calendar


@cache
def escalating() -> Protocol:
    """Induction 5 -> 10 -> 15 mg, one level per cycle (20 mg is never reached), then maintenance 10 mg."""
    escalation = {"sequence": [5, 10, 15, 20], "every_cycles": 1}
    induction = {"drug": LENA, "days": "1-21", "dose_levels": [20, 15, 10, 5, 2.5], "escalation": escalation}
    maintenance = {"drug": LENA, "dose": 10, "days": "1-21", "dose_levels": [10, 5]}
    return protocol_from_dict(
        build(
            [
                {"name": "induction", "cycle_length_days": 28, "cycles": 3, "drugs": [induction]},
                {"name": "maintenance", "cycle_length_days": 28, "cycles": 2, "drugs": [maintenance]},
            ]
        )
    )


@cache
def late_start() -> Protocol:
    return one_phase(
        {"drug": LENA, "days": "1-21", "cycles": "2-", "escalation": {"sequence": [5, 10, 15], "every_cycles": 1}}
    )


@cache
def with_lead_in() -> Protocol:
    return protocol_from_dict(
        build(
            [
                {
                    "name": "treatment",
                    "cycle_length_days": 28,
                    "cycles": 2,
                    "drugs": [{"drug": LENA, "dose": 10, "days": "1-21"}],
                }
            ],
            {"drugs": [{"drug": "allopurinol", "role": "prophylaxis", "dose": 300, "days": "-3..-1"}]},
        )
    )


def planned_scenario(protocol: Protocol) -> Scenario:
    plan = expected(protocol, START)
    return Scenario(protocol, NO_EVENTS, calendar_of(protocol, START, plan.rows, plan.spans))


def _audit(events: PatientEvents) -> tuple[Modification, ...]:
    return tuple(
        Modification(getattr(e, "date", START), getattr(e, "drug", None), e.describe(), "by hand")
        for e in events.events
    )


def stop_scenario() -> Scenario:
    """Stopped on induction cycle 2 day 8: nothing from then on, maintenance included."""
    events = PatientEvents(events=[Stop(date=START + timedelta(days=35), drug=LENA)])
    plan = expected(two_phases(), START)
    rows = [r for r in plan.rows if r.date < START + timedelta(days=35)]
    return Scenario(two_phases(), events, calendar_of(two_phases(), START, rows, plan.spans, _audit(events)))


@cache
def floor_then_maintenance() -> Protocol:
    """Induction 10 mg with no level below it, then maintenance 5 mg."""
    induction = {"drug": LENA, "dose": 10, "days": "1-21"}
    maintenance = {"drug": LENA, "dose": 5, "days": "1-21"}
    return protocol_from_dict(
        build(
            [
                {"name": "induction", "cycle_length_days": 28, "cycles": 2, "drugs": [induction]},
                {"name": "maintenance", "cycle_length_days": 28, "cycles": 2, "drugs": [maintenance]},
            ]
        )
    )


def floor_scenario() -> Scenario:
    """Held on induction days 10-19, resumed one level lower on day 20: there is none, so nothing more, ever."""
    hold, resume = START + timedelta(days=9), START + timedelta(days=19)
    events = PatientEvents(events=[Hold(date=hold, reason="neutropenia"), Resume(date=resume, level="lower")])
    plan = expected(floor_then_maintenance(), START)
    rows = [r for r in plan.rows if r.date < hold]
    return Scenario(
        floor_then_maintenance(), events, calendar_of(floor_then_maintenance(), START, rows, plan.spans, _audit(events))
    )


def hold_scenario(level: str) -> Scenario:
    """Held on days 10-19 of induction cycle 1; resumed on day 20 at the same level or one level lower."""
    hold, resume = START + timedelta(days=9), START + timedelta(days=19)
    events = PatientEvents(events=[Hold(date=hold, reason="neutropenia"), Resume(date=resume, level=level)])
    plan = expected(two_phases(), START)
    rows = [r for r in plan.rows if not hold <= r.date < resume]
    cal = calendar_of(two_phases(), START, rows, plan.spans, _audit(events))
    if level == "lower":  # 10 -> 5 mg for the rest of induction
        cal = with_doses(
            cal, lambda d: Decimal(5) if d.phase == "induction" and d.date >= resume else d.dose, "reduced"
        )
    return Scenario(two_phases(), events, cal)


def freeze_scenario() -> Scenario:
    """No escalation from induction cycle 2 day 11: 10 mg stays 10 mg in cycle 3."""
    freeze = START + timedelta(days=38)
    events = PatientEvents(events=[NoEscalation(date=freeze)])
    base = planned_scenario(escalating()).calendar
    cal = with_doses(
        base, lambda d: min(d.dose, Decimal(10)) if d.phase == "induction" and d.date >= freeze else d.dose, "frozen"
    )
    return Scenario(escalating(), events, dataclasses.replace(cal, modifications=_audit(events)))


def delay_scenario() -> Scenario:
    """Cycle 2 starts 7 days late; every later row moves 7 days, with the delay as its reason."""
    events = PatientEvents(events=[Delay(cycle=2, days=7)])
    plan = expected(escalating(), START)
    later = {(s.phase, s.cycle) for s in plan.spans[1:]}

    def move(row: Row) -> Row | DoseDay:
        if (row.phase, row.cycle) not in later:
            return row
        day = calendar_of(escalating(), START, [row]).days[0]
        return changed(day, date=row.date + timedelta(7), study_day=row.study_day + 7, modified_by="delayed")

    spans = [
        s if (s.phase, s.cycle) not in later else Span(s.phase, s.cycle, s.start + timedelta(7), s.end + timedelta(7))
        for s in plan.spans
    ]
    return Scenario(escalating(), events, calendar_of(escalating(), START, map(move, plan.rows), spans, _audit(events)))


def renal_scenario(protocol: Protocol | None = None, start: date = START) -> Scenario:
    """Days above 10 mg lowered to 10 mg, each saying so, and one audit entry (default: the escalating protocol)."""
    protocol = protocol or escalating()
    plan = expected(protocol, start)
    base = calendar_of(protocol, start, plan.rows, plan.spans)
    cal = with_doses(base, lambda d: min(d.dose, RENAL_CEILING), "renal: moderate band, at most 10 mg")
    entry = Modification(start, LENA, "renal dose adjustment (moderate band)", "by hand")
    return Scenario(protocol, NO_EVENTS, dataclasses.replace(cal, modifications=(entry,)))


@cache
def short_induction_then_escalation() -> Protocol:
    """Induction 10 mg on days 1-7 of one cycle, then maintenance 5 -> 10 -> 15 mg every 7 days of its own course."""
    induction = {"drug": LENA, "dose": 10, "days": "1-7", "dose_levels": [10, 5]}
    escalation = {"sequence": [5, 10, 15], "every_days": 7}
    maintenance = {"drug": LENA, "days": "1-21", "escalation": escalation, "dose_levels": [15, 10, 5, 2.5]}
    return protocol_from_dict(
        build(
            [
                {"name": "induction", "cycle_length_days": 28, "cycles": 1, "drugs": [induction]},
                {"name": "maintenance", "cycle_length_days": 28, "cycles": 2, "drugs": [maintenance]},
            ]
        )
    )


def _held_in_induction(level: str, resume_day: int) -> Scenario:
    """Held from induction day 3 to ``resume_day``; induction has nothing after day 7; maintenance as planned."""
    hold, resume = START + timedelta(days=2), START + timedelta(days=resume_day - 1)
    events = PatientEvents(events=[Hold(date=hold, reason="neutropenia"), Resume(date=resume, level=level)])
    protocol = short_induction_then_escalation()
    plan = expected(protocol, START)
    rows = [r for r in plan.rows if not hold <= r.date < resume]
    return Scenario(protocol, events, calendar_of(protocol, START, rows, plan.spans, _audit(events)))


def pause_scenario() -> Scenario:
    return _held_in_induction("same", 6)


def reduction_scenario() -> Scenario:
    return _held_in_induction("lower", 15)


BROKEN: list[tuple[str, Callable[[], Scenario], Mutant, Check]] = [
    ("1 never escalates", lambda: planned_scenario(escalating()), never_escalates, check_matches_oracle),
    (
        "2 escalates one cycle late",
        lambda: planned_scenario(escalating()),
        escalates_one_cycle_late,
        check_matches_oracle,
    ),
    ("3 forgets the stop", stop_scenario, forgets_the_stop, check_stop_is_final),
    ("3 forgets a stop from a failed reduction", floor_scenario, restarts_after_a_failed_reduction, check_lower_resume),
    (
        "4 skips the start dose",
        lambda: planned_scenario(late_start()),
        counts_from_the_phase_cycle_1,
        check_matches_oracle,
    ),
    (
        "4 skips the start dose",
        lambda: planned_scenario(late_start()),
        counts_from_the_phase_cycle_1,
        check_starts_at_first_level,
    ),
    ("5 doses on a held day", lambda: hold_scenario("same"), gives_dose_on_held_day, check_holds),
    ("6 exceeds the renal ceiling", renal_scenario, ignores_renal_ceiling, check_renal_ceiling),
    ("6 lowers silently", renal_scenario, renal_note_missing, check_renal_ceiling),
    ("climbs two levels at once", lambda: planned_scenario(escalating()), climbs_two_levels, check_one_level_at_a_time),
    ("resumes lower at the planned dose", lambda: hold_scenario("lower"), ignores_lower_resume, check_lower_resume),
    ("escalates through a freeze", freeze_scenario, escalates_through_freeze, check_no_escalation),
    ("changes rows silently", lambda: hold_scenario("lower"), explains_nothing, check_changes_explained),
    ("loses an audit entry", stop_scenario, loses_the_audit_trail, check_audit_trail),
    ("ignores a delay", delay_scenario, ignores_delays, check_delays_shift_rows),
    (
        "pause leaks into the next phase",
        pause_scenario,
        carries_the_pause_into_the_next_phase,
        check_later_phases_as_planned,
    ),
    ("reduction leaks into the next phase", reduction_scenario, reduces_the_next_phase, check_later_phases_as_planned),
    (
        "reduction leaks into the next phase",
        reduction_scenario,
        reduces_the_next_phase,
        check_phase_starts_at_its_own_dose,
    ),
    ("counts a day 0", lambda: planned_scenario(with_lead_in()), counts_a_day_0, check_lead_in),
]


@pytest.mark.parametrize(
    ("scenario", "mutant", "check"), [b[1:] for b in BROKEN], ids=[f"{b[0]} / {b[3].__name__}" for b in BROKEN]
)
def test_each_broken_engine_is_reported(scenario: Callable[[], Scenario], mutant: Mutant, check: Check) -> None:
    """The check accepts the correct calendar and reports the broken one: the property can fail."""
    s = scenario()
    assert check(s.protocol, s.calendar, s.events) == []
    broken = mutant(s.protocol, s.calendar, s.events)
    assert check(s.protocol, broken, s.events) != []


def test_every_event_check_accepts_the_hand_made_calendars() -> None:
    """The event scenarios are right by every check, not only by the one their mutant breaks."""
    scenarios = (stop_scenario, floor_scenario, pause_scenario, reduction_scenario, freeze_scenario)
    for s in (*(make() for make in scenarios), hold_scenario("same"), hold_scenario("lower")):
        assert failures(EVENT_CHECKS, s.protocol, s.calendar, s.events) == []


# The generators reach each bug: some generated case tells the broken engine from the correct one.
# (``find`` raises NoSuchExample when none of its examples does.)

FIND = settings(max_examples=400, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def _oracle_calendar(case: Case) -> Calendar:
    plan = expected(case.protocol, case.start)
    return calendar_of(case.protocol, case.start, plan.rows, plan.spans)


@pytest.mark.parametrize("mutant", [never_escalates, escalates_one_cycle_late, counts_from_the_phase_cycle_1])
def test_generated_protocols_reach_each_escalation_bug(mutant: Mutant) -> None:
    def caught(case: Case) -> bool:
        broken = mutant(case.protocol, _oracle_calendar(case), NO_EVENTS)
        return bool(check_matches_oracle(case.protocol, broken, NO_EVENTS))

    assert find(protocol_cases(), caught, settings=FIND)


def test_generated_events_reach_a_stop_before_a_later_phase_and_a_dose_in_a_hold() -> None:
    def cut(case: EventCase) -> Calendar:
        """The plan with each stop and hold applied by their plain rule (a reference, not the engine)."""
        events = case.events
        rows = [
            r
            for r in expected(case.protocol, case.start).rows
            if not any(s.drug in (None, r.drug) and r.date >= s.date for s in events.events if isinstance(s, Stop))
            and not any(
                h.drug == r.drug and h.date <= r.date and (u is None or r.date < u.date) for h, u in _holds(events)
            )
        ]
        return dataclasses.replace(_oracle_calendar(case), days=calendar_of(case.protocol, case.start, rows).days)

    def stop_caught(case: EventCase) -> bool:
        return bool(
            check_stop_is_final(case.protocol, forgets_the_stop(case.protocol, cut(case), case.events), case.events)
        )

    def hold_caught(case: EventCase) -> bool:
        broken = gives_dose_on_held_day(case.protocol, cut(case), case.events)
        return bool(check_holds(case.protocol, broken, case.events))

    assert find(event_cases(), stop_caught, settings=FIND)
    assert find(event_cases(), hold_caught, settings=FIND)


def test_generated_protocols_reach_the_renal_ceiling() -> None:
    def caught(case: Case) -> bool:
        s = renal_scenario(case.protocol, case.start)
        return bool(
            check_renal_ceiling(case.protocol, ignores_renal_ceiling(case.protocol, s.calendar, NO_EVENTS), NO_EVENTS)
        )

    assert find(protocol_cases(), caught, settings=FIND)
