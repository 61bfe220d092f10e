"""CSV: one row per drug per administration day (the stable contract; columns are only added)."""

from __future__ import annotations

import csv
import io

from lenasched.engine.calendar import Calendar
from lenasched.formats.cells import text_cell
from lenasched.model.doses import format_dose

__all__ = ["CSV_COLUMNS", "to_csv"]

CSV_COLUMNS = (
    "date",
    "study_day",
    "phase",
    "cycle",
    "cycle_day",
    "drug",
    "dose",
    "unit",
    "dose_mg",
    "route",
    "role",
    "modified_by",
)


def to_csv(calendar: Calendar) -> str:
    """The calendar as CSV text with ``\\n`` line ends; rest days have no rows; text cells as in ``cells``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in calendar.days:
        writer.writerow(
            (
                d.date.isoformat(),
                d.study_day,  # numbers stay numbers (a lead-in day is -3); only text cells are neutralised
                text_cell(d.phase),
                d.cycle,
                d.cycle_day,
                text_cell(d.drug),
                format_dose(d.dose),
                text_cell(d.unit),
                format_dose(d.dose_mg),
                text_cell(d.route),
                text_cell(d.role),
                text_cell(d.modified_by),
            )
        )
    return buffer.getvalue()
