"""The printable patient calendar: one self-contained HTML file, one month per printed page.

The page is built in two steps: :func:`calendar_page` turns the ``Calendar`` into plain view data
(months → weeks → day cells → items, every sentence already written), then the Jinja2 template
``templates/calendar.html.j2`` lays it out. The template makes no decisions about doses, so what a
patient reads is tested on the view data and on the rendered text alike.

Made for paper and for greyscale printers: every marking (rest day, clinic day, prophylaxis, new
dose) is a word or a pattern, never a colour alone. No fonts, scripts or images are fetched, and
nothing in the output depends on the time it was made.
"""

from __future__ import annotations

import calendar as _stdcal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Literal

from ..calendar import Calendar, DoseDay
from ..dayspec import format_days, format_lead_in_days
from ..describe import DISCLAIMER
from ..doses import format_dose, format_unit
from ..protocol import Reference
from .daytext import (
    WEEKDAY_NAMES,
    DatedCheck,
    check_text,
    cycle_label,
    drug_title,
    is_clinic,
    is_prophylaxis,
    lead_in_label,
    long_date,
    month_title,
)

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["CalendarPage", "Cell", "CycleRow", "Item", "Month", "calendar_page", "full_citation", "to_html"]

TEMPLATE = "calendar.html.j2"
DENSE_LINES = 4

CellKind = Literal["dose", "rest", "outside", "pad"]


@dataclass(frozen=True, slots=True)
class Item:
    """One drug on one day, as the patient reads it."""

    drug: str
    name: str
    instruction: str
    clinic: bool
    prophylaxis: bool
    new_dose: bool
    capsules: int = 0
    """Capsules that make the dose when it takes more than one (allowed by name only, so flagged)."""


@dataclass(frozen=True, slots=True)
class Cell:
    """One box of the month grid. ``pad`` boxes belong to the neighbouring month and stay empty."""

    kind: CellKind
    iso: str = ""
    number: int = 0
    long_date: str = ""
    label: str = ""
    cycle_start: bool = False
    items: tuple[Item, ...] = ()
    checks: tuple[str, ...] = ()

    @property
    def clinic(self) -> bool:
        return any(item.clinic for item in self.items)


@dataclass(frozen=True, slots=True)
class Month:
    key: str
    title: str
    position: int
    count: int
    weeks: tuple[tuple[Cell, ...], ...]

    @property
    def dense(self) -> bool:
        """Some day has four or more lines to print: use the smaller type so the month fits its page."""
        return any(len(cell.items) + len(cell.checks) >= DENSE_LINES for week in self.weeks for cell in week)


@dataclass(frozen=True, slots=True)
class CycleRow:
    """One line of the overview's cycle table."""

    number: str
    name: str
    first: str
    last: str
    what: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CalendarPage:
    """Everything the template shows, already in words."""

    title: str
    protocol_id: str
    setting: str
    citation: str
    short_citation: str
    start: str
    end: str
    patient: str
    drugs: tuple[str, ...]
    months: tuple[Month, ...]
    cycles: tuple[CycleRow, ...]
    totals: tuple[str, ...]
    assumptions: tuple[str, ...]
    remarks: tuple[str, ...]
    changes: tuple[tuple[str, str], ...]
    checks: tuple[tuple[str, str], ...]
    has_clinic: bool
    has_prophylaxis: bool
    has_new_dose: bool
    has_multiple_capsules: bool
    weekdays: tuple[str, ...]
    disclaimer: str


def to_html(
    calendar: Calendar,
    *,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
) -> str:
    """The calendar as one printable, self-contained HTML document.

    ``allow_multiple`` is passed to the instruction writer: without it, a daily dose that needs
    more than one capsule is refused rather than printed. ``remarks`` are printed on the first
    page (e.g. the renal adjustment's summary); ``checks`` are dated tasks shown in the grid and
    listed on the first page (e.g. ``lenasched.rems.pregnancy_tests(calendar)``).
    """
    page = calendar_page(calendar, allow_multiple=allow_multiple, remarks=remarks, checks=checks)
    return _environment().get_template(TEMPLATE).render(page=page)


def calendar_page(
    calendar: Calendar,
    *,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
) -> CalendarPage:
    """The view data of the printable calendar (no markup)."""
    protocol = calendar.protocol
    items = _items(calendar, allow_multiple)
    ordered = sorted(checks, key=lambda c: (c.date, c.title))
    by_date: dict[date, list[str]] = {}
    for check in ordered:
        by_date.setdefault(check.date, []).append(check_text(check))
    check_days = {k: tuple(v) for k, v in by_date.items()}
    first = min([calendar.first_date, *check_days])
    last = max([calendar.end, *check_days])
    months = tuple(_months(calendar, items, check_days, first, last))
    all_items = [item for day_items in items.values() for item in day_items]
    patient = calendar.patient.describe() if calendar.patient is not None else ""
    return CalendarPage(
        title=protocol.title,
        protocol_id=protocol.id,
        setting=protocol.setting,
        citation=full_citation(protocol.citation),
        short_citation=protocol.citation.short(),
        start=long_date(calendar.start),
        end=long_date(calendar.end),
        patient=patient,
        drugs=calendar.drugs,
        months=months,
        cycles=tuple(_cycle_rows(calendar)),
        totals=tuple(
            f"{drug_title(calendar.for_drug(drug)[0])}: {format_dose(calendar.total_mg(drug))} mg in total"
            for drug in calendar.drugs
        ),
        assumptions=tuple(f"{path}: {s.assumption}" for path, s in protocol.assumptions()),
        remarks=tuple(remarks),
        changes=tuple((long_date(m.date), f"{m.event}: {m.effect}") for m in calendar.modifications),
        checks=tuple((long_date(c.date), check_text(c)) for c in ordered),
        has_clinic=any(item.clinic for item in all_items),
        has_prophylaxis=any(item.prophylaxis for item in all_items),
        has_new_dose=any(item.new_dose for item in all_items),
        has_multiple_capsules=any(item.capsules for item in all_items),
        weekdays=WEEKDAY_NAMES,
        disclaimer=DISCLAIMER,
    )


def full_citation(ref: Reference) -> str:
    """Vancouver-like: 'Badoux XC, Keating MJ, Wen S, et al. Title. Blood. 2011;118(13):3489-98. PMID 21725050.'"""
    names = [a for a in ref.authors if a.strip().rstrip(".").lower() != "et al"]
    more = len(names) > 3 or len(names) < len(ref.authors)
    authors = ", ".join(names[:3]) + (", et al." if more else ".") if names else ""
    parts = [authors, ref.title.rstrip(".") + "."]
    where = ref.journal or ""
    if ref.year:
        where += f" {ref.year}"
    if ref.volume:
        where += f";{ref.volume}"
    if ref.pages:
        where += f":{ref.pages}"
    if where:
        parts.append(where.strip() + ".")
    if ref.registry:
        parts.append(f"{ref.registry}.")
    if ref.pmid:
        parts.append(f"PMID {ref.pmid}.")
    if ref.doi:
        parts.append(f"doi:{ref.doi}")
    return " ".join(p for p in parts if p)


def _items(calendar: Calendar, allow_multiple: bool) -> dict[date, tuple[Item, ...]]:
    from ..instructions import capsules_for, instruction

    previous: dict[str, Decimal] = {}
    out: dict[date, list[Item]] = {}
    for day in calendar.days:
        last = previous.get(day.drug)
        previous[day.drug] = day.dose
        sentence = instruction(day, allow_multiple=allow_multiple)
        pick = capsules_for(day, allow_multiple=allow_multiple)
        out.setdefault(day.date, []).append(
            Item(
                drug=day.drug,
                # The drug is named once: before the sentence unless the sentence already names it.
                name="" if day.drug.lower() in sentence.lower() else drug_title(day),
                instruction=sentence,
                clinic=is_clinic(day),
                prophylaxis=is_prophylaxis(day),
                new_dose=last is not None and last != day.dose,
                capsules=pick.count if pick is not None and pick.multiple else 0,
            )
        )
    return {k: tuple(v) for k, v in out.items()}


def _month_keys(first: date, last: date) -> Iterator[tuple[int, int]]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _months(
    calendar: Calendar,
    items: dict[date, tuple[Item, ...]],
    checks: dict[date, tuple[str, ...]],
    first: date,
    last: date,
) -> Iterator[Month]:
    keys = list(_month_keys(first, last))
    grid = _stdcal.Calendar(firstweekday=0)
    for position, (year, month) in enumerate(keys, start=1):
        weeks = tuple(
            tuple(_cell(calendar, day, items, checks) if day.month == month else Cell(kind="pad") for day in week)
            for week in grid.monthdatescalendar(year, month)
        )
        yield Month(
            key=f"{year:04d}-{month:02d}",
            title=month_title(year, month),
            position=position,
            count=len(keys),
            weeks=weeks,
        )


def _cell(
    calendar: Calendar, day: date, items: dict[date, tuple[Item, ...]], checks: dict[date, tuple[str, ...]]
) -> Cell:
    window = calendar.window_of(day)
    tasks = checks.get(day, ())
    if window is None and calendar.lead_in is not None and day in calendar.lead_in:
        given = items.get(day, ())
        return Cell(
            kind="dose" if given else "rest",
            iso=day.isoformat(),
            number=day.day,
            long_date=long_date(day),
            label=lead_in_label(calendar, day),
            items=given,
            checks=tasks,
        )
    if window is None and calendar.start <= day <= calendar.end:  # a gap left by a delayed cycle
        return Cell(
            kind="rest",
            iso=day.isoformat(),
            number=day.day,
            long_date=long_date(day),
            label="cycle delayed",
            checks=tasks,
        )
    if window is None:
        label = "before start" if day < calendar.start else "after end"
        return Cell(
            kind="outside", iso=day.isoformat(), number=day.day, long_date=long_date(day), label=label, checks=tasks
        )
    given = items.get(day, ())
    return Cell(
        kind="dose" if given else "rest",
        iso=day.isoformat(),
        number=day.day,
        long_date=long_date(day),
        label=cycle_label(calendar, window, day),
        cycle_start=day == window.start,
        items=given,
        checks=tasks,
    )


def _cycle_rows(calendar: Calendar) -> Iterator[CycleRow]:
    lead = calendar.lead_in
    if lead is not None:
        yield CycleRow(
            number="",
            name="lead-in (before cycle 1)",
            first=long_date(lead.start),
            last=long_date(lead.end),
            what=tuple(_drug_in_window(calendar, calendar.between(lead.start, lead.end))),
        )
    for window in calendar.windows:
        rows = calendar.between(window.start, window.end)
        yield CycleRow(
            number=str(window.index) + ("" if window.complete else " (part shown)"),
            name=f"{window.phase} cycle {window.cycle}"
            if len(calendar.protocol.phases) > 1
            else f"cycle {window.cycle}",
            first=long_date(window.start),
            last=long_date(window.end),
            what=tuple(_drug_in_window(calendar, rows)),
        )


def _drug_in_window(calendar: Calendar, rows: tuple[DoseDay, ...]) -> Iterator[str]:
    for drug in calendar.drugs:
        mine = [r for r in rows if r.drug == drug]
        if not mine:
            continue
        levels: list[Decimal] = []
        for r in mine:
            if not levels or levels[-1] != r.dose:
                levels.append(r.dose)
        doses = " → ".join(format_dose(x) for x in levels) + f" {format_unit(mine[0].unit)}"
        days = tuple(r.cycle_day for r in mine)
        count = f"{len(days)} day" + ("" if len(days) == 1 else "s")
        listed = format_lead_in_days(days).replace("-", "−") if days[0] < 0 else format_days(days)
        yield f"{drug_title(mine[0])} {doses} on {count} (day{'' if len(days) == 1 else 's'} {listed})"


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("lenasched", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
