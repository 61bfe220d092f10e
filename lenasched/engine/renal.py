"""Renal dose adjustment: creatinine clearance, the label's renal table, and an adjusted calendar.

The label gives, per CrCl band, the lenalidomide dose to use in patients with reduced kidney
function (``dose_mg`` every 24 or 48 hours). The engine applies a band as a modifier (a **ceiling
and a minimum interval**): a day above the band's dose is lowered to it, and with a 48-hour interval a
dose day closer than 48 hours to the previous kept dose is dropped. Doses are never raised and
rest days stay rest days. Every change is recorded with its reason and the label citation, so
calendar and dispensing output can say that an adjustment was applied and why.

Bands the label says were not studied (CrCl < 11 mL/min without dialysis) are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from lenasched.engine.calendar import Calendar, DoseDay
from lenasched.errors import ScheduleError
from lenasched.model.doses import format_dose
from lenasched.model.label import Label, RenalBand, RenalDose, load_label
from lenasched.model.plausible import check_plausible, known_limit_names

if TYPE_CHECKING:
    from lenasched.engine.apply import RenalCeiling, RenalChangeRecord
    from lenasched.model.protocol import Protocol

__all__ = [
    "COLUMN_NAMES",
    "RenalAdjustment",
    "RenalChange",
    "RenalFunction",
    "adjust_for_renal",
    "cockcroft_gault",
    "renal_band",
    "renal_modifier",
    "scr_umol_to_mg_dl",
]

Sex = Literal["female", "male"]

COLUMN_NAMES = {"mm_mcl": "multiple myeloma / mantle cell lymphoma", "mds": "myelodysplastic syndromes"}
"""Label columns of the renal table, in words. CLL is not a labelled indication; mm_mcl is the default."""

_ONE_PLACE = Decimal("0.1")
_UMOL_PER_MG_DL = Decimal("88.4")


def scr_umol_to_mg_dl(scr_umol_l: Decimal) -> Decimal:
    """Serum creatinine from µmol/L to mg/dL (÷ 88.4)."""
    return scr_umol_l / _UMOL_PER_MG_DL


def cockcroft_gault(
    age_years: int | Decimal,
    weight_kg: Decimal,
    scr_mg_dl: Decimal,
    sex: Sex,
    *,
    allow_implausible: Iterable[str] = (),
) -> Decimal:
    """Creatinine clearance in mL/min, 1 decimal: (140 − age) × weight / (72 × SCr), × 0.85 for women.

    Age, weight and serum creatinine outside lenasched's plausibility ranges (``lenasched.model.plausible``)
    are refused (``ImplausibleValueError``) unless ``allow_implausible`` names them.

    >>> cockcroft_gault(60, Decimal("72"), Decimal("1.0"), "male")
    Decimal('80.0')
    >>> cockcroft_gault(60, Decimal("72"), Decimal("1.0"), "female")
    Decimal('68.0')
    """
    allow = known_limit_names(allow_implausible)
    age = Decimal(age_years)
    check_plausible("age", age, allow)
    check_plausible("weight", weight_kg, allow)
    check_plausible("scr", scr_mg_dl, allow)
    # The formula's own domain, whatever is allowed: a positive result needs age < 140, weight and SCr > 0.
    if not (Decimal(0) < age < Decimal(140)):
        raise ScheduleError(f"Cockcroft-Gault needs an age between 0 and 140 years, got {age}")
    if not weight_kg > 0 or not scr_mg_dl > 0:
        raise ScheduleError("Cockcroft-Gault needs a positive weight and serum creatinine")
    if sex not in ("female", "male"):
        raise ScheduleError(f"sex must be 'female' or 'male' for Cockcroft-Gault, got {sex!r}")
    value = (Decimal(140) - age) * weight_kg / (Decimal(72) * scr_mg_dl)
    if sex == "female":
        value *= Decimal("0.85")
    return value.quantize(_ONE_PLACE, ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class RenalFunction:
    """A patient's kidney function as lenasched uses it: CrCl (given or computed) and dialysis."""

    crcl_ml_min: Decimal | None
    dialysis: bool = False
    method: Literal["given", "cockcroft-gault", "dialysis"] = "given"
    inputs: str = ""
    allow_implausible: frozenset[str] = frozenset()
    """Names of plausibility limits (``lenasched.model.plausible.LIMITS``) the inputs may exceed."""

    def __post_init__(self) -> None:
        if self.crcl_ml_min is None and not self.dialysis:
            raise ScheduleError(
                "give a creatinine clearance (or the Cockcroft-Gault inputs), or say the patient is on dialysis"
            )
        # 0-300 mL/min is the hard limit (the label data's own range); no override goes beyond it.
        if self.crcl_ml_min is not None and not (Decimal(0) <= self.crcl_ml_min <= Decimal(300)):
            raise ScheduleError(f"creatinine clearance {self.crcl_ml_min} mL/min is outside 0-300 mL/min")
        object.__setattr__(self, "allow_implausible", known_limit_names(self.allow_implausible))
        if self.crcl_ml_min is not None:
            note = "Cockcroft-Gault" if self.method == "cockcroft-gault" else ""
            check_plausible("crcl", self.crcl_ml_min, self.allow_implausible, note=note)

    @classmethod
    def given(
        cls, crcl_ml_min: Decimal, *, dialysis: bool = False, allow_implausible: Iterable[str] = ()
    ) -> RenalFunction:
        return cls(
            crcl_ml_min,
            dialysis,
            "given",
            f"CrCl {format_dose(crcl_ml_min)} mL/min (given)",
            known_limit_names(allow_implausible),
        )

    @classmethod
    def on_dialysis(cls) -> RenalFunction:
        return cls(None, True, "dialysis", "patient on dialysis")

    @classmethod
    def from_cockcroft_gault(
        cls,
        *,
        age_years: int,
        weight_kg: Decimal,
        scr_mg_dl: Decimal,
        sex: Sex,
        dialysis: bool = False,
        allow_implausible: Iterable[str] = (),
    ) -> RenalFunction:
        allow = known_limit_names(allow_implausible)
        crcl = cockcroft_gault(age_years, weight_kg, scr_mg_dl, sex, allow_implausible=allow)
        inputs = (
            f"CrCl {format_dose(crcl)} mL/min (Cockcroft-Gault: age {age_years}, weight {format_dose(weight_kg)} kg, "
            f"serum creatinine {format_dose(scr_mg_dl.quantize(Decimal('0.01'), ROUND_HALF_UP))} mg/dL, {sex})"
        )
        return cls(crcl, dialysis, "cockcroft-gault", inputs, allow)

    def describe(self) -> str:
        text = self.inputs or (
            f"CrCl {format_dose(self.crcl_ml_min)} mL/min" if self.crcl_ml_min is not None else "on dialysis"
        )
        if self.dialysis and "dialysis" not in text:
            text += ", on dialysis"
        if self.allow_implausible:
            text += "; plausibility check waived for: " + ", ".join(sorted(self.allow_implausible))
        return text


def renal_band(renal: RenalFunction, label: Label | None = None) -> RenalBand | None:
    """The label band this patient falls in; None when no adjustment is needed (CrCl ≥ 60 mL/min).

    Refuses (``ScheduleError``) a range the label says was not studied, and a dialysis patient whose
    CrCl falls in no dialysis band.
    """
    label = label or load_label()
    table = label.renal
    for gap in table.not_studied:
        if gap.contains(renal.crcl_ml_min, renal.dialysis):
            raise ScheduleError(
                f"{renal.describe()}: the label says {gap.name} has not been studied "
                f"({label.cite(gap.source)}: {gap.detail}); lenasched will not adjust a calendar for it"
            )
    for band in table.bands:
        if band.contains(renal.crcl_ml_min, renal.dialysis):
            return band
    if renal.dialysis:
        raise ScheduleError(
            f"{renal.describe()}: the label's renal table has no row for a patient on dialysis with this "
            "creatinine clearance; check the values"
        )
    return None


@dataclass(frozen=True, slots=True)
class RenalChange:
    """One dose day changed by the renal rule: lowered (``after_mg``) or dropped (``after_mg`` None)."""

    date: date
    phase: str
    cycle: int | None
    cycle_day: int
    drug: str
    before_mg: Decimal
    after_mg: Decimal | None
    reason: str


@dataclass(frozen=True, slots=True)
class RenalAdjustment:
    """What the renal rule did to a calendar, and why (band, rule, citation)."""

    renal: RenalFunction
    drug: str
    column: str
    band: RenalBand | None
    rule: RenalDose | None
    changes: tuple[RenalChange, ...]
    citation: str

    @property
    def applies(self) -> bool:
        """The patient falls in a band of the table (even if no day had to change)."""
        return self.band is not None

    @property
    def lowered(self) -> tuple[RenalChange, ...]:
        return tuple(c for c in self.changes if c.after_mg is not None)

    @property
    def dropped(self) -> tuple[RenalChange, ...]:
        return tuple(c for c in self.changes if c.after_mg is None)

    def summary(self) -> str:
        """One paragraph for calendar and dispensing output."""
        if self.band is None or self.rule is None:
            return f"Renal function: {self.renal.describe()}: no {self.drug} dose adjustment in the label's table."
        rule = (
            f"the label's {self.band.name} band ({self.band.describe()}): {self.drug} at most "
            f"{self.rule.describe()} ({COLUMN_NAMES.get(self.column, self.column)} column of the renal table; "
            f"{self.citation})"
        )
        if self.changes:
            text = (
                f"Renal dose adjustment applied: {self.renal.describe()}, in {rule}. "
                f"{len(self.lowered)} dose day(s) lowered, {len(self.dropped)} dropped to keep the dosing interval; "
                "doses already at or below it are unchanged."
            )
        else:
            text = f"Renal dose check: {self.renal.describe()}, in {rule}. No dose day is above it; nothing changed."
        if self.rule.note:
            text += f" {self.rule.note}"
        return text


def adjust_for_renal(
    calendar: Calendar, renal: RenalFunction, *, column: str | None = None, label: Label | None = None
) -> tuple[Calendar, RenalAdjustment]:
    """The calendar expanded again with the label's renal rule as a modifier, and the record of changes.

    Pure: the input calendar is not modified. Same as ``expand(..., renal=renal)`` with the
    calendar's own inputs; the renal changes share the one audit trail with every other event.
    """
    from lenasched.engine import expand

    adjusted = expand(
        calendar.protocol,
        calendar.start,
        cycles=calendar.cycles,
        until=calendar.until,
        patient=calendar.patient,
        events=calendar.events,
        renal=renal,
        renal_column=column,
        allow=calendar.allow,
        label=label,
        market=calendar.market,
    )
    assert adjusted.renal is not None
    return adjusted, adjusted.renal


def renal_modifier(
    protocol: Protocol, renal: RenalFunction, column: str = "mm_mcl", label: Label | None = None
) -> tuple[RenalCeiling | None, Callable[[Sequence[RenalChangeRecord]], RenalAdjustment]]:
    """The label's renal band for this patient as an engine modifier, and how to report what it did."""
    from lenasched.engine.apply import RenalCeiling

    label = label or load_label()
    if column not in label.renal.columns:
        raise ScheduleError(
            f"lenasched's label data has no renal table column {column!r} ({protocol.id}'s indication): its "
            f"starting dose for this CrCl was not verified; known columns: {', '.join(label.renal.columns)}. "
            "Give the prescribed dose instead of a CrCl, or --renal-column if another column applies"
        )
    band = renal_band(renal, label)
    drug = label.drug
    if band is None:
        nothing = RenalAdjustment(renal, drug, column, None, None, (), label.cite(None))
        return None, lambda changes: nothing
    rule = band.doses.get(column)
    if rule is None:
        raise ScheduleError(
            f"{renal.describe()}: the label's {band.name} band has no verified {COLUMN_NAMES.get(column, column)} "
            f"dose in lenasched's label data; choose another column only if it applies to this patient"
        )
    ceiling = RenalCeiling(drug, rule.dose_mg.value, rule.interval_days, band.name, rule.interval_hours.value)
    cite = label.cite(rule.dose_mg.source)

    def report(changes: Sequence[RenalChangeRecord]) -> RenalAdjustment:
        records = tuple(_change(c.row, c.after_mg, c.reason) for c in changes)
        return RenalAdjustment(renal, drug, column, band, rule, records, cite)

    return ceiling, report


def _change(day: DoseDay, after: Decimal | None, reason: str) -> RenalChange:
    return RenalChange(day.date, day.phase, day.cycle, day.cycle_day, day.drug, day.dose_mg, after, reason)
