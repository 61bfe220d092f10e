"""Test-wide settings: hypothesis runs without per-example deadlines (CI machines vary in speed) and,
under CI, derandomized so a red run can be reproduced exactly."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("lenasched", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "lenasched")
