"""The dispensing plan as CSV (one row per fill and capsule strength) and JSON (everything)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from lenasched.engine.renal import RenalAdjustment
from lenasched.formats.cells import text_cell
from lenasched.model.doses import format_dose
from lenasched.pharmacy.dispense import DispensePlan

__all__ = ["DISPENSE_CSV_COLUMNS", "plan_csv", "plan_dict", "plan_json", "renal_dict"]

DISPENSE_CSV_COLUMNS = (
    "fill",
    "drug",
    "phase",
    "cycle",
    "first_dose",
    "last_dose",
    "days_covered",
    "dosing_days",
    "strength_mg",
    "capsules",
    "mg",
    "flags",
    "instructions",
)


def plan_csv(plan: DispensePlan) -> str:
    """CSV text with ``\\n`` line ends; a fill with two strengths has two rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(DISPENSE_CSV_COLUMNS)
    for fill in plan.fills:
        for line in fill.lines:
            writer.writerow(
                (
                    fill.number,
                    text_cell(fill.drug),  # text cells cannot start a formula (see .cells); numbers stay numbers
                    text_cell(fill.phase),
                    fill.cycle,
                    fill.first.isoformat(),
                    fill.last.isoformat(),
                    fill.days_covered,
                    fill.dosing_days,
                    format_dose(line.strength_mg),
                    line.capsules,
                    format_dose(line.total_mg),
                    text_cell(" | ".join(fill.flags)),
                    text_cell(" | ".join(fill.instructions)),
                )
            )
    return buffer.getvalue()


def renal_dict(renal: RenalAdjustment | None) -> dict[str, Any] | None:
    """The renal record as JSON-ready data (doses as strings)."""
    if renal is None:
        return None
    crcl = renal.renal.crcl_ml_min
    return {
        "applied": renal.applies,
        "crcl_ml_min": None if crcl is None else format_dose(crcl),
        "dialysis": renal.renal.dialysis,
        "method": renal.renal.method,
        "inputs": renal.renal.describe(),
        "band": None if renal.band is None else renal.band.name,
        "band_range": None if renal.band is None else renal.band.describe(),
        "column": renal.column,
        "rule": None if renal.rule is None else renal.rule.describe(),
        "citation": renal.citation,
        "summary": renal.summary(),
        "changes": [
            {
                "date": c.date.isoformat(),
                "phase": c.phase,
                "cycle": c.cycle,
                "cycle_day": c.cycle_day,
                "drug": c.drug,
                "before_mg": format_dose(c.before_mg),
                "after_mg": None if c.after_mg is None else format_dose(c.after_mg),
                "reason": c.reason,
            }
            for c in renal.changes
        ],
    }


def plan_dict(plan: DispensePlan) -> dict[str, Any]:
    return {
        "protocol": plan.protocol_id,
        "drug": plan.drug,
        "start": plan.start.isoformat(),
        "end": plan.end.isoformat(),
        "max_supply_days": plan.max_supply_days,
        "allow_multiple_capsules": plan.allow_multiple,
        "total_scheduled_mg": format_dose(plan.total_scheduled_mg),
        "total_dispensed_mg": format_dose(plan.total_dispensed_mg),
        "capsules_by_strength": [
            {"strength_mg": format_dose(line.strength_mg), "capsules": line.capsules}
            for line in plan.capsules_by_strength
        ],
        "fills": [
            {
                "fill": fill.number,
                "phase": fill.phase,
                "cycle": fill.cycle,
                "cycle_index": fill.cycle_index,
                "first_dose": fill.first.isoformat(),
                "last_dose": fill.last.isoformat(),
                "days_covered": fill.days_covered,
                "dosing_days": fill.dosing_days,
                "dose_dates": [d.isoformat() for d in fill.dose_dates],
                "capsules": [
                    {"strength_mg": format_dose(line.strength_mg), "count": line.capsules} for line in fill.lines
                ],
                "total_mg": format_dose(fill.total_mg),
                "instructions": list(fill.instructions),
                "flags": list(fill.flags),
            }
            for fill in plan.fills
        ],
        "renal": renal_dict(plan.renal),
        "not_dispensed": list(plan.not_dispensed),
        "notes": list(plan.notes),
    }


def plan_json(plan: DispensePlan) -> str:
    return json.dumps(plan_dict(plan), indent=2, ensure_ascii=False) + "\n"
