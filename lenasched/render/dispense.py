"""The dispensing plan in the terminal: one table row per fill, then totals, notes and flags."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from lenasched.formats.describe import DISCLAIMER
from lenasched.model.doses import format_dose
from lenasched.pharmacy.dispense import DispensePlan

__all__ = ["render_plan"]


def render_plan(plan: DispensePlan, title: str | None = None) -> Group:
    """Everything ``lenasched dispense`` shows, as one rich renderable."""
    parts: list[RenderableType] = []
    if title:
        parts.append(Text(title, style="bold"))
    parts.append(
        Text(f"Dispensing plan: {plan.drug} · {plan.protocol_id} · {plan.start.isoformat()} to {plan.end.isoformat()}")
    )
    table = Table(show_lines=True, title_justify="left")
    for name in ("fill", "cycle", "days covered", "dose days", "capsules", "instructions"):
        table.add_column(name, justify="right" if name in ("fill", "dose days") else "left", overflow="fold")
    for fill in plan.fills:
        instructions = Text("\n".join(fill.instructions))
        for flag in fill.flags:
            instructions.append(f"\n⚑ {flag}", style="bold yellow")
        table.add_row(
            str(fill.number),
            f"{fill.phase} {fill.cycle}",
            f"{fill.first.isoformat()} – {fill.last.isoformat()}\n({fill.days_covered} days)",
            str(fill.dosing_days),
            fill.describe_lines(),
            instructions,
        )
    parts.append(table)
    by_strength = ", ".join(
        f"{line.capsules} × {format_dose(line.strength_mg)} mg" for line in plan.capsules_by_strength
    )
    parts.append(
        Text(
            f"Total: {by_strength} = {format_dose(plan.total_dispensed_mg)} mg dispensed; "
            f"{format_dose(plan.total_scheduled_mg)} mg scheduled"
        )
    )
    if plan.not_dispensed:
        parts.append(Text("Not in this plan (not dispensed as capsules here): " + ", ".join(plan.not_dispensed)))
    for note in plan.notes:
        style = "bold yellow" if note.startswith("Renal dose adjustment applied") else ""
        parts.append(Text(note, style=style))
    if plan.flagged:
        parts.append(Text("⚑ = check before dispensing", style="yellow"))
    parts.append(Text(DISCLAIMER, style="italic"))
    return Group(*parts)
