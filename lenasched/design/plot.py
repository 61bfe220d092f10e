"""Pictures of a comparison: daily dose (a step plot, rest days at 0) and cumulative dose over time.

The numbers plotted are built first, without matplotlib, as :class:`DoseSeries` (one per protocol),
so tests check the data and not pixels. Drawing needs the optional ``plot`` extra (matplotlib); it
uses ``matplotlib.figure.Figure`` directly (no pyplot, no GUI backend, no global state).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from lenasched.atomic import write_atomic
from lenasched.design.compare import PRIMARY_DRUG, Comparison
from lenasched.engine.calendar import Calendar
from lenasched.errors import MissingDependencyError, OutputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["PLOT_FORMATS", "DoseSeries", "comparison_series", "dose_series", "plot_figure", "save_plot"]

PLOT_FORMATS = ("png", "svg", "pdf")
_LINE_STYLES = ("-", "--", ":", "-.")
#: The metadata key each format would fill with a date or version; left empty for reproducible files.
_METADATA_DATE = {"png": "Software", "svg": "Date", "pdf": "CreationDate"}


@dataclass(frozen=True)
class DoseSeries:
    """One protocol's curve: for study days 1..N, the mg given that day (0 = rest) and the running total."""

    label: str
    days: tuple[int, ...]
    daily_mg: tuple[Decimal, ...]
    cumulative_mg: tuple[Decimal, ...]


def dose_series(
    calendar: Calendar, horizon_days: int, *, drug: str = PRIMARY_DRUG, label: str | None = None
) -> DoseSeries:
    """The daily and cumulative mg of ``drug`` on study days 1..``horizon_days``."""
    daily = [Decimal(0)] * horizon_days
    for d in calendar.days:
        if d.drug == drug and d.study_day <= horizon_days:
            daily[d.study_day - 1] += d.dose_mg
    running = Decimal(0)
    cumulative = []
    for mg in daily:
        running += mg
        cumulative.append(running)
    return DoseSeries(
        label=label or calendar.protocol.id,
        days=tuple(range(1, horizon_days + 1)),
        daily_mg=tuple(daily),
        cumulative_mg=tuple(cumulative),
    )


def comparison_series(comparison: Comparison) -> list[DoseSeries]:
    """One :class:`DoseSeries` per compared protocol, over the comparison's horizon."""
    return [dose_series(calendar, comparison.horizon_days, drug=comparison.drug) for calendar in comparison.calendars]


def plot_figure(series: Sequence[DoseSeries], *, title: str | None = None, drug: str = PRIMARY_DRUG) -> Figure:
    """Two stacked panels sharing the x axis: daily dose (steps) and cumulative dose, one line per series."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("plotting", "matplotlib", "plot") from None
    figure = Figure(figsize=(10, 7), layout="constrained")
    daily_ax, total_ax = figure.subplots(2, 1, sharex=True)
    for i, s in enumerate(series):
        style = _LINE_STYLES[i % len(_LINE_STYLES)]  # overlapping curves stay visible
        daily_ax.step(s.days, [float(x) for x in s.daily_mg], where="post", label=s.label, linestyle=style)
        total_ax.plot(s.days, [float(x) for x in s.cumulative_mg], label=s.label, linestyle=style)
    daily_ax.set_ylabel("daily dose (mg)")
    daily_ax.set_ylim(bottom=0)
    # Legends sit outside the axes, to the right, so they never cover a curve (constrained layout makes room).
    daily_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    daily_ax.grid(True, alpha=0.3)
    total_ax.set_ylabel("cumulative dose (mg)")
    total_ax.set_xlabel("study day (day 1 = first day of treatment)")
    total_ax.set_ylim(bottom=0)
    total_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    total_ax.grid(True, alpha=0.3)
    last = max((s.days[-1] for s in series if s.days), default=1)
    total_ax.set_xlim(1, last + 1)
    figure.suptitle(title or f"{drug.capitalize()}: daily dose (rest days at 0) and cumulative dose")
    return figure


def save_plot(
    series: Sequence[DoseSeries],
    path: str | Path,
    *,
    title: str | None = None,
    drug: str = PRIMARY_DRUG,
    force: bool = False,
) -> tuple[Path, ...]:
    """Draw ``series`` and write the file atomically; the type comes from the suffix (.png, .svg, .pdf).

    The same data gives the same bytes (no dates in the file metadata). Written like every output
    (``lenasched.atomic.write_atomic``): ``force`` replaces a read-only file; returns the stale
    temporaries of interrupted earlier writes that were removed.
    """
    target = Path(path)
    kind = target.suffix.lower().lstrip(".")
    if kind not in PLOT_FORMATS:
        raise OutputError(f"cannot write a plot as {target.name!r}: use a .png, .svg or .pdf file name")
    figure = plot_figure(series, title=title, drug=drug)
    import matplotlib

    metadata: dict[str, str | None] = {_METADATA_DATE[kind]: None}
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "lenasched", "pdf.compression": 6}):
        figure.savefig(buffer, format=kind, dpi=120, metadata=metadata)
    return write_atomic(target, buffer.getvalue(), force=force)
