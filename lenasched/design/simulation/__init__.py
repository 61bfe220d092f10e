"""Monte Carlo of dose delivery: how much lenalidomide virtual patients really get on a protocol.

The simulation runs on the engine's own plan and transitions (``lenasched.engine``), so a
simulated patient's doses are the calendar ``expand`` gives with the same events (checked by a
differential test for every bundled protocol). For a protocol with ``dose_modification`` rules the
random events are the lab results those rules act on, and what follows is the protocol's rule;
otherwise each reported grade 3/4 rate is an event followed by a hold and one level lower.

- ``model.py``-level pieces: :mod:`.params` (named parameters with provenance), :mod:`.plan` (the
  engine's plan as arrays), :mod:`.core` (the vectorised run), :mod:`.streams` (one random stream
  per patient), :mod:`.stats` (exactly mergeable summaries with Monte Carlo intervals).
- Patient ``i`` gets the same random numbers whatever the number of patients, the chunking or the
  design: results are reproducible across chunks and workers, and designs compared with the same
  seed share their random numbers (common random numbers).

The event model (also in ``lenasched simulate --help`` and ``docs/simulation.md``): per cycle, a
patient taking every planned dose has an event of each kind with its probability ``p``, spread
evenly over the cycle's planned dosing days as a daily hazard, so held days carry no risk. The
dose of the event day is taken; the drug is held from the next day for ``recovery_days``, then
resumes as the rule says (generic model: one dose level lower). Missed doses are not made up and
cycles keep their dates. Only the primary drug (lenalidomide) is simulated.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from lenasched.design.compare import DEFAULT_START, PRIMARY_DRUG
from lenasched.design.simulation.params import (
    DEFAULT_EVENT_FIELDS,
    DEFAULT_OVER_CYCLES,
    DEFAULT_RECOVERY_DAYS,
    EventKind,
    EventRate,
    Model,
    Parameter,
    build_model,
    reported_event_rate,
)
from lenasched.design.simulation.plan import UNITS_PER_MG, DrugPlan, build_plan
from lenasched.design.simulation.stats import Tally, wilson
from lenasched.errors import MissingDependencyError, SimulationError
from lenasched.model.doses import format_dose
from lenasched.model.horizon import parse_horizon
from lenasched.model.patient import Patient
from lenasched.model.protocol import Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_EVENT_FIELDS",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_OVER_CYCLES",
    "DEFAULT_RECOVERY_DAYS",
    "UNITS_PER_MG",
    "CycleStats",
    "EventKind",
    "EventRate",
    "Metric",
    "Model",
    "Parameter",
    "Progress",
    "SimulationComparison",
    "SimulationResult",
    "build_model",
    "reported_event_rate",
    "simulate",
    "simulate_compare",
]

DEFAULT_HORIZON_DAYS = 728
MAX_PATIENTS = 10_000_000
#: Patients per block: bounds memory whatever the number of patients; results do not depend on it.
DEFAULT_CHUNK = 1 << 19
#: ``progress(done, total)``: patients simulated so far, out of all (monotone; the last call has done == total).
Progress = Callable[[int, int], None]
#: Above this share stopped, the result carries a note naming the parameter that drives it.
IMPLAUSIBLE_STOPPED = 0.5
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class CycleStats:
    """What happened in one cycle window, over all simulated patients."""

    index: int
    phase: str
    cycle: int
    first_day: int
    last_day: int
    probability: float
    planned_mg: Decimal
    median_mg: Decimal
    mean_mg: Decimal
    fraction_event: float
    fraction_held: float
    fraction_at_cap: float
    fraction_reached_cap: float
    fraction_stopped: float

    def to_row(self) -> dict[str, Any]:
        return {
            "cycle": self.index,
            "phase": self.phase,
            "phase_cycle": self.cycle,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "event_probability": _ratio(self.probability, 4),
            "planned_mg": self.planned_mg,
            "median_mg": self.median_mg,
            "mean_mg": self.mean_mg,
            "fraction_event": _ratio(self.fraction_event),
            "fraction_held": _ratio(self.fraction_held),
            "fraction_at_cap": _ratio(self.fraction_at_cap),
            "fraction_reached_cap": _ratio(self.fraction_reached_cap),
            "fraction_stopped": _ratio(self.fraction_stopped),
        }


@dataclass(frozen=True)
class Metric:
    """One output with its 95 % Monte Carlo interval (``low``/``high``; NaN when not defined)."""

    name: str
    statistic: str  # median, mean or proportion
    estimate: float
    low: float
    high: float
    unit: str
    definition: str

    def to_row(self) -> dict[str, Any]:
        return {
            "metric": self.name,
            "statistic": self.statistic,
            "estimate": _num(self.estimate),
            "ci_low": _num(self.low),
            "ci_high": _num(self.high),
            "unit": self.unit,
            "definition": self.definition,
        }


@dataclass(frozen=True)
class SimulationResult:
    """Per-patient arrays (numpy, by patient), the exact tally they came from, and their summaries."""

    protocol_id: str
    drug: str
    patients: int
    seed: int
    horizon_days: int
    span_days: int
    recovery_days: int
    rate: EventRate
    ladder: tuple[Decimal, ...]
    cap: Decimal
    planned_total_mg: Decimal
    cumulative_mg: NDArray[np.float64] = field(repr=False)
    dose_intensity: NDArray[np.float64] = field(repr=False)
    events: NDArray[np.int64] = field(repr=False)
    stopped: NDArray[np.bool_] = field(repr=False)
    cycles: tuple[CycleStats, ...] = field(repr=False)
    daily_units: NDArray[np.int64] | None = field(default=None, repr=False)
    model: Model | None = field(default=None, repr=False)
    tally: Tally | None = field(default=None, repr=False, compare=False)
    grid: int = 1
    clinic_days: int = 0

    @property
    def planned_intensity(self) -> Decimal:
        """Planned mg/week over the same span (what every patient gets with no events)."""
        if not self.span_days:
            return Decimal(0)
        return (self.planned_total_mg * 7 / self.span_days).quantize(_CENTS, ROUND_HALF_UP)

    @property
    def fraction_stopped(self) -> float:
        return float(self.stopped.mean())

    @property
    def fraction_with_event(self) -> float:
        return float((self.events > 0).mean())

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        return self.model.parameters if self.model is not None else ()

    def quartiles(self, values: NDArray[np.float64]) -> tuple[Decimal, Decimal, Decimal]:
        """25th, 50th and 75th percentiles (linear interpolation), to 0.01."""
        import numpy as np

        q1, q2, q3 = np.percentile(values, [25, 50, 75])
        return _dec(float(q1)), _dec(float(q2)), _dec(float(q3))

    def _mg(self, grid_value: float) -> float:
        return grid_value * self.grid / UNITS_PER_MG

    def metrics(self) -> list[Metric]:
        """The outputs designers use, each with a 95 % Monte Carlo interval (see ``docs/simulation.md``)."""
        t = self.tally
        if t is None:
            return []
        n = t.n
        weeks = self.span_days / 7 if self.span_days else math.nan
        planned = float(self.planned_total_mg)
        out: list[Metric] = []

        def scaled(name: str, stat: str, factor: float, unit: str, definition: str, metric: str) -> None:
            if stat == "median":
                e, lo, hi = t.quantile_ci(name, 0.5)
            else:
                e, lo, hi = t.mean_ci(name)
            out.append(Metric(metric, stat, e * factor, lo * factor, hi * factor, unit, definition))

        mg = self.grid / UNITS_PER_MG
        scaled("units", "median", mg, "mg", "cumulative dose delivered over the horizon", "cumulative_dose")
        scaled("units", "mean", mg, "mg", "cumulative dose delivered over the horizon", "cumulative_dose")
        scaled(
            "units",
            "median",
            mg / weeks,
            "mg/week",
            "delivered dose intensity: cumulative dose / weeks of the planned span",
            "dose_intensity",
        )
        if planned > 0:
            rdi = "relative dose intensity: total dose / planned dose x 100 (admiral derive_param_doseint)"
            scaled("units", "median", mg / planned * 100, "%", rdi, "relative_dose_intensity")
            scaled("units", "mean", mg / planned * 100, "%", rdi, "relative_dose_intensity")
        reached = t.counts.get("reached", 0)
        out.append(
            Metric(
                "reached_target",
                "proportion",
                reached / n,
                *wilson(reached, n),
                "share",
                "given the cap dose at least once",
            )
        )
        if reached:
            scaled(
                "target_day",
                "median",
                1.0,
                "days",
                "time to target dose: days from the first dose to the first dose at the cap (1 = the first dose), "
                "among patients who reach it",
                "time_to_target",
            )
        for i, level in enumerate(self.ladder):
            name = f"level{i}.cycles"
            if t.size(name):
                scaled(
                    name,
                    "mean",
                    1.0,
                    "cycles",
                    f"cycles whose highest dose given was {format_dose(level)} mg",
                    f"cycles_at_{format_dose(level)}_mg",
                )
        scaled(
            "duration",
            "median",
            1.0,
            "days",
            "treatment duration: first dose to last dose given, inclusive",
            "treatment_duration",
        )
        scaled("dosing_days", "mean", 1.0, "days", "days the drug was taken", "dosing_days")
        scaled("capsules", "mean", 1.0, "capsules", "capsules taken (label strengths, one dose each)", "capsules")
        scaled(
            "visits",
            "mean",
            1.0,
            "visits",
            "clinic visits: one per cycle started on the drug, two per event (the result that fires the "
            f"hold and the one that shows recovery), and the companion drugs' iv/sc days ({self.clinic_days})",
            "clinic_visits",
        )
        scaled("events", "mean", 1.0, "events", "events per patient", "events")
        for key, label in (("with_event", "patients with at least one event"), ("stopped", "stopped by the horizon")):
            k = t.counts.get(key, 0)
            out.append(Metric(f"fraction_{key}", "proportion", k / n, *wilson(k, n), "share", label))
        return out

    def notes(self) -> list[str]:
        """One line per implausible result, naming the parameter that drives it, and per rule not simulated."""
        out: list[str] = [
            f"{p.name} is not simulated: {p.source}" for p in self.parameters if p.value == "not simulated"
        ]
        share = self.fraction_stopped
        if share > IMPLAUSIBLE_STOPPED and self.model is not None and self.tally is not None:
            kinds = self.model.kinds
            counts = [self.tally.counts.get(f"kind{k}.events", 0) for k in range(len(kinds))]
            total = sum(counts) or 1
            top = max(range(len(kinds)), key=lambda k: counts[k]) if kinds else None
            if top is not None:
                kind = kinds[top]
                p = ", ".join(f"{v:.3f}" for v in kind.rate.per_cycle)
                out.append(
                    f"implausible: {share:.1%} of patients stopped by day {self.horizon_days}; driven by "
                    f"{kind.parameter} = {p} per cycle ({counts[top] / total:.0%} of events; "
                    f"{kind.rate.sources[0]}); check it, or give --rate {kind.name}=P"
                )
        return out

    def summary(self) -> dict[str, Any]:
        """The headline numbers: medians and IQRs of dose intensity and cumulative dose, events, stops."""
        i1, i2, i3 = self.quartiles(self.dose_intensity)
        c1, c2, c3 = self.quartiles(self.cumulative_mg)
        return {
            "protocol": self.protocol_id,
            "drug": self.drug,
            "patients": self.patients,
            "seed": self.seed,
            "horizon_days": self.horizon_days,
            "span_days": self.span_days,
            "recovery_days": self.recovery_days,
            "model": self.model.mode if self.model is not None else "generic",
            "event_probability_per_cycle": [_ratio(p, 4) for p in self.rate.per_cycle],
            "event_rate_sources": list(self.rate.sources),
            "parameters": [{"name": p.name, "value": p.value, "source": p.source} for p in self.parameters],
            "dose_levels": [format_dose(x) for x in self.ladder],
            "cap": format_dose(self.cap),
            "planned_cumulative_mg": self.planned_total_mg,
            "planned_dose_intensity_mg_per_week": self.planned_intensity,
            "dose_intensity_median": i2,
            "dose_intensity_q1": i1,
            "dose_intensity_q3": i3,
            "cumulative_mg_median": c2,
            "cumulative_mg_q1": c1,
            "cumulative_mg_q3": c3,
            "fraction_with_event": _ratio(self.fraction_with_event),
            "fraction_stopped": _ratio(self.fraction_stopped),
            "metrics": [m.to_row() for m in self.metrics()],
            "notes": self.notes(),
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per cycle window (the per-cycle table)."""
        return [c.to_row() for c in self.cycles]


@dataclass(frozen=True)
class SimulationComparison:
    """Designs simulated on common random numbers: each result, and paired differences from the first."""

    results: tuple[SimulationResult, ...]

    def differences(self) -> list[dict[str, Any]]:
        """Per design after the first: mean paired difference in cumulative dose (mg) with its 95 % interval."""
        base = self.results[0]
        rows = []
        for other in self.results[1:]:
            mean, half = _paired(other.cumulative_mg - base.cumulative_mg)
            stopped, stopped_half = _paired(other.stopped.astype(float) - base.stopped.astype(float))
            rows.append(
                {
                    "design": other.protocol_id,
                    "versus": base.protocol_id,
                    "cumulative_mg_difference": _num(mean),
                    "ci_low": _num(mean - half),
                    "ci_high": _num(mean + half),
                    "fraction_stopped_difference": _num(stopped),
                    "stopped_ci_low": _num(stopped - stopped_half),
                    "stopped_ci_high": _num(stopped + stopped_half),
                }
            )
        return rows

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per design: its headline outputs, and its paired difference from the first design."""
        rows = []
        differences = self.differences()  # (one per design after the first, in order)
        for i, result in enumerate(self.results):
            s = result.summary()
            metrics = {(m.name, m.statistic): m for m in result.metrics()}
            rdi = metrics.get(("relative_dose_intensity", "median"))
            difference = differences[i - 1] if i else None
            rows.append(
                {
                    "design": result.protocol_id,
                    "planned_cumulative_mg": s["planned_cumulative_mg"],
                    "cumulative_mg_median": s["cumulative_mg_median"],
                    "cumulative_mg_q1": s["cumulative_mg_q1"],
                    "cumulative_mg_q3": s["cumulative_mg_q3"],
                    "dose_intensity_median": s["dose_intensity_median"],
                    "relative_dose_intensity_median": _num(rdi.estimate) if rdi is not None else None,
                    "fraction_with_event": s["fraction_with_event"],
                    "fraction_stopped": s["fraction_stopped"],
                    "versus": difference["versus"] if difference else None,
                    "cumulative_mg_difference": difference["cumulative_mg_difference"] if difference else None,
                    "difference_ci_low": difference["ci_low"] if difference else None,
                    "difference_ci_high": difference["ci_high"] if difference else None,
                    "fraction_stopped_difference": difference["fraction_stopped_difference"] if difference else None,
                }
            )
        return rows

    def summary(self) -> dict[str, Any]:
        """Every design's summary and the paired differences (what ``--compare --format json`` writes)."""
        first = self.results[0]
        return {
            "patients": first.patients,
            "seed": first.seed,
            "horizon_days": first.horizon_days,
            "common_random_numbers": True,
            "designs": [r.summary() for r in self.results],
            "differences": self.differences(),
        }


def simulate(
    protocol: Protocol,
    *,
    patients: int = 10_000,
    seed: int = 0,
    horizon: int | str = DEFAULT_HORIZON_DAYS,
    event_prob: float | Decimal | Sequence[float | Decimal] | EventRate | None = None,
    events: Sequence[str] | None = None,
    rates: Mapping[str, float | Decimal | Sequence[float | Decimal]] | None = None,
    recovery_days: int = DEFAULT_RECOVERY_DAYS,
    over_cycles: int = DEFAULT_OVER_CYCLES,
    dose_levels: Sequence[Decimal] | None = None,
    start: date | None = None,
    patient: Patient | None = None,
    drug: str = PRIMARY_DRUG,
    keep_daily: bool = False,
    outcomes_from: Protocol | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    first_patient: int = 0,
    progress: Progress | None = None,
) -> SimulationResult:
    """Simulate ``patients`` virtual patients on ``protocol`` for ``horizon`` days (needs numpy).

    The event model and its parameters come from :func:`build_model`: the protocol's own
    ``dose_modification`` rules when it has them (``rates`` by rule id), else the generic model on
    ``event_prob`` or the reported rates (``events``). ``dose_levels`` replaces the reduction
    ladder. ``keep_daily`` also returns the patients x days matrix of delivered doses in units of
    1/``UNITS_PER_MG`` mg. Patient ``first_patient + i`` has its own random stream, so the same
    ``seed`` gives every patient the same result whatever ``patients`` and ``chunk_size``.
    ``progress(done, total)`` is called as patients are simulated (about once per cycle window of
    each block), with monotone counts ending at ``(patients, patients)``; it prints nothing itself.
    """
    try:
        import numpy  # noqa: F401
    except ImportError:
        raise MissingDependencyError("the simulation", "numpy", "sim") from None
    if not 1 <= patients <= MAX_PATIENTS:
        raise SimulationError(f"patients must be between 1 and {MAX_PATIENTS}, got {patients}")
    if seed < 0:
        raise SimulationError(f"the seed must be 0 or more, got {seed}")
    if chunk_size < 1 or first_patient < 0:
        raise SimulationError("chunk_size must be positive and first_patient 0 or more")
    try:
        days = parse_horizon(horizon)
    except ValueError as exc:
        raise SimulationError(str(exc)) from None
    model = build_model(
        protocol,
        event_prob=event_prob,
        events=events,
        rates=rates,
        recovery_days=recovery_days,
        over_cycles=over_cycles,
        outcomes_from=outcomes_from,
        drug=drug,
    )
    plan = build_plan(protocol, start or DEFAULT_START, days, patient, drug, dose_levels)
    return run_model(
        protocol.id,
        plan,
        model,
        patients,
        seed,
        keep_daily=keep_daily,
        chunk_size=chunk_size,
        first=first_patient,
        progress=progress,
    )


def run_model(
    protocol_id: str,
    plan: DrugPlan,
    model: Model,
    patients: int,
    seed: int,
    *,
    keep_daily: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
    first: int = 0,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run a built plan and model over patients ``first`` .. ``first + patients - 1``, in chunks.

    ``progress(done, total)``: see :func:`simulate`.
    """
    import numpy as np

    from lenasched.design.simulation.core import run_block
    from lenasched.design.simulation.streams import PatientStreams

    streams = PatientStreams(seed)
    tally = Tally()
    units, counts, stops, daily = [], [], [], []
    reported = [-1]

    def report(done: int) -> None:
        if progress is not None and done > reported[0]:
            reported[0] = done
            progress(done, patients)

    for begin in range(first, first + patients, chunk_size):
        size = min(chunk_size, first + patients - begin)
        extra: dict[str, Any] = {}
        if progress is not None:  # (only then: benchmarks/sim_scaling.py also runs older cores, without it)
            extra["progress"] = functools.partial(_share_done, report, begin - first, size)
        block = run_block(plan, model, streams, begin, size, keep_daily=keep_daily, **extra)
        report(begin - first + size)
        tally = tally.merge(block.tally)
        units.append(block.units)
        counts.append(block.events)
        stops.append(block.stopped)
        if block.daily is not None:
            daily.append(block.daily)
    cumulative_mg = np.concatenate(units) / UNITS_PER_MG
    weeks = plan.span_days / 7
    intensity = cumulative_mg / weeks if weeks else np.zeros(patients)
    return result_of(
        protocol_id,
        plan,
        model,
        seed,
        tally,
        patients=patients,
        cumulative_mg=cumulative_mg,
        dose_intensity=intensity,
        events=np.concatenate(counts).astype(np.int64),
        stopped=np.concatenate(stops),
        cycles=_cycles(plan, model, tally),
        daily_units=np.concatenate(daily) if daily else None,
    )


def result_of(
    protocol_id: str, plan: DrugPlan, model: Model, seed: int, tally: Tally, *, patients: int, **per_patient: Any
) -> SimulationResult:
    """A result: what the plan and model say, the merged ``tally``, and the per-patient arrays given.

    One place for the fields that come from the plan and model, whether the per-patient arrays are
    here (``run_model``) or stayed with the workers (``sweep``, which passes empty ones).
    """
    return SimulationResult(
        protocol_id=protocol_id,
        drug=plan.drug,
        patients=patients,
        seed=seed,
        horizon_days=plan.horizon_days,
        span_days=plan.span_days,
        recovery_days=model.recovery_days,
        rate=model.rate,
        ladder=plan.ladder,
        cap=plan.cap,
        planned_total_mg=plan.total_mg,
        model=model,
        tally=tally,
        grid=plan.grid,
        clinic_days=plan.clinic_days,
        **per_patient,
    )


def simulate_compare(
    protocols: Sequence[Protocol],
    *,
    outcomes: Sequence[Protocol | None] | None = None,
    progress: Progress | None = None,
    **kwargs: Any,
) -> SimulationComparison:
    """Simulate each design with the same seed and patients: common random numbers, paired differences.

    Patient ``i`` of every design draws the same random numbers (the same exponential thresholds of
    exposure), so differences between designs come from the designs, not from sampling noise (the
    ``simulate_compare`` pattern of the ``escalation`` R package). ``outcomes`` gives, per design,
    the protocol whose reported rates it uses (a what-if variant: its original); other keyword
    arguments go to :func:`simulate` for every design. ``progress(done, total)`` counts the
    patients of all designs.
    """
    if not protocols:
        raise SimulationError("nothing to compare: give at least one protocol")
    if outcomes is not None and len(outcomes) != len(protocols):
        raise SimulationError(f"outcomes: give one per design ({len(protocols)}), got {len(outcomes)}")
    patients = int(kwargs.get("patients", 10_000))
    results = []
    for i, protocol in enumerate(protocols):
        mine = dict(kwargs)
        if outcomes is not None:
            mine["outcomes_from"] = outcomes[i]
        if progress is not None:

            def step(done: int, total: int, i: int = i) -> None:
                progress(i * patients + done, len(protocols) * patients)

            mine["progress"] = step
        results.append(simulate(protocol, **mine))
    return SimulationComparison(tuple(results))


def _cycles(plan: DrugPlan, model: Model, tally: Tally) -> tuple[CycleStats, ...]:
    n = tally.n
    rate = model.rate
    out = []
    for w, window in enumerate(plan.windows):
        name = f"cycle{w}.units"
        out.append(
            CycleStats(
                index=window.index + 1,
                phase=window.phase,
                cycle=window.cycle,
                first_day=window.first_day + 1,
                last_day=window.last_day + 1,
                probability=rate.at(max(window.index, 0)),
                planned_mg=window.planned_mg,
                median_mg=_dec(tally.quantile(name, 0.5) * plan.grid / UNITS_PER_MG),
                mean_mg=_dec(tally.mean(name) * plan.grid / UNITS_PER_MG),
                fraction_event=tally.counts.get(f"cycle{w}.event", 0) / n,
                fraction_held=tally.counts.get(f"cycle{w}.held", 0) / n,
                fraction_at_cap=tally.counts.get(f"cycle{w}.at_cap", 0) / n,
                fraction_reached_cap=tally.counts.get(f"cycle{w}.reached", 0) / n,
                fraction_stopped=tally.counts.get(f"cycle{w}.stopped", 0) / n,
            )
        )
    return tuple(out)


# --- kept for the differential tests (tests/test_regressions.py) ---------------------------------


def _plan(
    protocol: Protocol,
    start: date,
    days: int,
    patient: Patient | None,
    drug: str,
    dose_levels: Sequence[Decimal] | None,
) -> DrugPlan:
    return build_plan(protocol, start, days, patient, drug, dose_levels)


def _run(
    plan: DrugPlan,
    n: int,
    rng: Any,
    rate: EventRate,
    recovery_days: int,
    keep_daily: bool,
    forced: Sequence[int] | Mapping[int, str] | None = None,
    model: Model | None = None,
) -> Any:
    """One block with a generic model on ``rate`` (or ``model``); ``forced`` event days replace the draws."""
    from lenasched.design.simulation.core import run_block
    from lenasched.design.simulation.streams import PatientStreams

    if model is None:
        model = Model((EventKind("dlt", rate),), recovery_days, "generic", ())
    return run_block(plan, model, PatientStreams(0), 0, n, keep_daily=keep_daily, forced=forced)


def _share_done(report: Callable[[int], None], offset: int, size: int, share: float) -> None:
    """A block's progress (``share`` of its ``size`` patients) as patients done in the whole run."""
    report(offset + int(size * share))


def _paired(diff: NDArray[np.float64]) -> tuple[float, float]:
    """Mean of paired differences and the half-width of its 95 % (normal) interval."""
    n = len(diff)
    mean = float(diff.mean())
    half = 1.959963984540054 * float(diff.std(ddof=1)) / math.sqrt(n) if n > 1 else math.nan
    return mean, half


def _dec(value: float) -> Decimal:
    if math.isnan(value):
        return Decimal("NaN")
    return Decimal(repr(value)).quantize(_CENTS, ROUND_HALF_UP)


def _ratio(value: float, places: int = 4) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def _num(value: float) -> Decimal | None:
    if math.isnan(value) or math.isinf(value):
        return None
    return Decimal(repr(value)).quantize(Decimal("0.0001"), ROUND_HALF_UP).normalize()
