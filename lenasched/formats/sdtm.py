"""SDTM exposure and medication domains (EX, EC, CM) as CSV or SAS transport (XPT v5).

Three domains, one record per constant-dose interval (consecutive dosing days of one drug at one
dose, in one epoch, with one reason for change; a rest day or any change starts a new record):

- **EX** (exposure, as applied): the calendar as it was given, after holds, reductions, delays and
  stops; ``EXADJ`` is the reason for the change, taken from the calendar's audit trail
  (``Calendar.modifications``, the rows' ``modified_by``), empty where the plan was followed.
- **EC** (exposure as collected, ``ECMOOD=SCHEDULED``): the protocol's plan for the same start,
  horizon and patient, with no patient events: what SDTMIG puts in EC for planned doses.
- **CM** (concomitant medications): drugs whose regimen ``role`` is ``prophylaxis`` or
  ``supportive`` (allopurinol, aspirin, enoxaparin...), as applied; ``CMCAT`` is the role. Study
  treatment (role ``treatment``) is in EX and EC only.

Variables, in SDTMIG order: identifiers (``STUDYID`` = protocol id, ``DOMAIN``, ``USUBJID`` =
``PLANNED`` or the subject label, ``--SEQ``), ``--TRT`` (drug, upper case), ``--DOSE``/``--DOSU``
(the dose *as prescribed*, ``375`` ``mg/m2``: SDTMIG records exposure in protocol-specified units;
the mg given is in the CSV, JSON and NONMEM exports), ``--DOSFRM``, ``--DOSFRQ`` (``QD`` for a run of
daily doses, ``ONCE`` for a single administration), ``--ROUTE``, ``EPOCH`` (from the phase),
``--STDTC``/``--ENDTC`` (ISO 8601 dates), ``--STDY``/``--ENDY``. Terminology and its version:
``lenasched.formats.sdtm_ct``.

**Study days.** The reference start date (``RFSTDTC``) is taken as study day 1, the calendar's
start (cycle 1 day 1). ``--STDY`` = date − RFSTDTC + 1 on or after it, date − RFSTDTC before it
(lead-in days are -N..-1; there is no day 0), as SDTMIG defines --DY.

**XPT.** ``xpt=True`` writes SAS transport version 5 with pyreadstat (``pip install
'lenasched[sdtm]'``): names of at most 8 characters, labels of at most 40, character values of at
most 200; the header's creation time is fixed so the same inputs give the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.errors import ScheduleError
from lenasched.formats.cells import text_cell
from lenasched.formats.intervals import dose_intervals
from lenasched.formats.sdtm_ct import (
    CT_PACKAGE,
    DOSE_FORMS,
    FREQUENCY_DAILY,
    FREQUENCY_ONCE,
    ROUTE_DOSE_FORMS,
    ROUTES,
    epoch_of,
)
from lenasched.model.doses import format_dose

__all__ = [
    "CDISC_ROUTES",
    "CT_PACKAGE",
    "DEFAULT_USUBJID",
    "SDTM_CM_COLUMNS",
    "SDTM_EC_COLUMNS",
    "SDTM_EX_COLUMNS",
    "Domain",
    "sdtm_domain",
    "sdtm_rows",
    "to_sdtm_cm",
    "to_sdtm_ec",
    "to_sdtm_ex",
    "to_xpt",
]

Domain = Literal["ex", "ec", "cm"]
DEFAULT_USUBJID = "PLANNED"
CDISC_ROUTES = ROUTES  # kept for callers of the earlier module
CONMED_ROLES = frozenset({"prophylaxis", "supportive"})
CM_CATEGORIES = {"prophylaxis": "PROPHYLAXIS", "supportive": "SUPPORTIVE CARE"}

# (name, label): labels at most 40 characters (XPT v5), after the SDTMIG variable labels
_EX = (
    ("STUDYID", "Study Identifier"),
    ("DOMAIN", "Domain Abbreviation"),
    ("USUBJID", "Unique Subject Identifier"),
    ("EXSEQ", "Sequence Number"),
    ("EXTRT", "Name of Treatment"),
    ("EXDOSE", "Dose"),
    ("EXDOSU", "Dose Units"),
    ("EXDOSFRM", "Dose Form"),
    ("EXDOSFRQ", "Dosing Frequency per Interval"),
    ("EXROUTE", "Route of Administration"),
    ("EXADJ", "Reason for Dose Adjustment"),
    ("EPOCH", "Epoch"),
    ("EXSTDTC", "Start Date/Time of Treatment"),
    ("EXENDTC", "End Date/Time of Treatment"),
    ("EXSTDY", "Study Day of Start of Treatment"),
    ("EXENDY", "Study Day of End of Treatment"),
)
_EC = (
    ("STUDYID", "Study Identifier"),
    ("DOMAIN", "Domain Abbreviation"),
    ("USUBJID", "Unique Subject Identifier"),
    ("ECSEQ", "Sequence Number"),
    ("ECTRT", "Name of Treatment"),
    ("ECMOOD", "Mood"),
    ("ECDOSE", "Dose"),
    ("ECDOSU", "Dose Units"),
    ("ECDOSFRM", "Dose Form"),
    ("ECDOSFRQ", "Dosing Frequency per Interval"),
    ("ECROUTE", "Route of Administration"),
    ("EPOCH", "Epoch"),
    ("ECSTDTC", "Start Date/Time of Treatment"),
    ("ECENDTC", "End Date/Time of Treatment"),
    ("ECSTDY", "Study Day of Start of Treatment"),
    ("ECENDY", "Study Day of End of Treatment"),
)
_CM = (
    ("STUDYID", "Study Identifier"),
    ("DOMAIN", "Domain Abbreviation"),
    ("USUBJID", "Unique Subject Identifier"),
    ("CMSEQ", "Sequence Number"),
    ("CMTRT", "Reported Name of Drug, Med, or Therapy"),
    ("CMCAT", "Category for Medication"),
    ("CMDOSE", "Dose per Administration"),
    ("CMDOSU", "Dose Units"),
    ("CMDOSFRM", "Dose Form"),
    ("CMDOSFRQ", "Dosing Frequency per Interval"),
    ("CMROUTE", "Route of Administration"),
    ("CMADJ", "Reason for Dose Adjustment"),
    ("EPOCH", "Epoch"),
    ("CMSTDTC", "Start Date/Time of Medication"),
    ("CMENDTC", "End Date/Time of Medication"),
    ("CMSTDY", "Study Day of Start of Medication"),
    ("CMENDY", "Study Day of End of Medication"),
)
_SPECS = {"ex": _EX, "ec": _EC, "cm": _CM}
SDTM_EX_COLUMNS = tuple(name for name, _ in _EX)
SDTM_EC_COLUMNS = tuple(name for name, _ in _EC)
SDTM_CM_COLUMNS = tuple(name for name, _ in _CM)
NUMERIC = frozenset({"EXSEQ", "EXDOSE", "EXSTDY", "EXENDY", "ECSEQ", "ECDOSE", "ECSTDY", "ECENDY"}) | frozenset(
    {"CMSEQ", "CMDOSE", "CMSTDY", "CMENDY"}
)


@dataclass(frozen=True, slots=True)
class _Run:
    days: tuple[DoseDay, ...]

    @property
    def first(self) -> DoseDay:
        return self.days[0]

    @property
    def last(self) -> DoseDay:
        return self.days[-1]


def _runs(days: Sequence[DoseDay], order: dict[str, int]) -> list[_Run]:
    """Constant-dose intervals, also cut where the epoch or the reason for a change differs."""
    runs: list[_Run] = []
    for interval in dose_intervals(days):
        current: list[DoseDay] = []
        for day in interval.days:
            if current and _cut(current[-1]) != _cut(day):
                runs.append(_Run(tuple(current)))
                current = []
            current.append(day)
        runs.append(_Run(tuple(current)))
    runs.sort(key=lambda r: (r.first.date, order.get(r.first.drug, len(order))))
    return runs


def _cut(day: DoseDay) -> tuple[str, str]:
    return (epoch_of(day.phase, day.cycle), day.modified_by)


def _form(day: DoseDay) -> str:
    return DOSE_FORMS.get(day.drug) or ROUTE_DOSE_FORMS.get(day.route, "")


def _plan(calendar: Calendar) -> Calendar:
    """The protocol's plan for the same start, horizon and patient: no events, labs or renal ceiling."""
    from lenasched.engine import expand

    return expand(
        calendar.protocol,
        calendar.start,
        cycles=calendar.cycles,
        until=calendar.until,
        patient=calendar.patient,
        allow=calendar.allow,
    )


def sdtm_rows(calendar: Calendar, domain: Domain = "ex", *, usubjid: str = DEFAULT_USUBJID) -> list[dict[str, object]]:
    """The records of ``domain`` as dicts: numbers as ``int``/``Decimal``, text as ``str`` ("" = null)."""
    if domain not in _SPECS:
        raise ScheduleError(f"unknown SDTM domain {domain!r}; choose one of ex, ec, cm")
    if not usubjid.strip():
        raise ScheduleError("USUBJID is empty; give a subject label or leave the default PLANNED")
    source = _plan(calendar) if domain == "ec" else calendar
    conmed = domain == "cm"
    days = [d for d in source.days if (d.role in CONMED_ROLES) == conmed]
    order = {name: i for i, name in enumerate(calendar.protocol.drugs)}
    prefix = domain.upper()
    out: list[dict[str, object]] = []
    for seq, run in enumerate(_runs(days, order), start=1):
        first, last = run.first, run.last
        row: dict[str, object] = {
            "STUDYID": calendar.protocol_id,
            "DOMAIN": prefix,
            "USUBJID": usubjid,
            f"{prefix}SEQ": seq,
            f"{prefix}TRT": first.drug.upper(),
        }
        if conmed:
            row["CMCAT"] = CM_CATEGORIES[first.role]
        if domain == "ec":
            row["ECMOOD"] = "SCHEDULED"
        row |= {
            f"{prefix}DOSE": first.dose.normalize(),
            f"{prefix}DOSU": first.unit,
            f"{prefix}DOSFRM": _form(first),
            f"{prefix}DOSFRQ": FREQUENCY_ONCE if len(run.days) == 1 else FREQUENCY_DAILY,
            f"{prefix}ROUTE": ROUTES[first.route],
        }
        if domain != "ec":
            row[f"{prefix}ADJ"] = first.modified_by
        row |= {
            "EPOCH": epoch_of(first.phase, first.cycle),
            f"{prefix}STDTC": first.date.isoformat(),
            f"{prefix}ENDTC": last.date.isoformat(),
            f"{prefix}STDY": first.study_day,
            f"{prefix}ENDY": last.study_day,
        }
        out.append(row)
    return out


def _text(value: object) -> str:
    return format_dose(value) if isinstance(value, Decimal) else str(value)


def _cell(name: str, value: object) -> str:
    """A CSV cell: numeric variables as numbers (a lead-in --STDY is -3), text that cannot start a formula."""
    return _text(value) if name in NUMERIC else text_cell(_text(value))


def _csv(calendar: Calendar, domain: Domain, usubjid: str) -> str:
    columns = [name for name, _ in _SPECS[domain]]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in sdtm_rows(calendar, domain, usubjid=usubjid):
        writer.writerow([_cell(c, row[c]) for c in columns])
    return buffer.getvalue()


def to_sdtm_ex(calendar: Calendar, *, usubjid: str = DEFAULT_USUBJID) -> str:
    """EX (as applied) as CSV text with ``\\n`` line ends, ordered by start date then drug."""
    return _csv(calendar, "ex", usubjid)


def to_sdtm_ec(calendar: Calendar, *, usubjid: str = DEFAULT_USUBJID) -> str:
    """EC (the plan, ``ECMOOD=SCHEDULED``) as CSV text."""
    return _csv(calendar, "ec", usubjid)


def to_sdtm_cm(calendar: Calendar, *, usubjid: str = DEFAULT_USUBJID) -> str:
    """CM (prophylaxis and supportive drugs, as applied) as CSV text."""
    return _csv(calendar, "cm", usubjid)


_SAS_STAMP = re.compile(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d")
FIXED_STAMP = b"01JAN60:00:00:00"  # SAS day 0: the header says nothing about when the file was made


def to_xpt(calendar: Calendar, domain: Domain = "ex", *, usubjid: str = DEFAULT_USUBJID) -> bytes:
    """The domain as SAS transport (XPT version 5) bytes, via pyreadstat; the same inputs give the same bytes."""
    try:
        import pandas as pd
        import pyreadstat
    except ImportError:  # pragma: no cover - depends on the environment
        raise ScheduleError(
            "SAS transport needs pyreadstat and pandas: pip install 'lenasched[sdtm]' (or write CSV)"
        ) from None
    import os
    import tempfile

    spec = _SPECS[domain]
    rows = sdtm_rows(calendar, domain, usubjid=usubjid)
    if not rows:  # SDTMIG: a domain without records is not submitted (and XPT readers choke on it)
        raise ScheduleError(
            f"{calendar.protocol_id} has no {domain.upper()} records in this calendar; no {domain.upper()} "
            "data set is written (an empty domain is not submitted)"
        )
    data: dict[str, list[object]] = {}
    for name, _ in spec:
        values = [row[name] for row in rows]
        if name in NUMERIC:
            data[name] = [float(v) if isinstance(v, (int, Decimal)) else v for v in values]
        else:
            too_long = [v for v in values if len(str(v)) > 200]
            if too_long:
                raise ScheduleError(f"{name} value is longer than XPT v5 allows (200 characters): {too_long[0]!r}")
            data[name] = [str(v) for v in values]
    frame = pd.DataFrame(data, columns=[name for name, _ in spec])
    for name in frame.columns:
        if name not in NUMERIC:
            frame[name] = frame[name].astype(object)
    handle, path = tempfile.mkstemp(suffix=".xpt")
    os.close(handle)
    try:
        pyreadstat.write_xport(
            frame,
            path,
            file_format_version=5,
            table_name=domain.upper(),
            file_label=f"{domain.upper()} {calendar.protocol_id}"[:40],
            column_labels=[label for _, label in spec],
        )
        with open(path, "rb") as stream:
            raw = stream.read()
    finally:
        os.unlink(path)
    # the creation/modification time stamps of the library and member headers (before the data)
    head_end = raw.find(b"HEADER RECORD*******OBS")
    head = _SAS_STAMP.sub(FIXED_STAMP, raw[:head_end])
    return head + raw[head_end:]


def sdtm_domain(
    calendar: Calendar, domain: Domain = "ex", *, usubjid: str = DEFAULT_USUBJID, xpt: bool = False
) -> str | bytes:
    """One domain as CSV text or, with ``xpt``, SAS transport bytes (what ``--format sdtm-ex`` writes)."""
    if xpt:
        return to_xpt(calendar, domain, usubjid=usubjid)
    return _csv(calendar, domain, usubjid)
