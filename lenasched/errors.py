"""One exception family for everything lenasched refuses to do.

Each subclass is also the matching built-in (``ValueError``, ``LookupError``) so callers that
already catch built-ins keep working, and each keeps its fields so tools can show them.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "LenaschedError",
    "ProtocolError",
    "ScheduleError",
    "UnknownProtocolError",
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
