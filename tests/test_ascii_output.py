"""A table written with ``-o -`` to a stream that only takes ASCII keeps its shape: box drawing becomes + - |."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "badoux-2011", "chen-2011", "-o", "-"],
        ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "--format", "table", "-o", "-"],
    ],
)
def test_tables_on_an_ascii_stdout_use_ascii_borders(argv: list[str]) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "lenasched", *argv], capture_output=True, env=env, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode("ascii")  # only ASCII came out
    assert "\\u25" not in text and "\\u250" not in text, "box drawing escaped instead of drawn"
    assert "+--" in text and "|" in text
