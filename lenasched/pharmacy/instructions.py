"""The plain sentence printed for each dose day, generated from the structured dose, never typed by hand.

Lenalidomide names its capsules ("Take one 5 mg capsule by mouth"); other oral drugs name the mg
("Take 20 mg prednisone by mouth"); infusions and injections say they are given at the clinic.
A dose no capsule makes raises ``CapsuleError`` instead of printing a sentence nobody can follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lenasched.engine.calendar import DoseDay
from lenasched.engine.capsules import CapsulePick, choose_capsules, count_word
from lenasched.model.doses import format_dose, format_unit
from lenasched.model.routes import route_info

if TYPE_CHECKING:
    from lenasched.model.label import Market

__all__ = ["capsules_for", "instruction"]


def _capsule_drug() -> str:
    from lenasched.model.label import load_label

    return load_label().drug


def capsules_for(day: DoseDay, *, allow_multiple: bool = False, market: Market = "us") -> CapsulePick | None:
    """The capsules for a lenalidomide day (None for other drugs and routes), from ``market``'s strengths."""
    if day.route != "oral" or day.drug != _capsule_drug():
        return None
    return choose_capsules(day.dose_mg, allow_multiple=allow_multiple, drug=day.drug, market=market)


def instruction(
    day: DoseDay, *, allow_multiple: bool = False, market: Market = "us", clinic: bool | None = None
) -> str:
    """One sentence saying what to take or receive on this dose day.

    ``allow_multiple`` permits a lenalidomide dose made of several capsules (otherwise refused).
    """
    pick = capsules_for(day, allow_multiple=allow_multiple, market=market)
    if pick is not None:
        return _capsule_sentence(pick)
    mg = format_dose(day.dose_mg)
    prescribed = f"{format_dose(day.dose)} {format_unit(day.unit)}"
    route = route_info(day.route)
    if route.clinic:
        name = day.drug[:1].upper() + day.drug[1:]
        amount = prescribed if day.unit == "mg" else f"{prescribed} ({mg} mg)"
        # the regimen's setting may say home (e.g. self-injected enoxaparin)
        where = "at home" if clinic is False else "at the clinic"
        return f"{name} {amount} {route.by} {where}"
    text = f"Take {mg} mg {day.drug} by mouth"
    if day.unit != "mg":
        text += f" ({prescribed})"
    return text


def _capsule_sentence(pick: CapsulePick) -> str:
    parts = [
        f"{count_word(n)} {format_dose(strength)} mg capsule{'s' if n > 1 else ''}" for strength, n in pick.capsules
    ]
    text = "Take " + " and ".join(parts) + " by mouth"
    if pick.multiple:
        text += f" ({format_dose(pick.dose_mg)} mg in total)"
    return text
