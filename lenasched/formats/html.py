"""The printable patient calendar: one self-contained HTML file, a cover page then one page per month.

The page is built in two steps: :func:`calendar_page` turns the ``Calendar`` into plain view data
(months → weeks → day cells → items, every sentence already written), then the Jinja2 template
``templates/calendar.html.j2`` lays it out. The template makes no decisions about doses, so what a
patient reads is tested on the view data and on the rendered text alike.

Made for paper and for greyscale printers: every marking (rest day, clinic day, prophylaxis, new
dose, held, delayed) is a word or a pattern, never a colour alone. No fonts, scripts or images are
fetched, and nothing in the output depends on the time it was made.

**Fitting the paper** (``paper="a4"`` or ``"letter"``, landscape). The cover is one page; each month is
exactly one page, whatever the number of drugs:

- a month page is a box of the paper's printable height; the grid's rows share what the header and
  the footer leave, so a month never spills onto a second page;
- day cells are compact: one line per medicine, named, lenalidomide first ("Lenalidomide: one 10 mg
  capsule"); how each medicine is given ("infusion at the clinic") is said once per month, in the key
  under the grid;
- the type size is chosen per month (:data:`DENSITIES`) from an estimate of the lines its fullest day
  needs at the narrowest cell (Letter) and the shortest page (A4);
- **continuation rule**: a day that would still need more lines than its cell holds at the smallest
  type keeps its first lines and says "+N more, see below"; the rest is printed under that month's grid,
  with its date, on the same page;
- on the cover, runs of identical cycles are merged into one row ("4-12") when there are more than
  :data:`MAX_CYCLE_ROWS` cycles.
"""

from __future__ import annotations

import calendar as _stdcal
import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from lenasched.engine.calendar import Calendar, CycleWindow, DoseDay
from lenasched.formats.daytext import (
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
    short_date,
)
from lenasched.formats.describe import DISCLAIMER, off_label_note
from lenasched.model.dayspec import format_days, format_lead_in_days
from lenasched.model.doses import format_dose, format_unit
from lenasched.model.drugs import LENALIDOMIDE
from lenasched.model.protocol import Protocol, Reference
from lenasched.model.routes import route_info

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = [
    "DENSITIES",
    "PAPERS",
    "CalendarPage",
    "Cell",
    "CycleRow",
    "Item",
    "Month",
    "PaperSize",
    "calendar_page",
    "default_paper",
    "full_citation",
    "plain_assumption",
    "to_html",
]

TEMPLATE = "calendar.html.j2"
PRIMARY = LENALIDOMIDE
MAX_CYCLE_ROWS = 8

Paper = Literal["a4", "letter"]
CellKind = Literal["dose", "rest", "held", "delayed", "outside", "pad"]
ItemStatus = Literal["take", "held", "stopped", "missed", "off"]


@dataclass(frozen=True, slots=True)
class PaperSize:
    """A sheet in landscape, in millimetres, and the margin every page keeps."""

    name: str
    label: str
    width_mm: float
    height_mm: float
    margin_mm: float = 8.0

    @property
    def page_css(self) -> str:
        """The CSS ``@page`` size: 'A4 landscape' or 'letter landscape'."""
        return f"{self.name if self.name == 'letter' else self.label} landscape"

    @property
    def content_height_mm(self) -> float:
        return self.height_mm - 2 * self.margin_mm

    @property
    def content_width_mm(self) -> float:
        return self.width_mm - 2 * self.margin_mm


PAPERS: dict[str, PaperSize] = {
    "a4": PaperSize("a4", "A4", 297.0, 210.0),
    "letter": PaperSize("letter", "Letter", 279.4, 215.9),
}


# Countries whose locale (``en_US``, ``es_MX``...) prints on Letter paper; everywhere else uses A4.
LETTER_COUNTRIES = frozenset({"US", "CA", "MX", "PH", "CL", "CO", "VE", "CR", "GT", "PA", "PR", "SV", "DO", "NI"})


def default_paper(environ: Mapping[str, str] | None = None) -> Paper:
    """'letter' when the locale (LC_ALL, LC_PAPER, then LANG) names a Letter country, else 'a4'."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_PAPER", "LANG"):
        value = env.get(name, "")
        if value:
            country = re.match(r"[a-zA-Z]+_([A-Za-z]{2})", value)
            return "letter" if country is not None and country.group(1).upper() in LETTER_COUNTRIES else "a4"
    return "a4"


@dataclass(frozen=True, slots=True)
class Density:
    """One type size of the month grid and how many lines of it a day cell holds."""

    name: str
    font_pt: float

    def chars_per_line(self) -> int:
        """Characters per line in the narrowest cell (Letter), at 0.52 em a character (Liberation Sans, Arial)."""
        letter = PAPERS["letter"]
        text_mm = letter.content_width_mm / 7 - 6.0  # padding, tick box and its gap
        return int(text_mm / (0.52 * self.font_pt * 0.3528))

    def lines(self, weeks: int) -> int:
        """Lines of items a day cell holds on the shortest page (A4), after its date line."""
        a4 = PAPERS["a4"]
        row_mm = (a4.content_height_mm - RESERVED_MM) / weeks
        line_mm = 1.15 * self.font_pt * 0.3528 + 0.25
        return int((row_mm - 5.0) / line_mm)


# What a month page keeps for its running header, title, weekday row and footer (key + disclaimer).
RESERVED_MM = 38.0
DENSITIES = (Density("roomy", 7.6), Density("compact", 6.8), Density("dense", 6.1), Density("tight", 5.5))


@dataclass(frozen=True, slots=True)
class Item:
    """One drug on one day, as the patient reads it: 'Lenalidomide: one 10 mg capsule'.

    ``status`` is ``take`` for a dose (with a tick box), ``held``/``stopped``/``missed`` for a planned
    dose not given (``note`` says why), ``off`` for a lenalidomide rest day inside a cycle where a
    companion drug is still given.
    """

    drug: str
    name: str
    text: str
    instruction: str = ""
    status: ItemStatus = "take"
    note: str = ""
    clinic: bool = False
    prophylaxis: bool = False
    new_dose: bool = False
    capsules: int = 0
    """Capsules that make the dose when it takes more than one (allowed by name only, so flagged)."""

    @property
    def line(self) -> str:
        """The item's words on one line (for estimating its size and for the continuation list)."""
        text = f"{self.name}: {self.text}"
        if self.note:
            text += f" ({self.note})"
        if self.new_dose:
            text += " NEW DOSE"
        if self.capsules:
            text += f" {self.capsules} CAPSULES"
        return text


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
    note: str = ""
    more: int = 0
    """Lines moved under the grid by the continuation rule."""

    @property
    def clinic(self) -> bool:
        return any(item.clinic and item.status == "take" for item in self.items)

    def lines(self, chars: int) -> int:
        """Lines this cell's items need at ``chars`` characters per line."""
        words = [item.line for item in self.items] + [f"TEST {c}" for c in self.checks]
        if self.note:
            words.append(self.note)
        return sum(max(1, math.ceil(len(w) / chars)) for w in words) + (1 if len(self.label) > chars else 0)


@dataclass(frozen=True, slots=True)
class Month:
    key: str
    title: str
    position: int
    count: int
    weeks: tuple[tuple[Cell, ...], ...]
    density: str = "roomy"
    continued: tuple[tuple[str, str], ...] = ()
    """(short date, words) printed under the grid: what did not fit in its day (continuation rule)."""
    key_lines: tuple[str, ...] = ()
    """How each medicine given this month is given, one phrase each: the month's legend."""

    @property
    def dense(self) -> bool:
        return self.density != "roomy"

    def _cells(self) -> Iterator[Cell]:
        return (cell for week in self.weeks for cell in week)

    def has(self, what: str) -> bool:
        """Whether a marking appears this month (for the month's key): clinic, held, delayed, ..."""
        cells = list(self._cells())
        items = [item for cell in cells for item in cell.items]
        return {
            "clinic": any(cell.clinic for cell in cells),
            "prophylaxis": any(i.prophylaxis and i.status == "take" for i in items),
            "new_dose": any(i.new_dose for i in items),
            "capsules": any(i.capsules for i in items),
            "held": any(i.status in ("held", "stopped", "missed") for i in items),
            "off": any(i.status == "off" for i in items),
            "delayed": any(cell.kind == "delayed" for cell in cells),
            "checks": any(cell.checks for cell in cells),
            "rest": any(cell.kind == "rest" for cell in cells),
        }[what]


@dataclass(frozen=True, slots=True)
class CycleRow:
    """One line of the cover's cycle table; ``what`` has one entry per drug of ``CalendarPage.drugs``."""

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
    paper: PaperSize = PAPERS["a4"]
    off_label: str | None = None
    has_held: bool = False
    has_delayed: bool = False


def to_html(
    calendar: Calendar,
    *,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
    paper: Paper = "a4",
) -> str:
    """The calendar as one printable, self-contained HTML document.

    ``allow_multiple`` is passed to the instruction writer: without it, a daily dose that needs
    more than one capsule is refused rather than printed. ``remarks`` are printed on the cover with
    the doses (e.g. the renal adjustment's summary, the thromboprophylaxis reminder); ``checks`` are
    dated tasks shown in the grid and listed on the cover (e.g. ``lenasched.pharmacy.rems.pregnancy_tests(calendar)``).
    ``paper`` is ``a4`` or ``letter`` (landscape).
    """
    page = calendar_page(calendar, allow_multiple=allow_multiple, remarks=remarks, checks=checks, paper=paper)
    return _environment().get_template(TEMPLATE).render(page=page, reserved=RESERVED_MM)


def calendar_page(
    calendar: Calendar,
    *,
    allow_multiple: bool = False,
    remarks: Sequence[str] = (),
    checks: Sequence[DatedCheck] = (),
    paper: Paper = "a4",
) -> CalendarPage:
    """The view data of the printable calendar (no markup)."""
    if paper not in PAPERS:
        from lenasched.errors import LenaschedError

        raise LenaschedError(f"unknown paper {paper!r}; known: {', '.join(PAPERS)}")
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
    drugs = _ordered_drugs(calendar.drugs)
    return CalendarPage(
        title=protocol.title,
        protocol_id=protocol.id,
        setting=protocol.setting,
        citation=full_citation(protocol.citation),
        short_citation=protocol.citation.short(),
        start=long_date(calendar.start),
        end=long_date(calendar.end),
        patient=patient,
        drugs=tuple(drug_title_of(d) for d in drugs),
        months=months,
        cycles=tuple(_merge_rows(list(_cycle_rows(calendar, drugs)))),
        totals=tuple(f"{drug_title_of(drug)}: {format_dose(calendar.total_mg(drug))} mg in total" for drug in drugs),
        assumptions=tuple(plain_assumption(protocol, path, s) for path, s in protocol.assumptions()),
        remarks=tuple(remarks),
        changes=tuple((short_date(m.date), f"{m.event}: {m.effect}") for m in calendar.modifications),
        checks=tuple((short_date(c.date), check_text(c)) for c in ordered),
        has_clinic=any(item.clinic and item.status == "take" for item in all_items),
        has_prophylaxis=any(item.prophylaxis and item.status == "take" for item in all_items),
        has_new_dose=any(item.new_dose for item in all_items),
        has_multiple_capsules=any(item.capsules for item in all_items),
        weekdays=WEEKDAY_NAMES,
        disclaimer=DISCLAIMER,
        paper=PAPERS[paper],
        off_label=off_label_note(protocol),
        has_held=any(item.status in ("held", "stopped", "missed") for item in all_items),
        has_delayed=any(m.has("delayed") for m in months),
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


# ---------------------------------------------------------------------------------------------------
# Plain words for an assumption: what the value is and the value itself, never a field path.

_FIELD_WORDS = {
    "cycle_length_days": "cycle length in days",
    "cycles": "number of cycles",
    "dose": "dose",
    "days": "days given in each cycle",
    "dose_levels": "dose-reduction steps",
    "every_days": "repeat interval in days",
    "escalation": "dose increase",
    "at": "when the dose increases",
    "sequence": "dose steps",
    "every_cycles": "cycles between dose increases",
    "every": "every",
    "until_progression": "continues until the disease progresses",
    "cycle_days": "cycle days",
    "checked_within_days": "days within which the blood results must be taken",
    "first_doses": "first doses",
    "renal_column": "kidney-function table used",
    "action": "what is done",
    "first_step_day": "first increase on day",
    "first_step_cycle": "first increase in cycle",
}
_SKIP_FIELDS = frozenset({"phases", "drugs", "repeat", "lead_in", "dose_modification"})


def plain_assumption(protocol: Protocol, path: str, sourced: Any) -> str:
    """'Rituximab, number of cycles (1): the abstract says ...' for ``phases.0.drugs.1.cycles``."""
    words: list[str] = []
    node: Any = protocol
    parts = path.split(".")
    for i, part in enumerate(parts):
        try:
            node = node[int(part)] if part.isdigit() else getattr(node, part)
        except (AttributeError, IndexError, KeyError, TypeError):
            node = None
        if part.isdigit():
            parent = parts[i - 1] if i else ""
            if parent == "phases" and len(protocol.phases) > 1:
                words.append(f"{getattr(node, 'name', part)} phase")
            elif parent == "drugs" and node is not None and hasattr(node, "drug"):
                words.append(drug_title_of(node.drug))
            elif parent == "dose_modification":
                words.append(f"dose-change rule {int(part) + 1}")
            continue
        if part == "lead_in":
            words.append("before cycle 1")
        if part in _SKIP_FIELDS:
            continue
        words.append(_FIELD_WORDS.get(part, part.replace("_", " ")))
    label = ", ".join(dict.fromkeys(w for w in words if w)) or "A value"
    label = label[:1].upper() + label[1:]
    value = _value_words(sourced.value)
    assumed = (sourced.assumption or "").strip()
    return f"{label}{f' ({value})' if value else ''}: {assumed}"


def _value_words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return format_dose(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.replace("_", " ") if len(value) <= 40 else ""
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, int) for v in value):
        days = tuple(int(v) for v in value)
        return format_lead_in_days(days).replace("-", "−") if min(days) < 0 else format_days(days)
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, Decimal) for v in value):
        return ", ".join(format_dose(v) for v in value)
    return ""


# ---------------------------------------------------------------------------------------------------
# Items: what each day says.


def drug_title_of(drug: str) -> str:
    return drug[:1].upper() + drug[1:]


def _ordered_drugs(drugs: Sequence[str]) -> tuple[str, ...]:
    """Lenalidomide first, then the others in the protocol's order."""
    return tuple(sorted(drugs, key=lambda d: d != PRIMARY))


def _item_order(item: Item) -> int:
    return 0 if item.drug == PRIMARY else 1


def _compact(day: DoseDay, sentence: str, capsule_words: str | None, clinic: bool) -> str:
    """'one 10 mg capsule' for lenalidomide; '47.5 mg at the clinic', '100 mg' for others."""
    if capsule_words is not None:
        return capsule_words
    text = f"{format_dose(day.dose_mg)} mg"
    if clinic:
        return text + " at the clinic"  # infusion or injection: said once, in the month's key
    word = route_info(day.route).word
    if word:
        text += f" {word}"
    return text


def _items(calendar: Calendar, allow_multiple: bool) -> dict[date, tuple[Item, ...]]:
    from lenasched.engine.capsules import count_word
    from lenasched.pharmacy.instructions import capsules_for, instruction

    previous: dict[str, Decimal] = {}
    out: dict[date, list[Item]] = {}
    for day in calendar.days:
        last = previous.get(day.drug)
        previous[day.drug] = day.dose
        clinic = is_clinic(day, calendar.protocol)
        sentence = instruction(day, allow_multiple=allow_multiple, market=calendar.market, clinic=clinic)
        pick = capsules_for(day, allow_multiple=allow_multiple, market=calendar.market)
        words = None
        if pick is not None:
            words = " and ".join(
                f"{count_word(n)} {format_dose(s)} mg capsule{'s' if n > 1 else ''}" for s, n in pick.capsules
            )
            if pick.multiple:
                words += f" ({format_dose(pick.dose_mg)} mg)"
        out.setdefault(day.date, []).append(
            Item(
                drug=day.drug,
                name=drug_title(day),
                text=_compact(day, sentence, words, clinic),
                instruction=sentence,
                clinic=clinic,
                prophylaxis=is_prophylaxis(day),
                new_dose=last is not None and last != day.dose,
                capsules=pick.count if pick is not None and pick.multiple else 0,
            )
        )
    for when, missed in _not_given(calendar).items():
        out.setdefault(when, []).extend(missed)
    _add_off_days(calendar, out)
    return {k: tuple(sorted(v, key=_item_order)) for k, v in out.items()}


def _add_off_days(calendar: Calendar, out: dict[date, list[Item]]) -> None:
    """Inside a cycle that gives lenalidomide, a day with only companions says 'no lenalidomide today'."""
    given = {d.date for d in calendar.days if d.drug == PRIMARY}
    if not given:
        return
    for window in calendar.windows:
        if not any(window.start <= d <= window.end for d in given):
            continue
        for when, items in out.items():
            if window.start <= when <= window.end and when not in given and not any(i.drug == PRIMARY for i in items):
                items.append(Item(drug=PRIMARY, name=drug_title_of(PRIMARY), text="none today", status="off"))


def _not_given(calendar: Calendar) -> dict[date, list[Item]]:
    """Planned doses that a hold or a stop took away, with the reason: the patient sees 'held', not a rest day.

    The plan is the same protocol expanded with the same delays but without holds and stops; a planned
    (date, drug) missing from the calendar is held (inside a hold), stopped (after a stop), or missed.
    """
    from lenasched.errors import LenaschedError
    from lenasched.model.events import Delay, Hold, PatientEvents, Resume, Stop

    events = calendar.events
    if events is None:
        return {}
    dated = events.dated()
    holds = [e for e in dated if isinstance(e, Hold)]
    stops = [e for e in dated if isinstance(e, Stop)]
    resumes = [e for e in dated if isinstance(e, Resume)]
    if not holds and not stops and not any("not given" in m.effect for m in calendar.modifications):
        return {}
    from lenasched.engine import expand

    try:
        planned = expand(
            calendar.protocol,
            calendar.start,
            cycles=calendar.cycles,
            until=calendar.until,
            patient=calendar.patient,
            events=PatientEvents(events=[e for e in events.events if isinstance(e, Delay)]),
            allow=calendar.allow,
            market=calendar.market,
        )
    except LenaschedError:
        return {}
    drugs = set(calendar.drugs) | {h.drug for h in holds} | {s.drug for s in stops if s.drug is not None}
    actual = {(d.date, d.drug) for d in calendar.days}
    out: dict[date, list[Item]] = {}
    for row in planned.days:
        if row.drug not in drugs or (row.date, row.drug) in actual or row.date > calendar.end:
            continue
        status: ItemStatus = "missed"
        note = "see the changes on the first page"
        for hold in holds:
            ends = [r.date for r in resumes if r.drug == hold.drug and r.date > hold.date]
            ends += [s.date for s in stops if s.drug in (None, hold.drug) and s.date > hold.date]
            if hold.drug == row.drug and hold.date <= row.date and (not ends or row.date < min(ends)):
                status = "held"
                note = hold.reason if hold.reason != "not stated" else "reason not stated"
                if hold.grade is not None:
                    note += f", grade {hold.grade}"
                break
        else:
            for stop in stops:
                if stop.drug in (None, row.drug) and row.date >= stop.date:
                    status, note = "stopped", f"since {short_date(stop.date)}"
                    break
        out.setdefault(row.date, []).append(
            Item(drug=row.drug, name=drug_title(row), text=status, status=status, note=note)
        )
    return out


# ---------------------------------------------------------------------------------------------------
# Months and cells.


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
        density, weeks, continued = _fit(weeks)
        days = [d for d in calendar.days if d.date.year == year and d.date.month == month]
        yield Month(
            key=f"{year:04d}-{month:02d}",
            title=month_title(year, month),
            position=position,
            count=len(keys),
            weeks=weeks,
            density=density,
            continued=continued,
            key_lines=_key_lines(days, calendar),
        )


def _key_lines(days: Sequence[DoseDay], calendar: Calendar) -> tuple[str, ...]:
    """'Fludarabine: infusion into a vein, at the clinic' for each medicine given this month."""
    seen: dict[str, str] = {}
    for day in sorted(days, key=lambda d: d.drug != PRIMARY):
        route = route_info(day.route)
        if day.drug == PRIMARY and day.route == "oral":
            how = "capsules by mouth, at home"
        elif route.clinic:
            how = f"{route.how}, {'at the clinic' if is_clinic(day, calendar.protocol) else 'at home'}"
        else:
            how = route.how
        if is_prophylaxis(day):
            how += ", to prevent a side effect"
        seen.setdefault(day.drug, f"{drug_title(day)}: {how}")
    return tuple(seen.values())


def _fit(
    weeks: tuple[tuple[Cell, ...], ...],
) -> tuple[str, tuple[tuple[Cell, ...], ...], tuple[tuple[str, str], ...]]:
    """The largest type at which every day fits its cell; else the smallest, with the continuation rule."""
    cells = [c for week in weeks for c in week if c.kind != "pad"]
    for density in DENSITIES:
        cap = density.lines(len(weeks))
        if all(c.lines(density.chars_per_line()) <= cap for c in cells):
            return density.name, weeks, ()
    smallest = DENSITIES[-1]
    cap, chars = smallest.lines(len(weeks)), smallest.chars_per_line()
    continued: list[tuple[str, str]] = []
    new_weeks = []
    for week in weeks:
        row = []
        for cell in week:
            if cell.kind == "pad" or cell.lines(chars) <= cap:
                row.append(cell)
                continue
            kept: list[Item] = []
            used = 1 if len(cell.label) > chars else 0
            for item in cell.items:
                need = max(1, math.ceil(len(item.line) / chars))
                if used + need > cap - 1:
                    break
                kept.append(item)
                used += need
            moved = cell.items[len(kept) :]
            when = short_date(date.fromisoformat(cell.iso))
            continued.extend((when, item.line) for item in moved)
            continued.extend((when, f"TEST {c}") for c in cell.checks)
            row.append(
                Cell(
                    kind=cell.kind,
                    iso=cell.iso,
                    number=cell.number,
                    long_date=cell.long_date,
                    label=cell.label,
                    cycle_start=cell.cycle_start,
                    items=tuple(kept),
                    note=cell.note,
                    more=len(moved) + len(cell.checks),
                )
            )
        new_weeks.append(tuple(row))
    return smallest.name, tuple(new_weeks), tuple(continued)


def _delay_note(calendar: Calendar, day: date) -> str:
    """'Delayed: cycle 4 starts 9 Mar 2027 (reason)' for a day of the gap a delay left."""
    following = next((w for w in calendar.windows if w.start > day), None)
    if following is None:
        return "Delayed: no treatment on this day"
    reason = ""
    if calendar.events is not None:
        from lenasched.model.events import Delay

        for event in calendar.events.events:
            if isinstance(event, Delay) and event.cycle == following.index and event.reason:
                reason = f" ({event.reason})"
    name = (
        f"{following.phase} cycle {following.cycle}"
        if len(calendar.protocol.phases) > 1
        else f"cycle {following.cycle}"
    )
    return f"Delayed: {name} starts {short_date(following.start)}{reason}"


def _cell(
    calendar: Calendar, day: date, items: dict[date, tuple[Item, ...]], checks: dict[date, tuple[str, ...]]
) -> Cell:
    window = calendar.window_of(day)
    tasks = checks.get(day, ())
    given = items.get(day, ())
    iso, when = day.isoformat(), long_date(day)
    if window is None and calendar.lead_in is not None and day in calendar.lead_in:
        label = lead_in_label(calendar, day)
        return Cell(_kind(given), iso, day.day, when, label, items=given, checks=tasks)
    if window is None and calendar.start <= day <= calendar.end:  # a gap left by a delayed cycle
        note = _delay_note(calendar, day)
        return Cell("delayed", iso, day.day, when, "cycle delayed", checks=tasks, note=note)
    if window is None:
        label = "before start" if day < calendar.start else "after end"
        return Cell("outside", iso, day.day, when, label, checks=tasks)
    label = cycle_label(calendar, window, day)
    return Cell(_kind(given), iso, day.day, when, label, cycle_start=day == window.start, items=given, checks=tasks)


def _kind(items: tuple[Item, ...]) -> CellKind:
    if any(i.status == "take" for i in items):
        return "dose"
    if any(i.status in ("held", "stopped", "missed") for i in items):
        return "held"
    return "rest"


# ---------------------------------------------------------------------------------------------------
# The cover's cycle table: one row per cycle, one column per drug (lenalidomide first).


def _cycle_rows(calendar: Calendar, drugs: tuple[str, ...]) -> Iterator[CycleRow]:
    lead = calendar.lead_in
    if lead is not None:
        yield CycleRow(
            number="",
            name="lead-in (before cycle 1)",
            first=short_date(lead.start),
            last=short_date(lead.end),
            what=tuple(_drug_in_window(calendar.between(lead.start, lead.end), drugs)),
        )
    for window in calendar.windows:
        yield CycleRow(
            number=str(window.index) + ("" if window.complete else " (part shown)"),
            name=_window_name(calendar, window),
            first=short_date(window.start),
            last=short_date(window.end),
            what=tuple(_drug_in_window(calendar.between(window.start, window.end), drugs)),
        )


def _window_name(calendar: Calendar, window: CycleWindow) -> str:
    if len(calendar.protocol.phases) > 1:
        return f"{window.phase} cycle {window.cycle}"
    return f"cycle {window.cycle}"


def _merge_rows(rows: list[CycleRow]) -> Iterator[CycleRow]:
    """More than MAX_CYCLE_ROWS rows: runs of cycles with the same doses on the same days become one row."""
    if len(rows) <= MAX_CYCLE_ROWS:
        yield from rows
        return
    run: list[CycleRow] = []

    def phase(row: CycleRow) -> str:
        return re.sub(r"cycle \d+$", "", row.name)

    def flush() -> Iterator[CycleRow]:
        if len(run) == 1:
            yield run[0]
        elif run:
            a, b = run[0], run[-1]
            yield CycleRow(
                number=f"{a.number}–{b.number}",
                name=f"{phase(a)}cycles {a.name.rsplit(' ', 1)[-1]}–{b.name.rsplit(' ', 1)[-1]}, each",
                first=a.first,
                last=b.last,
                what=a.what,
            )

    for row in rows:
        if run and (row.what != run[-1].what or phase(row) != phase(run[-1]) or not row.number.isdigit()):
            yield from flush()
            run = []
        run.append(row)
    yield from flush()


def _drug_in_window(rows: tuple[DoseDay, ...], drugs: tuple[str, ...]) -> Iterator[str]:
    for drug in drugs:
        mine = [r for r in rows if r.drug == drug]
        if not mine:
            yield "—"
            continue
        levels: list[Decimal] = []
        for r in mine:
            if not levels or levels[-1] != r.dose:
                levels.append(r.dose)
        doses = " → ".join(format_dose(x) for x in levels) + f" {format_unit(mine[0].unit)}"
        if mine[0].unit != "mg":
            mgs = list(dict.fromkeys(format_dose(r.dose_mg) for r in mine))
            doses += f" ({' → '.join(mgs)} mg)"
        days = tuple(r.cycle_day for r in mine)
        listed = format_lead_in_days(days).replace("-", "−") if days[0] < 0 else format_days(days)
        yield f"{doses}, day{'' if len(days) == 1 else 's'} {listed}"


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
