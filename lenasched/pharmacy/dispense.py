"""The dispensing plan: per fill, which capsules and how many, the days covered, the label instructions.

Fills follow the calendar: one fill per cycle, split where a cycle's dosing would span more than
the REMS supply limit (28 days). Only dose days are dispensed (rest days are not), so the capsules
handed out add up exactly to the mg scheduled; the plan checks that before it is returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.engine.capsules import CapsulePick, choose_capsules
from lenasched.engine.renal import RenalAdjustment
from lenasched.errors import ScheduleError
from lenasched.model.doses import format_dose
from lenasched.model.label import Label, load_label
from lenasched.pharmacy.instructions import instruction

__all__ = ["DispenseLine", "DispensePlan", "DoseRun", "Fill", "dispense_plan"]


@dataclass(frozen=True, slots=True)
class DispenseLine:
    """Capsules of one strength in a fill."""

    strength_mg: Decimal
    capsules: int

    @property
    def total_mg(self) -> Decimal:
        return self.strength_mg * self.capsules


@dataclass(frozen=True, slots=True)
class DoseRun:
    """Successive dose days of a fill at one dose: what the label on the box says to do, and when."""

    dose_mg: Decimal
    dates: tuple[date, ...]
    capsules: CapsulePick
    instruction: str

    @property
    def first(self) -> date:
        return self.dates[0]

    @property
    def last(self) -> date:
        return self.dates[-1]

    @property
    def pattern(self) -> str:
        """'every day', 'every other day' or 'on the days listed'."""
        gaps = {(b - a).days for a, b in zip(self.dates, self.dates[1:])}
        if not gaps or gaps == {1}:
            return "every day"
        if gaps == {2}:
            return "every other day"
        return "on the days listed"

    def describe(self) -> str:
        """'Take one 5 mg capsule by mouth every day, 2026-12-01 to 2026-12-21 (21 doses)'."""
        doses = f"{len(self.dates)} dose{'s' if len(self.dates) != 1 else ''}"
        if len(self.dates) == 1:
            return f"{self.instruction} on {self.first.isoformat()} (1 dose)"
        text = f"{self.instruction} {self.pattern}, {self.first.isoformat()} to {self.last.isoformat()} ({doses})"
        if self.pattern == "on the days listed":
            text += ": " + ", ".join(d.isoformat() for d in self.dates)
        return text


@dataclass(frozen=True, slots=True)
class Fill:
    """One dispensing: at most the supply limit, covering the dose days from ``first`` to ``last``."""

    number: int
    drug: str
    phase: str
    cycle: int | None  # None: the lead-in
    cycle_index: int
    first: date
    last: date
    dose_dates: tuple[date, ...]
    lines: tuple[DispenseLine, ...]
    runs: tuple[DoseRun, ...]
    instructions: tuple[str, ...]
    flags: tuple[str, ...]

    @property
    def days_covered(self) -> int:
        """Calendar days from the first to the last dose of the fill, both included."""
        return (self.last - self.first).days + 1

    @property
    def dosing_days(self) -> int:
        return len(self.dose_dates)

    @property
    def capsules(self) -> int:
        return sum(line.capsules for line in self.lines)

    @property
    def total_mg(self) -> Decimal:
        return sum((line.total_mg for line in self.lines), Decimal(0))

    def describe_lines(self) -> str:
        """'21 × 5 mg', '14 × 10 mg + 7 × 15 mg'."""
        return " + ".join(f"{line.capsules} × {format_dose(line.strength_mg)} mg" for line in self.lines)


@dataclass(frozen=True, slots=True)
class DispensePlan:
    """Every fill for one drug over a calendar, with the totals that must agree."""

    protocol_id: str
    drug: str
    start: date
    end: date
    fills: tuple[Fill, ...]
    total_scheduled_mg: Decimal
    max_supply_days: int
    allow_multiple: bool
    renal: RenalAdjustment | None
    not_dispensed: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def total_dispensed_mg(self) -> Decimal:
        return sum((f.total_mg for f in self.fills), Decimal(0))

    @property
    def capsules_by_strength(self) -> tuple[DispenseLine, ...]:
        """All capsules over the plan, by strength (strongest first)."""
        counts: dict[Decimal, int] = {}
        for fill in self.fills:
            for line in fill.lines:
                counts[line.strength_mg] = counts.get(line.strength_mg, 0) + line.capsules
        return tuple(DispenseLine(s, n) for s, n in sorted(counts.items(), reverse=True))

    @property
    def flagged(self) -> bool:
        return any(f.flags for f in self.fills)


def dispense_plan(
    calendar: Calendar,
    *,
    allow_multiple: bool = False,
    renal: RenalAdjustment | None = None,
    label: Label | None = None,
) -> DispensePlan:
    """Fills for the label drug (lenalidomide) over ``calendar``.

    ``allow_multiple`` permits daily doses made of several capsules (flagged on each fill);
    without it such a dose raises ``CapsuleError``. ``renal`` (from ``adjust_for_renal``, already
    applied to ``calendar``) is carried into the plan so its output can say what was adjusted.
    """
    label = label or load_label()
    drug = label.drug
    limit = label.max_supply_days.value
    days = calendar.for_drug(drug)
    if not days:
        raise ScheduleError(
            f"{calendar.protocol_id} gives no {drug} from {calendar.start.isoformat()} to {calendar.end.isoformat()}: "
            f"nothing to dispense (if {drug} starts later in the protocol, plan more cycles or a later end date)"
        )
    if any(d.route != "oral" for d in days):
        raise ScheduleError(f"{drug} is dispensed as oral capsules, but this calendar gives it by another route")
    fills: list[Fill] = []
    for group in _fill_groups(calendar, days, limit):
        fills.append(_fill(len(fills) + 1, group, calendar, allow_multiple, label, renal))
    plan = DispensePlan(
        protocol_id=calendar.protocol_id,
        drug=drug,
        start=calendar.start,
        end=calendar.end,
        fills=tuple(fills),
        total_scheduled_mg=calendar.total_mg(drug),
        max_supply_days=limit,
        allow_multiple=allow_multiple,
        renal=renal,
        not_dispensed=tuple(d for d in calendar.drugs if d != drug),
        notes=_notes(label, renal),
    )
    if plan.total_dispensed_mg != plan.total_scheduled_mg:  # arithmetic guard: never hand out a wrong total
        raise ScheduleError(
            f"dispensing plan adds up to {format_dose(plan.total_dispensed_mg)} mg but the calendar schedules "
            f"{format_dose(plan.total_scheduled_mg)} mg of {drug}; refusing to produce it"
        )
    return plan


def _fill_groups(calendar: Calendar, days: Sequence[DoseDay], limit: int) -> list[list[DoseDay]]:
    """Dose days grouped by cycle window, each group split so it spans at most ``limit`` days."""
    groups: list[list[DoseDay]] = []
    current_window: object = None
    for day in days:
        window = calendar.window_of(day.date)
        key = (window.index if window is not None else None, day.phase, day.cycle)
        if not groups or key != current_window or (day.date - groups[-1][0].date).days + 1 > limit:
            groups.append([])
            current_window = key
        groups[-1].append(day)
    return groups


def _fill(
    number: int,
    group: list[DoseDay],
    calendar: Calendar,
    allow_multiple: bool,
    label: Label,
    renal: RenalAdjustment | None,
) -> Fill:
    market = calendar.market
    runs: list[DoseRun] = []
    for day in group:
        if runs and runs[-1].dose_mg == day.dose_mg:
            last = runs[-1]
            runs[-1] = DoseRun(last.dose_mg, (*last.dates, day.date), last.capsules, last.instruction)
            continue
        pick = choose_capsules(day.dose_mg, allow_multiple=allow_multiple, drug=day.drug, market=market)
        runs.append(
            DoseRun(day.dose_mg, (day.date,), pick, instruction(day, allow_multiple=allow_multiple, market=market))
        )
    counts: dict[Decimal, int] = {}
    for run in runs:
        for strength, n in run.capsules.capsules:
            counts[strength] = counts.get(strength, 0) + n * len(run.dates)
    lines = tuple(DispenseLine(s, n) for s, n in sorted(counts.items(), reverse=True))
    flags: list[str] = []
    multi = [r for r in runs if r.capsules.multiple]
    if multi:
        doses = ", ".join(f"{format_dose(r.dose_mg)} mg ({r.capsules.describe()})" for r in multi)
        flags.append(
            f"MULTIPLE CAPSULES PER DOSE: {doses}; the label says substituting lower strengths was not studied"
        )
    for before, after in zip(runs, runs[1:]):
        flags.append(
            f"dose changes on {after.first.isoformat()}: "
            f"{format_dose(before.dose_mg)} mg → {format_dose(after.dose_mg)} mg"
        )
    if renal is not None and renal.applies:
        first_date, horizon = group[0].date, group[0].date + timedelta(days=label.max_supply_days.value - 1)
        touched = [
            c
            for c in renal.changes
            if (c.phase, c.cycle) == (group[0].phase, group[0].cycle) and first_date <= c.date <= horizon
        ]
        if touched:
            lowered = sum(1 for c in touched if c.after_mg is not None)
            flags.append(
                f"renal adjustment: {lowered} dose day(s) lowered, {len(touched) - lowered} dropped in this fill"
            )
    instructions = tuple(run.describe() for run in runs)
    first = group[0]
    window = calendar.window_of(first.date)
    return Fill(
        number=number,
        drug=first.drug,
        phase=first.phase,
        cycle=first.cycle,
        cycle_index=window.index if window is not None else (first.cycle or 0),  # 0: the lead-in
        first=first.date,
        last=group[-1].date,
        dose_dates=tuple(d.date for d in group),
        lines=lines,
        runs=tuple(runs),
        instructions=instructions,
        flags=tuple(flags),
    )


def _notes(label: Label, renal: RenalAdjustment | None) -> tuple[str, ...]:
    notes = []
    if label.swallow_whole.value:
        notes.append("Swallow capsules whole with water; do not open, break or chew them.")
    notes.append(
        f"Each fill covers at most {label.max_supply_days.value} days ({label.cite(label.max_supply_days.source)}); "
        "rest days are not dispensed."
    )
    if renal is not None:
        notes.append(renal.summary())
    return tuple(notes)
