"""A patient's lab results and toxicity grades, dated: what dose-modification rules act on.

Names: ``anc`` and ``plt`` in 10^9/L (``plt=25`` is 25,000/mcL; ``anc=1.4`` is 1,400/mcL),
``crcl`` in mL/min, and ``grade.<toxicity>`` for a CTCAE grade 0-5 (``grade.rash=3``). Values are
read exactly (Decimal). A value outside what a body can have is refused, so a typo such as
``plt=25000`` (mcL instead of 10^9/L) is caught rather than read as a normal count.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field, field_validator

from lenasched.errors import LenaschedError
from lenasched.model.base import Frozen
from lenasched.model.rules import LAB_NAMES, LAB_UNITS

__all__ = ["LabError", "LabResult", "parse_lab_option"]

_GRADE = re.compile(r"^grade\.[a-z][a-z0-9-]*$")

# Plausible ranges (inclusive) chosen by the project as typo guards, not clinical limits: counts
# above these are not seen in patients; the usual mistake is a count in /mcL (x1000).
PLAUSIBLE: dict[str, tuple[Decimal, Decimal]] = {
    "anc": (Decimal(0), Decimal(100)),
    "plt": (Decimal(0), Decimal(2000)),
    "crcl": (Decimal(0), Decimal(250)),
}


class LabError(LenaschedError, ValueError):
    """A lab result that cannot be read or is not plausible."""


def check_value(name: str, value: Decimal) -> None:
    """Refuse an unknown name, a negative or implausible value, or a grade that is not 0-5."""
    if _GRADE.match(name):
        if value != value.to_integral_value() or not 0 <= value <= 5:
            raise ValueError(f"{name}={value}: a CTCAE grade is a whole number from 0 to 5")
        return
    if name not in PLAUSIBLE:
        known = ", ".join(LAB_NAMES)
        raise ValueError(f"unknown lab value {name!r}; known: {known}, or grade.<toxicity> (e.g. grade.rash)")
    low, high = PLAUSIBLE[name]
    if not low <= value <= high:
        unit = LAB_UNITS[name]
        hint = " (counts are in 10^9/L: 25,000/mcL is plt=25)" if name in ("anc", "plt") else ""
        raise ValueError(f"{name}={value} is outside {low}-{high} {unit}{hint}")


class LabResult(Frozen):
    """The results of one date."""

    date: date
    values: dict[str, Decimal] = Field(min_length=1, description="anc, plt, crcl or grade.<toxicity>.")

    @field_validator("values")
    @classmethod
    def _plausible(cls, values: dict[str, Decimal]) -> dict[str, Decimal]:
        for name, value in values.items():
            check_value(name, value)
        return values

    def describe(self) -> str:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(self.values.items()))
        return f"{self.date.isoformat()}: {shown}"


def parse_lab_option(text: str) -> LabResult:
    """``2027-01-18:plt=25,anc=1.4`` as a result; a located :class:`LabError` otherwise.

    >>> parse_lab_option("2027-01-18:plt=25,anc=1.4").values["plt"]
    Decimal('25')
    """
    when_text, sep, rest = text.partition(":")
    if not sep or not rest.strip():
        raise LabError(f"--lab {text}: write DATE:name=value[,name=value], e.g. 2027-01-18:plt=25,anc=1.4")
    try:
        when = date.fromisoformat(when_text.strip())
    except ValueError:
        raise LabError(f"--lab {text}: {when_text!r} is not a date (YYYY-MM-DD)") from None
    values: dict[str, Any] = {}
    for part in rest.split(","):
        name, eq, raw = part.partition("=")
        name = name.strip().lower()
        if not eq:
            raise LabError(f"--lab {text}: {part!r} is not name=value")
        if name in values:
            raise LabError(f"--lab {text}: {name} is given twice")
        try:
            number = Decimal(raw.strip())
        except InvalidOperation:
            raise LabError(f"--lab {text}: {raw.strip()!r} is not a number") from None
        if not number.is_finite():
            raise LabError(f"--lab {text}: {raw.strip()!r} is not a number")
        try:
            check_value(name, number)
        except ValueError as exc:
            raise LabError(f"--lab {text}: {exc}") from None
        values[name] = number
    return LabResult(date=when, values=values)
