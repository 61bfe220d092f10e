"""Drug identity, decided once: names are compared in one normal form, and lenalidomide is named here.

Every safety rule that concerns lenalidomide (capsules, cap, REMS, route) asks ``is_lenalidomide``
instead of comparing strings, so ``"Lenalidomide"`` or ``"lenalidomide "`` cannot slip past one of them.
"""

from __future__ import annotations

from functools import lru_cache

from lenasched.errors import WrongTypeError

__all__ = ["LENALIDOMIDE", "is_lenalidomide", "normalise_drug"]

LENALIDOMIDE = "lenalidomide"


def normalise_drug(name: str) -> str:
    """Lower case, single spaces, no surrounding whitespace: the one form drug names are compared in.

    >>> normalise_drug("  Lenalidomide ")
    'lenalidomide'

    Anything but a string is refused (``WrongTypeError``), never turned into a name no drug has.
    """
    if not isinstance(name, str):
        raise WrongTypeError("a drug name", "a string such as 'lenalidomide'", name)
    return _normalised(name)


@lru_cache(maxsize=1024)
def _normalised(name: str) -> str:
    return " ".join(name.split()).lower()


def is_lenalidomide(name: str) -> bool:
    return normalise_drug(name) == LENALIDOMIDE
