"""Start-up of the command line: the csv calendar imports only what it uses, and the cache is never trusted blindly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from lenasched import cache, label

CSV = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "6", "--format", "csv"]

HEAVY = (
    "rich",
    "jinja2",
    "numpy",
    "matplotlib",
    "icalendar",
    "starlette",
    "uvicorn",
    "lenasched.web",
    "lenasched.simulation",
    "lenasched.comparison",
    "lenasched.variants",
    "lenasched.plot",
    "lenasched.renal",
    "lenasched.dispense",
    "lenasched.formats.html",
    "lenasched.formats.ics",
    "lenasched.commands.advise",
    "lenasched.commands.compare",
    "lenasched.commands.dispense",
    "lenasched.commands.serve",
    "lenasched.commands.simulate",
    "lenasched.commands.variant",
    "lenasched.commands._designer",
)


def _run(args: list[str], cache_dir: Path | str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LENASCHED_CACHE_DIR=str(cache_dir))
    return subprocess.run(
        [sys.executable, *extra, "-m", "lenasched", *args], capture_output=True, text=True, env=env, check=False
    )


def _imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("warm", [False, True], ids=["cold-cache", "warm-cache"])
def test_csv_calendar_imports_no_heavy_module(tmp_path: Path, warm: bool) -> None:
    if warm:
        assert _run(CSV, tmp_path).returncode == 0
    done = _run(CSV, tmp_path, "-X", "importtime")
    assert done.returncode == 0, done.stderr
    loaded = _imported(done.stderr)
    assert "lenasched.engine" in loaded  # the importtime output was read
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    from lenasched.cli import EXTRA_COMMANDS

    done = _run(["--help"], tmp_path)
    assert done.returncode == 0
    for name in ("list", "show", "calendar", "validate", "schema", *EXTRA_COMMANDS):
        assert f"\n    {name} " in done.stdout


def test_a_corrupt_or_stale_cache_is_ignored(tmp_path: Path) -> None:
    expected = _run(CSV, tmp_path / "fresh")
    assert expected.returncode == 0
    entries = list((tmp_path / "fresh").glob("label-facts-*.json"))
    assert len(entries) == 1
    for garbage in (
        b"\x00\xff not json",
        b"",
        b"[1, 2]",
        json.dumps({"key": "0" * 64, "value": {"strengths_us": ["99"]}}).encode(),  # stale: another key
        json.dumps({"key": cache.cache_key("label-facts", label.label_path().read_bytes()), "value": 5}).encode(),
        json.dumps(
            {
                "key": cache.cache_key("label-facts", label.label_path().read_bytes()),
                "value": {"strengths_us": ["-1", "x"], "strengths_eu": [], "not_indicated_cll": 3},
            }
        ).encode(),
    ):
        entries[0].write_bytes(garbage)
        done = _run(CSV, tmp_path / "fresh")
        assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_an_unwritable_or_disabled_cache_is_no_error(tmp_path: Path) -> None:
    expected = _run(CSV, "")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = _run(CSV, blocker / "cache")
    assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_cached_label_facts_equal_the_validated_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENASCHED_CACHE_DIR", str(tmp_path))
    whole = label.load_label()
    for _ in range(2):  # a miss that stores, then a hit that reads
        label.bundled_facts.cache_clear()
        facts = label.bundled_facts()
        assert facts.strengths_us == whole.strengths_for("us")
        assert facts.strengths_eu == whole.strengths_for("eu")
        assert facts.not_indicated_cll == whole.not_indicated_cll.value
        assert label.bundled_strengths("eu") == tuple(Decimal(s) for s in facts.strengths_eu)
    assert len(list(tmp_path.glob("label-facts-*.json"))) == 1
    label.bundled_facts.cache_clear()
