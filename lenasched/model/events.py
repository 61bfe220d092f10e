"""A patient's treatment as it really happens: holds, resumptions, reductions, delays, stops.

Events are plain data (a YAML/JSON file or CLI options); the engine applies them. Rules:

- ``hold`` stops a drug from a date (with a reason and CTCAE grade); nothing is given while held.
- ``resume`` restarts it: at the same level (escalation continues, shifted by the held days), at the
  next lower dose level (``level: lower``), or at a given dose. After a reduction the dose stays at the
  reduced level: escalation does not restart by itself (give a new ``resume`` with a dose to change it).
  A later phase that begins after the resume starts at its own planned dose.
- ``delay`` moves the start of cycle N (counted across phases) and every later cycle by K days;
  companion drugs move with their cycles, and day-counted escalation pauses for the delay.
- ``no_escalation`` freezes the dose from a date; ``stop`` ends a drug (or everything) from a date.
- A reduction below the lowest dose level stops the drug, with that reason in the audit trail.
"""

from __future__ import annotations

from datetime import date
from datetime import date as _Date  # a field named `date` shadows the type in its class
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lenasched.errors import RaisesLenaschedErrors
from lenasched.model.drugs import LENALIDOMIDE, normalise_drug
from lenasched.model.protocol import FieldProblem
from lenasched.model.shapes import EventsShape

__all__ = ["Delay", "Event", "Hold", "NoEscalation", "PatientEvents", "Resume", "Stop"]

PRIMARY = LENALIDOMIDE


# Built directly with bad data, an event (and PatientEvents) raises ModelValidationError, a ProtocolError naming
# the field or the event (``events.N``), as the same event in an --events file does (lenasched.errors).
class _Event(RaisesLenaschedErrors, BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    @field_validator("drug", mode="before", check_fields=False)
    @classmethod
    def _drug_name(cls, value: Any) -> Any:
        """'Lenalidomide ' names the same drug as 'lenalidomide' (one normal form, lenasched.model.drugs)."""
        return normalise_drug(value) if isinstance(value, str) else value


class Hold(_Event):
    kind: Literal["hold"] = Field(
        default="hold",
        description="`hold`. In the short form the key gives it: `- hold: 2027-01-10`.",
        examples=["hold"],
    )
    date: _Date = Field(description="First day the drug is not given.", examples=["2027-01-10"])
    drug: str = Field(default=PRIMARY, description="The drug held.", examples=["lenalidomide"])
    reason: str = Field(
        default="not stated", min_length=1, description="Why, for the audit trail.", examples=["neutropenia"]
    )
    grade: int | None = Field(default=None, ge=1, le=5, description="CTCAE grade of the reason.", examples=[3])

    def describe(self) -> str:
        grade = f", grade {self.grade}" if self.grade is not None else ""
        return f"hold from {self.date.isoformat()} ({self.reason}{grade})"


class Resume(_Event):
    kind: Literal["resume"] = Field(
        default="resume", description="`resume`; short form `- resume: 2027-01-24`.", examples=["resume"]
    )
    date: _Date = Field(description="First day the drug is given again; after its hold.", examples=["2027-01-24"])
    drug: str = Field(default=PRIMARY, description="The drug resumed; it must be held.", examples=["lenalidomide"])
    level: Literal["same", "lower"] = Field(
        default="lower", description="'lower' = next lower dose level.", examples=["same"]
    )
    dose: Decimal | None = Field(
        default=None, gt=0, description="Resume at this dose instead (mg as prescribed).", examples=[10]
    )
    reason: str | None = Field(
        default=None,
        min_length=1,
        description="Why, e.g. the result that recovered.",
        examples=["platelets back to 45"],
    )

    def describe(self) -> str:
        how = (
            f"at {self.dose}"
            if self.dose is not None
            else ("one dose level lower" if self.level == "lower" else "at the same dose")
        )
        why = f" ({self.reason})" if self.reason is not None else ""
        return f"resume on {self.date.isoformat()} {how}{why}"


class Delay(_Event):
    kind: Literal["delay"] = Field(
        default="delay", description="`delay`; short form `- delay: {cycle: 3, days: 7}`.", examples=["delay"]
    )
    cycle: int = Field(ge=1, description="Cycle number counted across phases (1 = the first cycle).", examples=[3])
    days: int = Field(
        ge=1, le=365, description="Days the start of that cycle, and of every later cycle, moves.", examples=[7]
    )
    reason: str | None = Field(
        default=None,
        min_length=1,
        description="Why, e.g. the result that kept it back.",
        examples=["neutrophils 0.8 on the day before"],
    )

    def describe(self) -> str:
        why = f" ({self.reason})" if self.reason is not None else ""
        return f"cycle {self.cycle} delayed by {self.days} day(s){why}"


class NoEscalation(_Event):
    kind: Literal["no_escalation"] = Field(
        default="no_escalation",
        description="`no_escalation`; short form `- no_escalation: 2027-03-01`.",
        examples=["no_escalation"],
    )
    date: _Date = Field(description="From this date the dose is not increased.", examples=["2027-03-01"])
    drug: str = Field(default=PRIMARY, description="The drug whose dose is frozen.", examples=["lenalidomide"])

    def describe(self) -> str:
        return f"no further escalation from {self.date.isoformat()}"


class Stop(_Event):
    kind: Literal["stop"] = Field(
        default="stop", description="`stop`; short form `- stop: 2027-06-01`.", examples=["stop"]
    )
    date: _Date = Field(description="First day on which nothing more is given.", examples=["2027-06-01"])
    drug: str | None = Field(default=None, description="Omit to stop every drug.", examples=["allopurinol"])

    def describe(self) -> str:
        return f"stop on {self.date.isoformat()}"


Event = Annotated[Hold | Resume | Delay | NoEscalation | Stop, Field(discriminator="kind")]

_SHORTHAND = {"hold": "date", "resume": "date", "no_escalation": "date", "stop": "date"}


class PatientEvents(EventsShape, RaisesLenaschedErrors, BaseModel):
    """The ordered list of events; checked for consistency on construction."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    events: list[Event] = Field(
        default_factory=list,
        description="The events, in any order; they are checked together.",
        examples=[
            [
                {"kind": "hold", "date": "2027-01-10", "reason": "neutropenia", "grade": 3},
                {"kind": "resume", "date": "2027-01-24"},
            ]
        ],
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """Accept ``- hold: 2027-01-10`` as well as ``- {kind: hold, date: 2027-01-10}``."""
        if not isinstance(data, dict) or not isinstance(data.get("events"), list):
            return data
        out = []
        for item in data["events"]:
            if isinstance(item, dict) and "kind" not in item:
                keys = [k for k in item if k in (*_SHORTHAND, "delay")]
                if len(keys) == 1:
                    kind = keys[0]
                    item = dict(item)
                    value = item.pop(kind)
                    if kind == "delay" and isinstance(value, dict):
                        item.update(value)
                    else:
                        item[_SHORTHAND.get(kind, "date")] = value
                    item["kind"] = kind
            out.append(item)
        return {**data, "events": out}

    @model_validator(mode="after")
    def _consistent(self) -> PatientEvents:
        """Events must fit together; a problem names the event (``events.N``), so files locate it by line."""
        holding: dict[str, tuple[int, Hold]] = {}
        stopped: dict[str | None, date] = {}
        order = sorted(
            ((i, e) for i, e in enumerate(self.events) if not isinstance(e, Delay)),
            key=lambda item: (item[1].date, item[1].kind != "resume"),
        )
        for i, event in order:
            assert not isinstance(event, Delay)
            where = ("events", i)
            drug = getattr(event, "drug", None)
            ended = stopped.get(drug) or stopped.get(None)
            if ended is not None and event.date >= ended:
                raise FieldProblem(f"{event.describe()} comes after the stop on {ended.isoformat()}", where)
            if isinstance(event, Hold):
                if event.drug in holding:
                    since = holding[event.drug][1].date
                    raise FieldProblem(f"{event.describe()}: {event.drug} is already held since {since}", where)
                holding[event.drug] = (i, event)
            elif isinstance(event, Resume):
                held = holding.pop(event.drug, None)
                if held is None:
                    earlier = [e for e in self.events if isinstance(e, Hold) and e.drug == event.drug]
                    if earlier and earlier[0].date > event.date:
                        raise FieldProblem(
                            f"{event.describe()} is before its hold on {earlier[0].date.isoformat()}", where
                        )
                    raise FieldProblem(f"{event.describe()}: {event.drug} is not held", where)
                if event.date <= held[1].date:
                    raise FieldProblem(f"{event.describe()} is not after its hold on {held[1].date.isoformat()}", where)
            elif isinstance(event, Stop):
                stopped[event.drug] = event.date
        seen: set[int] = set()
        for i, item in enumerate(self.events):
            if isinstance(item, Delay):
                if item.cycle in seen:
                    raise FieldProblem(
                        "a cycle is delayed twice; give one delay per cycle with the total days", ("events", i)
                    )
                seen.add(item.cycle)
        return self
