"""Protocols side by side: the numbers a trial designer compares, computed from expanded calendars.

Every metric is read off a ``Calendar`` (the engine's output), never re-derived from the rules, so
the comparison always agrees with what ``lenasched calendar`` prints. Metrics are about the primary
drug (lenalidomide); clinic days count every drug given intravenously or subcutaneously.

>>> import lenasched
>>> p = lenasched.parse_protocol('''
... schema_version: 1
... id: onoff
... title: 25 mg days 1-21 of 28
... setting: example
... citation: {title: example}
... phases:
...   - name: treatment
...     cycle_length_days: 28
...     cycles: 6
...     drugs:
...       - {drug: lenalidomide, dose: 25, days: 1-21}
... ''')
>>> result = lenasched.compare([p], horizon="24w")
>>> s = result["onoff"]
>>> s.cumulative_at(168), s.dose_intensity_mg_per_week, s.dosing_days, s.rest_days
(Decimal('3150'), Decimal('131.25'), 126, 42)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from lenasched.engine import expand
from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.errors import MissingDependencyError, ScheduleError
from lenasched.model.doses import format_dose, format_unit
from lenasched.model.drugs import LENALIDOMIDE
from lenasched.model.horizon import format_horizon, parse_horizon
from lenasched.model.outcomes import OUTCOME_FIELDS
from lenasched.model.patient import Patient
from lenasched.model.protocol import Protocol
from lenasched.model.routes import ROUTES

if TYPE_CHECKING:
    import pandas

__all__ = [
    "CUMULATIVE_DAYS",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_START",
    "PRIMARY_DRUG",
    "REFERENCE_PATIENT",
    "Comparison",
    "ProtocolSummary",
    "compare",
    "summarize",
]

PRIMARY_DRUG = LENALIDOMIDE
#: Study days at which cumulative dose is reported (4, 8, 12 and 24 weeks), besides the horizon.
CUMULATIVE_DAYS: tuple[int, ...] = (28, 56, 84, 168)
DEFAULT_HORIZON_DAYS = 364
#: Day 1 when none is given. Only month-based repeat schedules depend on the start date.
DEFAULT_START = date(2001, 1, 1)
#: Used only to expand companion drugs dosed in mg/m² or mg/kg when no patient is given; no metric
#: depends on their mg (clinic days count dates only), and lenalidomide itself is never scaled by it.
REFERENCE_PATIENT = Patient(bsa_m2=Decimal("1.80"), weight_kg=Decimal("70"))
CLINIC_ROUTES = frozenset(code for code, info in ROUTES.items() if info.clinic)

_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class ProtocolSummary:
    """One protocol's numbers over the horizon. ``None`` means "does not apply / not reached"."""

    protocol_id: str
    title: str
    citation: str
    drug: str
    unit: str | None
    start_dose: Decimal | None
    cap: Decimal | None
    cap_first_day: int | None
    cumulative_mg: Mapping[int, Decimal | None]
    horizon_days: int
    span_days: int
    total_mg: Decimal
    dose_intensity_mg_per_week: Decimal
    dosing_days: int
    rest_days: int
    cycles: int
    complete_cycles: int
    capsules: int | None
    clinic_days: int
    outcomes: Mapping[str, str | None]
    notes: tuple[str, ...] = ()
    setting: str = ""
    outcome_numbers: Mapping[str, Decimal | None] = field(default_factory=dict)

    def cumulative_at(self, day: int) -> Decimal | None:
        """Cumulative mg up to and including study ``day``; None when ``day`` is beyond the horizon."""
        if day in self.cumulative_mg:
            return self.cumulative_mg[day]
        raise KeyError(f"cumulative dose is computed at days {', '.join(map(str, self.cumulative_mg))}")

    def to_row(self) -> dict[str, Any]:
        """Plain data, one key per metric (the column names of ``--format csv``)."""
        row: dict[str, Any] = {
            "protocol": self.protocol_id,
            "title": self.title,
            "setting": self.setting,
            "citation": self.citation,
            "drug": self.drug,
            "unit": self.unit,
            "start_dose": self.start_dose,
            "cap": self.cap,
            "cap_first_day": self.cap_first_day,
        }
        for day, mg in self.cumulative_mg.items():
            row[f"cumulative_mg_day_{day}"] = mg
        row.update(
            {
                "horizon_days": self.horizon_days,
                "cumulative_mg_horizon": self.total_mg,
                "span_days": self.span_days,
                "dose_intensity_mg_per_week": self.dose_intensity_mg_per_week,
                "dosing_days": self.dosing_days,
                "rest_days": self.rest_days,
                "cycles": self.cycles,
                "complete_cycles": self.complete_cycles,
                "capsules": self.capsules,
                "clinic_days": self.clinic_days,
            }
        )
        for name, value in self.outcomes.items():
            row[f"outcome_{name}"] = value
        row["notes"] = "; ".join(self.notes)
        return row

    def to_csv_row(self) -> dict[str, Any]:
        """The row for CSV: every numeric column holds a number or nothing; text lives in its own columns.

        A reported outcome is ``outcome_<name>`` (a percentage of patients, or empty when not reported or
        not a plain number) and ``outcome_<name>_text`` (as reported, or ``NR``).
        """
        row = {k: v for k, v in self.to_row().items() if not k.startswith("outcome_") and k != "notes"}
        for name, text in self.outcomes.items():
            row[f"outcome_{name}"] = self.outcome_numbers.get(name)
            row[f"outcome_{name}_text"] = "NR" if text is None else text
        row["notes"] = "; ".join(self.notes)
        return row


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: one :class:`ProtocolSummary` per protocol, in the order given."""

    horizon_days: int
    start: date
    drug: str
    summaries: tuple[ProtocolSummary, ...]
    calendars: tuple[Calendar, ...] = field(repr=False, compare=False)

    def __iter__(self) -> Iterator[ProtocolSummary]:
        return iter(self.summaries)

    def __len__(self) -> int:
        return len(self.summaries)

    def __getitem__(self, protocol_id: str) -> ProtocolSummary:
        for summary in self.summaries:
            if summary.protocol_id == protocol_id:
                return summary
        raise KeyError(protocol_id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(s.protocol_id for s in self.summaries)

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict per protocol; doses stay ``Decimal``, "not reported" outcomes are ``None``."""
        return [s.to_row() for s in self.summaries]

    def to_csv_rows(self) -> list[dict[str, Any]]:
        """One CSV row per protocol: numeric columns hold numbers only (see ``ProtocolSummary.to_csv_row``)."""
        return [s.to_csv_row() for s in self.summaries]

    def to_dataframe(self) -> pandas.DataFrame:
        """The rows as a pandas DataFrame indexed by protocol id (needs the ``dataframe`` extra).

        Dose columns hold exact ``Decimal`` values (object dtype); use ``.astype(float)`` to plot them.
        """
        try:
            import pandas
        except ImportError:
            raise MissingDependencyError("Comparison.to_dataframe()", "pandas", "dataframe") from None
        frame: pandas.DataFrame = pandas.DataFrame(self.to_rows()).set_index("protocol")
        return frame

    def table(self) -> list[tuple[str, tuple[str, ...]]]:
        """Labelled display rows (label, one text per protocol), as the terminal table shows them."""
        s = self.summaries

        def row(label: str, values: Sequence[str]) -> tuple[str, tuple[str, ...]]:
            return label, tuple(values)

        def unit(x: ProtocolSummary) -> str:
            return format_unit(x.unit) if x.unit else "mg"

        rows = [
            row("title", [x.title for x in s]),
            row("source", [x.citation for x in s]),
            row("starting dose", [_dose_text(x.start_dose, unit(x)) for x in s]),
            row("cap", [_dose_text(x.cap, unit(x)) for x in s]),
            row(
                "cap first given (study day)",
                [
                    "—" if x.cap is None else ("not reached" if x.cap_first_day is None else str(x.cap_first_day))
                    for x in s
                ],
            ),
        ]
        for day in CUMULATIVE_DAYS:
            rows.append(row(f"cumulative mg, day {day}", [_mg_text(x.cumulative_mg[day], "beyond horizon") for x in s]))
        rows += [
            row(f"cumulative mg, horizon (day {self.horizon_days})", [_mg_text(x.total_mg) for x in s]),
            row("mean dose intensity (mg/week)", [format_dose(x.dose_intensity_mg_per_week) for x in s]),
            row("planned dosing days", [str(x.dosing_days) for x in s]),
            row("rest days", [str(x.rest_days) for x in s]),
            row("cycles", [_cycles_text(x) for x in s]),
            row("capsules needed", ["—" if x.capsules is None else str(x.capsules) for x in s]),
            row("clinic/infusion days", [str(x.clinic_days) for x in s]),
        ]
        rows.append(row("setting", [x.setting or "—" for x in s]))  # where the reported outcomes come from
        for name, label in OUTCOME_FIELDS.items():
            rows.append(row(f"reported {label}", [x.outcomes[name] or "NR" for x in s]))
        return rows

    def notes(self) -> list[str]:
        """Footnotes for the table: the horizon, "NR", and each protocol's own notes."""
        out = [
            f"Horizon: study days 1-{self.horizon_days} ({format_horizon(self.horizon_days)}); "
            f"metrics are for {self.drug}; NR = not reported (never the same as 0).",
            "Dose intensity = cumulative mg / weeks covered (the horizon, or less when the protocol ends sooner).",
            "Capsules: whole capsules of the label's strengths, one per dose where a strength matches.",
        ]
        out += [f"{x.protocol_id}: {note}" for x in self.summaries for note in x.notes]
        return out


def compare(
    protocols: Sequence[Protocol],
    *,
    horizon: int | str = DEFAULT_HORIZON_DAYS,
    start: date | None = None,
    patient: Patient | None = None,
    drug: str = PRIMARY_DRUG,
) -> Comparison:
    """Put ``protocols`` side by side over ``horizon`` (days, or text like ``"24w"``).

    ``start`` is day 1 of every calendar (default :data:`DEFAULT_START`). ``patient`` is needed only
    when ``drug`` itself is dosed by body size.
    """
    if not protocols:
        raise ScheduleError("nothing to compare: give at least one protocol")
    try:
        days = parse_horizon(horizon)
    except ValueError as exc:
        raise ScheduleError(str(exc)) from None
    first = start or DEFAULT_START
    from lenasched.model.dayspec import check_date_span

    check_date_span(first, 0, days - 1, f"a {days}-day comparison")
    calendars = []
    summaries = []
    for protocol in protocols:
        calendar, notes = _expand(protocol, first, days, patient, drug)
        calendars.append(calendar)
        summaries.append(summarize(calendar, days, drug=drug, notes=notes))
    return Comparison(horizon_days=days, start=first, drug=drug, summaries=tuple(summaries), calendars=tuple(calendars))


def _expand(
    protocol: Protocol, start: date, days: int, patient: Patient | None, drug: str
) -> tuple[Calendar, tuple[str, ...]]:
    notes: list[str] = []
    if protocol.open_ended:
        notes.append("continues until progression: expanded to the horizon")
    if patient is None:
        scaled = {r.drug for p in protocol.phases for r in p.drugs if r.unit != "mg"}
        if drug in scaled:
            raise ScheduleError(
                f"{protocol.id}: {drug} is dosed by body size; give a patient (BSA or weight) to compare it"
            )
        if scaled:
            patient = REFERENCE_PATIENT
            notes.append(
                f"{', '.join(sorted(scaled))} dosed by body size: mg shown in calendars use a reference patient "
                f"(BSA {REFERENCE_PATIENT.bsa_m2} m², {REFERENCE_PATIENT.weight_kg} kg); no metric here depends on it"
            )
    until = start + timedelta(days=days - 1)
    return expand(protocol, start, until=until, patient=patient), tuple(notes)


def summarize(
    calendar: Calendar, horizon_days: int, *, drug: str = PRIMARY_DRUG, notes: Sequence[str] = ()
) -> ProtocolSummary:
    """The metrics of one calendar, counting study days 1..``horizon_days``."""
    protocol = calendar.protocol
    inside = [d for d in calendar.days if d.study_day <= horizon_days]
    mine = [d for d in inside if d.drug == drug]
    regimens = [r for r in protocol.regimens if r.drug == drug]
    cap = max((r.max_dose for r in regimens), default=None)
    units = sorted({r.unit for r in regimens})
    last_day = min(horizon_days, (calendar.end - calendar.start).days + 1) if calendar.windows else 0
    if calendar.lead_in is not None:  # lead-in days (-N..-1) are part of the exposure and of the span
        last_day += (calendar.start - calendar.lead_in.start).days
    dosing_dates = {d.date for d in mine}
    total = sum((d.dose_mg for d in mine), Decimal(0))
    intensity = (total * 7 / last_day).quantize(_CENTS, ROUND_HALF_UP) if last_day else Decimal(0)
    cumulative: dict[int, Decimal | None] = {}
    for day in CUMULATIVE_DAYS:
        cumulative[day] = (
            None if day > horizon_days else sum((d.dose_mg for d in mine if d.study_day <= day), Decimal(0))
        )
    windows = [w for w in calendar.windows if (w.start - calendar.start).days < horizon_days]
    complete = sum(1 for w in windows if w.complete and (w.end - calendar.start).days < horizon_days)
    clinic = {d.date for d in inside if calendar.protocol.at_clinic(d.drug, d.phase, d.route)}
    outcomes = {
        name: (None if getattr(protocol.outcomes, name) is None else protocol.outcomes.display(name))
        for name in OUTCOME_FIELDS
    }
    extra = list(notes)
    if not mine:
        extra.append(f"no {drug} within the horizon")
    capsules, capsule_notes = _capsules(mine, drug)
    extra += capsule_notes
    return ProtocolSummary(
        protocol_id=protocol.id,
        title=protocol.title,
        citation=protocol.citation.short(),
        drug=drug,
        unit=units[0] if len(units) == 1 else None,
        start_dose=mine[0].dose if mine else None,
        cap=cap,
        cap_first_day=_first_at(mine, cap),
        cumulative_mg=cumulative,
        horizon_days=horizon_days,
        span_days=last_day,
        total_mg=total,
        dose_intensity_mg_per_week=intensity,
        dosing_days=len(dosing_dates),
        rest_days=last_day - len(dosing_dates),
        cycles=len(windows),
        complete_cycles=complete,
        capsules=capsules,
        clinic_days=len(clinic),
        outcomes=outcomes,
        notes=tuple(extra),
        setting=protocol.setting,
        outcome_numbers={name: _outcome_number(getattr(protocol.outcomes, name)) for name in OUTCOME_FIELDS},
    )


_COUNTED = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*\(\d+ of \d+(?: patients)?\)\s*$")


def _outcome_number(reported: Any) -> Decimal | None:
    """A reported outcome as a plain number (a count, or a percentage of patients); None otherwise."""
    if reported is None:
        return None
    value = reported.value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    match = _COUNTED.match(str(value))
    return Decimal(match.group(1)) if match else None


def _first_at(days: Sequence[DoseDay], cap: Decimal | None) -> int | None:
    if cap is None:
        return None
    return next((d.study_day for d in days if d.dose == cap), None)


def _capsules(days: Sequence[DoseDay], drug: str) -> tuple[int | None, list[str]]:
    """Capsules to dispense (label strengths, never split) and notes on doses that need several or none."""
    from lenasched.engine.capsules import choose_capsules
    from lenasched.errors import CapsuleError

    total = 0
    notes: list[str] = []
    picks: dict[Decimal, int | None] = {}
    for dose in sorted({d.dose_mg for d in days}):
        try:
            pick = choose_capsules(dose, allow_multiple=True, drug=drug)
        except CapsuleError as exc:
            picks[dose] = None
            notes.append(f"capsules: {exc}")
            continue
        picks[dose] = pick.count
        if pick.multiple:
            notes.append(
                f"capsules: {format_dose(dose)} mg takes {pick.describe()} (several capsules for one dose "
                "is outside the label's studied use)"
            )
    for d in days:
        count = picks[d.dose_mg]
        if count is None:
            return None, notes
        total += count
    return total, notes


def _dose_text(value: Decimal | None, unit: str) -> str:
    return "—" if value is None else f"{format_dose(value)} {unit}"


def _mg_text(value: Decimal | None, missing: str = "—") -> str:
    return missing if value is None else format_dose(value)


def _cycles_text(summary: ProtocolSummary) -> str:
    partial = summary.cycles - summary.complete_cycles
    return str(summary.cycles) + (f" ({partial} partial)" if partial else "")
