"""Which capsules make a daily dose: one capsule of the exact strength, or (only when asked) several.

Capsules are swallowed whole, never split, so a dose is made only from whole capsules of the
label's strengths. The label says substituting several lower strengths for one capsule was not
studied, so a multi-capsule dose is refused unless the caller allows it by name, and then flagged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from lenasched.errors import CapsuleError
from lenasched.model.doses import format_dose
from lenasched.model.drugs import LENALIDOMIDE

if TYPE_CHECKING:
    from lenasched.engine.calendar import Calendar
    from lenasched.model.label import Market

__all__ = ["MAX_CAPSULES_PER_DOSE", "CapsulePick", "check_makeable", "choose_capsules", "count_word"]

MAX_CAPSULES_PER_DOSE = 4
"""More capsules than this for one daily dose is refused even when combinations are allowed."""

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def count_word(n: int) -> str:
    """'one', 'two', ... for small counts (as a patient reads them), digits beyond ten."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)


@dataclass(frozen=True, slots=True)
class CapsulePick:
    """The capsules for one daily dose: ``(strength_mg, count)`` pairs, strongest first."""

    dose_mg: Decimal
    capsules: tuple[tuple[Decimal, int], ...]

    @property
    def count(self) -> int:
        """Capsules taken that day."""
        return sum(n for _, n in self.capsules)

    @property
    def multiple(self) -> bool:
        """More than one capsule for the dose: outside the label's studied use, so flagged."""
        return self.count > 1

    @property
    def strengths(self) -> tuple[Decimal, ...]:
        return tuple(s for s, _ in self.capsules)

    def describe(self) -> str:
        """'1 × 5 mg capsule', '1 × 5 mg + 1 × 2.5 mg capsules', '2 × 15 mg capsules'."""
        parts = " + ".join(f"{n} × {format_dose(s)} mg" for s, n in self.capsules)
        return parts + (" capsules" if self.multiple else " capsule")


def _default_strengths(market: Market = "us") -> tuple[Decimal, ...]:
    from lenasched.model.label_facts import bundled_strengths

    return bundled_strengths(market)


def choose_capsules(
    dose_mg: Decimal,
    *,
    allow_multiple: bool = False,
    strengths: Sequence[Decimal] | None = None,
    drug: str = LENALIDOMIDE,
    market: Market = "us",
) -> CapsulePick:
    """Capsules for ``dose_mg`` a day, or ``CapsuleError`` when no allowed choice makes it exactly.

    >>> choose_capsules(Decimal("15")).describe()
    '1 × 15 mg capsule'
    >>> choose_capsules(Decimal("7.5"), allow_multiple=True).describe()
    '1 × 5 mg + 1 × 2.5 mg capsules'
    """
    available = tuple(sorted(set(strengths if strengths is not None else _default_strengths(market)), reverse=True))
    listed = ", ".join(format_dose(s) for s in sorted(available)) + " mg"
    if not dose_mg.is_finite() or dose_mg <= 0:
        raise CapsuleError(f"a {drug} dose must be a positive number of mg, got {dose_mg}", dose_mg=dose_mg)
    if dose_mg in available:
        return CapsulePick(dose_mg, ((dose_mg, 1),))
    combination = _fewest(dose_mg, available)
    if combination is None:
        raise CapsuleError(
            f"no {drug} capsule makes {format_dose(dose_mg)} mg: capsules come in {listed} and are never split"
            + ("" if not allow_multiple else f", and no combination of up to {MAX_CAPSULES_PER_DOSE} capsules adds up"),
            dose_mg=dose_mg,
            strengths=available,
        )
    pick = CapsulePick(dose_mg, combination)
    if not allow_multiple:
        raise CapsuleError(
            f"no single {drug} capsule is {format_dose(dose_mg)} mg (strengths: {listed}); it would take "
            f"{pick.describe()}, and the label says substituting lower strengths was not studied: "
            "allow multiple capsules explicitly (--allow-multiple-capsules) to plan it, flagged",
            dose_mg=dose_mg,
            strengths=available,
        )
    return pick


def _fewest(dose: Decimal, available: tuple[Decimal, ...]) -> tuple[tuple[Decimal, int], ...] | None:
    """Fewest capsules; then fewest different strengths; then the larger strengths."""
    for n in range(2, MAX_CAPSULES_PER_DOSE + 1):
        found = [c for c in itertools.combinations_with_replacement(available, n) if sum(c, Decimal(0)) == dose]
        if found:
            best = min(found, key=lambda c: (len(set(c)), [-s for s in c]))
            counts: dict[Decimal, int] = {}
            for s in best:
                counts[s] = counts.get(s, 0) + 1
            return tuple(sorted(counts.items(), reverse=True))
    return None


def check_makeable(calendar: Calendar, drug: str = LENALIDOMIDE) -> None:
    """Refuse a calendar with an oral ``drug`` dose that no whole capsules make (e.g. 3 mg).

    Every output runs this, so a table or CSV never plans an impossible dose; doses needing several
    capsules (7.5 mg) pass here and are refused or flagged where capsules are counted (HTML, ICS,
    dispensing).
    """
    strengths = _default_strengths(calendar.market)
    for dose in sorted({d.dose_mg for d in calendar.days if d.drug == drug and d.route == "oral"}):
        try:
            choose_capsules(dose, allow_multiple=True, strengths=strengths, drug=drug)
        except CapsuleError as exc:
            first = next(d for d in calendar.days if d.drug == drug and d.dose_mg == dose)
            raise CapsuleError(
                f"{exc} (first on {first.date.isoformat()}, {first.phase} cycle {first.cycle} day {first.cycle_day})",
                dose_mg=dose,
                strengths=strengths,
            ) from None
