"""The protocol format, version 1: frozen pydantic models that validate themselves.

Vocabulary (see docs/architecture.md): a **Protocol** is a sequence of **Phases**; a phase repeats
**Cycles** of a fixed length; in each cycle every **Drug regimen** has an on-**Window** (the days
it is given); the engine turns that into **Dose days**. Models know no YAML and no dates.
"""

from __future__ import annotations

import difflib
import itertools
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from lenasched.model.base import FieldProblem, Frozen
from lenasched.model.dayspec import (
    CycleSet,
    format_days,
    format_lead_in_days,
    parse_cycles,
    parse_days,
    parse_lead_in_days,
)
from lenasched.model.doses import format_dose
from lenasched.model.drugs import LENALIDOMIDE, normalise_drug
from lenasched.model.limits import (
    MAX_CYCLE_DAY,
    MAX_CYCLES_IN_A_PHASE,
    MAX_ESCALATION_LEVELS,
    MAX_INTERVAL_DAYS,
)
from lenasched.model.outcomes import Outcomes
from lenasched.model.routes import Route
from lenasched.model.rules import LabRule
from lenasched.model.shapes import (
    AtCycleDays,
    CycleDayShape,
    DrugRegimenShape,
    EscalationShape,
    EveryCycles,
    EveryDays,
    IncludeShape,
    LeadInRegimenShape,
    LeadInShape,
    PhaseShape,
    ProtocolShape,
    ReferenceShape,
    RepeatShape,
    Timing,
)
from lenasched.model.sourced import Sourced, iter_sourced

__all__ = [
    "AddOn",
    "AtCycleDays",
    "CycleDay",
    "DoseUnit",
    "DrugRegimen",
    "Escalation",
    "EveryCycles",
    "EveryDays",
    "FieldProblem",
    "LeadIn",
    "LeadInRegimen",
    "Phase",
    "Protocol",
    "Reference",
    "Repeat",
    "Timing",
]

SCHEMA_VERSION = 1

_SELECTOR_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": r"^\s*\d+\s*(-\s*\d*\s*)?(\s*,\s*\d+\s*(-\s*\d*\s*)?)*$"},
        {"type": "array", "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}},
    ]
}

DaySet = Annotated[
    tuple[int, ...],
    BeforeValidator(parse_days),
    PlainSerializer(format_days, return_type=str),
    WithJsonSchema(_SELECTOR_SCHEMA),
]
Cycles = Annotated[
    CycleSet,
    BeforeValidator(parse_cycles),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*[Aa][Ll][Ll]\s*$"},
                *_SELECTOR_SCHEMA["anyOf"],
                # one range with a step, "7-23/2": every 2nd cycle from 7 to 23 (parse_cycles)
                {"type": "string", "pattern": r"^\s*\d+\s*(-\s*\d*\s*)?/\s*\d+\s*$"},
            ]
        }
    ),
]
LeadInDays = Annotated[
    tuple[int, ...],
    BeforeValidator(parse_lead_in_days),
    PlainSerializer(format_lead_in_days, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "maximum": -1},
                {"type": "string", "pattern": r"^\s*-\d+\s*(\.\.\s*-\d+\s*)?$"},
                {"type": "array", "items": {"type": "integer", "maximum": -1}},
            ]
        }
    ),
]
PositiveDose = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=12, decimal_places=4)]
DoseUnit = Literal["mg", "mg/m2", "mg/kg"]
Role = Literal["treatment", "prophylaxis", "supportive"]

_UNIT_ALIASES = {"mg/m²": "mg/m2", "mg/m^2": "mg/m2", "mg/sqm": "mg/m2", "mg / m2": "mg/m2"}


def _oral_lenalidomide(drug: str, route: str) -> None:
    """Lenalidomide exists only as oral capsules: any other route is a typo, never a plan."""
    if drug == LENALIDOMIDE and route != "oral":
        raise FieldProblem(
            f"lenalidomide is given by mouth (capsules); route {route!r} does not exist for it",
            ("route",),
            "use `route: oral`",
        )


class Reference(ReferenceShape, Frozen):
    """A publication or registry record that values can cite."""

    authors: list[str] = Field(
        default_factory=list,
        description="'Surname Initials', first authors first.",
        examples=[["Badoux XC", "Keating MJ", "Wierda WG", "et al."]],
    )
    title: str = Field(
        description="Title of the publication or registry record.", examples=["Lenalidomide as initial therapy ..."]
    )
    journal: str | None = Field(
        default=None,
        description="Journal, or the meeting and abstract number.",
        examples=["Blood (ASH annual meeting abstract 45)"],
    )
    year: int | None = Field(default=None, ge=1950, le=2100, description="Year of publication.", examples=[2011])
    volume: str | None = Field(default=None, description='Volume and issue, as text ("118(13)").', examples=["118(13)"])
    pages: str | None = Field(default=None, description="First page or page range, as text.", examples=["1266-1273"])
    pmid: str | None = Field(
        default=None, description="PubMed id; linked in the catalogue and in FHIR exports.", examples=["19734418"]
    )
    doi: str | None = Field(
        default=None,
        description="DOI without the `https://doi.org/` prefix.",
        examples=["10.3324/haematol.2009.005835"],
    )
    registry: str | None = Field(
        default=None, description="Trial registry id, e.g. NCT00535873.", examples=["NCT00535873"]
    )
    url: str | None = Field(
        default=None,
        description="Web page of the publication or abstract.",
        examples=["http://ashpublications.com/blood/article/118/13/3489/29261"],
    )
    note: str | None = Field(
        default=None,
        description="What was, or could not be, verified about this reference.",
        examples=["Co-author order after the first author not verified."],
    )


class CycleDay(CycleDayShape, Frozen):
    """A named day of a phase: day ``day`` of cycle ``cycle``."""

    cycle: int = Field(
        ge=1, le=MAX_CYCLES_IN_A_PHASE, description="Cycle number within the phase, from 1.", examples=[1]
    )
    day: int = Field(ge=1, le=MAX_CYCLE_DAY, description="Day of that cycle, from 1.", examples=[8])


class Repeat(RepeatShape, Frozen):
    """A schedule that is not "days of a cycle": every N days, weeks or months from a cycle day.

    It ends after ``count`` administrations, after ``for_days`` days, or with the phase.
    """

    every_days: Sourced[Annotated[int, Field(ge=1, le=MAX_INTERVAL_DAYS)]] | None = Field(
        default=None, description="Given every N days.", examples=[1]
    )
    every_weeks: Sourced[Annotated[int, Field(ge=1, le=MAX_INTERVAL_DAYS // 7)]] | None = Field(
        default=None, description="Given every N weeks.", examples=[4]
    )
    every_months: Sourced[Annotated[int, Field(ge=1, le=MAX_INTERVAL_DAYS // 30)]] | None = Field(
        default=None, description="Given every N calendar months, on the same day of the month.", examples=[3]
    )
    start: CycleDay = Field(
        default_factory=lambda: CycleDay(cycle=1, day=1),
        description="First administration.",
        examples=[{"cycle": 1, "day": 1}],
    )
    count: Sourced[Annotated[int, Field(ge=1, le=MAX_CYCLES_IN_A_PHASE)]] | None = Field(
        default=None, description="Number of administrations; then it stops.", examples=[8]
    )
    for_days: Sourced[Annotated[int, Field(ge=1, le=MAX_CYCLES_IN_A_PHASE * MAX_CYCLE_DAY)]] | None = Field(
        default=None, description="Duration from the first administration (day 1) in days.", examples=[90]
    )

    @model_validator(mode="after")
    def _check(self) -> Repeat:
        given = [n for n in ("every_days", "every_weeks", "every_months") if getattr(self, n) is not None]
        if len(given) != 1:
            raise FieldProblem("a repeat needs exactly one of every_days, every_weeks, every_months", ())
        return self


class Escalation(EscalationShape, Frozen):
    """Intra-patient dose escalation: where it starts, how it steps, when, and where it stops.

    Either ``start``/``step``/``cap`` (equal steps) or ``sequence`` (the doses in order).
    Timing is one of ``every_days`` (counted from the drug's first dose in the phase; the first
    increase on ``first_step_day``), ``every_cycles`` (from ``first_step_cycle``), or ``at``
    (one named cycle day per increase).
    """

    start: Sourced[PositiveDose] | None = Field(
        default=None,
        description="First dose (with `step` and `cap`).",
        examples=[{"value": 2.5, "source": "primary", "detail": "starting dose"}],
    )
    step: Sourced[Decimal] | None = Field(
        default=None,
        description=("Increase per step (with `start` and `cap`); `cap - start` must be a multiple of it."),
        examples=[2.5],
    )
    cap: Sourced[PositiveDose] | None = Field(default=None, description="Target dose; never exceeded.", examples=[10])
    sequence: Sourced[list[PositiveDose]] | None = Field(
        default=None, description="Doses in escalation order, first = start, last = cap.", examples=[[2.5, 5, 10]]
    )
    every_days: Sourced[Annotated[int, Field(ge=1, le=MAX_INTERVAL_DAYS)]] | None = Field(
        default=None,
        description=("Increase every N days of the drug's course (day 1 = its first dose in the phase)."),
        examples=[28],
    )
    first_step_day: Sourced[Annotated[int, Field(ge=2, le=MAX_INTERVAL_DAYS)]] | None = Field(
        default=None,
        description="Day of the drug's course (1 = first dose) of the first increase; default 1 + every_days.",
        examples=[57],
    )
    every_cycles: Sourced[Annotated[int, Field(ge=1, le=MAX_CYCLES_IN_A_PHASE)]] | None = Field(
        default=None, description="Increase every N cycles of the phase.", examples=[1]
    )
    first_step_cycle: Sourced[Annotated[int, Field(ge=2, le=MAX_CYCLES_IN_A_PHASE)]] | None = Field(
        default=None,
        description="The drug's own cycle of the first increase (1 = its first cycle); default 1 + every_cycles.",
        examples=[3],
    )
    at: Sourced[list[CycleDay]] | None = Field(
        default=None,
        description="One cycle day per increase, in order; cycles count the drug's own cycles (1 = its first).",
        examples=[[{"cycle": 1, "day": 8}, {"cycle": 1, "day": 15}]],
    )
    conditional_on_tolerance: bool = Field(
        default=True,
        description="Increase only if the previous dose was tolerated (the calendar plans the increase).",
        examples=[True],
    )

    @model_validator(mode="after")
    def _check(self) -> Escalation:
        stepped = [n for n in ("start", "step", "cap") if getattr(self, n) is not None]
        if self.sequence is not None and stepped:
            raise FieldProblem(
                "give either start/step/cap or sequence, not both", (stepped[0],), "drop one of the two forms"
            )
        if self.sequence is None and len(stepped) != 3:
            missing = sorted({"start", "step", "cap"} - set(stepped))
            raise FieldProblem(
                f"escalation needs start, step and cap (missing: {', '.join(missing)})",
                (),
                "or give `sequence: [2.5, 5, 10]`",
            )
        timing = [n for n in ("every_days", "every_cycles", "at") if getattr(self, n) is not None]
        if len(timing) != 1:
            raise FieldProblem(
                "escalation needs exactly one timing: every_days, every_cycles or at"
                + (f" (got {', '.join(timing)})" if timing else ""),
                (timing[1],) if len(timing) > 1 else (),
                "e.g. `every_days: 28`",
            )
        if self.first_step_day is not None and self.every_days is None:
            raise FieldProblem("first_step_day goes with every_days", ("first_step_day",))
        if self.first_step_cycle is not None and self.every_cycles is None:
            raise FieldProblem("first_step_cycle goes with every_cycles", ("first_step_cycle",))
        if self.sequence is not None:
            seq = self.sequence.value
            if len(seq) < 2:
                raise FieldProblem("a sequence needs at least two doses", ("sequence",))
            if len(seq) > MAX_ESCALATION_LEVELS:
                raise FieldProblem(
                    f"a sequence of {len(seq)} doses is longer than the limit of {MAX_ESCALATION_LEVELS}",
                    ("sequence",),
                )
            if any(b <= a for a, b in itertools.pairwise(seq)):
                raise FieldProblem("sequence doses must increase", ("sequence",))
        else:
            assert self.start and self.step and self.cap
            start, step, cap = self.start.value, self.step.value, self.cap.value
            if start > cap:
                raise FieldProblem(f"start dose {start} is above the cap {cap}", ("start",))
            if step <= 0:
                raise FieldProblem(f"a step of {step} never reaches the cap {cap}", ("step",), "use a positive step")
            if cap - start > step * (MAX_ESCALATION_LEVELS - 1):  # compared, not divided: 1e-30 steps stay cheap
                raise FieldProblem(
                    f"steps of {step} from {start} to {cap} make more than {MAX_ESCALATION_LEVELS} dose levels "
                    f"(the limit)",
                    ("step",),
                    "use a larger step, or list the doses with `sequence`",
                )
            if (cap - start) % step != 0:
                last = start + ((cap - start) // step) * step
                raise FieldProblem(
                    f"steps of {step} from {start} never land on the cap {cap} "
                    f"(they go {format_dose(last)} then {format_dose(last + step)}, overshooting it)",
                    ("step",),
                    "make (cap - start) a multiple of step",
                )
        if self.at is not None and len(self.at.value) < len(self.levels) - 1:
            raise FieldProblem(
                f"{len(self.levels) - 1} increases are needed to reach the cap, "
                f"but `at` names only {len(self.at.value)} day(s): the schedule never reaches the cap",
                ("at",),
            )
        return self


class _Given(Frozen):
    """What every regimen says about the drug itself: its name (one normal form), route, role and unit."""

    drug: str = Field(
        pattern=r"^[a-z][a-z0-9 -]*$",
        description="Generic name; read in lower case with single spaces (`Lenalidomide` is `lenalidomide`).",
        examples=["lenalidomide"],
        # the schema checks the name as written; the model checks it after normalise_drug
        json_schema_extra={"pattern": r"^\s*[A-Za-z][A-Za-z0-9\s-]*$"},
    )
    route: Route = Field(
        default="oral",
        description=(
            "How it is given: `oral`, `iv` (intravenous) or `sc` (subcutaneous). iv and sc days are clinic days."
        ),
        examples=["iv"],
    )
    role: Role = Field(
        default="treatment",
        description="'prophylaxis' and 'supportive' drugs are marked as such.",
        examples=["prophylaxis"],
    )
    unit: DoseUnit = Field(
        default="mg",
        description=(
            "Unit of every dose of the regimen. `mg/m2` needs the patient's body-surface "
            "area, `mg/kg` the weight; `mg/m²` is read as `mg/m2`."
        ),
        examples=["mg/m2"],
    )

    @field_validator("unit", mode="before")
    @classmethod
    def _unit_alias(cls, value: Any) -> Any:
        return _UNIT_ALIASES.get(value, value) if isinstance(value, str) else value

    @field_validator("drug", mode="before")
    @classmethod
    def _drug_name(cls, value: Any) -> Any:
        return normalise_drug(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _route_exists(self) -> _Given:
        _oral_lenalidomide(self.drug, self.route)
        return self


class DrugRegimen(DrugRegimenShape, _Given):
    """One drug within a phase: its dose (fixed or escalating), its window in each cycle."""

    dose: Sourced[PositiveDose] | None = Field(
        default=None,
        description="Fixed dose per administration day.",
        examples=[{"value": 375, "source": "primary", "detail": "rituximab 375 mg/m2"}],
    )
    first_doses: Sourced[list[PositiveDose]] | None = Field(
        default=None,
        description="Doses of the first administrations (e.g. [300] then `dose` 1000); needs `dose`.",
        examples=[[375]],
    )
    escalation: Escalation | None = Field(
        default=None,
        description=("An intra-patient dose escalation instead of a fixed `dose` (see [Escalation](#escalation))."),
        examples=[{"start": 5, "step": 5, "cap": 25, "every_days": 28, "first_step_day": 57}],
    )
    days: Sourced[DaySet] | None = Field(
        default=None, description="Days of the cycle the drug is given, e.g. '1-21' or '1, 8, 15'.", examples=["1-21"]
    )
    repeat: Repeat | None = Field(
        default=None,
        description="Instead of `days`: every N days/weeks/months.",
        examples=[{"every_weeks": 4, "start": {"cycle": 1, "day": 1}, "count": 8}],
    )
    addon: str | None = Field(default=None, description="Set by the loader on regimens that come from an add-on.")
    cycles: Sourced[Cycles] | None = Field(
        default=None,
        description="Cycles of the phase it applies to: '2-', '1-6', '7-23/2'; default all.",
        examples=["2-"],
    )
    cycle_days: dict[int, Sourced[DaySet]] = Field(
        default_factory=dict,
        description="Per-cycle exceptions to `days`, keyed by cycle number.",
        examples=[{1: "1, 8, 15, 22"}],
    )
    first_cycle_start_day: Sourced[Annotated[int, Field(ge=1)]] | None = Field(
        default=None,
        description="In the first cycle it applies to, the drug starts on this day (e.g. 9).",
        examples=[9],
    )
    cap: Sourced[PositiveDose] | None = Field(default=None, description="Highest dose allowed per day.", examples=[25])
    dose_levels: Sourced[list[PositiveDose]] | None = Field(
        default=None,
        description="Dose-reduction ladder, e.g. [25, 20, 15, 10, 5, 2.5].",
        examples=[[25, 20, 15, 10, 5, 2.5]],
    )
    setting: Sourced[Literal["home", "clinic"]] | None = Field(
        default=None,
        description=(
            "Where it is given: `home` or `clinic`. Default from the route: oral at home, iv and sc at the "
            "clinic; set `home` for an injection the patient gives (e.g. daily enoxaparin)."
        ),
        examples=[{"value": "home", "assumption": "daily self-injected prophylaxis"}],
    )
    infusion_minutes: Sourced[Annotated[int, Field(ge=1, le=1440)]] | None = Field(
        default=None,
        description="Duration of each intravenous infusion in minutes, only where a source states it "
        "(the NONMEM export writes RATE = dose / duration; without it an infusion is written as a bolus).",
        examples=[{"value": 90, "source": "primary", "detail": "over 90 minutes"}],
    )
    notes: str | None = Field(
        default=None,
        description="Free text about the drug; `lenasched show` prints it.",
        examples=["Tumour-lysis prophylaxis."],
    )

    @model_validator(mode="after")
    def _check(self) -> DrugRegimen:
        if self.infusion_minutes is not None and self.route != "iv":
            raise FieldProblem(
                f"infusion_minutes is for intravenous drugs; {self.drug} is {self.route}",
                ("infusion_minutes",),
                "set `route: iv`, or remove infusion_minutes",
            )
        if (self.dose is None) == (self.escalation is None):
            raise FieldProblem(
                "give exactly one of `dose` (fixed) or `escalation`",
                ("dose",) if self.dose is not None else (),
                "a fixed dose is `dose: 10`",
            )
        if self.first_doses is not None and self.dose is None:
            raise FieldProblem("first_doses goes with a fixed `dose` (the later doses)", ("first_doses",))
        if (self.days is None) == (self.repeat is None):
            raise FieldProblem(
                "give exactly one of `days` (days of each cycle) or `repeat` (every N days/weeks/months)",
                ("repeat",) if self.repeat is not None else (),
                "e.g. `days: 1-21`",
            )
        cap = self.max_dose
        for level in self.planned_doses:
            if level > cap:
                where = ("dose",) if self.dose is not None else ("escalation",)
                raise FieldProblem(f"dose {level} {self.unit} is above the cap {cap} {self.unit}", where)
        if self.dose_levels is not None:
            ladder = self.dose_levels.value
            above = [d for d in ladder if d > cap]
            if above:
                raise FieldProblem(f"dose level {above[0]} {self.unit} is above the cap {cap}", ("dose_levels",))
            missing = [d for d in self.planned_doses if d not in ladder]
            if missing:
                raise FieldProblem(
                    f"planned dose {missing[0]} {self.unit} is not one of the dose levels", ("dose_levels",)
                )
        for cycle in self.cycle_days:
            if cycle not in self.applies_to:
                raise FieldProblem(
                    f"cycle {cycle} is not among this drug's cycles ({self.applies_to})", ("cycle_days", cycle)
                )
        if self.first_cycle_start_day is not None:
            first = self.days_in(self.applies_to.first, offset=False)
            if not any(d >= self.first_cycle_start_day.value for d in first):
                raise FieldProblem(
                    f"day {self.first_cycle_start_day.value} is after the last day of the window",
                    ("first_cycle_start_day",),
                )
        return self


class Phase(PhaseShape, Frozen):
    """A run of cycles of one length (induction, consolidation, maintenance...)."""

    name: str = Field(
        min_length=1,
        description=(
            "Phase name: `treatment` for a single phase, else `induction`, "
            "`consolidation`, `maintenance`... Unique within the protocol; it is the "
            "`phase` column of the CSV."
        ),
        examples=["maintenance"],
    )
    cycle_length_days: Sourced[Annotated[int, Field(ge=1, le=MAX_CYCLE_DAY)]] = Field(
        description="Length of each cycle in days (1-366); exceptions go in `cycle_lengths`.",
        examples=[{"value": 28, "source": "primary", "detail": "Methods: 28-day cycles"}],
    )
    cycles: Sourced[Annotated[int, Field(ge=1, le=MAX_CYCLES_IN_A_PHASE)]] | None = Field(
        default=None,
        description="Number of cycles; omit and set `until_progression: true` for open-ended.",
        examples=[{"value": 6, "source": "primary", "detail": "up to 6 cycles"}],
    )
    until_progression: Sourced[bool] | None = Field(
        default=None,
        description="`true` = open-ended (until progression or unacceptable toxicity), expanded up to the "
        "caller's horizon; like any value it can say where it comes from.",
        examples=[{"value": True, "source": "primary", "detail": "until disease progression"}],
    )
    cycle_lengths: dict[int, Sourced[Annotated[int, Field(ge=1, le=MAX_CYCLE_DAY)]]] = Field(
        default_factory=dict,
        description="Per-cycle exceptions to the cycle length, e.g. {1: 35}.",
        examples=[{1: {"value": 35, "source": "primary", "detail": "cycle 1 is 35 days"}}],
    )
    drugs: list[DrugRegimen] = Field(
        min_length=1,
        description=(
            "The drug regimens of the phase (at least one); a drug may appear twice on days that do not overlap."
        ),
        examples=[
            [
                {"drug": "lenalidomide", "dose": 10, "days": "1-21"},
                {"drug": "aspirin", "role": "prophylaxis", "dose": 81, "days": "1-28"},
            ]
        ],
    )
    notes: str | None = Field(
        default=None,
        description="Free text about the phase; `lenasched show` prints it.",
        examples=["Maintenance starts 2 months after induction."],
    )

    @model_validator(mode="after")
    def _check(self) -> Phase:
        if (self.cycles is not None) == self.open_ended:
            raise FieldProblem(
                "say how long the phase lasts: either `cycles: N` or `until_progression: true`",
                ("cycles",) if self.cycles is not None else (),
            )
        for cycle in self.cycle_lengths:
            if self.cycles is not None and cycle > self.cycles.value:
                raise FieldProblem(
                    f"cycle {cycle} does not exist (the phase has {self.cycles.value} cycles)", ("cycle_lengths", cycle)
                )
        last = self.cycles.value if self.cycles is not None else None
        for i, regimen in enumerate(self.drugs):
            for j, other in enumerate(self.drugs[:i]):
                if other.drug != regimen.drug:
                    continue
                if regimen.repeat is not None or other.repeat is not None:
                    raise FieldProblem(f"drug {regimen.drug!r} is listed twice with a repeat schedule", ("drugs", i))
                for cycle in self._cycles_alike(regimen, other):
                    both = set(regimen.days_in(cycle)) & set(other.days_in(cycle))
                    if both:
                        raise FieldProblem(
                            f"{regimen.drug} is given twice on day {min(both)} of cycle {cycle} (also by drugs.{j})",
                            ("drugs", i, "days"),
                            "split the days so each day has one dose",
                        )
        for i, regimen in enumerate(self.drugs):
            rep = regimen.repeat
            if rep is not None and (last is None or rep.start.cycle <= last):
                if rep.start.day > self.length_of(rep.start.cycle):
                    raise FieldProblem(
                        f"{rep.start} does not exist: that cycle is {self.length_of(rep.start.cycle)} days long",
                        ("drugs", i, "repeat", "start"),
                    )
            elif rep is not None:
                raise FieldProblem(f"{rep.start} is beyond the phase's {last} cycles", ("drugs", i, "repeat", "start"))
            if last is not None and regimen.applies_to.first > last:
                raise FieldProblem(
                    f"cycles {regimen.applies_to} are beyond the phase's {last} cycles", ("drugs", i, "cycles")
                )
            for cycle in self._cycles_alike(regimen, regimen):
                days = regimen.days_in(cycle, offset=False)
                length = self.length_of(cycle)
                if days and days[-1] > length:
                    where: tuple[str | int, ...] = (
                        ("drugs", i, "cycle_days", cycle) if cycle in regimen.cycle_days else ("drugs", i, "days")
                    )
                    raise FieldProblem(
                        f"{regimen.drug} days {format_days(days)} fall outside cycle {cycle}, "
                        f"which is {length} days long",
                        where,
                        f"an on-window cannot be longer than its cycle; use days within 1-{length}",
                    )
        return self

    def _cycles_alike(self, regimen: DrugRegimen, other: DrugRegimen) -> list[int]:
        """One cycle of each kind both regimens are given in, so checking these checks every cycle.

        A cycle is special when its length, its days or (the first cycle) its start day differ from
        the rule; every other cycle both are given in is like the first such one.
        """
        last = self.cycles.value if self.cycles is not None else None
        special = {*self.cycle_lengths, *regimen.cycle_days, *other.cycle_days}
        special.update((regimen.applies_to.first, other.applies_to.first))
        out = sorted(c for c in special if c >= 1 and (last is None or c <= last))
        plain = regimen.applies_to.first_shared(other.applies_to, last=last, skip=special)
        return out if plain is None else sorted({*out, plain})


class LeadInRegimen(LeadInRegimenShape, _Given):
    """A drug given on the days before cycle 1 day 1 (a lead-in or pre-medication): fixed dose, negative days."""

    dose: Sourced[PositiveDose] = Field(
        description="Fixed dose per lead-in day.",
        examples=[{"value": 300, "source": "primary", "detail": "allopurinol 300 mg/day"}],
    )
    days: Sourced[LeadInDays] = Field(
        description="Days before cycle 1 day 1, counted -1 (the day before), -2, ...; there is no day 0. "
        "E.g. '-7..-1' or [-3, -2, -1].",
        examples=[{"value": "-3..-1", "source": "primary", "detail": "days -3 - 90"}],
    )
    notes: str | None = Field(
        default=None,
        description="Free text about the drug; `lenasched show` prints it.",
        examples=["With oral hydration."],
    )


class LeadIn(LeadInShape, Frozen):
    """What is given before the first treatment cycle, on days -N..-1 (``--start`` is cycle 1 day 1)."""

    drugs: list[LeadInRegimen] = Field(
        min_length=1,
        description=("The drugs given before cycle 1 day 1, each with a fixed dose and negative days."),
        examples=[[{"drug": "lenalidomide", "dose": 5, "days": "-7..-1"}]],
    )
    notes: str | None = Field(
        default=None,
        description="Free text about the lead-in; `lenasched show` prints it.",
        examples=["Tumour-lysis prophylaxis."],
    )

    @model_validator(mode="after")
    def _check(self) -> LeadIn:
        for i, regimen in enumerate(self.drugs):
            for j, other in enumerate(self.drugs[:i]):
                both = set(regimen.days.value) & set(other.days.value) if other.drug == regimen.drug else set()
                if both:
                    raise FieldProblem(
                        f"{regimen.drug} is given twice on day {max(both)} of the lead-in (also by drugs.{j})",
                        ("drugs", i, "days"),
                    )
        return self


class Include(IncludeShape, Frozen):
    """A reference to an add-on module and the phase it joins."""

    addon: str = Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Id of the add-on: the file `protocols/addons/<id>.yaml`.",
        examples=["tfr-prednisone-prophylaxis"],
    )
    phase: str | None = Field(default=None, description="Phase name; default the first phase.", examples=["treatment"])


class AddOn(Frozen):
    """A reusable set of regimens (prophylaxis, supportive care) written once, included by protocols."""

    schema_version: Literal[1] = Field(description="Format version; this is version 1.", examples=[1])
    addon: str = Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        description="Id of the add-on; the file is `protocols/addons/<addon>.yaml`.",
        examples=["aspirin-thromboprophylaxis"],
    )
    title: str = Field(
        min_length=1,
        description="What the add-on gives, in brief.",
        examples=["Thromboprophylaxis with low-dose aspirin, daily"],
    )
    citation: Reference = Field(
        description="The source of the add-on; cite it in values as `source: primary`.",
        examples=[{"title": "A phase II study of lenalidomide in previously untreated CLL", "year": 2008}],
    )
    references: dict[str, Reference] = Field(
        default_factory=dict, description="Further sources, by key.", examples=[{}]
    )
    notes: str | None = Field(
        default=None,
        description="Free text: what the add-on assumes.",
        examples=["The dose is not stated in the sources; 81 mg assumed."],
    )
    drugs: list[DrugRegimen] = Field(
        min_length=1,
        description=(
            "The regimens merged into the including phase. Their `source:` keys are "
            "renamed to the add-on's id (`primary` becomes `aspirin-thromboprophylaxis`), "
            "so they never clash with the protocol's."
        ),
        examples=[[{"drug": "aspirin", "role": "prophylaxis", "dose": 81, "repeat": {"every_days": 1}}]],
    )


class Protocol(ProtocolShape, Frozen):
    """A dosing protocol: identity, evidence and phases. Validated on construction."""

    schema_version: Literal[1] = Field(description="Format version; this is version 1.", examples=[1])
    id: str = Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", description="firstauthor-year[-tag], lower case.", examples=["badoux-2011"]
    )
    title: str = Field(
        min_length=1,
        description=("What the protocol is, with its doses in brief. Heads every calendar and `lenasched list`."),
        examples=[
            ("Lenalidomide as initial therapy of elderly patients with CLL (5 mg daily, +5 mg every 28 days to 25 mg)")
        ],
    )
    setting: str = Field(
        min_length=1,
        description="e.g. 'relapsed/refractory CLL', 'untreated CLL'.",
        examples=["untreated CLL, age 65 or older"],
    )
    citation: Reference = Field(
        description="The primary publication; cite it in values as `source: primary`.",
        examples=[
            {
                "authors": ["Badoux XC", "Keating MJ", "Wierda WG", "et al."],
                "title": "Lenalidomide as initial therapy of elderly patients with chronic lymphocytic leukemia",
                "journal": "Blood",
                "year": 2011,
                "volume": "118(13)",
                "pages": "3489",
                "registry": "NCT00535873",
            }
        ],
    )
    references: dict[str, Reference] = Field(
        default_factory=dict,
        description="Further sources, by key.",
        examples=[
            {
                "ash2008": {
                    "authors": ["Badoux XC", "et al."],
                    "title": "Lenalidomide as initial treatment of elderly patients with CLL",
                    "journal": "Blood (ASH annual meeting abstract 45)",
                    "year": 2008,
                }
            }
        ],
    )
    notes: str | None = Field(
        default=None,
        description=(
            "Free text for the reader: how the sources were read, what was left out and "
            "why. `lenasched show` prints it."
        ),
        examples=[
            (
                "The review gives no lead-in; the primary abstract adds 56 days at 5 mg, so "
                "the first increase is on day 57."
            )
        ],
    )
    lead_in: LeadIn | None = Field(
        default=None,
        description="Drugs given on the days before cycle 1 day 1 (days -N..-1; there is no day 0).",
        examples=[{"drugs": [{"drug": "allopurinol", "role": "prophylaxis", "dose": 300, "days": "-3..-1"}]}],
    )
    phases: list[Phase] = Field(
        min_length=1,
        description=("The phases, in the order they are given. Only the last may run until progression."),
        examples=[
            [
                {
                    "name": "treatment",
                    "cycle_length_days": 28,
                    "cycles": 6,
                    "drugs": [{"drug": "lenalidomide", "dose": 10, "days": "1-21"}],
                }
            ]
        ],
    )
    outcomes: Outcomes = Field(
        default_factory=Outcomes,
        description="Reported outcomes; omitted = not reported.",
        examples=[
            {
                "patients": {"value": 60, "source": "primary", "detail": "Sixty patients"},
                "orr_pct": {"value": 65, "source": "primary", "detail": "overall response rate 65%"},
            }
        ],
    )
    includes: list[Include] = Field(
        default_factory=list,
        description="Add-on modules (protocols/addons/<id>.yaml) merged into a phase.",
        examples=[[{"addon": "aspirin-thromboprophylaxis", "phase": "treatment"}]],
    )
    renal_column: Sourced[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] | None = Field(
        default=None,
        description=(
            "The column of the product label's renal starting-dose table for this regimen's indication "
            "(`mm_mcl`, `mds`, ...); the label tables differ by indication. Default `mm_mcl`; "
            "`--renal-column` overrides it. A column the label data does not hold is refused when CrCl is given."
        ),
        examples=[{"value": "mds", "source": "primary", "detail": "the label's MDS column"}],
    )
    dose_modification: list[LabRule] = Field(
        default_factory=list,
        description=(
            "The dose-modification table as rules (see LabRule): what to do when a lab value falls or a "
            "toxicity is graded. `lenasched calendar --lab`/`--labs` and `lenasched advise` apply them; "
            "a protocol without rules refuses lab results."
        ),
        examples=[
            [
                {
                    "id": "thrombocytopenia",
                    "lab": "plt",
                    "below": {"value": 30, "source": "primary", "detail": 'Table 1: "Fall to <30,000/mcL"'},
                    "action": "interrupt",
                    "recover_at_least": 30,
                    "resume_at": "lower",
                }
            ]
        ],
    )

    @model_validator(mode="after")
    def _check(self) -> Protocol:
        for i, phase in enumerate(self.phases[:-1]):
            if phase.open_ended:
                raise FieldProblem(
                    f"phase {phase.name!r} runs until progression, so no phase can follow it",
                    ("phases", i, "until_progression"),
                )
        names = [p.name for p in self.phases]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise FieldProblem(f"phase name {name!r} is used twice", ("phases", i, "name"))
        for i, include in enumerate(self.includes):
            if not any(r.addon == include.addon for p in self.phases for r in p.drugs):
                raise FieldProblem(
                    f"add-on {include.addon!r} was not merged",
                    ("includes", i),
                    "load the protocol with lenasched.load_protocol / parse_protocol, which resolve includes",
                )
        seen_rules: set[str] = set()
        for i, rule in enumerate(self.dose_modification):
            if rule.drug not in self.drugs:
                raise FieldProblem(
                    f"rule {rule.id!r} modifies {rule.drug!r}, which this protocol does not give",
                    ("dose_modification", i, "drug"),
                )
            if rule.id in seen_rules:
                raise FieldProblem(f"rule id {rule.id!r} is used twice", ("dose_modification", i, "id"))
            seen_rules.add(rule.id)
        known = ["primary", *self.references]
        for path, sourced in iter_sourced(self):
            if sourced.source is not None and sourced.source not in known:
                close = difflib.get_close_matches(sourced.source, known, n=1)
                raise FieldProblem(
                    f"source {sourced.source!r} is not a reference key (known: {', '.join(known)})",
                    (*_split(path), "source"),
                    f"did you mean {close[0]!r}?" if close else "add it under `references:`",
                )
        return self


def _split(path: str) -> tuple[str | int, ...]:
    return tuple(int(p) if p.isdigit() else p for p in path.split("."))
