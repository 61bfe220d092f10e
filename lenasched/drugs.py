"""Drug identity, decided once: names are compared in one normal form, and lenalidomide is named here.

Every safety rule that concerns lenalidomide (capsules, cap, REMS, route) asks ``is_lenalidomide``
instead of comparing strings, so ``"Lenalidomide"`` or ``"lenalidomide "`` cannot slip past one of them.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["LENALIDOMIDE", "is_lenalidomide", "normalise_drug"]

LENALIDOMIDE = "lenalidomide"


@lru_cache(maxsize=1024)
def normalise_drug(name: str) -> str:
    """Lower case, single spaces, no surrounding whitespace: the one form drug names are compared in.

    >>> normalise_drug("  Lenalidomide ")
    'lenalidomide'
    """
    return " ".join(name.split()).lower()


def is_lenalidomide(name: str) -> bool:
    return normalise_drug(name) == LENALIDOMIDE
