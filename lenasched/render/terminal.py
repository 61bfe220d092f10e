"""The terminal calendar: a month grid per month, a per-cycle summary, assumptions, disclaimer."""

from __future__ import annotations

import calendar as _cal
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..calendar import Calendar, CycleWindow, DoseDay
from ..describe import DISCLAIMER, off_label_note
from ..doses import format_dose, format_unit

__all__ = ["drug_labels", "render_calendar"]

PRIMARY = "lenalidomide"


def drug_labels(drugs: tuple[str, ...]) -> dict[str, str]:
    """Short, unique labels for the grid ('L' for lenalidomide, 'Ritu', 'Allo', ...)."""
    labels: dict[str, str] = {}
    for drug in drugs:
        size = 1 if drug == PRIMARY else 4
        label = drug[:size].capitalize()
        while label in labels.values() and size < len(drug):
            size += 1
            label = drug[:size].capitalize()
        labels[drug] = label
    return labels


def _months(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _cell(cal: Calendar, day: date, labels: dict[str, str], window: CycleWindow | None) -> Text:
    text = Text(f"{day.day:>2}", style="bold" if window is not None else "dim")
    if window is not None and day == window.start:
        text.append(f" C{window.index}", style="cyan")
    given = cal.on(day)
    if window is None and cal.lead_in is not None and day in cal.lead_in:
        text.stylize("bold")
        text.append(f" d−{(cal.start - day).days}", style="cyan")
        if not given:
            text.append("\nrest", style="dim italic")
        for dose in given:
            text.append(_dose_text(dose, labels))
        return text
    if window is None:
        if cal.start <= day <= cal.end:  # a gap left by a delayed cycle
            text.append("\ndelayed", style="dim italic")
        return text
    if not given:
        text.append("\nrest", style="dim italic")
        return text
    for dose in given:
        text.append(_dose_text(dose, labels))
    return text


def _dose_text(dose: DoseDay, labels: dict[str, str]) -> Text:
    if dose.drug == PRIMARY:
        return Text(f"\n{format_dose(dose.dose)} mg", style="bold green")
    return Text(f"\n{labels[dose.drug]} {format_dose(dose.dose_mg)}", style="magenta")


def _month_table(cal: Calendar, year: int, month: int, labels: dict[str, str]) -> Table:
    table = Table(title=f"{_cal.month_name[month]} {year}", show_lines=True, expand=False, title_justify="left")
    for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"):
        table.add_column(name, justify="left", min_width=8, no_wrap=True)
    for week in _cal.Calendar(firstweekday=0).monthdatescalendar(year, month):
        cells: list[RenderableType] = []
        for day in week:
            if day.month != month:
                cells.append(Text(""))
                continue
            cells.append(_cell(cal, day, labels, cal.window_of(day)))
        table.add_row(*cells)
    return table


def _summary(cal: Calendar, labels: dict[str, str]) -> Table:
    table = Table(title="Cycles (L = lenalidomide dosing days)", title_justify="left")
    for name in ("cycle", "phase", "start", "end", "L days", "daily dose(s)", "total"):
        right = name in ("cycle", "L days", "total")
        table.add_column(name, justify="right" if right else "left", no_wrap=name in ("start", "end", "cycle"))
    spans: list[tuple[str, str, date, date, bool]] = []
    if cal.lead_in is not None:
        spans.append(
            ("lead-in", f"days −{(cal.start - cal.lead_in.start).days}..−1", cal.lead_in.start, cal.lead_in.end, True)
        )
    spans.extend((str(w.index), f"{w.phase} {w.cycle}", w.start, w.end, w.complete) for w in cal.windows)
    for index, phase, first, last, complete in spans:
        rows = cal.between(first, last)
        doses: list[str] = []
        totals: list[str] = []
        dosing_days = 0
        for drug in cal.drugs:
            mine = [r for r in rows if r.drug == drug]
            if not mine:
                continue
            if drug == PRIMARY:
                dosing_days = len(mine)
            levels: list[Decimal] = []
            for r in mine:
                if not levels or levels[-1] != r.dose:
                    levels.append(r.dose)
            unit = format_unit(mine[0].unit)
            doses.append(f"{labels[drug]} " + " → ".join(format_dose(x) for x in levels) + f" {unit}")
            totals.append(f"{labels[drug]} {format_dose(sum((r.dose_mg for r in mine), Decimal(0)))} mg")
        label = index + ("" if complete else " (part)")
        table.add_row(
            label,
            phase,
            first.isoformat(),
            last.isoformat(),
            str(dosing_days),
            "\n".join(doses) or "—",
            "\n".join(totals) or "—",
        )
    return table


def render_calendar(cal: Calendar) -> Group:
    """Everything ``lenasched calendar`` shows, as one rich renderable."""
    protocol = cal.protocol
    labels = drug_labels(cal.drugs)
    parts: list[RenderableType] = [
        Text(f"{protocol.title}", style="bold"),
        Text(f"{protocol.id} · {protocol.citation.short()} · start {cal.start.isoformat()}"),
    ]
    if cal.patient is not None and cal.patient.describe():
        parts.append(Text(f"Patient: {cal.patient.describe()}"))
    legend = ", ".join(f"{label} = {drug} (mg)" for drug, label in labels.items() if drug != PRIMARY)
    parts.append(
        Text("Each day: lenalidomide dose in mg; 'rest' = no drug that day" + (f"; {legend}" if legend else ""))
    )
    last = cal.windows[-1].end if cal.windows else cal.start
    for year, month in _months(cal.first_date, last):
        parts.append(_month_table(cal, year, month, labels))
    parts.append(_summary(cal, labels))
    for drug in cal.drugs:
        parts.append(Text(f"Total {drug}: {format_dose(cal.total_mg(drug))} mg"))
    if cal.modifications:
        trail = Table(title="Audit trail: changes to the planned calendar", title_justify="left")
        for name in ("date", "drug", "event", "effect"):
            trail.add_column(name, no_wrap=name == "date", overflow="fold")
        for m in cal.modifications:
            trail.add_row(m.date.isoformat(), m.drug or "all", m.event, m.effect)
        parts.append(trail)
    assumptions = protocol.assumptions()
    if assumptions:
        parts.append(
            Text(
                f"Assumptions in this protocol ({len(assumptions)}; `lenasched show {protocol.id}` for all sources):",
                style="yellow",
            )
        )
        for path, s in assumptions:
            parts.append(Text(f"  - {path}: {s.assumption}", style="yellow"))
    off_label = off_label_note(protocol)
    if off_label:  # said once, plainly, next to the disclaimer
        parts.append(Text(off_label, style="bold"))
    parts.append(Text(DISCLAIMER, style="italic"))
    return Group(*parts)
