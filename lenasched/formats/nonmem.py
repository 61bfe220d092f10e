"""Pharmacometric data set (NONMEM-style CSV) for PK/PD simulators and estimation: ready to run.

Columns ``ID, TIME, AMT, RATE, EVID, MDV, DV, CMT, II, ADDL, DOSELVL, STUDYDAY, CALDATE``: the standard
NONMEM items, which NONMEM-style tools (pharmpy, nlmixr2/rxode2, mrgsolve, Pumas...) read as well.
Rows are in time order; at one ``TIME`` a dose comes before an observation.

- **One time origin.** ``TIME`` is hours from 00:00 of study day 1 (cycle 1 day 1, ``--start``), for
  every drug and every table of the same calendar, so two drugs' tables line up. Lead-in days
  (days -N..-1) have negative times (NONMEM accepts them from version 7.4). A calendar has dates,
  not clock times: every dose is at the same time of day, ``dose_time`` (default 00:00), 24 h apart.
- ``AMT`` is the mg actually given (``dose_mg``: mg/m² and mg/kg doses already multiplied out).
- ``RATE`` is mg/h for an infusion whose duration the protocol gives (``infusion_minutes`` of the
  regimen, with its source): ``AMT`` ÷ hours. ``0`` otherwise: oral and subcutaneous doses, and
  intravenous doses whose duration the protocol does not state (given as a bolus; the docs say so).
- ``EVID`` is 1 and ``MDV`` 1 on dose rows; 0 and 0 on observation rows (``obs_times``).
  ``DV`` is ``.`` (missing) on every row: the file is ready to simulate; to estimate, fill in DV.
- A run of equal doses on consecutive days is one record with ``II=24`` and ``ADDL`` = the number
  of further doses, so a 21-day window is one row; ``explicit=True`` writes one row per dose
  instead (``II=0, ADDL=0``), for tools that do not expand ADDL. A single dose has ``II=0``.
- ``DOSELVL`` is the mg of the latest dose at or before the row's time (0 before the first dose),
  on dose and observation rows alike, the same in the compressed and the explicit form (never
  the value of a later or earlier record carried over).
- ``STUDYDAY`` (1 = cycle 1 day 1; lead-in days -N..-1, no day 0) and ``CALDATE`` (ISO date) are the
  day of the row's ``TIME``. ``CALDATE`` is text: drop it in NONMEM (``CALDATE=DROP``); do not
  label it ``DATE``, which would make NM-TRAN recompute ``TIME`` as clock times.

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
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.errors import ScheduleError
from lenasched.formats.intervals import DoseInterval, dose_intervals, require_drug
from lenasched.model.doses import format_dose
from lenasched.model.drugs import LENALIDOMIDE

__all__ = [
    "DEFAULT_DRUG",
    "DOSING_INTERVAL_HOURS",
    "NONMEM_COLUMNS",
    "DoseRecord",
    "dose_records",
    "infusion_minutes",
    "parse_obs_times",
    "to_nonmem",
]

NONMEM_COLUMNS = (
    "ID",
    "TIME",
    "AMT",
    "RATE",
    "EVID",
    "MDV",
    "DV",
    "CMT",
    "II",
    "ADDL",
    "DOSELVL",
    "STUDYDAY",
    "CALDATE",
)
DEFAULT_DRUG = LENALIDOMIDE
DOSING_INTERVAL_HOURS = 24  # once daily: doses on consecutive dates are 24 h apart
MAX_OBSERVATIONS = 100_000  # observation rows per table (a bound, like the others in lenasched.model.limits)
_RATE_PLACES = Decimal("0.0001")
_TIME_PLACES = Decimal("0.0001")  # a dose time of 08:20 is 8.3333 h


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """One row: a dose (``AMT`` mg at ``TIME`` h, then ``ADDL`` more every ``II`` h) or an observation.

    ``time`` is hours from study day 1 00:00; ``day`` the date of ``time``; ``doselvl`` the mg of the
    latest dose at or before ``time``.
    """

    id: int
    time: Decimal
    amt: Decimal
    cmt: int
    ii: int
    addl: int
    evid: int = 1
    rate: Decimal = Decimal(0)
    doselvl: Decimal = Decimal(0)
    day: date | None = None
    study_day: int = 0

    @property
    def mdv(self) -> int:
        return 0 if self.evid == 0 else 1

    def row(self) -> tuple[int | str, ...]:
        return (
            self.id,
            format_dose(self.time),
            format_dose(self.amt),
            format_dose(self.rate),
            self.evid,
            self.mdv,
            ".",
            self.cmt,
            self.ii,
            self.addl,
            format_dose(self.doselvl),
            self.study_day,
            self.day.isoformat() if self.day is not None else ".",
        )


def infusion_minutes(calendar: Calendar, day: DoseDay) -> Decimal | None:
    """The infusion duration the protocol gives for this dose (its regimen's ``infusion_minutes``), if any."""
    if day.route != "iv" or day.cycle is None:
        return None
    for phase in calendar.protocol.phases:
        if phase.name != day.phase:
            continue
        for regimen in phase.drugs:
            if regimen.drug == day.drug and day.cycle in regimen.applies_to:
                minutes = getattr(regimen, "infusion_minutes", None)
                return None if minutes is None else Decimal(minutes.value)
    return None


def _rate(amt: Decimal, minutes: Decimal | None) -> Decimal:
    if minutes is None:
        return Decimal(0)
    return (amt * 60 / minutes).quantize(_RATE_PLACES, rounding=ROUND_HALF_EVEN).normalize()


def _study_day(offset_days: int) -> int:
    """Study day of a day offset from study day 1 (offset 0 = day 1; -1 = day -1: there is no day 0)."""
    return offset_days + 1 if offset_days >= 0 else offset_days


def dose_records(
    calendar: Calendar,
    *,
    drug: str = DEFAULT_DRUG,
    subject_id: int = 1,
    cmt: int = 1,
    explicit: bool = False,
    obs_times: Iterable[Decimal | int | str] = (),
    obs_cmt: int = 0,
    dose_time: time = time(0, 0),
) -> tuple[DoseRecord, ...]:
    """The rows for ``drug`` in ``calendar``: doses (compressed with II/ADDL unless ``explicit``) and observations.

    ``obs_times`` are hours on the same axis as ``TIME`` (from study day 1 00:00); each becomes an
    observation row (``EVID=0, MDV=0``) in compartment ``obs_cmt`` (0: the model's default output).
    """
    if subject_id < 1:
        raise ScheduleError(f"the NONMEM subject ID must be a positive whole number, got {subject_id}")
    if cmt < 1:
        raise ScheduleError(f"the dosing compartment CMT must be a positive whole number, got {cmt}")
    if obs_cmt < 0:
        raise ScheduleError(f"the observation compartment must be 0 (the default output) or more, got {obs_cmt}")
    observations = _check_obs_times(obs_times)
    days = require_drug(calendar, drug)
    routes = sorted({d.route for d in days})
    if len(routes) > 1:
        raise ScheduleError(
            f"{drug} is given by more than one route ({', '.join(routes)}); "
            "one NONMEM dosing compartment cannot hold both, so no table is written"
        )
    origin = calendar.start
    clock = (Decimal(dose_time.hour) + Decimal(dose_time.minute) / 60).quantize(_TIME_PLACES).normalize()

    def hours(day: date) -> Decimal:
        return (day - origin).days * DOSING_INTERVAL_HOURS + clock

    doses: list[DoseRecord] = []
    for interval in _runs(calendar, days):
        first = interval.days[0]
        rate = _rate(interval.dose_mg, infusion_minutes(calendar, first))
        if explicit:
            doses.extend(
                DoseRecord(
                    subject_id,
                    hours(d.date),
                    d.dose_mg,
                    cmt,
                    0,
                    0,
                    rate=rate,
                    doselvl=d.dose_mg,
                    day=d.date,
                    study_day=d.study_day,
                )
                for d in interval.days
            )
        else:
            addl = len(interval) - 1
            doses.append(
                DoseRecord(
                    subject_id,
                    hours(first.date),
                    interval.dose_mg,
                    cmt,
                    DOSING_INTERVAL_HOURS if addl else 0,
                    addl,
                    rate=rate,
                    doselvl=interval.dose_mg,
                    day=first.date,
                    study_day=first.study_day,
                )
            )
    if not observations:
        return tuple(doses)
    dose_times = [(hours(d.date), d.dose_mg) for d in days]  # every dose, in time order
    rows: list[DoseRecord] = []
    k = 0  # doses at or before the observation
    i = 0  # dose records written
    for at in observations:
        while i < len(doses) and doses[i].time <= at:
            rows.append(doses[i])
            i += 1
        while k < len(dose_times) and dose_times[k][0] <= at:
            k += 1
        offset = math.floor(at / DOSING_INTERVAL_HOURS)
        rows.append(
            DoseRecord(
                subject_id,
                at,
                Decimal(0),
                obs_cmt,
                0,
                0,
                evid=0,
                doselvl=dose_times[k - 1][1] if k else Decimal(0),
                day=origin + timedelta(days=offset),
                study_day=_study_day(offset),
            )
        )
    rows.extend(doses[i:])
    return tuple(rows)


def _runs(calendar: Calendar, days: Sequence[DoseDay]) -> tuple[DoseInterval, ...]:
    """Constant-dose intervals, also cut where the infusion duration changes (a new regimen may set another)."""
    out: list[DoseInterval] = []
    for interval in dose_intervals(days):
        current: list[DoseDay] = []
        for day in interval.days:
            if current and infusion_minutes(calendar, day) != infusion_minutes(calendar, current[-1]):
                out.append(DoseInterval(tuple(current)))
                current = []
            current.append(day)
        out.append(DoseInterval(tuple(current)))
    return tuple(out)


def _check_obs_times(obs_times: Iterable[Decimal | int | str]) -> tuple[Decimal, ...]:
    values: list[Decimal] = []
    for raw in obs_times:
        try:
            value = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ScheduleError(f"observation time {raw!r} is not a number of hours") from None
        if not value.is_finite():
            raise ScheduleError(f"observation time {raw!r} is not a finite number of hours")
        values.append(value.normalize() if value != 0 else Decimal(0))
        if len(values) > MAX_OBSERVATIONS:
            raise ScheduleError(f"more than {MAX_OBSERVATIONS} observation times; split the table")
    ordered = sorted(values)
    for a, b in zip(ordered, ordered[1:]):
        if a == b:
            raise ScheduleError(f"observation time {format_dose(a)} h is given twice")
    return tuple(ordered)


def parse_obs_times(text: str, *, source: str = "--obs-times") -> tuple[Decimal, ...]:
    """Hours from text: separated by commas, spaces or new lines; ``#`` starts a comment.

    >>> parse_obs_times("0, 2 4.5\\n# trough\\n24")
    (Decimal('0'), Decimal('2'), Decimal('4.5'), Decimal('24'))
    """
    values: list[Decimal] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for item in line.split("#", 1)[0].replace(",", " ").split():
            try:
                value = Decimal(item)
            except InvalidOperation:
                raise ScheduleError(f"{source}: line {number}: {item!r} is not a number of hours") from None
            if not value.is_finite():
                raise ScheduleError(f"{source}: line {number}: {item!r} is not a finite number of hours")
            values.append(value)
    if not values:
        raise ScheduleError(f"{source}: no observation times")
    return tuple(values)


def to_nonmem(
    calendar: Calendar,
    *,
    drug: str = DEFAULT_DRUG,
    subject_id: int = 1,
    cmt: int = 1,
    explicit: bool = False,
    obs_times: Iterable[Decimal | int | str] = (),
    obs_cmt: int = 0,
    dose_time: time = time(0, 0),
) -> str:
    """The data set as CSV text with a header row and ``\\n`` line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(NONMEM_COLUMNS)
    records = dose_records(
        calendar,
        drug=drug,
        subject_id=subject_id,
        cmt=cmt,
        explicit=explicit,
        obs_times=obs_times,
        obs_cmt=obs_cmt,
        dose_time=dose_time,
    )
    for record in records:
        writer.writerow(record.row())
    return buffer.getvalue()
