"""A protocol in words: what ``lenasched show`` prints, built only from the models."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lenasched.model.dayspec import format_days, format_lead_in_days
from lenasched.model.doses import format_dose, format_unit
from lenasched.model.shapes import OUTCOME_FIELDS, EveryCycles, EveryDays, iter_sourced

if TYPE_CHECKING:  # either form of a protocol (lenasched.model.compiled): a calendar's notes need no pydantic
    from lenasched.model.protocol import DrugRegimen, Escalation, Phase, Protocol

__all__ = [
    "LIST_FIELDS",
    "OUTCOME_LIST_FIELDS",
    "describe_escalation",
    "describe_protocol",
    "describe_regimen",
    "is_cll",
    "off_label_note",
    "outcomes_row",
    "protocol_row",
]

LIST_FIELDS: tuple[str, ...] = (
    "id",
    "title",
    "setting",
    "citation",
    "year",
    "pmid",
    "doi",
    "registry",
    "phases",
    "drugs",
    "cycles",
    "until_progression",
)
"""The fields of ``lenasched list --format json|csv``, in order; later versions only add fields after them."""


def protocol_row(protocol: Protocol) -> dict[str, Any]:
    """One protocol as ``list --format json`` gives it: ``LIST_FIELDS``, None where the citation has no value.

    ``citation`` is the short form (``Badoux XC et al. Blood 2011 (NCT00535873)``); ``year``, ``pmid``,
    ``doi`` and ``registry`` are the primary publication's; ``phases`` and ``drugs`` are names in protocol
    order; ``cycles`` counts all phases' cycles (None when the last phase runs until progression, which
    ``until_progression`` says).
    """
    citation = protocol.citation
    return {
        "id": protocol.id,
        "title": protocol.title,
        "setting": protocol.setting,
        "citation": citation.short(),
        "year": citation.year,
        "pmid": citation.pmid,
        "doi": citation.doi,
        "registry": citation.registry,
        "phases": [phase.name for phase in protocol.phases],
        "drugs": list(protocol.drugs),
        "cycles": protocol.total_cycles,
        "until_progression": protocol.open_ended,
    }


OUTCOME_LIST_FIELDS: tuple[str, ...] = ("id", *OUTCOME_FIELDS)
"""The fields of ``lenasched list --outcomes --format json|csv``: the id, then each outcome by name."""


def outcomes_row(protocol: Protocol) -> dict[str, Any]:
    """A protocol's reported outcomes as text as reported (``"65"``, ``"<1"``, ``"88% (estimated 2-year)"``);
    None when not reported (never 0)."""
    outcomes = protocol.outcomes
    row: dict[str, Any] = {"id": protocol.id}
    for name in OUTCOME_LIST_FIELDS[1:]:
        row[name] = None if getattr(outcomes, name) is None else outcomes.display(name)
    return row


DISCLAIMER = (
    "lenasched plans and documents schedules from published protocols; it does not replace "
    "clinical judgement. Check every calendar against the prescription."
)


_CLL = re.compile(r"\bCLL\b|chronic lymphocytic", re.IGNORECASE)


def is_cll(protocol: Protocol) -> bool:
    """Whether the protocol treats CLL (its setting or title says so): lenalidomide is off-label there."""
    return bool(_CLL.search(protocol.setting or "") or _CLL.search(protocol.title))


def off_label_note(protocol: Protocol) -> str | None:
    """The one sentence every CLL calendar carries, quoting the label's limitation of use; None otherwise."""
    if not is_cll(protocol):
        return None
    from lenasched.model.label_facts import bundled_facts

    quote = bundled_facts().not_indicated_cll
    return f'Off-label: lenalidomide is not approved for CLL; its label says "{quote}"'


def describe_escalation(esc: Escalation, unit: str) -> str:
    u = format_unit(unit)
    levels = " → ".join(format_dose(x) for x in esc.levels)
    timing = esc.timing
    if isinstance(timing, EveryDays):
        when = f"first increase on day {timing.first_step_day} of the drug's course, then every {timing.every} days"
    elif isinstance(timing, EveryCycles):
        when = f"first increase in the drug's own cycle {timing.first_step_cycle}, then every {timing.every} cycle(s)"
    else:
        when = "increases on " + ", ".join(f"its own {p}" for p in timing.points)
    cond = " if tolerated" if esc.conditional_on_tolerance else ""
    return f"escalating {levels} {u}{cond}; {when}"


def describe_regimen(regimen: DrugRegimen, phase: Phase) -> str:
    u = format_unit(regimen.unit)
    if regimen.escalation is not None:
        dose = describe_escalation(regimen.escalation, regimen.unit)
    else:
        assert regimen.dose is not None
        dose = f"{format_dose(regimen.dose.value)} {u}"
        if regimen.first_doses is not None:
            firsts = ", ".join(format_dose(x) for x in regimen.first_doses.value)
            dose = f"{firsts} {u} for the first dose(s), then {dose}"
    role = "" if regimen.role == "treatment" else f" [{regimen.role}]"
    text = f"{regimen.drug}{role} ({regimen.route}) {dose}, "
    cycles = regimen.applies_to
    if regimen.repeat is not None:
        text += regimen.repeat.describe()
    else:
        assert regimen.days is not None
        if str(cycles) == "all":
            text += f"{_days(regimen.days.value)} of each {phase.cycle_length_days.value}-day cycle"
        elif cycles.last == cycles.first:
            text += f"{_days(regimen.days.value)} of cycle {cycles} only"
        else:
            text += f"{_days(regimen.days.value)} of cycles {cycles}"
    for cycle, days in sorted(regimen.cycle_days.items()):
        text += f"; cycle {cycle}: {_days(days.value)}"
    if regimen.first_cycle_start_day is not None:
        text += f"; starts on day {regimen.first_cycle_start_day.value} of cycle {regimen.applies_to.first}"
    if regimen.dose_levels is not None:
        text += "; dose levels " + ", ".join(format_dose(x) for x in regimen.dose_levels.value) + f" {u}"
    if regimen.addon is not None:
        text += f" (from add-on {regimen.addon})"
    return text


def _days(days: tuple[int, ...]) -> str:
    return f"day {days[0]}" if len(days) == 1 else f"days {format_days(days)}"


def describe_protocol(protocol: Protocol) -> str:
    """Plain-text description: identity, phases, drugs, and the provenance of every value."""
    lines = [f"{protocol.id}: {protocol.title}", f"Setting: {protocol.setting}"]
    lines.append(f"Source: {protocol.citation.short()}")
    if protocol.citation.pmid or protocol.citation.doi:
        ids = [f"PMID {protocol.citation.pmid}" if protocol.citation.pmid else "", protocol.citation.doi or ""]
        lines.append("        " + ", ".join(i for i in ids if i))
    for key, ref in protocol.references.items():
        lines.append(f"Reference [{key}]: {ref.short()} — {ref.title}")
    lines.append("")
    if protocol.lead_in is not None:
        lines.append("Lead-in, before cycle 1 day 1 (the start date; there is no day 0):")
        for lead in protocol.lead_in.drugs:
            role = "" if lead.role == "treatment" else f" [{lead.role}]"
            days = format_lead_in_days(lead.days.value).replace("-", "−")
            lines.append(
                f"  - {lead.drug}{role} ({lead.route}) {format_dose(lead.dose.value)} {format_unit(lead.unit)}, "
                f"day{'s' if len(lead.days.value) > 1 else ''} {days}"
            )
        if protocol.lead_in.notes:
            lines.append(f"  note: {protocol.lead_in.notes.strip()}")
    for phase in protocol.phases:
        count = "until progression" if phase.open_ended else f"{phase.cycles.value} cycle(s)" if phase.cycles else ""
        lines.append(f"Phase {phase.name}: {phase.cycle_length_days.value}-day cycles, {count}")
        for cycle, length in sorted(phase.cycle_lengths.items()):
            lines.append(f"  cycle {cycle} is {length.value} days long")
        for regimen in phase.drugs:
            lines.append("  - " + describe_regimen(regimen, phase))
        if phase.notes:
            lines.append(f"  note: {phase.notes.strip()}")
    if protocol.notes:
        lines += ["", "Notes: " + protocol.notes.strip()]
    lines += ["", "Where each value comes from:"]
    for path, sourced in iter_sourced(protocol):
        value = sourced.value
        if isinstance(value, tuple):
            shown = format_lead_in_days(value) if value and value[0] < 0 else format_days(value)
        else:
            shown = _short(value)
        lines.append(f"  {path} = {shown}: {sourced.provenance()}")
    assumptions = protocol.assumptions()
    if assumptions:
        lines += ["", f"Assumptions ({len(assumptions)}):"]
        lines += [f"  - {path}: {s.assumption}" for path, s in assumptions]
    lines += ["", DISCLAIMER]
    return "\n".join(lines) + "\n"


def _short(value: object) -> str:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return format_dose(value)
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    return str(value)
