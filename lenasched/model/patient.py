"""Patient parameters that body-size dosing needs (BSA, weight), and the BSA formulas.

BSA is rounded to 2 decimals, as charts and prescriptions state it, so the computed mg of a
mg/m² dose is reproducible by hand.

Values outside lenasched's plausibility ranges (``lenasched.model.plausible``: BSA, height, weight, the
BSA computed from height and weight) are refused unless allowed by name (``allow_implausible``).
Every problem with the inputs is a ``ScheduleError`` (``ImplausibleValueError`` for a range), never
a bare pydantic ``ValidationError``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lenasched.errors import LenaschedError, ScheduleError
from lenasched.model.plausible import check_plausible, known_limit_names

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

    bsa_m2: Decimal | None = Field(default=None, gt=0, description="Body-surface area in m².")
    height_cm: Decimal | None = Field(default=None, gt=0)
    weight_kg: Decimal | None = Field(default=None, gt=0)
    bsa_formula: Literal["mosteller", "dubois"] = "mosteller"
    allow_implausible: frozenset[str] = Field(
        default=frozenset(),
        description="Names of plausibility limits (plausible.LIMITS) this patient may exceed, e.g. {'bsa'}.",
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _patient_error(exc) from None

    @classmethod
    def model_validate(cls, *args: Any, **kwargs: Any) -> Patient:  # errors as in __init__
        try:
            return super().model_validate(*args, **kwargs)
        except ValidationError as exc:
            raise _patient_error(exc) from None

    @field_validator("allow_implausible", mode="before")
    @classmethod
    def _known_names(cls, value: Any) -> Any:
        return known_limit_names(value) if isinstance(value, (str, set, frozenset, list, tuple)) else value

    @model_validator(mode="after")
    def _check(self) -> Patient:
        if self.bsa_m2 is not None and self.height_cm is not None:
            raise ValueError("give either a BSA or height and weight, not both")
        allow = self.allow_implausible
        for name, value in (("bsa", self.bsa_m2), ("height", self.height_cm), ("weight", self.weight_kg)):
            if value is not None:
                check_plausible(name, value, allow)  # first: its message says what is wrong and how to allow it
                _check_hard_limit(name, value)
        if self.bsa_m2 is None and self.bsa is not None:
            note = f"{self.bsa_formula.capitalize()}, from {self.height_cm} cm and {self.weight_kg} kg"
            check_plausible("bsa", self.bsa, allow, note=note)
            _check_hard_limit("bsa", self.bsa)
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
        if self.allow_implausible and bits:
            bits.append("plausibility check waived for: " + ", ".join(sorted(self.allow_implausible)))
        return ", ".join(bits)


_HARD_LIMITS: dict[str, tuple[Decimal, Decimal, str]] = {
    "bsa": (Decimal(0), Decimal(5), "m²"),
    "height": (Decimal(30), Decimal(260), "cm"),
    "weight": (Decimal(2), Decimal(400), "kg"),
}
"""``low < value <= high`` whatever ``allow_implausible`` says: beyond these a value is an error, not a rare patient."""


def _check_hard_limit(name: str, value: Decimal) -> None:
    low, high, unit = _HARD_LIMITS[name]
    if not low < value <= high:
        raise ScheduleError(
            f"patient {name} {value} {unit} is outside the hard limit {low}-{high} {unit}, "
            "which allow_implausible does not lift"
        )


def _patient_error(exc: ValidationError) -> LenaschedError:
    """The error to raise for a failed validation: a lenasched error raised by a check as it is (an
    ``ImplausibleValueError`` keeps its fields), anything else as a ``ScheduleError`` naming the field."""
    errors = exc.errors()
    first = errors[0]
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, LenaschedError):
        return cause
    loc = ".".join(str(p) for p in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return ScheduleError(f"patient{' ' + loc if loc else ''}: {message}{more}")
