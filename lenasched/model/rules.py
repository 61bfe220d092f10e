"""Dose-modification rules as data: a label's "platelets fall below 30,000/mcL: interrupt" table.

A protocol's ``dose_modification:`` block lists rules. Each rule watches one lab value (``anc``,
``plt`` in 10^9/L, ``crcl`` in mL/min) or the CTCAE grade of a named toxicity, and says what to
do when it is crossed:

- ``interrupt``: hold the drug from the date of the result; resume on the date of the first
  result that has recovered (``recover_at_least`` / ``recover_grade_at_most``), at ``resume_at``
  (``same``, ``lower`` = next lower dose level, ``start`` = the regimen's starting dose) the first
  time, and at ``then_resume_at`` for each subsequent drop (the label's "for each subsequent drop").
- ``delay_cycle``: a result below the threshold dated in the ``checked_within_days`` before a
  cycle's day 1 keeps the cycle from starting until a result shows recovery (the cycle is delayed);
  ``cycles: first`` checks only cycle 1 (a label's "start treatment when counts are at least ...").

Every number and choice carries its source like any protocol value, so the audit trail can quote
the label's own row. Below the lowest dose level the drug stops, recorded (the engine's rule).
The rules only say what a table says; ``lenasched.engine.lab_rules`` applies them to results.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, model_validator

from lenasched.model.base import FieldProblem, Frozen
from lenasched.model.drugs import LENALIDOMIDE
from lenasched.model.shapes import LAB_UNITS, LabRuleShape
from lenasched.model.sourced import Sourced

__all__ = ["LAB_NAMES", "LAB_UNITS", "LabRule", "ResumeAt"]

LAB_NAMES = ("anc", "plt", "crcl")
"""The lab values rules and results may name."""


ResumeAt = Literal["same", "lower", "start"]
Count = Annotated[Decimal, Field(ge=0, le=10_000)]
Grade = Annotated[int, Field(ge=1, le=5)]


class LabRule(LabRuleShape, Frozen):
    """One row of a dose-modification table: a condition on one lab value or toxicity, and its action."""

    id: str = Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Short name the audit trail uses.",
        examples=["thrombocytopenia"],
    )
    drug: str = Field(default=LENALIDOMIDE, description="The drug the rule modifies.", examples=["lenalidomide"])
    lab: Literal["anc", "plt", "crcl"] | None = Field(
        default=None,
        description="The lab value watched: anc and plt in 10^9/L (1.0 = 1,000/mcL), crcl in mL/min.",
        examples=["anc"],
    )
    toxicity: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9-]*$",
        description="Instead of `lab`: a named toxicity graded by CTCAE; `any` matches every named toxicity.",
        examples=["rash"],
    )
    below: Sourced[Count] | None = Field(
        default=None,
        description="The rule fires when the value is below this.",
        examples=[{"value": 1.0, "source": "primary", "detail": 'Table 1: "Fall to <1000/mcL"'}],
    )
    grade_at_least: Sourced[Grade] | None = Field(
        default=None, description="The rule fires at this grade or worse.", examples=[3]
    )
    action: Sourced[Literal["interrupt", "delay_cycle"]] = Field(
        description=(
            "`interrupt` (hold the drug, resume on recovery) or `delay_cycle` (do not "
            "start the next cycle until recovery)."
        ),
        examples=["interrupt"],
    )
    recover_at_least: Sourced[Count] | None = Field(
        default=None, description="Resume (or start the cycle) when the value is at least this.", examples=[1.0]
    )
    recover_grade_at_most: Sourced[Annotated[int, Field(ge=0, le=4)]] | None = Field(
        default=None, description="Resume when the toxicity has improved to this grade or better.", examples=[2]
    )
    resume_at: Sourced[ResumeAt] | None = Field(
        default=None,
        description="Dose on the first recovery: same, lower (next lower level) or start.",
        examples=["start"],
    )
    then_resume_at: Sourced[ResumeAt] | None = Field(
        default=None,
        description="Dose on each later recovery after another drop; default: resume_at.",
        examples=["lower"],
    )
    checked_within_days: Sourced[Annotated[int, Field(ge=0, le=28)]] | None = Field(
        default=None,
        description="delay_cycle: results dated this many days before a cycle's day 1 count for it.",
        examples=[3],
    )
    cycles: Sourced[Literal["every", "first"]] | None = Field(
        default=None,
        description="delay_cycle: `every` cycle (default) or only the `first` (a condition for starting treatment).",
        examples=["first"],
    )

    @model_validator(mode="after")
    def _check(self) -> LabRule:
        if (self.lab is None) == (self.toxicity is None):
            raise FieldProblem("a rule watches exactly one of `lab` or `toxicity`", (), "e.g. `lab: plt`")
        if self.lab is not None:
            if self.below is None or self.recover_at_least is None:
                raise FieldProblem("a lab rule needs `below` and `recover_at_least`", ("below",))
            if self.grade_at_least is not None or self.recover_grade_at_most is not None:
                raise FieldProblem("grades go with `toxicity`, not `lab`", ("grade_at_least",))
            if self.recover_at_least.value < self.below.value:
                raise FieldProblem(
                    f"recovery at {self.recover_at_least.value} is below the threshold {self.below.value}",
                    ("recover_at_least",),
                )
        else:
            if self.grade_at_least is None or self.recover_grade_at_most is None:
                raise FieldProblem("a toxicity rule needs `grade_at_least` and `recover_grade_at_most`", ())
            if self.below is not None or self.recover_at_least is not None:
                raise FieldProblem("`below`/`recover_at_least` go with `lab`, not `toxicity`", ("below",))
            if self.recover_grade_at_most.value >= self.grade_at_least.value:
                raise FieldProblem(
                    "recovery must be a better grade than the one that fires", ("recover_grade_at_most",)
                )
        interrupt = self.action.value == "interrupt"
        if interrupt and self.resume_at is None:
            raise FieldProblem("an interruption needs `resume_at` (same, lower or start)", ("resume_at",))
        if not interrupt and (self.resume_at is not None or self.then_resume_at is not None):
            raise FieldProblem("a delayed cycle starts at its planned dose: no `resume_at`", ("resume_at",))
        if not interrupt and self.checked_within_days is None:
            raise FieldProblem("delay_cycle needs `checked_within_days`", ("checked_within_days",))
        if interrupt and self.cycles is not None:
            raise FieldProblem("`cycles` selects the cycles a delay_cycle rule checks", ("cycles",))
        if not interrupt and self.toxicity is not None:
            raise FieldProblem("delay_cycle watches a lab value", ("action",))
        return self
