"""Monte Carlo of dose delivery: how much lenalidomide virtual patients really get on a protocol.

The planned calendar comes from the engine (one expansion); the patients are numpy vectors, and the
simulation steps through the planned dosing days once, updating every patient at the same time. It
never expands a calendar per patient.

The event model (also in ``lenasched simulate --help`` and ``docs/simulation.md``):

- In each cycle a patient who takes the drug on every planned day of it has a dose-limiting event
  with probability ``p`` (per cycle; one value, or one per cycle with the last repeated). The risk
  is spread evenly over the cycle's planned dosing days as a daily hazard ``1 - (1 - p)^(1/n)``,
  so it applies only to days the drug is actually taken: held days carry no risk, and a patient
  can have a second event in the same cycle after recovering.
- The dose of the event day is taken. The drug is then held for ``recovery_days`` and resumes one
  dose level lower (the protocol's ``dose_levels``, together with its escalation steps), and never
  escalates above that level again. An event at the lowest level stops the drug for good.
- Missed days are not made up and cycles keep their dates (holds do not delay the calendar).
- Events are independent between patients, between cycles and of the dose level; ``p`` from
  several reported toxicities combines as independent risks, ``1 - prod(1 - p_i)``.
- Reported rates: a percentage of patients (``52``, or ``"49 (18 of 37)"``) is taken as the chance of at least one event
  over the first ``over_cycles`` cycles and turned into a constant per-cycle ``p``; a rate given per
  cycle (``"34 (of cycles)"``) is used as it is; other text (``"<1"``) cannot be used.
- Only the primary drug (lenalidomide) is simulated; companion drugs are not.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from .comparison import DEFAULT_START, PRIMARY_DRUG
from .doses import format_dose
from .engine import expand
from .errors import MissingDependencyError, SimulationError
from .horizon import parse_horizon
from .outcomes import OUTCOME_FIELDS
from .patient import Patient
from .protocol import Protocol

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_EVENT_FIELDS",
    "DEFAULT_HORIZON_DAYS",
    "DEFAULT_OVER_CYCLES",
    "DEFAULT_RECOVERY_DAYS",
    "UNITS_PER_MG",
    "CycleStats",
    "EventRate",
    "SimulationResult",
    "reported_event_rate",
    "simulate",
]

#: Grade 3/4 cytopenias are the usual trigger of a lenalidomide hold and dose reduction.
DEFAULT_EVENT_FIELDS: tuple[str, ...] = ("neutropenia_g34_pct", "thrombocytopenia_g34_pct")
DEFAULT_OVER_CYCLES = 6
DEFAULT_RECOVERY_DAYS = 14
DEFAULT_HORIZON_DAYS = 728
#: Doses are counted in integer units of 0.0001 mg (the format's finest dose), so sums are exact.
UNITS_PER_MG = 10_000
MAX_PATIENTS = 10_000_000

_PER_CYCLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*\(of cycles\)\s*$")
_OF_PATIENTS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*\(\d+ of \d+(?: patients)?\)\s*$")
_CENTS = Decimal("0.01")


@dataclass(frozen=True)
class EventRate:
    """Per-cycle event probabilities and where they came from (one line per source)."""

    per_cycle: tuple[float, ...]
    sources: tuple[str, ...]

    def at(self, cycle_index: int) -> float:
        """Probability in cycle ``cycle_index`` (0-based); the last value repeats."""
        return self.per_cycle[min(cycle_index, len(self.per_cycle) - 1)]


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
class SimulationResult:
    """Per-patient arrays and their summaries. Arrays are numpy, indexed by patient."""

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

    def quartiles(self, values: NDArray[np.float64]) -> tuple[Decimal, Decimal, Decimal]:
        """25th, 50th and 75th percentiles (linear interpolation), to 0.01."""
        import numpy as np

        q1, q2, q3 = np.percentile(values, [25, 50, 75])
        return _dec(float(q1)), _dec(float(q2)), _dec(float(q3))

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
            "event_probability_per_cycle": [_ratio(p, 4) for p in self.rate.per_cycle],
            "event_rate_sources": list(self.rate.sources),
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
        }

    def to_rows(self) -> list[dict[str, Any]]:
        """One row per cycle window (the per-cycle table)."""
        return [c.to_row() for c in self.cycles]


def reported_event_rate(
    protocol: Protocol,
    fields: Sequence[str] = DEFAULT_EVENT_FIELDS,
    *,
    over_cycles: int = DEFAULT_OVER_CYCLES,
) -> EventRate:
    """A constant per-cycle probability from the protocol's reported toxicity rates.

    Refused with :class:`SimulationError` when none of ``fields`` is reported as a usable number.
    """
    if over_cycles < 1:
        raise SimulationError(f"over_cycles must be at least 1, got {over_cycles}")
    survive = 1.0
    used: list[str] = []
    skipped: list[str] = []
    for name in fields:
        if name not in OUTCOME_FIELDS or name in ("patients", "os", "pfs"):
            choices = [f for f in OUTCOME_FIELDS if f.endswith("_pct")]
            raise SimulationError(f"{name!r} is not a reported rate; use one of: {', '.join(choices)}")
        reported = getattr(protocol.outcomes, name)
        if reported is None:
            skipped.append(f"{name} not reported")
            continue
        value = reported.value
        label = OUTCOME_FIELDS[name]
        counted = _OF_PATIENTS.match(value) if isinstance(value, str) else None
        if counted is not None:
            value = Decimal(counted.group(1))
        if isinstance(value, Decimal):
            share = float(value) / 100
            p = 1 - (1 - share) ** (1 / over_cycles) if share < 1 else 1.0
            used.append(
                f"{label} {format_dose(value)}% of patients, taken as the chance of at least one event "
                f"over {over_cycles} cycles: {p:.4f} per cycle"
            )
        else:
            match = _PER_CYCLE.match(value)
            if match is None:
                skipped.append(f"{name} {value!r} is not a number")
                continue
            p = float(match.group(1)) / 100
            used.append(f"{label} {value}: {p:.4f} per cycle")
        if not 0 <= p <= 1:
            raise SimulationError(f"{name} gives a probability of {p}, outside 0-1")
        survive *= 1 - p
    if not used:
        raise SimulationError(
            f"{protocol.id} reports no usable rate for {', '.join(fields)} ({'; '.join(skipped)}); "
            "give the per-cycle probability (--event-prob)"
        )
    sources = used + [f"not used: {s}" for s in skipped]
    if len(used) > 1:
        sources.append(f"combined as independent risks: {1 - survive:.4f} per cycle")
    return EventRate(per_cycle=(1 - survive,), sources=tuple(sources))


def simulate(
    protocol: Protocol,
    *,
    patients: int = 10_000,
    seed: int = 0,
    horizon: int | str = DEFAULT_HORIZON_DAYS,
    event_prob: float | Decimal | Sequence[float | Decimal] | EventRate | None = None,
    recovery_days: int = DEFAULT_RECOVERY_DAYS,
    dose_levels: Sequence[Decimal] | None = None,
    start: date | None = None,
    patient: Patient | None = None,
    drug: str = PRIMARY_DRUG,
    keep_daily: bool = False,
) -> SimulationResult:
    """Simulate ``patients`` virtual patients on ``protocol`` for ``horizon`` days (needs numpy).

    ``event_prob`` is the per-cycle probability of a dose-limiting event (one number, one per
    cycle with the last repeated, or an :class:`EventRate`); by default it comes from the
    protocol's reported grade 3/4 cytopenias (:func:`reported_event_rate`). ``dose_levels``
    replaces the protocol's reduction ladder. ``keep_daily`` also returns the patients x days
    matrix of delivered doses in units of 1/``UNITS_PER_MG`` mg. The same ``seed`` gives the
    same result.
    """
    try:
        import numpy as np
    except ImportError:
        raise MissingDependencyError("the simulation", "numpy", "sim") from None
    if not 1 <= patients <= MAX_PATIENTS:
        raise SimulationError(f"patients must be between 1 and {MAX_PATIENTS}, got {patients}")
    if recovery_days < 0:
        raise SimulationError(f"recovery_days cannot be negative, got {recovery_days}")
    if seed < 0:
        raise SimulationError(f"the seed must be 0 or more, got {seed}")
    try:
        days = parse_horizon(horizon)
    except ValueError as exc:
        raise SimulationError(str(exc)) from None
    rate = _rate(protocol, event_prob)
    plan = _plan(protocol, start or DEFAULT_START, days, patient, drug, dose_levels)
    path = _run(plan, patients, np.random.default_rng(seed), rate, recovery_days, keep_daily)
    cumulative_mg = path.cumulative / UNITS_PER_MG
    weeks = plan.span_days / 7
    intensity = cumulative_mg / weeks if weeks else np.zeros(patients)
    return SimulationResult(
        protocol_id=protocol.id,
        drug=drug,
        patients=patients,
        seed=seed,
        horizon_days=days,
        span_days=plan.span_days,
        recovery_days=recovery_days,
        rate=rate,
        ladder=plan.ladder,
        cap=plan.cap,
        planned_total_mg=plan.total_mg,
        cumulative_mg=cumulative_mg,
        dose_intensity=intensity,
        events=path.events,
        stopped=~path.on,
        cycles=path.stats,
        daily_units=path.daily,
    )


# --- the path: the engine's transitions, vectorised over patients ---------------------------------


@dataclass
class _Path:
    cumulative: NDArray[np.int64]
    events: NDArray[np.int64]
    on: NDArray[np.bool_]
    stats: tuple[CycleStats, ...]
    daily: NDArray[np.int64] | None


_NO_CEILING = 2**62  # no reduction yet: above every dose, in dose units


def _run(
    plan: _Plan,
    n: int,
    rng: np.random.Generator,
    rate: EventRate,
    recovery_days: int,
    keep_daily: bool,
    forced: Sequence[int] = (),
) -> _Path:
    """Step through the drug's planned administrations once, every patient at the same time.

    The dose rules are the engine's own (``engine.transitions``): the planned level capped by the
    ceiling a reduction set; a reduction goes one level below the last dose of the phase (or below the
    planned dose when the drug resumes in a new phase, whose plan a reduction does not reach); no
    level below means the drug stops, for good. An event is a hold from the next day and a resume
    one level lower ``recovery_days`` later, exactly ``Hold`` + ``Resume(level="lower")`` in ``expand``.
    ``forced`` (study-day indexes) replaces the random draws with events on those days (tests).
    """
    import numpy as np

    from .engine.transitions import NO_LEVEL, capped, lowered

    ceiling = np.full(n, _NO_CEILING, dtype=np.int64)  # in dose units, like the engine's Decimal ceiling
    last_given = np.full(n, -1, dtype=np.int64)  # units of the last dose of the current phase (-1: none)
    phase_of = np.full(n, -1, dtype=np.int64)  # phase of the last dose given
    hold_until = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    pending = np.zeros(n, dtype=bool)  # a reduction waits for the next dose on or after hold_until
    resume_phase = np.full(n, -1, dtype=np.int64)  # the phase the resume date falls in
    on = np.ones(n, dtype=bool)
    cumulative = np.zeros(n, dtype=np.int64)
    events = np.zeros(n, dtype=np.int64)
    reached = np.zeros(n, dtype=bool)
    width = plan.lead_days + plan.horizon_days
    daily = np.zeros((n, width), dtype=np.int64) if keep_daily else None
    forced_days = set(forced)
    stats: list[CycleStats] = []
    for window in plan.windows:
        p = rate.at(max(window.index, 0))
        hazard = 1.0 if p >= 1 else (1 - (1 - p) ** (1 / window.full_dosing_days) if window.full_dosing_days else 0.0)
        in_cycle = np.zeros(n, dtype=np.int64)
        had_event = np.zeros(n, dtype=bool)
        held = np.zeros(n, dtype=bool)
        at_cap = np.zeros(n, dtype=bool)
        for dose in window.doses:
            ladder = dose.ladder_units
            held |= on & (hold_until > dose.day)
            active = on & (hold_until <= dose.day)
            new_phase = active & (phase_of != dose.phase)
            ceiling[new_phase] = _NO_CEILING  # a reduction belongs to its phase
            last_given[new_phase] = -1
            phase_of[active] = dose.phase
            due = active & pending
            pending[due] = False
            apply = due & (resume_phase == dose.phase)  # a reduction belongs to the phase it is dated in
            if apply.any():
                cap_now = np.searchsorted(ladder, ceiling[apply], "right") - 1
                planned_now = ladder[capped(dose.index, cap_now, np.minimum)]
                reference = np.where(last_given[apply] >= 0, last_given[apply], planned_now)
                below = lowered(np.searchsorted(ladder, reference, "right") - 1)
                stop = below == NO_LEVEL
                rows = np.flatnonzero(apply)
                on[rows[stop]] = False
                ceiling[rows[~stop]] = ladder[below[~stop]]
                active &= on
            level = capped(dose.index, np.searchsorted(ladder, ceiling, "right") - 1, np.minimum)
            given = np.where(active, ladder[np.maximum(level, 0)], 0)
            last_given[active] = given[active]
            in_cycle += given
            if daily is not None:
                daily[:, dose.day + plan.lead_days] = given
            if dose.index == dose.cap_index:
                at_cap |= active & (level == dose.cap_index)
            if forced_days:
                event = active & (dose.day in forced_days)
            elif hazard > 0:
                event = (rng.random(n) < hazard) & active
            else:
                continue
            if event.any():
                hold_until[event] = dose.day + 1 + recovery_days
                resume_phase[event] = plan.phase_on(dose.day + 1 + recovery_days)
                pending[event] = True
                events += event
                had_event |= event
        cumulative += in_cycle
        reached |= at_cap
        stats.append(
            CycleStats(
                index=window.index + 1,
                phase=window.phase,
                cycle=window.cycle,
                first_day=window.first_day + 1,
                last_day=window.last_day + 1,
                probability=p,
                planned_mg=window.planned_mg,
                median_mg=_dec(float(np.median(in_cycle)) / UNITS_PER_MG),
                mean_mg=_dec(float(in_cycle.mean()) / UNITS_PER_MG),
                fraction_event=float(had_event.mean()),
                fraction_held=float(held.mean()),
                fraction_at_cap=float(at_cap.mean()),
                fraction_reached_cap=float(reached.mean()),
                fraction_stopped=float(1 - on.mean()),
            )
        )
    return _Path(cumulative, events, on, tuple(stats), daily)


# --- the plan: the engine's plan of one drug as plain arrays --------------------------------------


@dataclass(frozen=True)
class _Dose:
    day: int  # 0-based study day (negative in the lead-in)
    phase: int  # which phase (lead-in = -1)
    index: int  # planned ladder index in its course's ladder
    cap_index: int  # ladder index of the protocol's cap in that ladder (-1: not on it)
    ladder_units: Any  # the course's ladder in dose units, lowest first (numpy int64)


@dataclass(frozen=True)
class _Window:
    index: int  # 0-based cycle index; -1 for the lead-in
    phase: str
    cycle: int
    first_day: int
    last_day: int
    full_dosing_days: int
    planned_mg: Decimal
    doses: tuple[_Dose, ...]


@dataclass(frozen=True)
class _Plan:
    ladder: tuple[Decimal, ...]
    cap: Decimal
    windows: tuple[_Window, ...]
    span_days: int
    total_mg: Decimal
    lead_days: int
    horizon_days: int
    phase_starts: tuple[tuple[int, int], ...]  # (first 0-based day, phase index) of each cycle, in order

    def phase_on(self, day: int) -> int:
        """The phase index of 0-based study day ``day`` (-1: the lead-in), as the engine's ``phase_at``."""
        found = -1
        for first, phase in self.phase_starts:
            if first > day:
                break
            found = phase
        return found


def _plan(
    protocol: Protocol,
    start: date,
    days: int,
    patient: Patient | None,
    drug: str,
    dose_levels: Sequence[Decimal] | None,
) -> _Plan:
    import numpy as np

    from .engine import make_plan

    regimens = [r for r in protocol.regimens if r.drug == drug]
    if not regimens:
        raise SimulationError(f"{protocol.id} has no {drug} to simulate")
    if any(r.unit != "mg" for r in regimens):
        raise SimulationError(f"{protocol.id}: the simulation handles {drug} dosed in mg only")
    calendar = expand(protocol, start, until=start + timedelta(days=days - 1), patient=_sizes(protocol, patient))
    plan = make_plan(protocol, start, cycles=len(calendar.windows))  # whole cycles, for each cycle's dosing days
    cap = max(r.max_dose for r in regimens)
    ladders: dict[int, tuple[Decimal, ...]] = {}
    for course in plan.courses:
        if course.drug != drug:
            continue
        ladder = course.ladder
        if dose_levels is not None:
            ladder = tuple(sorted(set(dose_levels)))
            planned = {course.ladder[p.index] for p in course.doses}
            missing = sorted(planned - set(ladder))
            if missing:
                raise SimulationError(
                    f"planned dose {format_dose(missing[0])} mg is not among the dose levels given "
                    f"({', '.join(format_dose(x) for x in ladder)})"
                )
        if not ladder or ladder[0] <= 0:
            raise SimulationError("dose levels must be positive")
        ladders[course.key] = ladder
    phases = {phase.name: i for i, phase in enumerate(protocol.phases)}
    by_window: dict[int, list[_Dose]] = {}
    full_counts: dict[int, int] = {}
    planned_mg: dict[int, Decimal] = {}
    for course in plan.courses:
        if course.drug != drug:
            continue
        ladder = ladders[course.key]
        units = np.array([_units(x) for x in ladder], dtype=np.int64)
        cap_index = ladder.index(cap) if cap in ladder else -1
        for p in course.doses:
            dose = course.ladder[p.index]
            full_counts[p.slot] = full_counts.get(p.slot, 0) + 1
            if p.offset >= days:
                continue
            by_window.setdefault(p.slot, []).append(
                _Dose(p.offset, phases.get(course.phase, -1), ladder.index(dose), cap_index, units)
            )
            planned_mg[p.slot] = planned_mg.get(p.slot, Decimal(0)) + dose
    windows: list[_Window] = []
    if -1 in by_window:
        lead = plan.lead_in_days
        windows.append(_Window(-1, "lead-in", 0, -lead, -1, full_counts[-1], planned_mg[-1], tuple(by_window[-1])))
    for i, w in enumerate(calendar.windows):
        doses = sorted(by_window.get(i, []), key=lambda d: d.day)
        windows.append(
            _Window(
                index=i,
                phase=w.phase,
                cycle=w.cycle,
                first_day=(w.start - start).days,
                last_day=(w.end - start).days,
                full_dosing_days=full_counts.get(i, 0),
                planned_mg=planned_mg.get(i, Decimal(0)),
                doses=tuple(doses),
            )
        )
    span = min(days, (calendar.end - start).days + 1) if calendar.windows else 0
    every = sorted({level for ladder in ladders.values() for level in ladder})
    return _Plan(
        ladder=tuple(every),
        cap=cap,
        windows=tuple(windows),
        span_days=span,
        total_mg=sum(planned_mg.values(), Decimal(0)),
        lead_days=plan.lead_in_days,
        horizon_days=days,
        phase_starts=tuple((s.offset, phases[s.phase.name]) for s in plan.slots),
    )


def _sizes(protocol: Protocol, patient: Patient | None) -> Patient | None:
    """Companion drugs dosed by body size need a patient to expand; they are not simulated."""
    scaled = any(r.unit != "mg" for phase in protocol.phases for r in phase.drugs)
    if scaled and patient is None:
        from .comparison import REFERENCE_PATIENT

        return REFERENCE_PATIENT
    return patient


def _rate(protocol: Protocol, event_prob: float | Decimal | Sequence[float | Decimal] | EventRate | None) -> EventRate:
    if event_prob is None:
        return reported_event_rate(protocol)
    if isinstance(event_prob, EventRate):
        rate = event_prob
    else:
        values = (event_prob,) if isinstance(event_prob, (int, float, Decimal)) else tuple(event_prob)
        if not values:
            raise SimulationError("give at least one event probability")
        rate = EventRate(
            per_cycle=tuple(float(v) for v in values),
            sources=("given: " + ", ".join(f"{float(v):g}" for v in values) + " per cycle (last repeats)",),
        )
    for p in rate.per_cycle:
        if not (0 <= p <= 1) or math.isnan(p):
            raise SimulationError(f"an event probability must be between 0 and 1, got {p}")
    return rate


def _units(dose: Decimal) -> int:
    scaled = dose * UNITS_PER_MG
    if scaled != scaled.to_integral_value():
        raise SimulationError(f"dose {dose} mg is finer than 1/{UNITS_PER_MG} mg")
    return int(scaled)


def _dec(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_CENTS, ROUND_HALF_UP)


def _ratio(value: float, places: int = 4) -> Decimal:
    return Decimal(repr(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
