"""Patient parameters that body-size dosing needs (BSA, weight), and the BSA formulas.

BSA is rounded to 2 decimals, as charts and prescriptions state it, so the computed mg of a
mg/m² dose is reproducible by hand.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Patient", "bsa_dubois", "bsa_mosteller"]

_TWO_PLACES = Decimal("0.01")


def bsa_mosteller(height_cm: Decimal | float, weight_kg: Decimal | float) -> Decimal:
    """Mosteller (1987): sqrt(height_cm × weight_kg / 3600), in m², 2 decimals."""
    value = math.sqrt(float(height_cm) * float(weight_kg) / 3600.0)
    return Decimal(repr(value)).quantize(_TWO_PLACES, ROUND_HALF_UP)


def bsa_dubois(height_cm: Decimal | float, weight_kg: Decimal | float) -> Decimal:
    """DuBois & DuBois (1916): 0.007184 × W^0.425 × H^0.725, in m², 2 decimals."""
    value = 0.007184 * float(weight_kg) ** 0.425 * float(height_cm) ** 0.725
    return Decimal(repr(value)).quantize(_TWO_PLACES, ROUND_HALF_UP)


class Patient(BaseModel):
    """What the engine may need to turn mg/m² and mg/kg into mg. All fields optional."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    bsa_m2: Decimal | None = Field(default=None, gt=0, le=5, description="Body-surface area in m².")
    height_cm: Decimal | None = Field(default=None, gt=30, le=260)
    weight_kg: Decimal | None = Field(default=None, gt=2, le=400)
    bsa_formula: Literal["mosteller", "dubois"] = "mosteller"

    @model_validator(mode="after")
    def _check(self) -> Patient:
        if self.bsa_m2 is not None and self.height_cm is not None:
            raise ValueError("give either a BSA or height and weight, not both")
        return self

    @property
    def bsa(self) -> Decimal | None:
        """The BSA given, else computed from height and weight, else None."""
        if self.bsa_m2 is not None:
            return self.bsa_m2
        if self.height_cm is not None and self.weight_kg is not None:
            formula = bsa_dubois if self.bsa_formula == "dubois" else bsa_mosteller
            return formula(self.height_cm, self.weight_kg)
        return None

    def describe(self) -> str:
        bits = []
        if self.bsa_m2 is not None:
            bits.append(f"BSA {self.bsa_m2} m² (given)")
        elif self.bsa is not None:
            bits.append(
                f"BSA {self.bsa} m² ({self.bsa_formula.capitalize()}, {self.height_cm} cm, {self.weight_kg} kg)"
            )
        if self.weight_kg is not None and self.height_cm is None:  # with a height, the BSA line names it
            bits.append(f"weight {self.weight_kg} kg")
        return ", ".join(bits)
