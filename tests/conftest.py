"""Test-wide settings: hypothesis runs without per-example deadlines (CI machines vary in speed) and,
under CI, derandomized so a red run can be reproduced exactly."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("lenasched", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "lenasched")

# The label-facts cache (lenasched/model/cache.py) writes to the user's cache directory; tests keep it in a
# throw-away directory of their own, so a run never leaves files in the home directory.
if "LENASCHED_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["LENASCHED_CACHE_DIR"] = tempfile.mkdtemp(prefix="lenasched-test-cache-")


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """The Chromium binary; without one the test skips, or fails under LENASCHED_REQUIRE_BROWSER=1 (browser.py)."""
    from .browser import require_chromium

    return require_chromium()
