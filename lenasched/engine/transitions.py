"""The dose-state transitions every part of lenasched applies: one level at a time, ceilings, reductions.

These few rules are the whole of "what dose now?" once a plan exists. They are written on ladder
indices (0 = the lowest dose of a regimen's ladder) and take the ``minimum`` they use as an argument,
so the engine calls them on ints for one patient and the simulation calls the very same functions
on numpy arrays for a million patients: the two cannot drift apart.

- **climb**: escalation never rises more than one step between two administrations, even when two
  increases fell due during a rest week.
- **capped**: after a reduction the dose never goes above the reduced level (the *ceiling*) for the
  rest of the regimen; the plan may still be lower.
- **lowered**: a reduction goes one level below the dose it reduces from; below the lowest level
  there is nothing to give, and the drug stops (index -1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["NO_LEVEL", "Level", "capped", "climb", "lowered"]

Level = Any
"""A ladder index: an ``int`` for one patient, a numpy integer array for many."""

NO_LEVEL = -1
"""The index ``lowered`` returns below the lowest level: the drug stops."""


def _min(a: Any, b: Any) -> Any:
    return a if a <= b else b


def climb(due: Level, previous: Level, minimum: Callable[[Level, Level], Level] = _min) -> Level:
    """The escalation step given now: the one due, but at most one above the previous one.

    >>> climb(3, 0)
    1
    """
    return minimum(due, previous + 1)


def capped(planned: Level, ceiling: Level, minimum: Callable[[Level, Level], Level] = _min) -> Level:
    """The ladder index given now: the planned one, never above the ceiling a reduction set.

    >>> capped(4, 2), capped(1, 2)
    (2, 1)
    """
    return minimum(planned, ceiling)


def lowered(reference: Level) -> Level:
    """One ladder level below ``reference``; ``NO_LEVEL`` (-1) means there is none and the drug stops.

    >>> lowered(2), lowered(0)
    (1, -1)
    """
    return reference - 1
