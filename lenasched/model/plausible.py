"""Physiological plausibility ranges for patient inputs: one table of named limits, and the check.

A value outside its range is refused (``ImplausibleValueError``) unless the caller allows it by the
limit's name: ``Patient(..., allow_implausible={"bsa"})``, ``RenalFunction.given(...,
allow_implausible={"crcl"})``, or ``--allow-implausible bsa`` on the command line. The ranges catch
typing slips and unit mix-ups (a BSA of 0.01 m², a height in metres, a creatinine in µmol/L typed as
mg/dL); they are wide on purpose, so a real adult is never refused.

These ranges are plausibility guards chosen by the lenasched project for adult oncology. They are
not taken from a clinical source and are not reference ranges or dosing limits. Hard limits (values
no override accepts, such as a BSA above 5 m² or a creatinine clearance above 300 mL/min) stay where
they were, in the models that hold the values.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from decimal import Decimal
from typing import NamedTuple

from lenasched.errors import ImplausibleValueError, ScheduleError

__all__ = ["LIMITS", "Limit", "check_plausible", "format_range", "known_limit_names"]


class Limit(NamedTuple):
    """One plausibility range: ``low <= value <= high`` (both ends accepted), in ``unit``."""

    what: str
    low: Decimal
    high: Decimal
    unit: str
    why: str


_D = Decimal
UMOL_PER_MG_DL = _D("88.4")
"""Serum creatinine: µmol/L per mg/dL (as ``lenasched.engine.renal.scr_umol_to_mg_dl``)."""

# name → (what, low, high, unit, why). The name is what an override gives. Chosen by the project as
# plausibility guards for adults on lenalidomide; not clinical reference values (see the module text).
LIMITS: dict[str, Limit] = {
    "bsa": Limit("BSA", _D("0.5"), _D("3.5"), "m²", "adult body-surface area"),
    "height": Limit("height", _D(100), _D(250), "cm", "adult height; a value in metres or inches is out of range"),
    "weight": Limit("weight", _D(25), _D(300), "kg", "adult weight; a value in pounds or grams is out of range"),
    "age": Limit(
        "age",
        _D(18),
        _D(120),
        "years",
        "lenalidomide is for adults: its label has no paediatric use, and Cockcroft-Gault was derived in adults",
    ),
    "scr": Limit(
        "serum creatinine",
        _D("0.1"),
        _D(20),
        "mg/dL",
        "a µmol/L value typed as mg/dL is out of range; give µmol/L values as µmol/L",
    ),
    "crcl": Limit("creatinine clearance", _D(0), _D(250), "mL/min", "adult creatinine clearance"),
}


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def format_range(name: str) -> str:
    """``0.5-3.5 m²``; serum creatinine also in µmol/L: ``0.1-20 mg/dL = 8.84-1768 µmol/L``."""
    limit = LIMITS[name]
    text = f"{_plain(limit.low)}-{_plain(limit.high)} {limit.unit}"
    if name == "scr":
        text += f" = {_plain(limit.low * UMOL_PER_MG_DL)}-{_plain(limit.high * UMOL_PER_MG_DL)} µmol/L"
    return text


def known_limit_names(names: Iterable[str]) -> frozenset[str]:
    """The names as a frozenset; an unknown name is refused (``ScheduleError``) with the known ones."""
    if isinstance(names, str):  # "bsa" would otherwise become {"b", "s", "a"}
        names = (names,)
    out = frozenset(names)
    for name in sorted(out):
        if name not in LIMITS:
            close = difflib.get_close_matches(name, list(LIMITS), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ScheduleError(
                f"unknown plausibility limit {name!r} to allow; {hint}known: {', '.join(sorted(LIMITS))}"
            )
    return out


def check_plausible(
    name: str, value: Decimal | int, allow: Iterable[str] = (), *, shown: str | None = None, note: str = ""
) -> None:
    """Refuse ``value`` (``ImplausibleValueError``) when it is outside the named range and not allowed.

    ``shown`` is the value as the user gave it (``"90 µmol/L"``) when it differs from ``value`` in
    the table's unit; ``note`` says where a derived value comes from (``"computed from ..."``).
    """
    limit = LIMITS[name]
    number = Decimal(value)
    if limit.low <= number <= limit.high or name in allow:
        return
    given = shown or f"{_plain(number)} {limit.unit}"
    message = (
        f"{limit.what} {given}{f' ({note})' if note else ''} is outside the plausible range {format_range(name)} "
        f"({limit.why}); check the value and its unit; if it is right, allow it by name: "
        f"--allow-implausible {name} (API: allow_implausible={{{name!r}}})"
    )
    raise ImplausibleValueError(message, name, number, limit.low, limit.high, limit.unit)
