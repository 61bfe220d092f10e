"""An independent, deliberately simple oracle: what a protocol gives on each date, computed from its rules alone.

It exists so the engine's property tests have something to compare against that shares none of the
engine's code: no plan, no modifiers, no transitions. It handles what the property tests generate:
lead-in drugs on days -N..-1, then phases of back-to-back cycles (with per-cycle lengths), each with
regimens given on ``days`` of the cycles named by ``cycles``, offset by ``first_cycle_start_day`` in
the drug's first cycle, at a fixed dose or escalating by ``every_days`` / ``every_cycles`` / ``at``.
It knows nothing of patient events (holds, delays, stops) or renal adjustment: those are checked as
properties of the engine's output, not by recomputing it.

The rules, as the format documents them (docs/format.md) and written here as directly as possible:

- ``start`` is cycle 1 day 1 of the first treatment cycle; lead-in day -k is ``start - k`` days.
- The drug's own course: its cycle 1 is the first cycle of its phase it is given in, and its course
  day 1 is its first dose in the phase. Escalation counts on that course, never on the phase.
- ``every_days: N`` -> the i-th increase (i = 0, 1, ...) falls due on course day ``F + i*N``
  (``F = first_step_day``, default ``1 + N``).
- ``every_cycles: N`` -> the i-th increase falls due in own cycle ``F + i*N``
  (``F = first_step_cycle``, default ``1 + N``).
- ``at: [{cycle, day}, ...]`` -> the i-th increase falls due on day ``day`` of own cycle ``cycle``.
- Whatever falls due, the dose never rises more than one level between two administrations, and
  every course (one per phase) begins at its start dose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from lenasched.model.protocol import DrugRegimen, Phase, Protocol

__all__ = ["Expected", "Row", "Span", "course_levels", "expected", "ladder"]


@dataclass(frozen=True, slots=True)
class Row:
    """One administration: the columns of ``DoseDay`` the rules decide (lead-in rows: phase None, cycle None)."""

    date: date
    study_day: int
    phase: str | None
    cycle: int | None
    cycle_day: int
    drug: str
    dose: Decimal


@dataclass(frozen=True, slots=True)
class Span:
    """One treatment cycle's dates."""

    phase: str
    cycle: int
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class Expected:
    rows: tuple[Row, ...]
    spans: tuple[Span, ...]


def course_levels(regimen: DrugRegimen) -> tuple[Decimal, ...]:
    """The doses of one course in escalation order (a fixed dose is a one-level course)."""
    if regimen.escalation is None:
        assert regimen.dose is not None and regimen.first_doses is None, "the oracle has no first_doses"
        return (regimen.dose.value,)
    esc = regimen.escalation
    if esc.sequence is not None:
        return tuple(esc.sequence.value)
    assert esc.start is not None and esc.step is not None and esc.cap is not None
    levels = [esc.start.value]
    while levels[-1] < esc.cap.value:
        levels.append(levels[-1] + esc.step.value)
    return tuple(levels)


def ladder(regimen: DrugRegimen) -> tuple[Decimal, ...]:
    """Every dose the regimen may give, lowest first: its course levels and its reduction levels."""
    levels = set(course_levels(regimen))
    if regimen.dose_levels is not None:
        levels.update(regimen.dose_levels.value)
    return tuple(sorted(levels))


def expected(protocol: Protocol, start: date, *, cycles: int | None = None) -> Expected:
    """The rows and cycles ``expand(protocol, start, cycles=cycles)`` must give when nothing happens."""
    spans = _spans(protocol, start, cycles)
    rows: list[Row] = []
    lead_in = getattr(protocol, "lead_in", None)  # (a protocol model without lead-ins has no such field)
    if lead_in is not None:
        for lead in lead_in.drugs:
            for day in lead.days.value:
                rows.append(Row(start + timedelta(days=day), day, None, None, day, lead.drug, lead.dose.value))
    for phase in protocol.phases:
        mine = [s for s in spans if s.phase == phase.name]
        for regimen in phase.drugs:
            rows.extend(_course(regimen, mine, start))
    rows.sort(key=lambda r: (r.date, r.drug))
    return Expected(tuple(rows), tuple(spans))


def _spans(protocol: Protocol, start: date, cycles: int | None) -> list[Span]:
    if cycles is None and protocol.phases[-1].cycles is None:
        raise ValueError("an open-ended protocol needs a number of cycles")
    spans: list[Span] = []
    first = start
    for phase in protocol.phases:
        count = phase.cycles.value if phase.cycles is not None else None
        number = 1
        while (count is None or number <= count) and (cycles is None or len(spans) < cycles):
            length = _length(phase, number)
            spans.append(Span(phase.name, number, first, first + timedelta(days=length - 1)))
            first += timedelta(days=length)
            number += 1
    return spans


def _length(phase: Phase, cycle: int) -> int:
    if cycle in phase.cycle_lengths:
        return phase.cycle_lengths[cycle].value
    return phase.cycle_length_days.value


def _course(regimen: DrugRegimen, spans: Sequence[Span], start: date) -> list[Row]:
    assert regimen.repeat is None, "the oracle knows cycle days only"
    levels = course_levels(regimen)
    rows: list[Row] = []
    own_cycle = 0
    first_dose: date | None = None
    level = -1  # no dose given yet: the first dose is at most level 0
    for span in spans:
        if regimen.cycles is not None and span.cycle not in regimen.cycles.value:
            continue
        own_cycle += 1
        days = regimen.cycle_days[span.cycle].value if span.cycle in regimen.cycle_days else regimen.days.value  # type: ignore[union-attr]
        if own_cycle == 1 and regimen.first_cycle_start_day is not None:
            days = tuple(d for d in days if d >= regimen.first_cycle_start_day.value)
        for day in days:
            when = span.start + timedelta(days=day - 1)
            first_dose = first_dose or when
            course_day = (when - first_dose).days + 1
            due = _increases_due(regimen, len(levels) - 1, course_day, own_cycle, day)
            level = min(due, level + 1)
            rows.append(Row(when, (when - start).days + 1, span.phase, span.cycle, day, regimen.drug, levels[level]))
    return rows


def _increases_due(regimen: DrugRegimen, increases: int, course_day: int, own_cycle: int, cycle_day: int) -> int:
    """How many of the course's ``increases`` have fallen due by this administration."""
    esc = regimen.escalation
    if esc is None:
        return 0
    if esc.every_days is not None:
        every = esc.every_days.value
        first = esc.first_step_day.value if esc.first_step_day is not None else 1 + every
        return sum(1 for i in range(increases) if first + i * every <= course_day)
    if esc.every_cycles is not None:
        every = esc.every_cycles.value
        first = esc.first_step_cycle.value if esc.first_step_cycle is not None else 1 + every
        return sum(1 for i in range(increases) if first + i * every <= own_cycle)
    assert esc.at is not None
    points = esc.at.value[:increases]
    return sum(1 for p in points if (p.cycle, p.day) <= (own_cycle, cycle_day))
