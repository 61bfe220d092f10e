"""One exception family for everything lenasched refuses to do.

Each subclass is also the matching built-in (``ValueError``, ``LookupError``) so callers that
already catch built-ins keep working, and each keeps its fields so tools can show them.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = [
    "CapsuleError",
    "ImplausibleValueError",
    "LenaschedError",
    "MissingDependencyError",
    "ModelValidationError",
    "OutputError",
    "ProtocolError",
    "RaisesLenaschedErrors",
    "ScheduleError",
    "SimulationError",
    "UnknownDrugError",
    "UnknownProtocolError",
    "VariantError",
    "WrongTypeError",
]


class LenaschedError(Exception):
    """Base class of every error lenasched raises on purpose.

    Every subclass pickles with its message and fields (errors cross process pools), whatever its
    ``__init__`` takes: the instance is rebuilt from its ``args`` and attributes, not by calling it again.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[LenaschedError], args: tuple[Any, ...], state: dict[str, Any]) -> LenaschedError:
    """The unpickled error: ``args`` and attributes as they were, without running ``__init__`` again."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


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
    """A patient value outside lenasched's plausibility range (``lenasched.model.plausible.LIMITS``).

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


class WrongTypeError(LenaschedError, TypeError):
    """An argument of the library API has the wrong type (a number where a date goes, a datetime for a date...).

    Keeps the argument's ``name``, what was ``expected`` and the ``value`` given.
    """

    def __init__(self, name: str, expected: str, value: object) -> None:
        self.name = name
        self.expected = expected
        self.value = value
        super().__init__(f"{name} must be {expected}, not {type(value).__name__} {value!r}")


class UnknownDrugError(ScheduleError, LookupError):
    """A drug name that is not a drug of the protocol (or calendar) asked about; keeps the known ones."""

    def __init__(self, drug: str, known: Sequence[str] = (), *, where: str = "") -> None:
        self.drug = drug
        self.known = tuple(known)
        self.where = where
        self.close_matches = tuple(difflib.get_close_matches(drug, self.known, n=3, cutoff=0.6))
        message = f"{drug!r} is not given in {where or 'this protocol'}, which has no such drug"
        if self.close_matches:
            message += "; did you mean " + ", ".join(repr(m) for m in self.close_matches) + "?"
        if self.known:
            message += "; its drugs: " + ", ".join(self.known)
        super().__init__(message)

    def __str__(self) -> str:  # LookupError's family would repr() a KeyError-like argument otherwise
        return str(self.args[0])


# --- pydantic models: a failed validation is a LenaschedError ------------------------------------------
#
# ``ModelValidationError`` is a ``ProtocolError`` (one located line: ``<Protocol>: phases.0.cycle_length_days:
# ...``) and, at the same time, the pydantic ``ValidationError`` it replaces (``errors()``, ``title``): code that
# catches either keeps working, the loader's own file:line:column mapping included. It subclasses pydantic-core's
# class, so it is defined on first use (importing pydantic-core costs start-up time the command line does
# not otherwise spend) and found as ``lenasched.errors.ModelValidationError`` like any other name here.

_M = TypeVar("_M")

if TYPE_CHECKING:
    from pydantic_core import ValidationError as _PydanticValidationError

    class ModelValidationError(ProtocolError, _PydanticValidationError):
        """A model built directly (``Protocol(**data)``, ``Protocol.model_validate(data)``) with bad data."""

        model: str

        @classmethod
        def from_validation_error(cls, error: _PydanticValidationError, model: type) -> ModelValidationError: ...


def __getattr__(name: str) -> Any:
    if name == "ModelValidationError":
        value = _model_validation_error_class()
        if value is None:
            raise AttributeError(
                "lenasched.errors.ModelValidationError needs pydantic-core 2.25+ (pydantic 2.10+), whose "
                "ValidationError can be subclassed"
            )
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: How a pydantic error becomes a located ProtocolError (path, message, hint): the loader's own mapping,
#: registered by ``modelbase`` so that this base module imports nothing of the layers above it.
_LOCATORS: list[Callable[[Any, type], ProtocolError]] = []


def register_locator(locate: Callable[[Any, type], ProtocolError]) -> None:
    """Set how a model's validation error is placed (called once, by the models' base class module)."""
    _LOCATORS[:] = [locate]


_MODEL_ERROR: list[type | None] = []  # the class, once defined (None: this pydantic-core cannot subclass it)


def _model_validation_error_class() -> type | None:
    if not _MODEL_ERROR:
        _MODEL_ERROR.append(_define_model_validation_error())
    return _MODEL_ERROR[0]


def _define_model_validation_error() -> type | None:
    from pydantic_core import ValidationError

    try:

        class ModelValidationError(ProtocolError, ValidationError):  # type: ignore[misc,unused-ignore]
            """A model built directly (``Protocol(**data)``, ``Protocol.model_validate(data)``) with bad data.

            A ``ProtocolError`` whose ``file`` is the model's name in angle brackets (``<Protocol>``), with the
            field ``path``, message and hint as a file would get them; also pydantic's ``ValidationError``
            (``errors()`` and ``title`` as pydantic gave them).
            """

            def __init__(
                self, title: str, line_errors: Any = (), input_type: str = "python", hide_input: bool = False
            ) -> None:
                # called by pydantic-core's from_exception_data; from_validation_error then places the problem
                self.model = str(title)
                ProtocolError.__init__(self, f"invalid {title}", file=f"<{title}>")

            def __str__(self) -> str:
                return self.format()

            def __repr__(self) -> str:
                return f"{type(self).__name__}({self.format()!r})"

            def __reduce__(self) -> tuple[Any, ...]:
                errors = [{k: v for k, v in e.items() if k != "url"} for e in self.errors()]
                return (_rebuild_model_error, (self.title, errors, dict(self.__dict__)))

            @classmethod
            def from_validation_error(cls, error: ValidationError, model: type) -> ModelValidationError:
                """``error`` (pydantic's, from validating ``model``) as this class, its first problem placed."""
                new = _model_error_from_data(cls, error.title, error.errors())
                try:
                    located = _LOCATORS[0](error, model)  # registered by the models' base (modelbase)
                except Exception:  # none registered (IndexError) or it failed: the message loses only its hint
                    first = error.errors()[0]
                    path = ".".join(str(p) for p in first["loc"])
                    located = ProtocolError(str(first["msg"]), path=path or None)
                new.message, new.path, new.hint = located.message, located.path, located.hint
                new.args = (new.format(),)
                return new

        ModelValidationError.__module__ = __name__
        ModelValidationError.__qualname__ = "ModelValidationError"
        probe = ModelValidationError.from_exception_data("Probe", [])
    except TypeError:  # pydantic-core before 2.25: its ValidationError is final
        return None
    return ModelValidationError if type(probe) is ModelValidationError else None


def _model_error_from_data(cls: type[_M], title: str, errors: list[Any]) -> _M:
    """``cls.from_exception_data``; an error type pydantic-core does not know by name becomes a custom one."""
    try:
        return cls.from_exception_data(title, errors)  # type: ignore[attr-defined,no-any-return]
    except (KeyError, TypeError, ValueError):
        from pydantic_core import PydanticCustomError

        known = []
        for e in errors:
            try:
                cls.from_exception_data(title, [e])  # type: ignore[attr-defined]
                known.append(e)
            except (KeyError, TypeError, ValueError):
                template = str(e.get("msg", e.get("type", "invalid"))).replace("{", "{{").replace("}", "}}")
                known.append({"type": PydanticCustomError(str(e.get("type", "invalid")), template), **_rest(e)})
        return cls.from_exception_data(title, known)  # type: ignore[attr-defined,no-any-return]


def _rest(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k in ("loc", "input")}


def _rebuild_model_error(title: str, errors: list[Any], state: dict[str, Any]) -> Any:
    cls = _model_validation_error_class()
    assert cls is not None  # it was pickled, so this pydantic-core has it
    error: Any = _model_error_from_data(cls, title, errors)
    error.__dict__.update(state)
    error.args = (error.format(),)
    return error


def as_lenasched_error(error: BaseException, model: type) -> BaseException | None:
    """``error`` from validating ``model`` as the ``LenaschedError`` to raise instead; None to re-raise it.

    A pydantic ``ValidationError`` becomes a ``ModelValidationError``; a ``LenaschedError`` and anything
    else stay as they are.
    """
    if isinstance(error, LenaschedError):
        return None
    from pydantic_core import ValidationError

    if not isinstance(error, ValidationError):
        return None
    cls = _model_validation_error_class()
    if cls is None:
        return None
    return cls.from_validation_error(error, model)  # type: ignore[attr-defined,no-any-return]


class RaisesLenaschedErrors:
    """Mixin for pydantic models (before ``BaseModel`` in the bases): bad data raises ``ModelValidationError``.

    ``Model(**data)``, ``Model.model_validate(...)``, ``model_validate_json`` and ``model_validate_strings``
    raise a ``LenaschedError`` (also pydantic's ``ValidationError``) rather than pydantic's bare one. Models
    nested in another are validated by pydantic-core directly, as before: the ``__init__`` here is marked as
    pydantic's own, so nesting does not go through Python (``RootModel`` does the same).
    """

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except Exception as exc:
            error = as_lenasched_error(exc, type(self))
            if error is None:
                raise
            raise error from None

    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls: type[_M], *args: Any, **kwargs: Any) -> _M:
        return _validated(cls, "model_validate", args, kwargs)

    @classmethod
    def model_validate_json(cls: type[_M], *args: Any, **kwargs: Any) -> _M:
        return _validated(cls, "model_validate_json", args, kwargs)

    @classmethod
    def model_validate_strings(cls: type[_M], *args: Any, **kwargs: Any) -> _M:
        return _validated(cls, "model_validate_strings", args, kwargs)


def _validated(cls: type[_M], method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _M:
    try:
        return getattr(super(RaisesLenaschedErrors, cls), method)(*args, **kwargs)  # type: ignore[no-any-return]
    except Exception as exc:
        error = as_lenasched_error(exc, cls)
        if error is None:
            raise
        raise error from None
