"""What every model of the protocol format shares: frozen, strict models and located problems.

Kept apart from ``protocol`` so the models of other blocks (dose-modification rules, events) can
build on it without importing the protocol model, and the protocol model can include them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from lenasched.errors import ProtocolError, RaisesLenaschedErrors, register_locator

__all__ = ["FieldProblem", "Frozen"]


class FieldProblem(ValueError):
    """Raised inside validators; ``path`` points below the model being validated."""

    def __init__(self, message: str, path: tuple[str | int, ...] = (), hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.hint = hint


class Frozen(RaisesLenaschedErrors, BaseModel):
    """Immutable, unknown keys refused, schema built on first use (start-up stays fast).

    Built directly with bad data, a model raises ``ModelValidationError``: a ``LenaschedError`` (and still
    pydantic's ``ValidationError``), located like a file's problem.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


def _locate(error: Any, model: type) -> ProtocolError:
    """A model's validation error placed as the loader places a file's (path, message, hint)."""
    from lenasched.model.loader import _to_protocol_error  # same layer; imported late: the loader imports the models

    return _to_protocol_error(error, f"<{model.__name__}>", {}, None, model)


register_locator(_locate)
