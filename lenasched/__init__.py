"""lenasched: lenalidomide dosing protocols as exact, auditable day-by-day calendars.

>>> import lenasched
>>> from datetime import date
>>> cal = lenasched.expand(lenasched.get_protocol("badoux-2011"), date(2026, 12, 1), cycles=6)
>>> [str(d.dose) for d in cal.for_drug("lenalidomide") if d.study_day in (1, 57, 141)]
['5', '10', '25']
"""

from __future__ import annotations

from .calendar import Calendar, CycleWindow, DoseDay, Modification
from .compare import Comparison, compare
from .engine import expand
from .errors import LenaschedError, ProtocolError, ScheduleError, UnknownProtocolError
from .events import PatientEvents
from .loader import load_events, load_protocol, parse_protocol, protocol_from_dict
from .patient import Patient, bsa_dubois, bsa_mosteller
from .protocol import DrugRegimen, Escalation, Phase, Protocol, Reference
from .registry import bundled_ids, get_protocol, resolve
from .simulate import simulate
from .sourced import Sourced

__version__ = "0.1.0"

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
