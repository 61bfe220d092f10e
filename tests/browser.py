"""Where a browser test's requirement is missing: skip, saying why, or, where the browser is required, fail.

A run that skips the browser tests proves nothing about the printed calendar or the web app. CI sets
``LENASCHED_REQUIRE_BROWSER=1`` (``.ci/run``); then a missing Chromium, Playwright or web extra fails
each browser test with the same reason a skip would give, instead of letting the run pass green.
Elsewhere (a developer's machine without Chromium) the tests skip, as before.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

from lenasched.formats.pdf import find_chromium

__all__ = [
    "NO_CHROMIUM",
    "REQUIRE_BROWSER",
    "browser_required",
    "import_or_unavailable",
    "require_chromium",
    "unavailable",
]

REQUIRE_BROWSER = "LENASCHED_REQUIRE_BROWSER"
NO_CHROMIUM = (
    "no Chromium binary found (looked for $LENASCHED_CHROMIUM, then chromium, chromium-browser, google-chrome, "
    "google-chrome-stable, msedge on PATH; install Debian's `chromium` package or set LENASCHED_CHROMIUM)"
)


def browser_required() -> bool:
    """True where the browser tests must run (``LENASCHED_REQUIRE_BROWSER`` set to anything but ``0``)."""
    return os.environ.get(REQUIRE_BROWSER, "").strip() not in ("", "0")


def unavailable(reason: str, *, module_level: bool = False) -> NoReturn:
    """Skip with ``reason``; fail with it where the browser is required."""
    if browser_required():
        pytest.fail(f"{reason} [{REQUIRE_BROWSER}=1: the browser tests must run, not skip]", pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def require_chromium() -> str:
    """The Chromium binary the tests (and ``--format pdf``) use; skip or fail without one."""
    found = find_chromium()
    if found is None:
        unavailable(NO_CHROMIUM)
    return found


def import_or_unavailable(name: str, reason: str, *, module_level: bool = False) -> ModuleType:
    """``importlib.import_module(name)``; skip or fail with ``reason`` when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        unavailable(reason, module_level=module_level)
