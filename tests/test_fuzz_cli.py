"""Whatever a user types or a file holds, the command line answers in one line: a structure-aware fuzz.

``test_fuzz_loader`` throws random documents at the loader; this goes through ``main(argv)``, as a
user does: bundled protocol files mutated where they are most fragile (extreme numbers, impossible
dates, control characters, merge keys, nesting, a regimen copied with other cycles and days), events
files likewise, and command lines built from every command's options with extreme values. Each run
must end with exit 0, 1 or 2 (argparse's usage exit may come as ``SystemExit(2)``, ``--help`` as 0),
no traceback and no internal error, and exit 1 with exactly one ``error:`` line. The strategies and
checks live in ``tests/fuzz_strategies.py``.

``LENASCHED_FUZZ_EXAMPLES=10000`` runs the long version (``python -m pytest tests/test_fuzz_cli.py``);
``benchmarks/fuzz_long.py`` runs the same cases one process each, with time and memory limits.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .fuzz_strategies import (
    PROTOCOL_COMMANDS,
    accepted_problems,
    cli_problems,
    command_lines,
    protocol_argv,
    protocol_texts,
)

EXAMPLES = int(os.environ.get("LENASCHED_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),  # a hang is a finding too
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 100,  # the CI run is the same every time; the long run explores
)


def check(argv: list[str]) -> None:
    problems = cli_problems(argv)
    assert not problems, (argv, problems)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(text=protocol_texts(), command=st.sampled_from(PROTOCOL_COMMANDS))
def test_mutated_protocol_files_never_give_a_traceback(workdir: Path, text: str, command: str) -> None:
    path = workdir / "mutated.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check(protocol_argv(command, str(path)))


@FUZZ
@given(text=protocol_texts())
def test_what_validate_accepts_calendar_expands(workdir: Path, text: str) -> None:
    """validate accepts only what calendar can expand: no 'given twice', no traceback, after an ok."""
    path = workdir / "accepted.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    problems = accepted_problems(path)
    assert not problems, problems


@FUZZ
@given(data=st.data())
def test_command_lines_never_give_a_traceback(workdir: Path, data: st.DataObject) -> None:
    check(data.draw(command_lines(workdir)))
