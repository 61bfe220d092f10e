"""The terminal table of ``lenasched compare``: a column per protocol, a row per metric.

Protocol ids head their columns whole: when the protocols do not all fit the terminal side by side, the
metrics are shown again for the next ones (see ``render.terminal.chunked_tables``).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from lenasched.design.compare import Comparison
from lenasched.formats.describe import DISCLAIMER
from lenasched.render.terminal import Col, Fitted, chunked_tables, fit_table

__all__ = ["render_comparison"]


def render_comparison(comparison: Comparison) -> Group:
    """The comparison table (or tables, at narrow widths), then its footnotes and the disclaimer."""
    rows = [(label, values) for label, values in comparison.table() if label != "title"]  # titles go below
    labels = Col("", [label for label, _ in rows], style="bold", one_line=True)
    columns = [
        Col(protocol_id, [values[i] for _, values in rows], justify="right", whole_header=True)
        for i, protocol_id in enumerate(comparison.ids)
    ]
    title = f"Protocols compared over {comparison.horizon_days} days"

    def side_by_side(width: int) -> RenderableType | None:
        return fit_table([labels, *columns], width, title=title)

    def in_groups(width: int) -> RenderableType | None:
        tables = chunked_tables(labels, columns, width, title=title)
        return Group(*tables) if tables is not None else None

    def squeezed(width: int) -> RenderableType | None:
        return fit_table([labels, *columns], width, title=title, force=True)

    parts: list[RenderableType] = [Fitted(side_by_side, in_groups, squeezed)]
    parts += [Text(f"{s.protocol_id}: {s.title}") for s in comparison.summaries]
    parts += [Text(note, style="dim") for note in comparison.notes()]
    parts.append(Text(DISCLAIMER, style="italic"))
    return Group(*parts)
