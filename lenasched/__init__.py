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
    from .calendar import Calendar, CycleWindow, DoseDay, Modification
    from .comparison import Comparison, compare
    from .engine.expand import expand
    from .errors import LenaschedError, ProtocolError, ScheduleError, UnknownProtocolError
    from .events import PatientEvents
    from .loader import load_events, load_protocol, parse_protocol, protocol_from_dict
    from .patient import Patient, bsa_dubois, bsa_mosteller
    from .protocol import DrugRegimen, Escalation, Phase, Protocol, Reference
    from .registry import bundled_ids, get_protocol, resolve
    from .simulation import simulate
    from .sourced import Sourced

__version__ = "0.1.0"

#: public name -> module that defines it
_WHERE = {
    "Calendar": "calendar",
    "CycleWindow": "calendar",
    "DoseDay": "calendar",
    "Modification": "calendar",
    "Comparison": "comparison",
    "compare": "comparison",
    "expand": "engine",
    "LenaschedError": "errors",
    "ProtocolError": "errors",
    "ScheduleError": "errors",
    "UnknownProtocolError": "errors",
    "PatientEvents": "events",
    "load_events": "loader",
    "load_protocol": "loader",
    "parse_protocol": "loader",
    "protocol_from_dict": "loader",
    "Patient": "patient",
    "bsa_dubois": "patient",
    "bsa_mosteller": "patient",
    "DrugRegimen": "protocol",
    "Escalation": "protocol",
    "Phase": "protocol",
    "Protocol": "protocol",
    "Reference": "protocol",
    "bundled_ids": "registry",
    "get_protocol": "registry",
    "resolve": "registry",
    "simulate": "simulation",
    "Sourced": "sourced",
}

__all__ = [
    "Calendar",
    "Comparison",
    "CycleWindow",
    "DoseDay",
    "DrugRegimen",
    "Escalation",
    "LenaschedError",
    "Modification",
    "Patient",
    "PatientEvents",
    "Phase",
    "Protocol",
    "ProtocolError",
    "Reference",
    "ScheduleError",
    "Sourced",
    "UnknownProtocolError",
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
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
