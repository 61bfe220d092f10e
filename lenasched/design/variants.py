"""What-if variants: change a few values of a protocol without writing YAML, and keep it valid.

An override is ``[ID:]TARGET.FIELD=VALUE``:

- ``chen-2011:lenalidomide.start=5`` — a drug field in every phase that gives the drug;
- ``lenalidomide@maintenance.dose=10`` — the same, in one named phase only;
- ``induction.cycle_length_days=21`` / ``phases.cycles=12`` — a field of one phase / of every phase.

The variant is built the only safe way: dump the frozen models to plain data, edit that, and
validate it again with :func:`lenasched.protocol_from_dict`, so every rule a protocol file obeys
(cap, window inside the cycle, steps landing on the cap...) holds for the variant too. Each changed
value is marked as an assumption that says what it was and which override set it; the protocol's
id, title and notes say it is a variant; reported outcomes are dropped because the trial did not
observe them with the changed schedule.

>>> import lenasched
>>> from lenasched.model.doses import format_dose
>>> from lenasched.design.variants import apply_overrides
>>> p = lenasched.parse_protocol('''
... schema_version: 1
... id: demo-2020
... title: Demo
... setting: example
... citation: {title: example}
... phases:
...   - name: treatment
...     cycle_length_days: 28
...     cycles: 6
...     drugs:
...       - drug: lenalidomide
...         days: 1-21
...         escalation: {start: 2.5, step: 2.5, cap: 10, every_cycles: 1}
... ''')
>>> v = apply_overrides(p, ["lenalidomide.start=5"])
>>> v.id, [format_dose(x) for x in v.phases[0].drugs[0].escalation.levels]
('demo-2020-variant', ['5', '7.5', '10'])
>>> v.phases[0].drugs[0].escalation.start.assumption
'what-if variant: set by `lenalidomide.start=5`; the protocol gives 2.5 (unsourced)'
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lenasched.errors import ProtocolError, VariantError
from lenasched.model.doses import format_dose
from lenasched.model.loader import protocol_from_dict
from lenasched.model.protocol import Protocol
from lenasched.model.registry import current_id
from lenasched.model.sourced import Sourced

__all__ = [
    "DRUG_FIELDS",
    "PHASE_FIELDS",
    "Override",
    "apply_overrides",
    "overrides_for",
    "parse_override",
    "protocol_to_yaml",
]

#: Drug fields an override can set, with what the value is.
DRUG_FIELDS: dict[str, str] = {
    "dose": "fixed dose per administration day",
    "start": "escalation start dose",
    "step": "escalation step",
    "cap": "escalation target (or the cap of a fixed dose)",
    "sequence": "escalation doses in order, e.g. 2.5,5,10",
    "every_days": "escalate every N days",
    "first_step_day": "day of the drug's course of the first increase",
    "every_cycles": "escalate every N cycles",
    "first_step_cycle": "cycle of the first increase",
    "days": "days of each cycle, e.g. 1-21",
    "cycles": "cycles of the phase it is given in, e.g. 2-",
    "first_cycle_start_day": "day of the first cycle it starts on",
    "dose_levels": "dose-reduction ladder, e.g. 25,20,15,10,5",
    "route": "oral, iv or sc",
}
#: Phase fields an override can set.
PHASE_FIELDS: dict[str, str] = {
    "cycle_length_days": "length of each cycle in days",
    "cycles": "number of cycles (makes an open-ended phase finite)",
}
ALL_PHASES = "phases"

_INT_FIELDS = frozenset(
    {"every_days", "first_step_day", "every_cycles", "first_step_cycle", "first_cycle_start_day", "cycle_length_days"}
)
_DOSE_FIELDS = frozenset({"dose", "start", "step", "cap"})
_LIST_FIELDS = frozenset({"sequence", "dose_levels"})
_TIMING = {
    "every_days": ("every_cycles", "first_step_cycle", "at"),
    "every_cycles": ("every_days", "first_step_day", "at"),
}
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True, slots=True)
class Override:
    """One parsed ``--set``: which protocol (None = the only one), target, field and value text."""

    text: str
    protocol_id: str | None
    target: str
    phase: str | None
    field: str
    value: str

    @property
    def name(self) -> str:
        """``target.field`` as written (without the protocol id)."""
        where = self.target + (f"@{self.phase}" if self.phase is not None else "")
        return f"{where}.{self.field}"

    def aims_at(self, protocol_id: str) -> bool:
        """Whether this override names ``protocol_id``, by that id or by a former id of it (``registry.ALIASES``)."""
        if self.protocol_id is None:
            return False
        return protocol_id in (self.protocol_id, current_id(self.protocol_id))


def parse_override(text: str) -> Override:
    """Parse ``[ID:]TARGET[@PHASE].FIELD=VALUE``; syntax errors raise :class:`VariantError`."""
    lhs, sep, value = text.partition("=")
    lhs, value = lhs.strip(), value.strip()
    if not sep or not value:
        raise VariantError(text, "expected ID:drug.field=value, e.g. chen-2011:lenalidomide.start=5")
    protocol_id: str | None = None
    if ":" in lhs:
        protocol_id, _, lhs = (part.strip() for part in lhs.partition(":"))
        if not _ID.match(protocol_id):
            raise VariantError(text, f"{protocol_id!r} is not a protocol id (lower case, like chen-2011)")
    target, dot, field = lhs.rpartition(".")
    target, field = target.strip(), field.strip()
    if not dot or not target or not field:
        raise VariantError(text, "name a drug (or phase) and a field, e.g. lenalidomide.start=5")
    phase: str | None = None
    if "@" in target:
        target, _, phase = (part.strip() for part in target.partition("@"))
        if not target or not phase:
            raise VariantError(text, "write drug@phase, e.g. lenalidomide@maintenance.dose=10")
    return Override(text=text, protocol_id=protocol_id, target=target, phase=phase, field=field, value=value)


def overrides_for(protocol: Protocol, overrides: Iterable[Override], *, only_one: bool = False) -> list[Override]:
    """The overrides aimed at ``protocol``; ones without an id apply when ``only_one`` protocol is in play."""
    out = []
    for override in overrides:
        if override.aims_at(protocol.id) or (override.protocol_id is None and only_one):
            out.append(override)
    return out


def apply_overrides(
    protocol: Protocol,
    overrides: Sequence[str | Override],
    *,
    new_id: str | None = None,
    version: str | None = None,
) -> Protocol:
    """A new, validated protocol with ``overrides`` applied (in order).

    Refused with :class:`VariantError`: a malformed override, one aimed at another protocol id,
    an unknown drug, phase or field, a value of the wrong kind, or a result the models reject.
    """
    parsed = [o if isinstance(o, Override) else parse_override(o) for o in overrides]
    if not parsed:
        raise VariantError("", "no override given")
    data = protocol.model_dump(mode="python", exclude_none=True)
    # Add-on regimens are already merged in; keep them inline so the file stands alone.
    data.pop("includes", None)
    changes: list[str] = []
    for override in parsed:
        if override.protocol_id is not None and not override.aims_at(protocol.id):
            raise VariantError(override.text, f"aimed at {override.protocol_id!r}, not at {protocol.id!r}")
        changes += _apply(protocol, data, override)
    variant_id = new_id or f"{protocol.id}-variant"
    if not _ID.match(variant_id):
        raise VariantError(variant_id, "a protocol id is lower case letters and digits joined by '-'")
    data["id"] = variant_id
    data["title"] = f"{protocol.title} [variant: {', '.join(o.name + '=' + o.value for o in parsed)}]"
    made_with = f"lenasched {version}" if version else "lenasched"
    note = (
        f"What-if variant of {protocol.id} ({protocol.citation.short()}), made with {made_with} "
        f"`variant --set`. Changed: {'; '.join(changes)}. Every changed value is marked as an assumption. "
        "The trial's reported outcomes are not carried over: they were observed with the original schedule."
    )
    data["notes"] = (protocol.notes.strip() + "\n\n" if protocol.notes else "") + note
    data.pop("outcomes", None)
    try:
        return protocol_from_dict(data, source=f"variant of {protocol.id}")
    except ProtocolError as exc:
        where = f" at {exc.path}" if exc.path else ""
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        spec = " ".join(o.text for o in parsed)
        raise VariantError(spec, f"makes {protocol.id} invalid{where}: {exc.message}{hint}") from None


def _apply(protocol: Protocol, data: dict[str, Any], override: Override) -> list[str]:
    drugs = protocol.drugs
    phases = [p.name for p in protocol.phases]
    is_drug = override.target in drugs
    is_phase = override.target in phases or override.target == ALL_PHASES
    if is_drug and is_phase:
        raise VariantError(override.text, f"{override.target!r} is both a drug and a phase of {protocol.id}")
    if is_phase:
        if override.phase is not None:
            raise VariantError(override.text, "drug@phase is for drugs; a phase field is PHASE.field")
        return _apply_phase(data, override)
    if not is_drug:
        close = difflib.get_close_matches(override.target, [*drugs, *phases], n=1)
        reason = f"{protocol.id} has no drug or phase named {override.target!r}"
        if close:
            reason += f"; did you mean {close[0]!r}?"
        raise VariantError(override.text, reason, choices=[*drugs, *(f"{p} (phase)" for p in phases)])
    if override.field not in DRUG_FIELDS:
        raise VariantError(override.text, f"unknown drug field {override.field!r}", choices=list(DRUG_FIELDS))
    if override.phase is not None and override.phase not in phases:
        raise VariantError(override.text, f"{protocol.id} has no phase {override.phase!r}", choices=phases)
    value = _parse_value(override)
    changes = []
    skipped: list[str] = []
    for phase in data["phases"]:
        if override.phase is not None and phase["name"] != override.phase:
            continue
        for regimen in phase["drugs"]:
            if regimen["drug"] != override.target:
                continue
            container, key, why_not = _locate(regimen, override.field)
            if container is None:
                skipped.append(f"{phase['name']}: {why_not}")
                continue
            before = _describe(container.get(key))
            if key == "sequence" and override.field in (
                "start",
                "cap",
            ):  # start or cap of a sequence: trim it to the new end and put the new end in place
                new = _resequenced(container[key], override.field, value)
                container[key] = _sourced(new, container.get(key), override)
                changes.append(f"{override.target} ({phase['name']}) sequence: {before} -> {_describe(new)}")
                continue
            container[key] = value if override.field == "route" else _sourced(value, container.get(key), override)
            if override.field in _TIMING:
                for other in _TIMING[override.field]:
                    container.pop(other, None)
            changes.append(f"{override.target} ({phase['name']}) {override.field}: {before} -> {_describe(value)}")
    if not changes:
        where = f" in phase {override.phase!r}" if override.phase else ""
        reason = f"{override.target}{where} has no {override.field} to set"
        if skipped:
            reason += " (" + "; ".join(dict.fromkeys(skipped)) + ")"
        raise VariantError(override.text, reason)
    return changes


def _locate(regimen: dict[str, Any], field: str) -> tuple[dict[str, Any] | None, str, str]:
    """Where ``field`` lives in a dumped regimen, or why it does not apply to it."""
    escalation = regimen.get("escalation")
    if field == "dose":
        return (regimen, "dose", "") if "dose" in regimen else (None, "", "it escalates; set start, step or cap")
    if field == "cap":
        if escalation is None:
            return regimen, "cap", ""
        if "cap" in escalation:
            return escalation, "cap", ""
        return escalation, "sequence", ""
    if field in ("start", "step"):
        if escalation is None:
            return None, "", "it has a fixed dose; set dose"
        if "sequence" in escalation:
            if field == "start":
                return escalation, "sequence", ""
            return None, "", "its escalation is a sequence of doses; set sequence"
        return escalation, field, ""
    if field == "sequence":
        if escalation is None:
            return None, "", "it has a fixed dose; set dose"
        if "sequence" not in escalation:
            return None, "", "its escalation uses start/step/cap; set those"
        return escalation, field, ""
    if field in ("every_days", "first_step_day", "every_cycles", "first_step_cycle"):
        if escalation is None:
            return None, "", "it has a fixed dose and no escalation"
        return escalation, field, ""
    if field == "days" and "repeat" in regimen:
        return None, "", "it follows a repeat schedule, not days of a cycle"
    return regimen, field, ""


def _apply_phase(data: dict[str, Any], override: Override) -> list[str]:
    if override.field not in PHASE_FIELDS:
        raise VariantError(override.text, f"unknown phase field {override.field!r}", choices=list(PHASE_FIELDS))
    value = _parse_value(override, phase_field=True)
    changes = []
    for phase in data["phases"]:
        if override.target not in (ALL_PHASES, phase["name"]):
            continue
        open_ended = override.field == "cycles" and _is_true(phase.get("until_progression"))
        before = "until progression" if open_ended else _describe(phase.get(override.field))
        sourced = _sourced(value, phase.get(override.field), override)
        if open_ended:
            sourced["assumption"] = sourced["assumption"].replace("does not set it", "runs until progression")
        phase[override.field] = sourced
        if override.field == "cycles":
            phase.pop("until_progression", None)
        changes.append(f"phase {phase['name']} {override.field}: {before} -> {_describe(value)}")
    return changes


def _is_true(value: Any) -> bool:
    """A dumped flag, bare or sourced (``{value: true, ...}``)."""
    return bool(value["value"] if isinstance(value, dict) else value)


def _parse_value(override: Override, *, phase_field: bool = False) -> Any:
    text, field = override.value, override.field
    try:
        if field in _INT_FIELDS or (phase_field and field == "cycles"):
            return int(text)
        if field in _DOSE_FIELDS:
            return _decimal(text)
        if field in _LIST_FIELDS:
            items = [x for x in re.split(r"[,\s]+", text.strip("[] ")) if x]
            if not items:
                raise ValueError
            return [_decimal(x) for x in items]
    except ValueError:
        whole = field in _INT_FIELDS or phase_field
        kind = "a whole number" if whole else "a number" if field in _DOSE_FIELDS else "numbers"
        raise VariantError(override.text, f"{field} must be {kind}, not {text!r}") from None
    return text


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return value


def _resequenced(old: Any, field: str, value: Any) -> list[Decimal]:
    """A sequence escalation with a new start (levels below it dropped) or a new cap (levels above dropped)."""
    levels = [Decimal(str(x)) for x in (old["value"] if isinstance(old, dict) else old)]
    new = Decimal(str(value))
    if field == "start":
        return [new, *(x for x in levels if x > new)]
    return [*(x for x in levels if x < new), new]


def _sourced(value: Any, old: Any, override: Override) -> dict[str, Any]:
    was = f"the protocol gives {_describe(old)}" if old is not None else "the protocol does not set it"
    if isinstance(old, dict) and "value" in old:
        was += f" ({Sourced[Any].model_validate(old).provenance()})"
    return {"value": value, "assumption": f"what-if variant: set by `{override.name}={override.value}`; {was}"}


def _describe(value: Any) -> str:
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    if value is None:
        return "unset"
    if isinstance(value, Decimal):
        return format_dose(value)
    if isinstance(value, list):
        return "[" + ", ".join(_describe(v) for v in value) + "]"
    return str(value)


# --- writing a protocol back out as YAML --------------------------------------------------------


def protocol_to_yaml(protocol: Protocol, *, header: Sequence[str] = ()) -> str:
    """The protocol as a YAML file that :func:`lenasched.load_protocol` reads back to an equal protocol.

    Doses are written as exact decimals; values without provenance are written bare.
    """
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.Node:
        if value == value.to_integral_value():
            return dumper.represent_int(int(value))
        return dumper.represent_scalar("tag:yaml.org,2002:float", format_dose(value))

    def flow_scalars(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
        flat = all(not isinstance(v, (dict, list)) for v in value)
        return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flat)

    _Dumper.add_representer(Decimal, decimal)
    _Dumper.add_representer(list, flow_scalars)
    data = _bare(protocol.model_dump(mode="python", exclude_none=True))
    data.pop("includes", None)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    lines = [f"# {line}".rstrip() for text in header for line in text.splitlines()]
    return "\n".join(lines) + ("\n" if lines else "") + body


def _bare(value: Any) -> Any:
    """``{value: 5}`` -> ``5`` (a Sourced with nothing but its value); recursively, on a copy."""
    if isinstance(value, dict):
        if set(value) == {"value"} and not isinstance(value["value"], dict):  # a Sourced, not a key "value"
            return _bare(value["value"])
        return {k: _bare(v) for k, v in value.items() if not (isinstance(v, (dict, list)) and not v)}
    if isinstance(value, list):
        return [_bare(v) for v in value]
    return copy.copy(value)
