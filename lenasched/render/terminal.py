"""The terminal calendar (a month grid per month, a per-cycle summary, assumptions, disclaimer), the
protocol list, and tables that fit the terminal.

Tables here never break an identifier (a protocol id, a registry number, "relapsed/refractory") in the
middle: each column is at least as wide as its longest word (an id column as its longest id), and a table
that cannot fit the width that way is laid out another way (fewer, combined or repeated columns; see
``Fitted`` and ``fit_table``) rather than left to fold words.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from lenasched.engine.calendar import Calendar, CycleWindow, DoseDay
from lenasched.formats.describe import DISCLAIMER, off_label_note
from lenasched.model.doses import format_dose, format_unit
from lenasched.model.drugs import LENALIDOMIDE

if TYPE_CHECKING:
    from lenasched.model.protocol import Protocol

__all__ = [
    "Col",
    "Fitted",
    "chunked_tables",
    "drug_labels",
    "fit_table",
    "render_calendar",
    "render_outcomes",
    "render_protocol_list",
]

PRIMARY = LENALIDOMIDE


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


def _summary(cal: Calendar, labels: dict[str, str]) -> Fitted:
    spans: list[tuple[str, str, date, date, bool]] = []
    if cal.lead_in is not None:
        spans.append(
            ("lead-in", f"days −{(cal.start - cal.lead_in.start).days}..−1", cal.lead_in.start, cal.lead_in.end, True)
        )
    spans.extend((str(w.index), f"{w.phase} {w.cycle}", w.start, w.end, w.complete) for w in cal.windows)
    rows: list[tuple[str, ...]] = []
    for index, phase, first, last, complete in spans:
        given = cal.between(first, last)
        doses: list[str] = []
        totals: list[str] = []
        dosing_days = 0
        for drug in cal.drugs:
            mine = [r for r in given if r.drug == drug]
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
        rows.append(
            (
                label,
                phase,
                first.isoformat(),
                last.isoformat(),
                str(dosing_days),
                "\n".join(doses) or "—",
                "\n".join(totals) or "—",
            )
        )
    columns = [
        Col(
            name,
            [row[i] for row in rows],
            justify="right" if name in ("cycle", "L days", "total") else "left",
            whole_cells=name in ("start", "end"),
            one_line=name == "cycle",
        )
        for i, name in enumerate(("cycle", "phase", "start", "end", "L days", "daily dose(s)", "total"))
    ]
    title = "Cycles (L = lenalidomide dosing days)"
    return Fitted(
        lambda width: fit_table(columns, width, title=title),
        lambda width: fit_table(columns, width, title=title, force=True),
    )


def _audit_trail(cal: Calendar) -> Fitted:
    entries = cal.modifications
    columns = [
        Col("date", [m.date.isoformat() for m in entries], whole_cells=True),
        Col("drug", [m.drug or "all" for m in entries]),
        Col("event", [m.event for m in entries]),
        Col("effect", [m.effect for m in entries]),
    ]
    title = "Audit trail: changes to the planned calendar"
    return Fitted(
        lambda width: fit_table(columns, width, title=title),
        lambda width: fit_table(columns, width, title=title, force=True),
    )


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
        parts.append(_audit_trail(cal))
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


# --- tables that fit ---------------------------------------------------------------------------------

Justify = Literal["left", "right", "center"]


@dataclass(frozen=True)
class Col:
    """A column to fit: its header, its cells, and which of them must stay on one line.

    ``whole_header``/``whole_cells``: the header (a protocol id heading a column) or every cell (an id
    column) is an identifier and is never wrapped; other text wraps between words, never inside one.
    ``one_line``: kept on one line while the table fits that way (rich's ``no_wrap``), wrapped between
    words when it does not.
    """

    header: str
    cells: Sequence[str | Text]
    justify: Justify = "left"
    whole_header: bool = False
    whole_cells: bool = False
    one_line: bool = False
    style: str = ""

    def min_width(self) -> int:
        """The narrowest this column can be without breaking a word (or an identifier)."""
        head = cell_len(self.header) if self.whole_header else _longest_word(self.header)
        cells = [_longest_line(c) if self.whole_cells else _longest_word(c) for c in self.cells]
        return max([head, 1, *cells])

    def max_width(self) -> int:
        """The width at which nothing in this column needs to wrap."""
        return max([1, _longest_line(self.header), *(_longest_line(c) for c in self.cells)])


def _plain(text: str | Text) -> str:
    return text.plain if isinstance(text, Text) else text


def _longest_word(text: str | Text) -> int:
    return max((cell_len(word) for word in _plain(text).split()), default=0)


def _longest_line(text: str | Text) -> int:
    return max((cell_len(line) for line in _plain(text).splitlines()), default=0)


def _table_overhead(columns: int) -> int:
    """Borders and padding of a boxed table with ``columns`` columns (one space each side of a cell)."""
    return 3 * columns + 1


def fitted_widths(columns: Sequence[Col], width: int) -> list[int] | None:
    """Content widths for ``columns`` within ``width`` that break no word; None when they cannot fit.

    Every column gets its minimum; what is left goes to the columns that still wrap, evenly, until
    each reaches its natural width.
    """
    available = width - _table_overhead(len(columns))
    widths = [c.min_width() for c in columns]
    if sum(widths) > available:
        return None
    wanted = [c.max_width() for c in columns]
    spare = available - sum(widths)
    while spare > 0:
        growing = [i for i, w in enumerate(widths) if w < wanted[i]]
        if not growing:
            break
        share = max(1, spare // len(growing))
        for i in growing:
            step = min(share, wanted[i] - widths[i], spare)
            widths[i] += step
            spare -= step
            if spare == 0:
                break
    return widths


def fit_table(
    columns: Sequence[Col], width: int, *, title: str | None = None, force: bool = False
) -> RenderableType | None:
    """A table of ``columns`` that fits ``width`` with no word broken; None when it cannot (unless ``force``:
    then rich lays it out as best it can).

    Rich's own layout is kept whenever it breaks no word (so a table looks as it always did); only when
    it would fold a word do the columns get the widths of ``fitted_widths``.
    """
    widths = fitted_widths(columns, width)
    if widths is None and not force:
        return None
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(
            column.header,
            justify=column.justify,
            style=column.style or None,
            no_wrap=column.whole_cells or column.one_line,
            overflow="fold",
        )
    rows = max((len(c.cells) for c in columns), default=0)
    for r in range(rows):
        table.add_row(*(c.cells[r] if r < len(c.cells) else "" for c in columns))
    if widths is None:
        return table
    return _KeepWords(table, columns, widths)


class _KeepWords:
    """A table shown as rich lays it out if that breaks no word, else with the given column widths."""

    def __init__(self, table: Table, columns: Sequence[Col], widths: list[int]) -> None:
        self.table = table
        self.columns = columns
        self.widths = widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self._rich_layout_keeps_words(console, options):
            for column, spec, fixed in zip(self.table.columns, self.columns, self.widths):
                column.width = fixed
                column.no_wrap = spec.whole_cells
        yield self.table

    def _rich_layout_keeps_words(self, console: Console, options: ConsoleOptions) -> bool:
        table = self.table
        try:  # rich's own arithmetic (private, stable for years); without it, use the computed widths
            extra = table._extra_width
            natural = table._calculate_column_widths(console, options.update_width(options.max_width - extra))
            padding = [table._get_padding_width(i) for i in range(len(table.columns))]
        except (AttributeError, TypeError):
            return False
        if sum(natural) + extra > options.max_width:
            return False
        return all(w - pad >= spec.min_width() for w, pad, spec in zip(natural, padding, self.columns))


def chunked_tables(
    key: Col, columns: Sequence[Col], width: int, *, title: str | None = None
) -> list[RenderableType] | None:
    """``key`` and as many of ``columns`` as fit, then ``key`` again with the next ones, and so on.

    None when ``key`` and a single column already do not fit ``width``.
    """
    tables: list[RenderableType] = []
    group: list[Col] = []
    for column in columns:
        if group and fitted_widths([key, *group, column], width) is None:
            tables.append(_chunk(key, group, width, title, len(tables)))
            group = []
        group.append(column)
        if fitted_widths([key, *group], width) is None:
            return None
    if group:
        tables.append(_chunk(key, group, width, title, len(tables)))
    return tables


def _chunk(key: Col, group: list[Col], width: int, title: str | None, index: int) -> RenderableType:
    heading = title if index == 0 or title is None else f"{title} (continued)"
    made = fit_table([key, *group], width, title=heading)
    assert made is not None  # the group was checked to fit
    return made


class Fitted:
    """A renderable that shows the first of its layouts that fits the width it is printed at.

    Each layout takes the width and returns a renderable, or None when it cannot fit; the last one must
    always return one.
    """

    def __init__(self, *layouts: Callable[[int], RenderableType | None]) -> None:
        self.layouts = layouts

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        for layout in self.layouts:
            made = layout(width)
            if made is not None:
                yield made
                return
        raise AssertionError("the last layout of a Fitted renderable must always fit")  # pragma: no cover


# --- lenasched list -------------------------------------------------------------------------------------


def render_protocol_list(protocols: Sequence[Protocol]) -> Fitted:
    """``lenasched list``: id, title, setting and citation; at narrow widths the setting goes under the title."""
    ids = Col("id", [p.id for p in protocols], whole_cells=True)
    titles = [p.title for p in protocols]
    citation = Col("citation", [p.citation.short() for p in protocols])
    heading = "Bundled protocols"

    def four(width: int) -> RenderableType | None:
        setting = Col("setting", [p.setting for p in protocols])
        return fit_table([ids, Col("title", titles), setting, citation], width, title=heading)

    def combined(width: int, force: bool = False) -> RenderableType | None:
        cells = [Text(p.title).append(f"\nsetting: {p.setting}", style="italic") for p in protocols]
        return fit_table([ids, Col("title / setting", cells), citation], width, title=heading, force=force)

    return Fitted(four, combined, lambda width: combined(width, force=True))


def render_outcomes(protocols: Sequence[Protocol]) -> Fitted:
    """``lenasched list --outcomes``: a column per outcome; at narrow widths, several tables keyed by id."""
    from lenasched.model.outcomes import OUTCOME_FIELDS

    ids = Col("id", [p.id for p in protocols], whole_cells=True)
    columns = [
        Col(label, [p.outcomes.display(name) for p in protocols], justify="right")
        for name, label in OUTCOME_FIELDS.items()
    ]
    heading = "Reported outcomes (NR = not reported)"

    def whole(width: int) -> RenderableType | None:
        return fit_table([ids, *columns], width, title=heading)

    def chunked(width: int) -> RenderableType | None:
        tables = chunked_tables(ids, columns, width, title=heading)
        return Group(*tables) if tables is not None else None

    return Fitted(whole, chunked, lambda width: fit_table([ids, *columns], width, title=heading, force=True))
