"""JSON: the CSV rows plus the protocol id, patient, cycle windows and assumptions."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from lenasched.engine.calendar import Calendar
from lenasched.formats.describe import off_label_note
from lenasched.model.dayspec import format_days
from lenasched.model.doses import format_dose
from lenasched.model.shapes import Shape
from lenasched.pharmacy.intensity import dose_intensity

__all__ = ["calendar_dict", "to_json"]


def calendar_dict(calendar: Calendar) -> dict[str, Any]:
    """Plain JSON-ready data; doses are strings so no reader turns 2.5 into a binary float."""
    protocol = calendar.protocol
    patient = calendar.patient
    bsa = patient.bsa if patient is not None else None
    return {
        "protocol": protocol.id,
        "title": protocol.title,
        "citation": protocol.citation.short(),
        "off_label": off_label_note(protocol),
        "market": calendar.market,
        "start": calendar.start.isoformat(),
        "end": calendar.end.isoformat(),
        "patient": None
        if patient is None
        else {
            "bsa_m2": None if bsa is None else format_dose(bsa),
            "weight_kg": None if patient.weight_kg is None else format_dose(patient.weight_kg),
        },
        "days": [
            {
                "date": d.date.isoformat(),
                "study_day": d.study_day,
                "phase": d.phase,
                "cycle": d.cycle,
                "cycle_day": d.cycle_day,
                "drug": d.drug,
                "dose": format_dose(d.dose),
                "unit": d.unit,
                "dose_mg": format_dose(d.dose_mg),
                "route": d.route,
                "role": d.role,
                "modified_by": d.modified_by,
            }
            for d in calendar.days
        ],
        "windows": [
            {
                "phase": w.phase,
                "cycle": w.cycle,
                "index": w.index,
                "start": w.start.isoformat(),
                "end": w.end.isoformat(),
                "length_days": w.length_days,
                "complete": w.complete,
                "on_days": [d.isoformat() for d in w.on_days],
                "rest_days": [d.isoformat() for d in w.rest_days],
            }
            for w in calendar.windows
        ],
        "modifications": [
            {"date": m.date.isoformat(), "drug": m.drug, "event": m.event, "effect": m.effect}
            for m in calendar.modifications
        ],
        "dose_intensity": [
            {
                "drug": i.drug,
                "given_mg": format_dose(i.given_mg),
                "planned_mg": format_dose(i.planned_mg),
                "relative_pct": None if i.relative_pct is None else format_dose(i.relative_pct),
            }
            for i in dose_intensity(calendar)
        ],
        "assumptions": [
            {"field": path, "value": _plain(s.value), "assumption": s.assumption} for path, s in protocol.assumptions()
        ],
    }


def _plain(value: Any) -> Any:
    """An assumption's value as JSON: doses as strings, day sets as range text."""
    if isinstance(value, Decimal):
        return format_dose(value)
    if isinstance(value, tuple) and all(isinstance(v, int) for v in value):
        return format_days(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Shape):  # the plain form of a model (a compiled bundled protocol)
        return {name: _plain(item) for name, item in vars(value).items()}
    if isinstance(value, (int, str, bool)) or value is None:
        return value
    return str(value)


def to_json(calendar: Calendar) -> str:
    return json.dumps(calendar_dict(calendar), indent=2, ensure_ascii=False) + "\n"
