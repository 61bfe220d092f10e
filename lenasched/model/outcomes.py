"""Reported outcomes of the trial behind a protocol, as published (review Tables 1–2, primary papers).

A field left out means "not reported", which is never the same as 0.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from lenasched.model.shapes import OUTCOME_FIELDS, OutcomesShape
from lenasched.model.sourced import Sourced

__all__ = ["OUTCOME_FIELDS", "Outcomes"]

Percent = Sourced[Decimal | str]


class Outcomes(OutcomesShape, BaseModel):
    """Outcomes as reported. Percentages are numbers (``52``) or short text (``"<1"``, ``"34 (of cycles)"``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    patients: Sourced[int] | None = Field(
        default=None,
        description="Number of patients treated.",
        examples=[{"value": 60, "source": "primary", "detail": "Sixty patients"}],
    )
    orr_pct: Percent | None = Field(default=None, description="Overall response rate, % of patients.", examples=[65])
    cr_pct: Percent | None = Field(default=None, description="Complete response rate, % of patients.", examples=[10])
    tls_pct: Percent | None = Field(default=None, description="Tumour lysis syndrome, all grades.", examples=[0])
    tfr_pct: Percent | None = Field(default=None, description="Tumour flare reaction, all grades.", examples=[52])
    neutropenia_g34_pct: Percent | None = Field(
        default=None, description="Grade 3/4 neutropenia, % of patients, or as reported.", examples=["34 (of cycles)"]
    )
    thrombocytopenia_g34_pct: Percent | None = Field(
        default=None, description="Grade 3/4 thrombocytopenia, % of patients.", examples=[12]
    )
    anemia_g34_pct: Percent | None = Field(
        default=None, description="Grade 3/4 anaemia, % of patients.", examples=["<1"]
    )
    os: Sourced[str] | None = Field(
        default=None,
        description="Overall survival as reported, e.g. '88% at 2 years'.",
        examples=["88% (estimated 2-year)"],
    )
    pfs: Sourced[str] | None = Field(
        default=None, description="Progression-free survival as reported.", examples=["60% (estimated 2-year)"]
    )
