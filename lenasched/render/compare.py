"""The terminal table of ``lenasched compare``: a column per protocol, a row per metric."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from ..comparison import Comparison
from ..describe import DISCLAIMER

__all__ = ["render_comparison"]


def render_comparison(comparison: Comparison) -> Group:
    """The comparison table, then its footnotes and the disclaimer."""
    table = Table(title=f"Protocols compared over {comparison.horizon_days} days", title_justify="left")
    table.add_column("", style="bold", no_wrap=True)
    for protocol_id in comparison.ids:
        table.add_column(protocol_id, overflow="fold", justify="right")
    for label, values in comparison.table():
        if label != "title":  # titles are long: they go under the table
            table.add_row(label, *values)
    parts: list[Table | Text] = [table]
    parts += [Text(f"{s.protocol_id}: {s.title}") for s in comparison.summaries]
    parts += [Text(note, style="dim") for note in comparison.notes()]
    parts.append(Text(DISCLAIMER, style="italic"))
    return Group(*parts)
