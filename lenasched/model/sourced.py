"""Provenance for every number: a value together with where it came from.

A protocol file may write a bare value (``28``) or a sourced one
(``{value: 28, source: primary, detail: "Methods"}`` / ``{value: 28, assumption: "why"}``).
Bundled protocols must source every value; a test and ``lenasched validate --strict`` check it.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lenasched.model.shapes import SourcedShape, iter_sourced

__all__ = ["Sourced", "iter_sourced"]

T = TypeVar("T")


class Sourced(SourcedShape, BaseModel, Generic[T]):
    """A value and its provenance: a reference key (``source``) or a stated ``assumption``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    value: T = Field(description="The value itself; a bare value is short for `{value: ...}`.", examples=[28])
    source: str | None = Field(
        default=None,
        description="Key of the reference the value comes from: 'primary' or a key of `references`.",
        examples=["primary"],
    )
    detail: str | None = Field(
        default=None,
        description="Where in the source, or a short quote.",
        examples=["Methods: lenalidomide 5 mg daily for 56 days"],
    )
    assumption: str | None = Field(
        default=None,
        description="Set when no source states the value: why this value was assumed.",
        examples=["28-day cycles are implied by the monthly dose steps."],
    )
    differs_from_review: str | None = Field(
        default=None,
        description="What the review says where the primary source says otherwise.",
        examples=["the review gives no lead-in"],
    )

    def __class_getitem__(cls, params: Any) -> Any:
        """``Sourced[int]``, made cheaply: the model classes are built at every start-up of the command line.

        - Without building the validator of the unparametrized ``Sourced``: pydantic rebuilds a generic
          model's origin each time it makes a new parametrization while the origin is incomplete, and
          ``defer_build`` keeps it incomplete, so the first ``Sourced[...]`` at import time would build
          it, loading pydantic's plugin machinery (``importlib.metadata`` and a scan of every installed
          package) in runs that validate nothing. The parametrizations need nothing from it; a bare
          ``Sourced(value=...)`` still builds it on first use.
        - Once per constraint: ``Sourced[Annotated[int, Field(ge=1, le=366)]]`` written in several
          fields is one class (pydantic compares ``Field(...)`` objects by identity, so it would make
          one per field). The JSON Schema and every error message are the same either way.
        """
        key = _same_constraints(params) if cls is Sourced else None
        if key is not None and key in _PARAMETRIZED:
            return _PARAMETRIZED[key][1]
        if cls is Sourced and not cls.__pydantic_complete__:
            cls.__pydantic_complete__ = True  # only while the parametrization is made: the origin is not rebuilt
            try:
                made = super().__class_getitem__(params)
            finally:
                cls.__pydantic_complete__ = False
        else:
            made = super().__class_getitem__(params)
        if key is not None:
            _PARAMETRIZED[key] = (params, made)  # params keeps the objects the key names by id alive
        return made

    @model_validator(mode="before")
    @classmethod
    def _bare_value(cls, data: Any) -> Any:
        if isinstance(data, dict) and "value" in data:
            return data
        return {"value": data}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The bare value is valid too (``cycle_length_days: 28``): the schema says so, as the loader does."""
        schema = handler(core_schema)
        resolved = handler.resolve_ref_schema(schema)
        value = resolved.get("properties", {}).get("value")
        if value is None:
            return schema
        return {"anyOf": [value, schema]}


_PARAMETRIZED: dict[Any, tuple[Any, Any]] = {}


def _same_constraints(params: Any) -> Any:
    """For ``Annotated[int, Field(ge=1, le=366)]``, a key equal for every equal spelling of it, else None.

    pydantic caches parametrizations by their arguments, and two ``Field(...)`` objects are never equal:
    each field that writes the same constraints would otherwise get a class of its own.
    """
    from typing import Annotated, get_args, get_origin

    from pydantic.fields import FieldInfo

    if get_origin(params) is not Annotated:
        return None
    inner, *meta = get_args(params)
    key = (inner, *(("field", repr(m)) if isinstance(m, FieldInfo) else ("same", id(m)) for m in meta))
    try:
        hash(key)
    except TypeError:  # an argument that cannot be a key: pydantic's own cache decides
        return None
    return key
