"""A validated protocol compiled into plain objects: the same fields and behaviour, no pydantic.

Why: the command line's start-up. Importing pydantic's model machinery alone costs more than the
whole budget of a ``lenasched calendar ... --format csv`` run, so a bundled protocol is validated
once (by the models, as any file is), compiled here into plain objects and kept in the user's cache
(``lenasched.model.cache``); later runs read it back and the engine expands it without pydantic.

A plain node is an instance of the model's *shape* (``lenasched.model.shapes``) holding the model's
field values as attributes, frozen; it answers every method and property the model answers, and
compares equal to another node of the same class with the same fields. Nothing here validates: only
a tree compiled from a validated model is ever built (a test compiles every bundled protocol and
checks that both forms expose the same names and give byte-identical calendars).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lenasched.model.shapes import (
    CycleDayShape,
    DrugRegimenShape,
    EscalationShape,
    EventsShape,
    IncludeShape,
    LabRuleShape,
    LeadInRegimenShape,
    LeadInShape,
    OutcomesShape,
    PhaseShape,
    ProtocolShape,
    ReferenceShape,
    RepeatShape,
    Shape,
    SourcedShape,
)

__all__ = ["NO_EVENTS", "Node", "Protocol", "compile_protocol", "plain_classes"]


class Node(Shape):
    """Field values as read-only attributes, in the model's field order."""

    def __init__(self, fields: dict[str, Any]) -> None:
        object.__setattr__(self, "__dict__", fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:  # like a frozen model: by value, and only when every value is hashable
        return hash((type(self).__name__, *vars(self).values()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"


class Sourced(SourcedShape, Node):
    """Plain form of ``lenasched.model.sourced.Sourced``."""


class Reference(ReferenceShape, Node):
    """Plain form of ``lenasched.model.protocol.Reference``."""


class CycleDay(CycleDayShape, Node):
    """Plain form of ``lenasched.model.protocol.CycleDay``."""


class Repeat(RepeatShape, Node):
    """Plain form of ``lenasched.model.protocol.Repeat``."""


class Escalation(EscalationShape, Node):
    """Plain form of ``lenasched.model.protocol.Escalation``."""


class DrugRegimen(DrugRegimenShape, Node):
    """Plain form of ``lenasched.model.protocol.DrugRegimen``."""


class Phase(PhaseShape, Node):
    """Plain form of ``lenasched.model.protocol.Phase``."""


class LeadInRegimen(LeadInRegimenShape, Node):
    """Plain form of ``lenasched.model.protocol.LeadInRegimen``."""


class LeadIn(LeadInShape, Node):
    """Plain form of ``lenasched.model.protocol.LeadIn``."""


class Include(IncludeShape, Node):
    """Plain form of ``lenasched.model.protocol.Include``."""


class Outcomes(OutcomesShape, Node):
    """Plain form of ``lenasched.model.outcomes.Outcomes``."""


class LabRule(LabRuleShape, Node):
    """Plain form of ``lenasched.model.rules.LabRule``."""


if TYPE_CHECKING:  # it answers every field, method and property the model does (tests/test_compiled.py)
    from lenasched.model.protocol import Protocol as Protocol
else:

    class Protocol(ProtocolShape, Node):
        """Plain form of ``lenasched.model.protocol.Protocol``: what ``compile_protocol`` returns."""


class Events(EventsShape, Node):
    """Plain form of ``lenasched.model.events.PatientEvents``; only the empty list is ever built."""


NO_EVENTS = Events({"events": ()})
"""A patient without events: what ``expand`` uses when given none, without building the events model."""

_PLAIN: dict[type[Shape], type[Any]] = {
    SourcedShape: Sourced,
    ReferenceShape: Reference,
    CycleDayShape: CycleDay,
    RepeatShape: Repeat,
    EscalationShape: Escalation,
    DrugRegimenShape: DrugRegimen,
    PhaseShape: Phase,
    LeadInRegimenShape: LeadInRegimen,
    LeadInShape: LeadIn,
    IncludeShape: Include,
    OutcomesShape: Outcomes,
    LabRuleShape: LabRule,
    ProtocolShape: Protocol,
}


def plain_classes() -> dict[str, type[Any]]:
    """Every plain class a compiled protocol may hold, by name (what a cache entry may build)."""
    return {cls.__name__: cls for cls in _PLAIN.values()}


def compile_protocol(protocol: ProtocolShape) -> Protocol:
    """The plain form of a validated ``Protocol`` model (or of a plain one: returned as it is)."""
    if isinstance(protocol, Protocol):
        return protocol
    compiled = _compile(protocol)
    if not isinstance(compiled, Protocol):
        raise TypeError(f"not a protocol: {type(protocol).__name__}")
    return compiled


def _compile(value: Any) -> Any:
    if isinstance(value, Node):
        return value
    if isinstance(value, Shape):
        plain = _plain_of(type(value))
        return plain({name: _compile(getattr(value, name)) for name in type(value).model_fields})  # type: ignore[attr-defined]
    if isinstance(value, list):
        return [_compile(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_compile(item) for item in value)
    if isinstance(value, dict):
        return {key: _compile(item) for key, item in value.items()}
    if hasattr(type(value), "model_fields"):
        raise TypeError(f"{type(value).__name__} has no plain form; add its shape to lenasched.model.compiled")
    return value


def _plain_of(model: type) -> type[Any]:
    for base in model.__mro__:
        plain = _PLAIN.get(base)
        if plain is not None:
            return plain
    raise TypeError(f"{model.__name__} has no plain form; add its shape to lenasched.model.compiled")
