"""One exception family for everything lenasched refuses to do.

Each subclass is also the matching built-in (``ValueError``, ``LookupError``) so callers that
already catch built-ins keep working, and each keeps its fields so tools can show them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CapsuleError",
    "ImplausibleValueError",
    "LenaschedError",
    "MissingDependencyError",
    "OutputError",
    "ProtocolError",
    "ScheduleError",
    "SimulationError",
    "UnknownProtocolError",
    "VariantError",
]


class LenaschedError(Exception):
    """Base class of every error lenasched raises on purpose."""


class ProtocolError(LenaschedError, ValueError):
    """A protocol file (or in-memory definition) is malformed or clinically invalid.

    Carries where the problem is so the CLI can print ``file:line:column`` with the field path.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        self.hint = hint
        super().__init__(self.format())

    @property
    def location(self) -> str:
        """``file:line:column`` as far as it is known."""
        parts = [self.file or "<protocol>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def format(self) -> str:
        text = f"{self.location}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" (hint: {self.hint})"
        return text


class ScheduleError(LenaschedError, ValueError):
    """A calendar cannot be produced safely from these inputs (e.g. mg/m² without a BSA)."""


class CapsuleError(ScheduleError):
    """No capsule strength (or allowed combination) makes this daily dose; keeps the dose and strengths."""

    def __init__(self, message: str, *, dose_mg: object = None, strengths: Sequence[object] = ()) -> None:
        self.dose_mg = dose_mg
        self.strengths = tuple(strengths)
        super().__init__(message)


class ImplausibleValueError(ScheduleError):
    """A patient value outside lenasched's plausibility range (``lenasched.plausible.LIMITS``).

    Keeps the limit's ``name`` (what ``allow_implausible`` / ``--allow-implausible`` takes), the
    value and the range; the message names all three and how to allow the value.
    """

    def __init__(
        self,
        message: str,
        name: str = "",
        value: object = None,
        low: object = None,
        high: object = None,
        unit: str = "",
    ) -> None:
        self.name = name
        self.value = value
        self.low = low
        self.high = high
        self.unit = unit
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles with its fields (the default would keep the message only)
        return (type(self), (str(self.args[0]), self.name, self.value, self.low, self.high, self.unit))


class UnknownProtocolError(LenaschedError, LookupError):
    """No bundled protocol has this id; keeps the close matches to suggest."""

    def __init__(self, protocol_id: str, close_matches: Sequence[str] = (), known: Sequence[str] = ()) -> None:
        self.protocol_id = protocol_id
        self.close_matches = tuple(close_matches)
        self.known = tuple(known)
        msg = f"unknown protocol id {protocol_id!r}"
        if self.close_matches:
            msg += "; did you mean " + ", ".join(repr(m) for m in self.close_matches) + "?"
        elif self.known:
            msg += "; known ids: " + ", ".join(self.known)
        super().__init__(msg)

    def __str__(self) -> str:  # LookupError would repr() the argument otherwise
        return str(self.args[0])


class VariantError(LenaschedError, ValueError):
    """A what-if override (``--set ID:drug.field=value``) is malformed or makes the protocol invalid.

    Keeps the override text and the reason; unknown names come with the valid ones.
    """

    def __init__(self, spec: str, reason: str, *, choices: Sequence[str] = ()) -> None:
        self.spec = spec
        self.reason = reason
        self.choices = tuple(choices)
        message = f"--set {spec}: {reason}"
        if self.choices:
            message += " (valid: " + ", ".join(self.choices) + ")"
        super().__init__(message)


class MissingDependencyError(LenaschedError, ImportError):
    """An optional feature needs a package that is not installed; says which extra brings it."""

    def __init__(self, feature: str, package: str, extra: str) -> None:
        self.feature = feature
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs {package}, which is not installed; install it with: pip install 'lenasched[{extra}]'"
        )


class SimulationError(LenaschedError, ValueError):
    """A Monte Carlo simulation cannot run with these parameters (no event rate, probability outside 0-1...)."""


class OutputError(LenaschedError, ValueError):
    """An output cannot be written as asked (e.g. a plot file type no backend writes)."""
