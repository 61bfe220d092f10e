"""How a dose day is named in patient-facing outputs (printable HTML, iCalendar).

One place decides what counts as a clinic day, how a dose is written and how a cycle day is
labelled, so the printed calendar and the phone calendar always say the same thing.
"""

from __future__ import annotations

import datetime as _dt
from datetime import date
from typing import TYPE_CHECKING
from typing import Protocol as _Protocol

from lenasched.engine.calendar import Calendar, CycleWindow, DoseDay
from lenasched.model.doses import format_dose, format_unit
from lenasched.model.routes import ROUTES, route_info

if TYPE_CHECKING:
    from lenasched.model.protocol import Protocol

__all__ = [
    "CLINIC_ROUTES",
    "MONTH_NAMES",
    "WEEKDAY_NAMES",
    "DatedCheck",
    "check_text",
    "cycle_label",
    "dose_text",
    "drug_title",
    "is_clinic",
    "is_prophylaxis",
    "long_date",
    "month_title",
    "short_date",
    "summary_text",
]

# Given by the care team (infusion or injection), so the patient has to come in.
CLINIC_ROUTES = frozenset(code for code, info in ROUTES.items() if info.clinic)

# Fixed English names: calendar.month_name follows the process locale, and output must not.
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class DatedCheck(_Protocol):
    """A dated task that is not a dose, shown beside the doses: ``lenasched.pharmacy.rems.PregnancyTest`` is one.

    ``date`` is the suggested day; ``earliest``-``latest`` is the window in which it may be done.
    """

    @property
    def date(self) -> _dt.date: ...

    @property
    def earliest(self) -> _dt.date: ...

    @property
    def latest(self) -> _dt.date: ...

    @property
    def title(self) -> str: ...


def check_text(check: DatedCheck) -> str:
    """'Pregnancy test (week 2)', plus the allowed window when there is one."""
    if check.earliest == check.latest:
        return check.title
    return f"{check.title} (any day from {short_date(check.earliest)} to {short_date(check.latest)})"


def is_clinic(day: DoseDay, protocol: Protocol | None = None) -> bool:
    """Given at the clinic, not at home: the regimen's ``setting`` when the protocol is known, else iv/sc."""
    if protocol is not None:
        return protocol.at_clinic(day.drug, day.phase, day.route)
    return day.route in CLINIC_ROUTES


def is_prophylaxis(day: DoseDay) -> bool:
    """A drug given to prevent a side effect (tumour flare, clots, ...), not to treat the disease."""
    return day.role == "prophylaxis"


def drug_title(day: DoseDay) -> str:
    """'lenalidomide' -> 'Lenalidomide'."""
    return day.drug[:1].upper() + day.drug[1:]


def dose_text(day: DoseDay) -> str:
    """'10 mg', or for body-size doses the prescription and the mg given: '375 mg/m² (683 mg)'."""
    text = f"{format_dose(day.dose)} {format_unit(day.unit)}"
    if day.unit != "mg":
        text += f" ({format_dose(day.dose_mg)} mg)"
    return text


def summary_text(day: DoseDay, protocol: Protocol | None = None) -> str:
    """Short title of one administration: 'Lenalidomide 10 mg', 'Rituximab 375 mg/m² (683 mg), clinic infusion'."""
    text = f"{drug_title(day)} {dose_text(day)}"
    if is_clinic(day, protocol):
        text += f", clinic {route_info(day.route).word}"
    if is_prophylaxis(day):
        text += " (prophylaxis)"
    return text


def cycle_label(calendar: Calendar, window: CycleWindow, day: date) -> str:
    """'cycle 2 · day 15'; the phase name is added when the protocol has more than one phase."""
    cycle_day = (day - window.start).days + 1
    prefix = f"{window.phase} " if len(calendar.protocol.phases) > 1 else ""
    return f"{prefix}cycle {window.cycle} · day {cycle_day}"


def lead_in_label(calendar: Calendar, day: date) -> str:
    """'lead-in · day −3': the days before cycle 1 day 1 count back from −1 (there is no day 0)."""
    return f"lead-in · day −{(calendar.start - day).days}"


def month_title(year: int, month: int) -> str:
    return f"{MONTH_NAMES[month - 1]} {year}"


def short_date(day: date) -> str:
    """'1 Dec 2026'."""
    return f"{day.day} {MONTH_NAMES[day.month - 1][:3]} {day.year}"


def long_date(day: date) -> str:
    """'Tuesday 1 December 2026': unambiguous in every country, unlike 01/12/2026."""
    return f"{WEEKDAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"
