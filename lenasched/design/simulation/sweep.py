"""Sweeps: a grid of what-if variants of one protocol, each simulated, summarised in one table.

A sweep takes ``--set`` options with several values (``lenalidomide.start=5,10,15``), forms every
combination (the cartesian product, in a fixed order), makes each combination a validated variant
(:func:`lenasched.design.variants.apply_overrides`: the same checks as ``lenasched variant``), simulates the
same patients on every variant and writes one row per variant: the values set, then numeric
summaries with their 95 % Monte Carlo intervals.

**Grid values.** ``PATH=V1,V2,...``; ``|`` separates values too, and must be used for the fields whose
own value is a list (``sequence``, ``dose_levels``, ``days`` and a drug's ``cycles``:
``lenalidomide.days=1-21|1-28``). A numeric field also takes a range ``START:STOP[:STEP]`` (inclusive,
step 1 by default): ``lenalidomide.every_days=7:28:7`` is 7, 14, 21, 28. A single value is a fixed
override applied to every variant (and still a column of the table).

**Order.** Variants are numbered from 1 in the order of nested loops over the ``--set`` options as
given: the first option varies slowest, the last fastest (``itertools.product``).

**Work units.** The work is split into units of (variant, block of patients); a unit is a pure
function of plain data (:class:`WorkUnit`: the variant as validated YAML text, the event model, the
horizon, the seed, the first patient and the block size), so it can run in this process or on any
worker (:class:`DaskRunner`). Patient ``i`` has its own random stream, so a block's result does not
depend on where or with which other patients it runs; the blocks of a variant are merged exactly
(:class:`~lenasched.design.simulation.stats.Tally`), in (variant, first patient) order whatever order the
results arrive in. The table is therefore the same, byte for byte, on every backend and for every
block size, and each row equals ``simulate`` of that variant with the same seed and patients.

>>> import lenasched
>>> from lenasched.design.simulation.sweep import sweep
>>> table = sweep(
...     lenasched.get_protocol("badoux-2011"),
...     ["lenalidomide.start=5,10", "lenalidomide.every_days=14,28"],
...     patients=200,
...     seed=1,
... )
>>> [(row["variant"], row["lenalidomide.start"], row["lenalidomide.every_days"]) for row in table.records()]
[(1, 5.0, 14), (2, 5.0, 28), (3, 10.0, 14), (4, 10.0, 28)]
>>> table.records()[0]["patients"]
200
"""

from __future__ import annotations

import functools
import importlib
import io
import itertools
import json
import logging
import math
import os
import re
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lenasched.design.compare import DEFAULT_START, PRIMARY_DRUG
from lenasched.design.simulation import (
    DEFAULT_CHUNK,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_OVER_CYCLES,
    DEFAULT_RECOVERY_DAYS,
    MAX_PATIENTS,
    Model,
    SimulationResult,
    build_model,
    result_of,
    run_model,
)
from lenasched.design.simulation.plan import DrugPlan, build_plan
from lenasched.design.simulation.stats import Tally
from lenasched.design.variants import (
    PHASE_FIELDS,
    Override,
    apply_overrides,
    parse_override,
    protocol_to_yaml,
)
from lenasched.errors import LenaschedError, MissingDependencyError, VariantError
from lenasched.model.horizon import parse_horizon
from lenasched.model.protocol import Protocol

__all__ = [
    "COLUMNS",
    "DEFAULT_BLOCK",
    "MAX_GRID_POINTS",
    "MAX_SWEEP_PATIENTS",
    "Axis",
    "BlockTally",
    "Column",
    "DaskRunner",
    "SweepError",
    "SweepPlan",
    "SweepTable",
    "Variant",
    "WorkUnit",
    "check_address",
    "default_workers",
    "grid_points",
    "parse_grid",
    "plan_sweep",
    "run_local",
    "run_unit",
    "sweep",
]

#: The most grid points (variants) one sweep may have; a larger grid is refused before any work.
MAX_GRID_POINTS = 1000
#: The most simulated patients one sweep may have in all (variants x patients), refused before any work.
MAX_SWEEP_PATIENTS = 200_000_000
#: Patients per work unit by default; the table does not depend on it.
DEFAULT_BLOCK = 50_000

# How the override fields take their values (lenasched.design.variants parses and checks them; this only
# decides how a grid option is split into values and what type its column has).
_LIST_VALUED = frozenset({"sequence", "dose_levels", "days", "cycles"})  # a drug's value may hold commas
_INT_FIELDS = frozenset(
    {"every_days", "first_step_day", "every_cycles", "first_step_cycle", "first_cycle_start_day", "cycle_length_days"}
)
_DOSE_FIELDS = frozenset({"dose", "start", "step", "cap"})
_RANGE = re.compile(r"^([^:]+):([^:]+)(?::([^:]+))?$")


class SweepError(LenaschedError, ValueError):
    """A sweep cannot run as asked: a malformed grid, a grid point that is not a valid variant, a grid too large.

    ``point`` is the 1-based grid point the message names (``None`` when the grid itself is at fault).
    """

    def __init__(self, message: str, point: int | None = None) -> None:
        self.point = point
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:  # pickles with its fields (it may travel from a worker)
        return (type(self), (str(self.args[0]), self.point))


# --- the grid ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One ``--set`` option of a sweep: the override path, its values (as text) and its column type."""

    text: str  # the option as given
    lhs: str  # left of '=', as given (with an ID: prefix if there is one)
    name: str  # TARGET[@PHASE].FIELD: the column name
    values: tuple[str, ...]
    kind: str  # "int", "float" or "text"

    def column(self, value: str) -> int | float | str:
        """``value`` as its column holds it (only called on values the variant validated)."""
        if self.kind == "int":
            return int(value)
        if self.kind == "float":
            return float(Decimal(value))
        return value


def parse_grid(protocol: Protocol, sets: Sequence[str]) -> tuple[Axis, ...]:
    """The axes of ``--set`` grid options for ``protocol`` (values are checked later, per grid point).

    Refused with :class:`SweepError` (or :class:`~lenasched.errors.VariantError` for an override that
    does not parse): no option, an option aimed at another protocol, the same path twice, an empty or
    repeated value, a bad range, or a grid of more than :data:`MAX_GRID_POINTS` points.
    """
    if not sets:
        raise SweepError("give at least one --set PATH=V1,V2,..., e.g. --set lenalidomide.start=5,10,15")
    axes: list[Axis] = []
    size = 1
    for text in sets:
        override = parse_override(text)
        if override.protocol_id is not None and not override.aims_at(protocol.id):
            raise SweepError(f"--set {text}: aimed at {override.protocol_id!r}, not at {protocol.id!r}")
        if any(axis.name == override.name for axis in axes):
            raise SweepError(f"--set {text}: {override.name} is set twice; give all its values in one --set")
        values = _split_values(protocol, override)
        size *= len(values)
        if size > MAX_GRID_POINTS:
            raise SweepError(f"the grid has more than {MAX_GRID_POINTS} points (MAX_GRID_POINTS); sweep fewer values")
        lhs = text.partition("=")[0].strip()
        axes.append(Axis(text, lhs, override.name, values, _kind(protocol, override)))
    return tuple(axes)


def grid_points(axes: Sequence[Axis]) -> list[tuple[str, ...]]:
    """Every combination of the axes' values: the first axis varies slowest, the last fastest."""
    return list(itertools.product(*(axis.values for axis in axes)))


def _is_drug(protocol: Protocol, override: Override) -> bool:
    return override.target in protocol.drugs


def _kind(protocol: Protocol, override: Override) -> str:
    if _is_drug(protocol, override):
        return "int" if override.field in _INT_FIELDS else "float" if override.field in _DOSE_FIELDS else "text"
    return "int" if override.field in PHASE_FIELDS else "text"


def _numeric(protocol: Protocol, override: Override) -> bool:
    if _is_drug(protocol, override):
        return override.field in _INT_FIELDS | _DOSE_FIELDS
    return override.field in PHASE_FIELDS


def _split_values(protocol: Protocol, override: Override) -> tuple[str, ...]:
    text = override.value
    if "|" in text:
        items = text.split("|")
    elif _is_drug(protocol, override) and override.field in _LIST_VALUED:
        items = [text]
    else:
        items = text.split(",")
    values: list[str] = []
    for item in (i.strip() for i in items):
        if not item:
            raise SweepError(f"--set {override.text}: an empty value (values are separated by ',' or '|')")
        match = _RANGE.match(item)
        if match and _numeric(protocol, override):
            values.extend(_range(override, _kind(protocol, override), item, *match.groups()))
        else:
            values.append(item)
    seen: dict[Any, str] = {}
    for value in values:
        key = _value_key(value)
        if key in seen:
            raise SweepError(f"--set {override.text}: the value {value} is given twice (as {seen[key]} before)")
        seen[key] = value
    return tuple(values)


def _value_key(value: str) -> Any:
    try:
        number = Decimal(value)
    except InvalidOperation:
        return value
    return number.normalize() if number.is_finite() else value


def _range(override: Override, kind: str, item: str, first: str, last: str, step: str | None) -> list[str]:
    try:
        a, b, s = Decimal(first), Decimal(last), Decimal(step if step is not None else "1")
    except InvalidOperation:
        raise SweepError(f"--set {override.text}: {item!r} is not a range START:STOP[:STEP] of numbers") from None
    if not (a.is_finite() and b.is_finite() and s.is_finite()) or s <= 0 or b < a:
        raise SweepError(f"--set {override.text}: the range {item} needs START <= STOP and a positive STEP")
    count = int((b - a) / s) + 1
    if count > MAX_GRID_POINTS:
        raise SweepError(f"--set {override.text}: the range {item} has {count} values; the limit is {MAX_GRID_POINTS}")
    whole = kind == "int"
    out = []
    for k in range(count):
        value = a + s * k
        if whole and value != value.to_integral_value():
            raise SweepError(
                f"--set {override.text}: the range {item} gives {value}; {override.field} is a whole number"
            )
        out.append(str(int(value)) if whole else _plain_decimal(value))
    return out


def _plain_decimal(value: Decimal) -> str:
    """``Decimal("10.0")`` -> ``"10"``, ``Decimal("2.50")`` -> ``"2.5"``."""
    return format(value.normalize(), "f")


# --- work units: plain data in, an exact tally out ------------------------------------------------


@dataclass(frozen=True)
class ModelParams:
    """The event model's parameters (those of :func:`lenasched.simulate`), as plain data."""

    event_prob: tuple[float, ...] | None = None
    events: tuple[str, ...] | None = None
    rates: tuple[tuple[str, tuple[float, ...]], ...] = ()
    recovery_days: int = DEFAULT_RECOVERY_DAYS
    over_cycles: int = DEFAULT_OVER_CYCLES

    @classmethod
    def of(
        cls,
        *,
        event_prob: float | Decimal | Sequence[float | Decimal] | None = None,
        events: Sequence[str] | None = None,
        rates: Mapping[str, float | Decimal | Sequence[float | Decimal]] | None = None,
        recovery_days: int = DEFAULT_RECOVERY_DAYS,
        over_cycles: int = DEFAULT_OVER_CYCLES,
    ) -> ModelParams:
        """From ``simulate``'s arguments (probabilities become floats, as the model takes them)."""
        return cls(
            event_prob=None if event_prob is None else _floats(event_prob),
            events=None if events is None else tuple(events),
            rates=tuple((name, _floats(value)) for name, value in (rates or {}).items()),
            recovery_days=recovery_days,
            over_cycles=over_cycles,
        )

    def build(self, protocol: Protocol, outcomes_from: Protocol) -> Model:
        """The event model of ``protocol``, with the reported rates of ``outcomes_from``."""
        return build_model(
            protocol,
            event_prob=self.event_prob,
            events=self.events,
            rates=dict(self.rates),
            recovery_days=self.recovery_days,
            over_cycles=self.over_cycles,
            outcomes_from=outcomes_from,
            drug=PRIMARY_DRUG,
        )


def _floats(value: float | Decimal | Sequence[float | Decimal]) -> tuple[float, ...]:
    return (float(value),) if isinstance(value, (int, float, Decimal)) else tuple(float(v) for v in value)


@dataclass(frozen=True)
class WorkUnit:
    """One block of patients of one variant: everything a worker needs, as plain data (strings and numbers).

    ``protocol_yaml`` is the variant as validated YAML text (``protocol_to_yaml``; it reads back to the
    same protocol), ``outcomes_yaml`` the original protocol, whose reported rates the variant's event
    model reads (a variant has none of its own), ``params`` the model's parameters.
    """

    variant: int  # 0-based grid order
    protocol_yaml: str
    outcomes_yaml: str
    params: ModelParams
    horizon_days: int
    dose_levels: tuple[str, ...] | None
    seed: int
    first_patient: int
    patients: int


@dataclass(frozen=True)
class BlockTally:
    """What a work unit gives back: which patients of which variant, and their exact tally."""

    variant: int
    first_patient: int
    patients: int
    tally: Tally


@functools.lru_cache(maxsize=32)
def _parsed(text: str) -> Protocol:
    from lenasched.model.loader import parse_protocol

    return parse_protocol(text, source="<sweep variant>")


@functools.lru_cache(maxsize=16)
def _prepared(
    protocol_yaml: str,
    outcomes_yaml: str,
    params: ModelParams,
    horizon_days: int,
    dose_levels: tuple[str, ...] | None,
) -> tuple[DrugPlan, Model]:
    """A variant's simulation plan and event model, built once per process (its units share them).

    The client builds them with this same function from the same text, so it and every worker agree.
    """
    protocol = _parsed(protocol_yaml)
    levels = None if dose_levels is None else [Decimal(x) for x in dose_levels]
    plan = build_plan(protocol, DEFAULT_START, horizon_days, None, PRIMARY_DRUG, levels)
    return plan, params.build(protocol, _parsed(outcomes_yaml))


def run_unit(unit: WorkUnit) -> BlockTally:
    """Simulate one work unit (a pure function of ``unit``: any process or machine gives the same tally)."""
    plan, model = _prepared(unit.protocol_yaml, unit.outcomes_yaml, unit.params, unit.horizon_days, unit.dose_levels)
    result = run_model(
        "sweep",
        plan,
        model,
        unit.patients,
        unit.seed,
        chunk_size=min(unit.patients, DEFAULT_CHUNK),
        first=unit.first_patient,
    )
    if result.tally is None:  # run_model always keeps it; a result without one cannot be merged
        raise LenaschedError("internal error: a work unit's result has no tally")
    return BlockTally(unit.variant, unit.first_patient, unit.patients, result.tally)


#: A backend: runs the units and returns their tallies (in any order; they are merged in a fixed one).
Runner = Callable[[Sequence[WorkUnit]], Sequence[BlockTally]]


def run_local(units: Sequence[WorkUnit]) -> list[BlockTally]:
    """The default backend: every unit in this process, one after the other (numpy)."""
    return [run_unit(unit) for unit in units]


# --- the table -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of the sweep table: name, type (``int``, ``float`` or ``text``) and meaning."""

    name: str
    kind: str
    description: str


#: The metric columns: (metric name, statistic) of ``SimulationResult.metrics()`` -> column name,
#: each with ``_ci_low`` and ``_ci_high`` columns (its 95 % Monte Carlo interval).
_METRICS: tuple[tuple[str, str, str, str], ...] = (
    ("cumulative_dose", "median", "cumulative_mg_median", "median cumulative dose delivered over the horizon (mg)"),
    ("cumulative_dose", "mean", "cumulative_mg_mean", "mean cumulative dose delivered over the horizon (mg)"),
    ("dose_intensity", "median", "dose_intensity_median", "median delivered dose intensity (mg/week)"),
    ("relative_dose_intensity", "median", "rdi_median", "median relative dose intensity (% of planned)"),
    ("relative_dose_intensity", "mean", "rdi_mean", "mean relative dose intensity (% of planned)"),
    ("reached_target", "proportion", "reached_target", "share given the cap dose at least once (0-1)"),
    (
        "time_to_target",
        "median",
        "time_to_target_median",
        "median days from the first dose to the first dose at the cap, among those who reach it (empty if none)",
    ),
    ("treatment_duration", "median", "treatment_duration_median", "median days from first to last dose given"),
    ("dosing_days", "mean", "dosing_days_mean", "mean days the drug was taken"),
    ("capsules", "mean", "capsules_mean", "mean capsules taken (label strengths)"),
    ("clinic_visits", "mean", "clinic_visits_mean", "mean clinic visits"),
    ("events", "mean", "events_mean", "mean events per patient"),
    ("fraction_with_event", "proportion", "fraction_with_event", "share with at least one event (0-1)"),
    ("fraction_stopped", "proportion", "fraction_stopped", "share stopped by the horizon (0-1)"),
)

_HEAD = (
    Column("variant", "int", "grid point, numbered from 1 in grid order"),
    Column("protocol", "text", "id of the protocol the variants are made from"),
)
_TAIL = (
    Column("patients", "int", "simulated patients"),
    Column("seed", "int", "random seed (patient i has the same random numbers in every variant)"),
    Column("horizon_days", "int", "days simulated from day 1"),
    Column("planned_mg", "float", "planned cumulative dose over the span (mg): what a patient without events gets"),
    Column("planned_mg_per_week", "float", "planned dose intensity over the span (mg/week)"),
    *(
        column
        for _, _, name, text in _METRICS
        for column in (
            Column(name, "float", text),
            Column(f"{name}_ci_low", "float", f"lower bound of the 95 % Monte Carlo interval of {name}"),
            Column(f"{name}_ci_high", "float", f"upper bound of the 95 % Monte Carlo interval of {name}"),
        )
    ),
    Column("overrides", "text", "the grid point's overrides, as --set options would give them"),
)
#: Every column but the grid's own (one per ``--set``, named by its path, after ``protocol``).
COLUMNS: tuple[Column, ...] = (*_HEAD, *_TAIL)

Cell = int | float | str | None


@dataclass(frozen=True)
class SweepTable:
    """One row per variant: ``columns`` and ``rows`` (``None`` where a value is not defined)."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    metadata: Mapping[str, Any]

    def records(self) -> list[dict[str, Cell]]:
        """The rows as dicts, column name -> value."""
        names = [c.name for c in self.columns]
        return [dict(zip(names, row)) for row in self.rows]

    def to_csv(self) -> str:
        """CSV: a header, then one line per variant; floats as Python writes them (they read back exactly),
        undefined values empty. The same table gives the same bytes."""
        import csv

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.name for c in self.columns])
        for row in self.rows:
            writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else str(v) for v in row])
        return buffer.getvalue()

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` (int64, float64 with nulls, string columns; the run in the schema metadata)."""
        try:
            pa = importlib.import_module("pyarrow")
        except ImportError:
            raise MissingDependencyError("Parquet output", "pyarrow", "parquet") from None
        types = {"int": pa.int64(), "float": pa.float64(), "text": pa.string()}
        fields = [pa.field(c.name, types[c.kind]) for c in self.columns]
        schema = pa.schema(fields, metadata={"lenasched.sweep": json.dumps(dict(self.metadata), sort_keys=True)})
        data = [[row[i] for row in self.rows] for i in range(len(self.columns))]
        return pa.Table.from_arrays([pa.array(col, type=f.type) for col, f in zip(data, fields)], schema=schema)

    def to_parquet(self) -> bytes:
        """The table as Parquet bytes (needs pyarrow: ``pip install 'lenasched[parquet]'``)."""
        table = self.to_arrow()
        parquet = importlib.import_module("pyarrow.parquet")
        buffer = io.BytesIO()
        parquet.write_table(table, buffer)
        return buffer.getvalue()


# --- planning and running a sweep ----------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """One grid point: its values (one per axis), the overrides, the validated protocol, plan and model."""

    index: int  # 0-based grid order
    values: tuple[str, ...]
    overrides: tuple[str, ...]
    protocol: Protocol
    yaml: str
    plan: DrugPlan
    model: Model


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep, ready to run on a backend: its variants and the parameters every run shares."""

    protocol: Protocol
    axes: tuple[Axis, ...]
    variants: tuple[Variant, ...]
    patients: int
    seed: int
    horizon_days: int
    dose_levels: tuple[str, ...] | None
    block_size: int
    params: ModelParams
    outcomes_yaml: str

    @property
    def blocks(self) -> int:
        """Work units per variant."""
        return -(-self.patients // self.block_size)

    def units(self) -> list[WorkUnit]:
        """The work units, variant by variant, block by block."""
        return list(self._units())

    def _units(self) -> Iterator[WorkUnit]:
        for variant in self.variants:
            for first in range(0, self.patients, self.block_size):
                yield WorkUnit(
                    variant=variant.index,
                    protocol_yaml=variant.yaml,
                    outcomes_yaml=self.outcomes_yaml,
                    params=self.params,
                    horizon_days=self.horizon_days,
                    dose_levels=self.dose_levels,
                    seed=self.seed,
                    first_patient=first,
                    patients=min(self.block_size, self.patients - first),
                )

    def parameters(self) -> list[str]:
        """The event model's parameters, one line each (once when every variant has the same)."""
        lines: list[str] = []
        for variant in self.variants:
            for p in variant.model.parameters:
                if p.line() not in lines:
                    lines.append(p.line())
        return lines

    def run(self, runner: Runner | None = None) -> SweepTable:
        """Run every unit on ``runner`` (default :func:`run_local`) and merge them into the table."""
        results = (runner or run_local)(self.units())
        return self.table(results)

    def table(self, results: Sequence[BlockTally]) -> SweepTable:
        """The table from the units' results, merged per variant in patient order (the order they came in
        does not matter); refused if a block is missing, repeated or of another run."""
        ordered = sorted(results, key=lambda r: (r.variant, r.first_patient))
        expected = [(u.variant, u.first_patient, u.patients) for u in self.units()]
        got = [(r.variant, r.first_patient, r.patients) for r in ordered]
        if got != expected or any(r.tally.n != r.patients for r in ordered):
            raise LenaschedError("internal error: the sweep's work units came back incomplete or twice")
        tallies: list[Tally] = [Tally() for _ in self.variants]
        for r in ordered:
            tallies[r.variant] = tallies[r.variant].merge(r.tally)
        columns = (*_HEAD, *(Column(a.name, a.kind, f"--set {a.lhs}") for a in self.axes), *_TAIL)
        rows = tuple(self._row(v, t) for v, t in zip(self.variants, tallies))
        metadata = {
            "protocol": self.protocol.id,
            "grid": [a.text for a in self.axes],
            "patients": self.patients,
            "seed": self.seed,
            "horizon_days": self.horizon_days,
            "dose_levels": list(self.dose_levels) if self.dose_levels is not None else None,
            "parameters": self.parameters(),
        }
        return SweepTable(columns, rows, metadata)

    def _row(self, variant: Variant, tally: Tally) -> tuple[Cell, ...]:
        result = _result(variant, tally, self.seed)
        metrics = {(m.name, m.statistic): m for m in result.metrics()}
        cells: list[Cell] = [variant.index + 1, self.protocol.id]
        cells += [axis.column(value) for axis, value in zip(self.axes, variant.values)]
        cells += [
            tally.n,
            self.seed,
            variant.plan.horizon_days,
            float(variant.plan.total_mg),
            float(result.planned_intensity),
        ]
        for name, statistic, _, _ in _METRICS:
            metric = metrics.get((name, statistic))
            if metric is None:
                cells += [None, None, None]
            else:
                cells += [_finite(metric.estimate), _finite(metric.low), _finite(metric.high)]
        cells.append(" ".join(variant.overrides))
        return tuple(cells)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _result(variant: Variant, tally: Tally, seed: int) -> SimulationResult:
    """A result carrying the merged tally (its ``metrics()`` come from the tally and the plan alone).

    The per-patient arrays stay with the workers; they are empty here.
    """
    import numpy as np

    empty = np.zeros(0)
    return result_of(
        variant.protocol.id,
        variant.plan,
        variant.model,
        seed,
        tally,
        patients=tally.n,
        cumulative_mg=empty,
        dose_intensity=empty,
        events=np.zeros(0, dtype=np.int64),
        stopped=np.zeros(0, dtype=bool),
        cycles=(),
    )


def plan_sweep(
    protocol: Protocol,
    sets: Sequence[str],
    *,
    patients: int = 10_000,
    seed: int = 0,
    horizon: int | str = DEFAULT_HORIZON_DAYS,
    event_prob: float | Decimal | Sequence[float | Decimal] | None = None,
    events: Sequence[str] | None = None,
    rates: Mapping[str, float | Decimal | Sequence[float | Decimal]] | None = None,
    recovery_days: int = DEFAULT_RECOVERY_DAYS,
    over_cycles: int = DEFAULT_OVER_CYCLES,
    dose_levels: Sequence[Decimal] | None = None,
    block_size: int = DEFAULT_BLOCK,
    version: str | None = None,
) -> SweepPlan:
    """Parse the grid, refuse it if too large, and validate every grid point, before any simulation.

    The model parameters are those of :func:`lenasched.simulate`; a variant's event rates are read from
    ``protocol`` (the variant has no reported outcomes of its own). Each grid point that is not a valid
    variant, or cannot be simulated, is a :class:`SweepError` naming the point.
    """
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise MissingDependencyError("the sweep", "numpy", "sim") from None
    if not 1 <= patients <= MAX_PATIENTS:
        raise SweepError(f"patients must be between 1 and {MAX_PATIENTS}, got {patients}")
    if seed < 0:
        raise SweepError(f"the seed must be 0 or more, got {seed}")
    if block_size < 1:
        raise SweepError(f"the block size must be at least 1 patient, got {block_size}")
    try:
        days = parse_horizon(horizon)
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    axes = parse_grid(protocol, sets)
    points = grid_points(axes)
    if len(points) * patients > MAX_SWEEP_PATIENTS:
        raise SweepError(
            f"{len(points)} variants x {patients} patients is more than {MAX_SWEEP_PATIENTS:,} simulated patients "
            "(MAX_SWEEP_PATIENTS); sweep fewer values or patients"
        )
    levels = None if dose_levels is None else tuple(_plain_decimal(Decimal(x)) for x in dose_levels)
    params = ModelParams.of(
        event_prob=event_prob, events=events, rates=rates, recovery_days=recovery_days, over_cycles=over_cycles
    )
    outcomes_yaml = _shipped_yaml(protocol, compare=("id", "outcomes"))
    variants: list[Variant] = []
    failures: list[SweepError] = []
    for index, values in enumerate(points):
        overrides = tuple(f"{axis.lhs}={value}" for axis, value in zip(axes, values))
        where = f"grid point {index + 1} of {len(points)} ({', '.join(overrides)})"
        try:
            new_id = f"{protocol.id}-sweep-{index + 1}"
            variant = apply_overrides(protocol, overrides, new_id=new_id, version=version)
            text = _shipped_yaml(variant)
            plan, model = _prepared(text, outcomes_yaml, params, days, levels)
        except VariantError as exc:
            choices = " (valid: " + ", ".join(exc.choices) + ")" if exc.choices else ""
            failures.append(SweepError(f"{where}: {exc.reason}{choices}", index + 1))
        except LenaschedError as exc:  # the plan or the model refuses it (SimulationError, ScheduleError)
            failures.append(SweepError(f"{where}: {exc}", index + 1))
        else:
            variants.append(Variant(index, values, overrides, variant, text, plan, model))
    if failures:
        first = failures[0]
        more = len(failures) - 1
        if more:
            message = f"{first}; {more} more grid point{'s' if more > 1 else ''} refused too"
            raise SweepError(message, first.point)
        raise first
    return SweepPlan(protocol, axes, tuple(variants), patients, seed, days, levels, block_size, params, outcomes_yaml)


def _shipped_yaml(protocol: Protocol, compare: tuple[str, ...] = ()) -> str:
    """``protocol`` as YAML text that reads back to it (or, with ``compare``, to the same such fields)."""
    text = protocol_to_yaml(protocol)
    back = _parsed(text)
    same = all(getattr(back, f) == getattr(protocol, f) for f in compare) if compare else back == protocol
    if not same:  # never ship what does not read back
        raise LenaschedError(f"internal error: the YAML of {protocol.id} does not read back to the same protocol")
    return text


def sweep(protocol: Protocol, sets: Sequence[str], *, runner: Runner | None = None, **kwargs: Any) -> SweepTable:
    """Plan (:func:`plan_sweep`, same arguments) and run a sweep; the table of its variants."""
    return plan_sweep(protocol, sets, **kwargs).run(runner)


# --- Dask ----------------------------------------------------------------------------------------


def _versions() -> tuple[str, str]:
    """This process's lenasched and numpy versions (what a worker must match for identical numbers)."""
    import numpy

    from lenasched import __version__

    return __version__, numpy.__version__


def default_workers() -> int:
    """The CPUs this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


_SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def check_address(address: str) -> None:
    """Refuse a scheduler address Dask cannot connect to, before trying (a failed ``Client`` hangs at exit)."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if scheme not in _SCHEMES or not colon or not host or not port.isdigit():
        raise SweepError(
            f"--scheduler {address}: not a Dask scheduler address; write SCHEME://HOST:PORT, e.g. tcp://10.0.0.5:8786 "
            f"(schemes: {', '.join(_SCHEMES)})"
        )


class DaskRunner:
    """Run work units on Dask (``dask.distributed``): a local cluster of worker processes, or a scheduler.

    Use it as a context manager (it starts the cluster or connects, and closes what it opened)::

        with DaskRunner(workers=2) as runner:
            table = plan.run(runner)

    ``scheduler`` is the address of a running scheduler (``tcp://host:8786``); without it a
    ``LocalCluster`` of ``workers`` processes with one thread each is started on 127.0.0.1. Every worker
    must run the same lenasched and numpy versions as this process (checked on connecting).
    """

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None, client: Any = None) -> None:
        self.scheduler = scheduler
        self.workers = workers if workers is not None else default_workers()
        self.client: Any = client
        self._owned: list[Any] = []

    def __enter__(self) -> DaskRunner:
        try:
            distributed = importlib.import_module("dask.distributed")
        except ImportError:
            raise MissingDependencyError("lenasched sweep --dask", "dask[distributed]", "dask") from None
        if self.client is None:
            if self.scheduler is None:
                import dask

                # Dask's nannies set MALLOC_TRIM_THRESHOLD_=65536 in their workers, which makes glibc map
                # and unmap every array above 128 KiB afresh: the simulation (thousands of such arrays
                # per work unit) ran 2.6x slower (docs/sweep.md, "Workers' memory allocator")
                with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                    cluster = distributed.LocalCluster(
                        n_workers=self.workers,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address="127.0.0.1:0",  # any free port: never the "8787 is in use" warning
                        silence_logs=logging.CRITICAL,  # no worker log on stderr (a failed unit raises here anyway)
                    )
                self._owned.append(cluster)
                self.client = distributed.Client(cluster, set_as_default=False)
            else:
                check_address(self.scheduler)
                try:
                    self.client = distributed.Client(self.scheduler, timeout="10s", set_as_default=False)
                except (OSError, TimeoutError, ValueError) as exc:
                    raise SweepError(f"cannot connect to the Dask scheduler at {self.scheduler}: {exc}") from None
            self._owned.insert(0, self.client)
        try:
            self.check_workers()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the client and the cluster this runner started (not a client it was given)."""
        while self._owned:
            self._owned.pop(0).close()

    def check_workers(self) -> dict[str, tuple[str, str]]:
        """Each worker's (lenasched, numpy) versions; refused when there is none or one differs from here."""
        versions = {str(address): (str(v[0]), str(v[1])) for address, v in self.client.run(_versions).items()}
        where = self.scheduler or "the local cluster"
        if not versions:
            raise SweepError(f"the Dask scheduler at {where} has no workers (start some with: dask worker ADDRESS)")
        mine = _versions()
        for address, theirs in sorted(versions.items()):
            if theirs != mine:
                raise SweepError(
                    f"Dask worker {address} runs lenasched {theirs[0]} with numpy {theirs[1]}, this machine "
                    f"lenasched {mine[0]} with numpy {mine[1]}; install the same versions on every worker"
                )
        return versions

    def describe(self) -> str:
        """What the units run on, for the user."""
        count = len(self.client.nthreads())
        if self.scheduler is None:
            return f"dask, local cluster of {count} worker processes (1 thread each)"
        return f"dask, scheduler {self.scheduler} with {count} workers"

    def __call__(self, units: Sequence[WorkUnit]) -> list[BlockTally]:
        if self.client is None:
            raise SweepError("DaskRunner runs inside `with DaskRunner(...) as runner:`")
        run = uuid.uuid4().hex[:12]  # names the tasks on the dashboard; no influence on the numbers
        keys = [f"lenasched-sweep-{run}-v{u.variant + 1}-p{u.first_patient}" for u in units]
        futures = self.client.map(run_unit, list(units), key=keys)
        results: list[BlockTally] = self.client.gather(futures)
        return results
