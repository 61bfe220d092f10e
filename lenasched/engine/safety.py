"""What no calendar may contain, checked where every calendar is built, whoever builds it.

A ``Calendar`` refuses, on construction: a dose above the protocol's cap for that drug, a drug the
protocol does not name, lenalidomide by any route but mouth, and a lenalidomide dose that no whole
capsules make. The first and last can be permitted by name (``allow=``) for design work on
hypothetical doses; nothing else can. The CLI and the library share this one check.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Literal, get_args

from lenasched.errors import CapsuleError, ScheduleError
from lenasched.model.doses import format_dose
from lenasched.model.drugs import is_lenalidomide, normalise_drug

if TYPE_CHECKING:
    from lenasched.engine.calendar import DoseDay
    from lenasched.model.label import Market
    from lenasched.model.protocol import Protocol

__all__ = ["PERMISSIONS", "Permission", "check_rows"]

Permission = Literal["above-cap", "no-capsule-makes-dose"]
PERMISSIONS: tuple[str, ...] = get_args(Permission)


def check_rows(
    protocol: Protocol, rows: Sequence[DoseDay], allow: frozenset[Permission], market: Market = "us"
) -> None:
    """Raise ``ScheduleError`` (``CapsuleError`` for capsules) on the first row no calendar may hold."""
    unknown = set(allow) - set(PERMISSIONS)
    if unknown:
        raise ScheduleError(f"unknown permission {sorted(unknown)[0]!r}; known: {', '.join(PERMISSIONS)}")
    caps = _caps(protocol)
    # A long calendar repeats a few kinds of dose: check each kind once, in order of first appearance.
    kinds = dict.fromkeys((r.drug, r.dose, r.route, r.dose_mg, r.unit) for r in rows)
    for drug_name, dose, route, dose_mg, unit in kinds:
        drug = normalise_drug(drug_name)
        cap = caps.get(drug)
        if cap is None:
            raise ScheduleError(
                f"{drug_name!r} on {_first(rows, drug_name, dose).date.isoformat()} is not a drug of {protocol.id}"
            )
        if dose > cap and "above-cap" not in allow:
            row = _first(rows, drug_name, dose)
            raise ScheduleError(
                f"{drug} {format_dose(dose)} {unit} on {row.date.isoformat()} is above the protocol's cap "
                f"{format_dose(cap)} {unit}; refusing (permission 'above-cap' allows it for design work)"
            )
        if is_lenalidomide(drug):
            if route != "oral":
                row = _first(rows, drug_name, dose)
                raise ScheduleError(
                    f"lenalidomide on {row.date.isoformat()} has route {route!r}: it exists only as oral capsules"
                )
            if "no-capsule-makes-dose" not in allow:
                problem = _unmakeable(dose_mg, market)
                if problem is not None:
                    row = _first(rows, drug_name, dose)
                    where = (
                        f"{row.phase} cycle {row.cycle} day {row.cycle_day}"
                        if row.cycle is not None
                        else f"lead-in day {row.cycle_day}"
                    )
                    raise CapsuleError(f"{problem} (first on {row.date.isoformat()}, {where})", dose_mg=dose_mg)


def _first(rows: Sequence[DoseDay], drug: str, dose: Decimal) -> DoseDay:
    return next(r for r in rows if r.drug == drug and r.dose == dose)


def _caps(protocol: Protocol) -> dict[str, Decimal]:
    caps: dict[str, Decimal] = {}
    for regimen in protocol.regimens:
        drug = normalise_drug(regimen.drug)
        caps[drug] = max(caps.get(drug, regimen.max_dose), regimen.max_dose)
    return caps


@cache
def _unmakeable(dose_mg: Decimal, market: Market = "us") -> str | None:
    """Why no whole capsules make ``dose_mg`` (None when some do; several capsules are counted elsewhere)."""
    from lenasched.engine.capsules import choose_capsules

    try:
        choose_capsules(dose_mg, allow_multiple=True, market=market)
    except CapsuleError as exc:
        return str(exc)
    return None
