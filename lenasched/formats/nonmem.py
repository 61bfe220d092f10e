"""Pharmacometric dosing records (NONMEM-style CSV) for PK/PD simulators.

Columns ``ID, TIME, AMT, EVID, CMT, II, ADDL``: the standard NONMEM dosing-record items, which
NONMEM-style tools (nlmixr2, mrgsolve, Pumas...) read as well. Rows are in time order.

- ``TIME`` is hours from the first dose of the exported drug (0 at the first dose). A calendar
  has dates, not clock times, so every dose is placed at the same time of day, 24 h apart.
- ``AMT`` is the mg actually given (``dose_mg``: mg/m² and mg/kg doses already multiplied out).
- ``EVID`` is 1 (dose event) on every row; there are no observation rows.
- A run of equal doses on consecutive days is one record with ``II=24`` and ``ADDL`` = the number
  of further doses, so a 21-day window is one row; ``explicit=True`` writes one row per dose
  instead (``II=0, ADDL=0``), for tools that do not expand ADDL. A single dose has ``II=0``.

**One drug per file.** ``AMT`` in a NONMEM data set goes into the compartment ``CMT`` of *one*
model; doses of different drugs in one table would be added into the same depot unless the model
has a compartment per drug, and the published lenalidomide PK models have one drug. So the table
holds one drug (lenalidomide by default; ``drug=`` chooses another), given by one route: a drug
given both orally and intravenously is refused rather than written into one compartment.

The header row is kept; tell NONMEM to skip it (``$DATA file.csv IGNORE=@``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

from ..calendar import Calendar
from ..doses import format_dose
from ..errors import ScheduleError
from .intervals import dose_intervals, require_drug

__all__ = ["DEFAULT_DRUG", "DOSING_INTERVAL_HOURS", "NONMEM_COLUMNS", "DoseRecord", "dose_records", "to_nonmem"]

NONMEM_COLUMNS = ("ID", "TIME", "AMT", "EVID", "CMT", "II", "ADDL")
DEFAULT_DRUG = "lenalidomide"
DOSING_INTERVAL_HOURS = 24  # once daily: doses on consecutive dates are 24 h apart


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """One dosing record: ``AMT`` mg at ``TIME`` h, then ``ADDL`` more every ``II`` h."""

    id: int
    time: int
    amt: Decimal
    cmt: int
    ii: int
    addl: int
    evid: int = 1

    def row(self) -> tuple[int, int, str, int, int, int, int]:
        return (self.id, self.time, format_dose(self.amt), self.evid, self.cmt, self.ii, self.addl)


def dose_records(
    calendar: Calendar, *, drug: str = DEFAULT_DRUG, subject_id: int = 1, cmt: int = 1, explicit: bool = False
) -> tuple[DoseRecord, ...]:
    """The dosing records of ``drug`` in ``calendar``, compressed with II/ADDL unless ``explicit``."""
    if subject_id < 1:
        raise ScheduleError(f"the NONMEM subject ID must be a positive whole number, got {subject_id}")
    if cmt < 1:
        raise ScheduleError(f"the dosing compartment CMT must be a positive whole number, got {cmt}")
    days = require_drug(calendar, drug)
    routes = sorted({d.route for d in days})
    if len(routes) > 1:
        raise ScheduleError(
            f"{drug} is given by more than one route ({', '.join(routes)}); "
            "one NONMEM dosing compartment cannot hold both, so no table is written"
        )
    first = days[0].date
    records: list[DoseRecord] = []
    for interval in dose_intervals(days):
        time = (interval.first - first).days * DOSING_INTERVAL_HOURS
        if explicit:
            records.extend(
                DoseRecord(subject_id, time + k * DOSING_INTERVAL_HOURS, interval.dose_mg, cmt, 0, 0)
                for k in range(len(interval))
            )
        else:
            addl = len(interval) - 1
            ii = DOSING_INTERVAL_HOURS if addl else 0
            records.append(DoseRecord(subject_id, time, interval.dose_mg, cmt, ii, addl))
    return tuple(records)


def to_nonmem(
    calendar: Calendar, *, drug: str = DEFAULT_DRUG, subject_id: int = 1, cmt: int = 1, explicit: bool = False
) -> str:
    """The dosing records as CSV text with a header row and ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NONMEM_COLUMNS)
    for record in dose_records(calendar, drug=drug, subject_id=subject_id, cmt=cmt, explicit=explicit):
        writer.writerow(record.row())
    return buffer.getvalue()
