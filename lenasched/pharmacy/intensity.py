"""Dose intensity of a calendar as given against its plan, the way pharmaverse admiral defines it.

admiral's ``derive_param_doseint``: "Total Dose / Planned Dose * 100". The planned dose is the
same protocol, start, horizon and patient with no patient events, lab results or renal ceiling; the
given dose is the calendar after them. Both in mg as given (mg/m² and mg/kg doses already computed).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from lenasched.engine.calendar import Calendar

__all__ = ["DoseIntensity", "dose_intensity", "planned_calendar"]


@dataclass(frozen=True)
class DoseIntensity:
    drug: str
    given_mg: Decimal
    planned_mg: Decimal

    @property
    def relative_pct(self) -> Decimal | None:
        """Total dose / planned dose × 100, to 0.1 %; None when nothing was planned."""
        if self.planned_mg == 0:
            return None
        return (self.given_mg / self.planned_mg * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def planned_calendar(calendar: Calendar) -> Calendar:
    """The protocol's plan for the same start, horizon, patient and market: no events, labs or renal ceiling."""
    from lenasched.engine import expand

    return expand(
        calendar.protocol,
        calendar.start,
        cycles=calendar.cycles,
        until=calendar.until,
        patient=calendar.patient,
        allow=calendar.allow,
        market=calendar.market,
    )


def dose_intensity(calendar: Calendar) -> tuple[DoseIntensity, ...]:
    """Per drug (protocol order): total mg given, total mg planned, and their ratio."""
    plan = calendar if calendar.events is None and calendar.renal is None else planned_calendar(calendar)
    out = []
    for drug in calendar.protocol.drugs:
        given = sum((d.dose_mg for d in calendar.for_drug(drug)), Decimal(0))
        planned = sum((d.dose_mg for d in plan.for_drug(drug)), Decimal(0))
        if given or planned:
            out.append(DoseIntensity(drug, given, planned))
    return tuple(out)
