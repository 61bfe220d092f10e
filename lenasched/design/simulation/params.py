"""The simulation's parameters: named, each with its value and where it came from.

Toxicity enters as per-cycle probabilities of **event kinds**. For a protocol with
``dose_modification`` rules, each ``interrupt`` rule is an event kind (named by its rule id) and
what happens after it is the protocol's own rule (``resume_at`` / ``then_resume_at``). Otherwise
each reported grade 3/4 rate is an event kind acted on by the generic model: hold, then one dose
level lower. Every probability is a :class:`Parameter` that says whether it was given, read from
the protocol's cited ``outcomes`` (and how it was converted) or is not simulated.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from lenasched.errors import SimulationError
from lenasched.model.doses import format_dose
from lenasched.model.drugs import LENALIDOMIDE
from lenasched.model.outcomes import OUTCOME_FIELDS
from lenasched.model.protocol import Protocol
from lenasched.model.rules import LabRule

__all__ = [
    "DEFAULT_EVENT_FIELDS",
    "DEFAULT_OVER_CYCLES",
    "DEFAULT_RECOVERY_DAYS",
    "EventKind",
    "EventRate",
    "Model",
    "Parameter",
    "build_model",
    "reported_event_rate",
]

#: Grade 3/4 cytopenias are the usual trigger of a lenalidomide hold and dose reduction.
DEFAULT_EVENT_FIELDS: tuple[str, ...] = ("neutropenia_g34_pct", "thrombocytopenia_g34_pct")
DEFAULT_OVER_CYCLES = 6
DEFAULT_RECOVERY_DAYS = 14
#: The reported rate a lab rule's events default to (the rule's lab -> the outcome field).
RULE_OUTCOME = {"anc": "neutropenia_g34_pct", "plt": "thrombocytopenia_g34_pct"}
#: What the reported grade 3/4 band means for a rule's own threshold (said with the provenance).
_BAND = {
    "anc": ("anc < 1.0 ×10⁹/L", 1),
    "plt": ("plt < 50 ×10⁹/L", 50),
}

_PER_CYCLE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*\(of cycles\)\s*$")
_OF_PATIENTS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%?\s*\(\d+ of \d+(?: patients)?\)\s*$")


@dataclass(frozen=True)
class Parameter:
    """One named model parameter: ``rate.neutropenia = 0.34 per cycle (from ...)``."""

    name: str
    value: str
    source: str

    def line(self) -> str:
        return f"{self.name} = {self.value}  [{self.source}]"


@dataclass(frozen=True)
class EventRate:
    """Per-cycle event probabilities and where they came from (one line per source)."""

    per_cycle: tuple[float, ...]
    sources: tuple[str, ...]

    def at(self, cycle_index: int) -> float:
        """Probability in cycle ``cycle_index`` (0-based); the last value repeats."""
        return self.per_cycle[min(cycle_index, len(self.per_cycle) - 1)]


@dataclass(frozen=True)
class EventKind:
    """One kind of simulated event: its per-cycle probability and what the protocol does after it."""

    name: str
    rate: EventRate
    resume_at: str = "lower"  # lower, same or start (the rule's first recovery)
    then_resume_at: str = "lower"  # each later recovery after another event of this kind
    rule: LabRule | None = None  # the protocol's rule, when the kind is one

    @property
    def parameter(self) -> str:
        return f"rate.{self.name}"


@dataclass(frozen=True)
class Model:
    """Everything random about the simulation, as plain data (picklable: it can travel to workers)."""

    kinds: tuple[EventKind, ...]
    recovery_days: int
    mode: str  # "rules" (the protocol's dose_modification) or "generic" (hold, then one level lower)
    parameters: tuple[Parameter, ...]

    @property
    def rate(self) -> EventRate:
        """All kinds combined as independent risks, per cycle (the last value repeats)."""
        longest = max((len(k.rate.per_cycle) for k in self.kinds), default=1)
        combined = []
        for i in range(longest):
            survive = 1.0
            for kind in self.kinds:
                survive *= 1 - kind.rate.at(i)
            combined.append(1 - survive)
        sources = tuple(s for k in self.kinds for s in k.rate.sources)
        return EventRate(tuple(combined), sources)


def _reported(protocol: Protocol, name: str, over_cycles: int) -> tuple[float | None, str]:
    """One reported rate as a per-cycle probability and the sentence saying how; (None, why) if unusable."""
    if name not in OUTCOME_FIELDS or name in ("patients", "os", "pfs"):
        choices = [f for f in OUTCOME_FIELDS if f.endswith("_pct")]
        raise SimulationError(f"{name!r} is not a reported rate; use one of: {', '.join(choices)}")
    reported = getattr(protocol.outcomes, name)
    if reported is None:
        return None, f"{name} not reported"
    value = reported.value
    label = OUTCOME_FIELDS[name]
    where = f"{protocol.id} outcomes.{name}" + (f" ({reported.source})" if reported.source else "")
    counted = _OF_PATIENTS.match(value) if isinstance(value, str) else None
    if counted is not None:
        value = Decimal(counted.group(1))
    if isinstance(value, Decimal):
        share = float(value) / 100
        p = 1 - (1 - share) ** (1 / over_cycles) if share < 1 else 1.0
        text = (
            f"{label} {format_dose(value)}% of patients, taken as the chance of at least one event "
            f"over {over_cycles} cycles: {p:.4f} per cycle"
        )
    else:
        match = _PER_CYCLE.match(value)
        if match is None:
            return None, f"{name} {value!r} is not a number"
        p = float(match.group(1)) / 100
        text = f"{label} {value}: {p:.4f} per cycle"
    if not 0 <= p <= 1:
        raise SimulationError(f"{name} gives a probability of {p}, outside 0-1")
    return p, f"{text} (from {where})"


def reported_event_rate(
    protocol: Protocol,
    fields: Sequence[str] = DEFAULT_EVENT_FIELDS,
    *,
    over_cycles: int = DEFAULT_OVER_CYCLES,
) -> EventRate:
    """A constant per-cycle probability from the protocol's reported toxicity rates (combined).

    Refused with :class:`SimulationError` when none of ``fields`` is reported as a usable number.
    """
    if over_cycles < 1:
        raise SimulationError(f"over_cycles must be at least 1, got {over_cycles}")
    survive = 1.0
    used: list[str] = []
    skipped: list[str] = []
    for name in fields:
        p, text = _reported(protocol, name, over_cycles)
        if p is None:
            skipped.append(text)
            continue
        used.append(text)
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


def _reported_kinds(protocol: Protocol, fields: Sequence[str], over_cycles: int) -> list[EventKind]:
    if over_cycles < 1:
        raise SimulationError(f"over_cycles must be at least 1, got {over_cycles}")
    kinds: list[EventKind] = []
    skipped: list[str] = []
    for name in fields:
        p, text = _reported(protocol, name, over_cycles)
        if p is None:
            skipped.append(text)
            continue
        kinds.append(EventKind(name=name, rate=EventRate((p,), (text,))))
    if not kinds:
        raise SimulationError(
            f"{protocol.id} reports no usable rate for {', '.join(fields)} ({'; '.join(skipped)}); "
            "give the per-cycle probability (--event-prob)"
        )
    return kinds


def _given(values: float | Decimal | Sequence[float | Decimal]) -> tuple[float, ...]:
    out = (values,) if isinstance(values, (int, float, Decimal)) else tuple(values)
    if not out:
        raise SimulationError("give at least one event probability")
    probabilities = tuple(float(v) for v in out)
    for p in probabilities:
        if math.isnan(p) or not 0 <= p <= 1:
            raise SimulationError(f"an event probability must be between 0 and 1, got {p}")
    return probabilities


def _given_text(values: tuple[float, ...]) -> str:
    return "given: " + ", ".join(f"{v:g}" for v in values) + " per cycle (last repeats)"


def build_model(
    protocol: Protocol,
    *,
    event_prob: float | Decimal | Sequence[float | Decimal] | EventRate | None = None,
    events: Sequence[str] | None = None,
    rates: Mapping[str, float | Decimal | Sequence[float | Decimal]] | None = None,
    recovery_days: int = DEFAULT_RECOVERY_DAYS,
    over_cycles: int = DEFAULT_OVER_CYCLES,
    outcomes_from: Protocol | None = None,
    drug: str = LENALIDOMIDE,
) -> Model:
    """The event model of a run, every parameter named with its provenance.

    - ``event_prob`` (or an :class:`EventRate`): one generic event kind ``dlt`` with these
      probabilities; ``events``: one generic kind per reported field. Either gives the generic model.
    - Otherwise a protocol with ``interrupt`` rules for ``drug`` is simulated on its rules: one kind
      per rule, its probability from ``rates[rule id]``, else from the reported grade 3/4 rate of the
      rule's lab (anc: neutropenia, plt: thrombocytopenia), else not simulated (said).
    - A protocol without rules gets the generic model on its reported cytopenias.

    ``outcomes_from`` is the protocol whose reported rates are read (a what-if variant keeps the
    original trial's). ``rates`` may also name generic kinds (``neutropenia_g34_pct``).
    """
    if recovery_days < 0:
        raise SimulationError(f"recovery_days cannot be negative, got {recovery_days}")
    source = outcomes_from or protocol
    given = dict(rates or {})
    recovery = Parameter(
        "recovery_days",
        str(recovery_days),
        "given"
        if recovery_days != DEFAULT_RECOVERY_DAYS
        else "assumption: days from the event to the result that shows recovery; no bundled source reports it",
    )
    rules = [r for r in protocol.dose_modification if r.action.value == "interrupt" and r.drug == drug]
    kinds: list[EventKind] = []
    notes: list[Parameter] = []
    if event_prob is not None or events is not None or not rules:
        mode = "generic"
        if isinstance(event_prob, EventRate):
            kinds = [EventKind("dlt", event_prob)]
        elif event_prob is not None:
            values = _given(event_prob)
            kinds = [EventKind("dlt", EventRate(values, (_given_text(values),)))]
        else:
            fields = list(events) if events is not None else list(DEFAULT_EVENT_FIELDS)
            for name in given:
                if name not in fields:
                    fields.append(name)
            if given and all(name in given for name in fields):
                kinds = []
            else:
                kinds = _reported_kinds(source, [f for f in fields if f not in given], over_cycles)
            for name in fields:
                if name in given:
                    values = _given(given.pop(name))
                    kinds.append(EventKind(name, EventRate(values, (_given_text(values),))))
        if rules and (event_prob is not None or events is not None):
            notes.append(
                Parameter(
                    "model",
                    "generic",
                    f"asked for; {protocol.id}'s own dose_modification rules are not used (hold, then one level lower)",
                )
            )
    else:
        mode = "rules"
        for rule in rules:
            resume = rule.resume_at.value if rule.resume_at is not None else "lower"
            then = rule.then_resume_at.value if rule.then_resume_at is not None else resume
            if rule.id in given:
                values = _given(given.pop(rule.id))
                rate = EventRate(values, (_given_text(values),))
            else:
                rate = _rule_default(source, rule, over_cycles)
            kinds.append(EventKind(rule.id, rate, resume, then, rule))
        if not any(any(p > 0 for p in k.rate.per_cycle) for k in kinds):
            names = ", ".join(f"--rate {k.name}=P" for k in kinds)
            raise SimulationError(
                f"{source.id} reports no rate for the events its dose_modification rules act on; give them ({names})"
            )
    notes += _delay_rules(protocol, drug)
    if given:
        known = ", ".join(k.name for k in kinds) or "none"
        raise SimulationError(f"no event kind named {', '.join(sorted(given))}; this model's kinds: {known}")
    parameters = [Parameter(k.parameter, _values(k.rate.per_cycle), "; ".join(k.rate.sources)) for k in kinds]
    if mode == "rules":
        parameters += [
            Parameter(f"rule.{k.name}", f"{k.resume_at}, then {k.then_resume_at}", _rule_source(k.rule))
            for k in kinds
            if k.rule is not None
        ]
    else:
        parameters.append(
            Parameter(
                "after_event",
                "hold, then one dose level lower",
                "generic model (asked for, or no interrupt rule in the protocol's dose_modification)",
            )
        )
    parameters.append(recovery)
    if mode == "generic" and event_prob is None:
        parameters.append(
            Parameter(
                "over_cycles",
                str(over_cycles),
                "given"
                if over_cycles != DEFAULT_OVER_CYCLES
                else "assumption: cycles over which a reported % of patients accrues",
            )
        )
    return Model(tuple(kinds), recovery_days, mode, tuple(parameters + notes))


def _delay_rules(protocol: Protocol, drug: str) -> list[Parameter]:
    """What the simulation does with the protocol's ``delay_cycle`` rules, one line each.

    A rule that checks only cycle 1 (``cycles: first``, a condition for starting treatment) cannot
    change a calendar counted from day 1: ``expand`` refuses to delay cycle 1 and asks for a later
    ``--start`` instead, since cycle 1 day 1 is the day treatment begins. So it changes no simulated
    dose, and says so. A rule that checks every cycle would move the later cycles; the simulation
    keeps every cycle on its planned dates, so it is announced as not simulated (and in ``notes``).
    """
    out = []
    for rule in protocol.dose_modification:
        if rule.action.value != "delay_cycle" or rule.drug != drug:
            continue
        where = rule.action.source or "protocol"
        if rule.cycles is not None and rule.cycles.value == "first":
            out.append(
                Parameter(
                    f"rule.{rule.id}",
                    "start condition",
                    f"{rule.condition()} before cycle 1 delays the start ({where}); cycle 1 day 1 is the day "
                    "treatment begins (expand moves --start, not the calendar), so simulated doses count from it",
                )
            )
        else:
            out.append(
                Parameter(
                    f"rule.{rule.id}",
                    "not simulated",
                    f"delay_cycle rule ({rule.condition()} before a cycle's day 1, {where}): "
                    "the simulated cycles keep their planned dates",
                )
            )
    return out


def _values(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.4f}" for v in values) + " per cycle"


def _rule_default(protocol: Protocol, rule: LabRule, over_cycles: int) -> EventRate:
    field = RULE_OUTCOME.get(rule.lab or "")
    if field is None:
        return EventRate((0.0,), (f"no reported rate for {rule.condition()}: not simulated (give --rate {rule.id}=P)",))
    p, text = _reported(protocol, field, over_cycles)
    if p is None:
        return EventRate((0.0,), (f"{text}: not simulated (give --rate {rule.id}=P)",))
    band, _ = _BAND[rule.lab or ""]
    return EventRate((p,), (f"{text}, for the rule's {rule.condition()} (the grade 3/4 band is {band})",))


def _rule_source(rule: LabRule | None) -> str:
    if rule is None:
        return ""
    cited = rule.resume_at if rule.resume_at is not None else None
    where = cited.source if cited is not None and cited.source else "protocol"
    return f"{rule.condition()}: rule {rule.id} ({where})"
