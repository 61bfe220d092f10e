"""The lenalidomide product label as data: capsule strengths, supply limit, renal table, REMS testing.

The facts live in ``protocols/label/lenalidomide.yaml`` with a citation for every value; this module
validates them (frozen models, unknown keys refused) and is the only reader of that file. Capsule
choice, dispensing, renal adjustment and pregnancy-test dates all read the label from here, so a
changed label is one edited file.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lenasched.errors import ProtocolError
from lenasched.model.label_facts import (
    MARKETS,
    MAX_BYTES,
    LabelFacts,
    Market,
    bundled_facts,
    bundled_strengths,
    label_path,
)
from lenasched.model.protocol import Reference
from lenasched.model.sourced import Sourced, iter_sourced

__all__ = [
    "MARKETS",
    "Label",
    "LabelFacts",
    "Market",
    "NotStudied",
    "PregnancyTesting",
    "PretestWindow",
    "RenalBand",
    "RenalDose",
    "RenalTable",
    "bundled_facts",
    "bundled_strengths",
    "label_path",
    "load_label",
    "parse_label",
]


Strength = Annotated[Decimal, Field(gt=0, le=1000, max_digits=8, decimal_places=3)]
Clearance = Annotated[Decimal, Field(ge=0, le=300)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class _Range(_Frozen):
    """A CrCl range ``crcl_min <= CrCl < crcl_max`` (mL/min) for patients on dialysis or not."""

    name: str = Field(min_length=1)
    crcl_min: Clearance | None = None
    crcl_max: Clearance | None = None
    dialysis: bool

    @model_validator(mode="after")
    def _check_range(self) -> _Range:
        if self.crcl_min is not None and self.crcl_max is not None and self.crcl_min >= self.crcl_max:
            raise ValueError(f"{self.name}: crcl_min {self.crcl_min} is not below crcl_max {self.crcl_max}")
        return self

    def contains(self, crcl: Decimal | None, dialysis: bool) -> bool:
        """Whether a patient with this CrCl (None = not known) and dialysis status falls in the range."""
        if dialysis != self.dialysis:
            return False
        if crcl is None:
            return self.dialysis  # on dialysis the band is chosen by dialysis alone
        low_ok = self.crcl_min is None or crcl >= self.crcl_min
        high_ok = self.crcl_max is None or crcl < self.crcl_max
        return low_ok and high_ok

    def describe(self) -> str:
        """'CrCl 30 to <60 mL/min, not on dialysis'."""
        if self.crcl_min is not None and self.crcl_max is not None:
            span = f"CrCl {self.crcl_min} to <{self.crcl_max} mL/min"
        elif self.crcl_max is not None:
            span = f"CrCl <{self.crcl_max} mL/min"
        elif self.crcl_min is not None:
            span = f"CrCl ≥{self.crcl_min} mL/min"
        else:
            span = "any CrCl"
        return span + (", on dialysis" if self.dialysis else ", not on dialysis")


class RenalDose(_Frozen):
    """The label's dose for one band and one label column: ``dose_mg`` every ``interval_hours``."""

    dose_mg: Sourced[Strength]
    interval_hours: Sourced[Literal[24, 48]]
    note: str | None = None

    @property
    def interval_days(self) -> int:
        return self.interval_hours.value // 24

    def describe(self) -> str:
        every = "once daily" if self.interval_hours.value == 24 else f"every {self.interval_hours.value} hours"
        return f"{_plain(self.dose_mg.value)} mg {every}"


class RenalBand(_Range):
    """One row of the renal table; ``doses`` is keyed by label column (``mm_mcl``, ``mds``)."""

    doses: dict[str, RenalDose] = Field(min_length=1)


class NotStudied(_Range):
    """A range the label says was not studied: lenasched refuses to adjust a calendar for it."""

    source: str
    detail: str


class RenalTable(_Frozen):
    method: Literal["cockcroft-gault"]
    method_source: Sourced[str]
    applies_to: str
    bands: list[RenalBand] = Field(min_length=1)
    not_studied: list[NotStudied] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlap(self) -> RenalTable:
        ranges: list[_Range] = [*self.bands, *self.not_studied]
        for a, b in itertools.combinations(ranges, 2):
            if a.dialysis != b.dialysis:
                continue
            a_low, a_high = a.crcl_min or Decimal(0), a.crcl_max or Decimal(10_000)
            b_low, b_high = b.crcl_min or Decimal(0), b.crcl_max or Decimal(10_000)
            if a_low < b_high and b_low < a_high:
                raise ValueError(f"renal bands {a.name!r} and {b.name!r} overlap")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Label columns any band gives a dose for, in file order."""
        seen: dict[str, None] = {}
        for band in self.bands:
            for key in band.doses:
                seen.setdefault(key, None)
        return tuple(seen)


class PretestWindow(_Frozen):
    """A test due between ``days_before_earliest`` and ``days_before_latest`` days before the prescription."""

    name: str = Field(min_length=1)
    days_before_earliest: Sourced[Annotated[int, Field(ge=0, le=60)]]
    days_before_latest: Sourced[Annotated[int, Field(ge=0, le=60)]]

    @model_validator(mode="after")
    def _order(self) -> PretestWindow:
        if self.days_before_earliest.value < self.days_before_latest.value:
            raise ValueError(f"{self.name}: days_before_earliest is closer to the prescription than days_before_latest")
        return self


class PregnancyTesting(_Frozen):
    applies_to: str
    before_start: list[PretestWindow] = Field(min_length=1)
    weekly_for_weeks: Sourced[Annotated[int, Field(ge=0, le=52)]]
    then_every_days: Sourced[Annotated[int, Field(ge=1, le=366)]]
    irregular_every_days: Sourced[Annotated[int, Field(ge=1, le=366)]]
    min_sensitivity_miu_ml: Sourced[Annotated[int, Field(gt=0)]]
    continues_during_interruptions: Sourced[bool]


class Label(_Frozen):
    """Everything lenasched takes from the lenalidomide product label."""

    drug: str = Field(pattern=r"^[a-z][a-z0-9 -]*$")
    product: str
    references: dict[str, Reference] = Field(min_length=1)
    capsule_strengths_mg: Sourced[list[Strength]]
    capsule_strengths_mg_eu: Sourced[list[Strength]]
    not_indicated_cll: Sourced[str]
    swallow_whole: Sourced[bool]
    combinations_studied: Sourced[bool]
    max_supply_days: Sourced[Annotated[int, Field(ge=1, le=366)]]
    renal: RenalTable
    pregnancy_testing: PregnancyTesting

    @model_validator(mode="after")
    def _check(self) -> Label:
        for name in ("capsule_strengths_mg", "capsule_strengths_mg_eu"):
            strengths = getattr(self, name).value
            if not strengths:
                raise ValueError(f"{name} lists no strength")
            if any(b <= a for a, b in itertools.pairwise(strengths)):
                raise ValueError(f"{name} must be listed smallest first, each once")
        for path, sourced in iter_sourced(self):
            if sourced.source is None and sourced.assumption is None:
                raise ValueError(f"{path}: every label value needs a source or an assumption")
            if sourced.source is not None and sourced.source not in self.references:
                raise ValueError(f"{path}: source {sourced.source!r} is not a key of `references`")
        for item in self.renal.not_studied:
            if item.source not in self.references:
                raise ValueError(f"renal.not_studied {item.name!r}: source {item.source!r} is not a reference key")
        return self

    @property
    def strengths(self) -> tuple[Decimal, ...]:
        """Capsule strengths in mg on the US market, smallest first."""
        return tuple(self.capsule_strengths_mg.value)

    def strengths_for(self, market: Market) -> tuple[Decimal, ...]:
        """Capsule strengths in mg on ``market`` (``us`` or ``eu``: the EU also has 7.5 mg), smallest first."""
        if market == "eu":
            return tuple(self.capsule_strengths_mg_eu.value)
        if market == "us":
            return self.strengths
        raise ValueError(f"unknown market {market!r}; known: {', '.join(MARKETS)}")

    def cite(self, key: str | None) -> str:
        """Short text naming a reference key, for output that must say where a rule comes from."""
        if key is None or key not in self.references:
            return "assumption"
        ref = self.references[key]
        return ref.title + (f" ({ref.year})" if ref.year else "")


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def parse_label(text: str, source: str = "<label>") -> Label:
    """Validate label YAML text; problems become ``ProtocolError`` naming the file and field.

    Read by the protocol loader's YAML reader (``lenasched.model.loader``), with its limits: no tags, exact
    decimals, and aliases, merge keys, nesting and size bounded; the text is also held to ``MAX_BYTES``.
    """
    from lenasched.model.loader import _read_yaml

    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ProtocolError(f"file is larger than {MAX_BYTES // 1000} kB; refusing to read it", file=source)
    try:
        data: Any = _read_yaml(text, source)[0]
    except ProtocolError as exc:
        if exc.message == "a protocol file must be a mapping of fields":
            raise ProtocolError("the label file must be a mapping of fields", file=source) from None
        raise
    try:
        return Label.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()  # a misspelt key is unknown + missing: the unknown one says more
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = ".".join(str(p) for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p == "Sourced")))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = f"unknown field {err['loc'][-1]!r}"
        raise ProtocolError(message, file=source, path=loc or None) from None


@cache
def _bundled() -> Label:
    path = label_path()
    if not path.is_file():
        raise ProtocolError("the bundled label file is missing", file=str(path))
    if path.stat().st_size > MAX_BYTES:
        raise ProtocolError(f"file is larger than {MAX_BYTES // 1000} kB; refusing to read it", file=str(path))
    return parse_label(path.read_text(encoding="utf-8"), str(path))


def load_label(path: str | Path | None = None) -> Label:
    """The bundled lenalidomide label (parsed once), or the label file at ``path``."""
    if path is None:
        return _bundled()
    file = Path(path)
    try:
        if file.stat().st_size > MAX_BYTES:
            raise ProtocolError(f"file is larger than {MAX_BYTES // 1000} kB; refusing to read it", file=str(file))
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(f"cannot read the file: {exc.strerror}", file=str(file)) from None
    return parse_label(text, str(file))
