"""lenasched: lenalidomide dosing protocols as exact, auditable day-by-day calendars.

>>> import lenasched
>>> from datetime import date
>>> cal = lenasched.expand(lenasched.get_protocol("badoux-2011"), date(2026, 12, 1), cycles=6)
>>> [str(d.dose) for d in cal.for_drug("lenalidomide") if d.study_day in (1, 57, 141)]
['5', '10', '25']

Names are imported on first use, so ``import lenasched`` (and the command line) stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lenasched.design.compare import Comparison, compare
    from lenasched.design.simulation import simulate
    from lenasched.engine.calendar import Calendar, CycleWindow, DoseDay, Modification
    from lenasched.engine.expand import expand
    from lenasched.errors import (
        LenaschedError,
        ModelValidationError,
        ProtocolError,
        ScheduleError,
        UnknownDrugError,
        UnknownProtocolError,
        WrongTypeError,
    )
    from lenasched.model.events import PatientEvents
    from lenasched.model.loader import load_events, load_protocol, parse_protocol, protocol_from_dict
    from lenasched.model.patient import Patient, bsa_dubois, bsa_mosteller
    from lenasched.model.protocol import DrugRegimen, Escalation, Phase, Protocol, Reference
    from lenasched.model.registry import bundled_ids, get_protocol, resolve
    from lenasched.model.sourced import Sourced

__version__ = "0.1.0"

#: public name -> module that defines it
_WHERE = {
    "Calendar": "lenasched.engine.calendar",
    "CycleWindow": "lenasched.engine.calendar",
    "DoseDay": "lenasched.engine.calendar",
    "Modification": "lenasched.engine.calendar",
    "Comparison": "lenasched.design.compare",
    "compare": "lenasched.design.compare",
    "expand": "lenasched.engine",
    "LenaschedError": "lenasched.errors",
    "ProtocolError": "lenasched.errors",
    "ScheduleError": "lenasched.errors",
    "UnknownProtocolError": "lenasched.errors",
    "ModelValidationError": "lenasched.errors",
    "UnknownDrugError": "lenasched.errors",
    "WrongTypeError": "lenasched.errors",
    "PatientEvents": "lenasched.model.events",
    "load_events": "lenasched.model.loader",
    "load_protocol": "lenasched.model.loader",
    "parse_protocol": "lenasched.model.loader",
    "protocol_from_dict": "lenasched.model.loader",
    "Patient": "lenasched.model.patient",
    "bsa_dubois": "lenasched.model.patient",
    "bsa_mosteller": "lenasched.model.patient",
    "DrugRegimen": "lenasched.model.protocol",
    "Escalation": "lenasched.model.protocol",
    "Phase": "lenasched.model.protocol",
    "Protocol": "lenasched.model.protocol",
    "Reference": "lenasched.model.protocol",
    "bundled_ids": "lenasched.model.registry",
    "get_protocol": "lenasched.model.registry",
    "resolve": "lenasched.model.registry",
    "simulate": "lenasched.design.simulation",
    "Sourced": "lenasched.model.sourced",
}

__all__ = [
    "Calendar",
    "Comparison",
    "CycleWindow",
    "DoseDay",
    "DrugRegimen",
    "Escalation",
    "LenaschedError",
    "ModelValidationError",
    "Modification",
    "Patient",
    "PatientEvents",
    "Phase",
    "Protocol",
    "ProtocolError",
    "Reference",
    "ScheduleError",
    "Sourced",
    "UnknownDrugError",
    "UnknownProtocolError",
    "WrongTypeError",
    "__version__",
    "bsa_dubois",
    "bsa_mosteller",
    "bundled_ids",
    "compare",
    "expand",
    "get_protocol",
    "load_events",
    "load_protocol",
    "parse_protocol",
    "protocol_from_dict",
    "resolve",
    "simulate",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lenasched' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
