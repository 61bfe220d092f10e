"""Planned exposure table with CDISC SDTM EX variable names (CSV), for trial documentation.

One record per constant-dose interval (consecutive dosing days of one drug at one dose; a rest
day or a dose change starts a new record), each taken once daily (``EXDOSFRQ=QD``).

- ``STUDYID`` is the protocol id, ``USUBJID`` a label for the subject (``PLANNED`` by default:
  this is the protocol's plan, not a record of what a patient took).
- ``EXTRT`` is the drug name in upper case, ``EXROUTE`` the CDISC Route term (``ORAL``,
  ``INTRAVENOUS``, ``SUBCUTANEOUS``), ``EXSTDTC``/``EXENDTC`` ISO 8601 dates.
- **Units.** ``EXDOSE``/``EXDOSU`` are the dose *as prescribed* (``375`` ``mg/m2``), because the
  SDTM Implementation Guide puts EX in protocol-specified units; ``mg/m2``, ``mg/kg`` and ``mg``
  are also the CDISC Unit terms. The mg actually given for this patient is in the CSV, JSON and
  NONMEM exports (``dose_mg``, ``AMT``).

Only the standard EX variables are written, in SDTMIG order; this is a planning aid, not a
submission-ready data set (no EPOCH, VISIT or supplemental qualifiers).
"""

from __future__ import annotations

import csv
import io

from ..calendar import Calendar
from ..doses import format_dose
from ..errors import ScheduleError
from .intervals import dose_intervals

__all__ = ["CDISC_ROUTES", "DEFAULT_USUBJID", "SDTM_EX_COLUMNS", "to_sdtm_ex"]

SDTM_EX_COLUMNS = (
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "EXSEQ",
    "EXTRT",
    "EXDOSE",
    "EXDOSU",
    "EXDOSFRQ",
    "EXROUTE",
    "EXSTDTC",
    "EXENDTC",
)
DEFAULT_USUBJID = "PLANNED"
# CDISC controlled terminology, Route of Administration (C66729)
CDISC_ROUTES = {"oral": "ORAL", "iv": "INTRAVENOUS", "sc": "SUBCUTANEOUS"}


def to_sdtm_ex(calendar: Calendar, *, usubjid: str = DEFAULT_USUBJID) -> str:
    """The planned exposure records as CSV text with ``\\n`` line ends, ordered by start date then drug."""
    if not usubjid.strip():
        raise ScheduleError("USUBJID is empty; give a subject label or leave the default PLANNED")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SDTM_EX_COLUMNS)
    for seq, interval in enumerate(dose_intervals(calendar.days), start=1):
        writer.writerow(
            (
                calendar.protocol_id,
                "EX",
                usubjid,
                seq,
                interval.drug.upper(),
                format_dose(interval.dose),
                interval.unit,
                "QD",
                CDISC_ROUTES[interval.route],
                interval.first.isoformat(),
                interval.last.isoformat(),
            )
        )
    return buffer.getvalue()
