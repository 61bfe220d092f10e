"""How exact doses are written: ``Decimal('2.50')`` -> ``"2.5"``, never ``2.4999999``."""

from __future__ import annotations

from decimal import Decimal

__all__ = ["format_dose", "format_unit"]

_UNIT_TEXT = {"mg": "mg", "mg/m2": "mg/m²", "mg/kg": "mg/kg"}


def format_dose(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text


def format_unit(unit: str) -> str:
    """Display form of a unit (``mg/m2`` -> ``mg/m²``); files keep the ASCII form."""
    return _UNIT_TEXT.get(unit, unit)
