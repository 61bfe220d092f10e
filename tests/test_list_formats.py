"""``lenasched list --format json|csv`` for scripts, and terminal tables that read at 80 columns (issue 11, item 7).

At 80 columns no protocol id (nor any other word) is broken across lines: columns are at least as wide
as their longest word, and a table that cannot fit that way is laid out another way.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

import lenasched
from lenasched.cli.main import main
from lenasched.design.compare import compare
from lenasched.formats.describe import LIST_FIELDS, OUTCOME_LIST_FIELDS
from lenasched.model.outcomes import OUTCOME_FIELDS
from lenasched.render.compare import render_comparison
from lenasched.render.terminal import (
    Col,
    chunked_tables,
    fitted_widths,
    render_calendar,
    render_outcomes,
    render_protocol_list,
)

Capture = pytest.CaptureFixture[str]
IDS = lenasched.bundled_ids()
PROTOCOLS = [lenasched.get_protocol(pid) for pid in IDS]


def run(capsys: Capture, *argv: str) -> str:
    assert main(list(argv)) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


# --- list --format json|csv --------------------------------------------------------------------------


def test_list_json_is_a_list_of_objects_with_stable_fields(capsys: Capture) -> None:
    rows = json.loads(run(capsys, "list", "--format", "json"))
    assert [row["id"] for row in rows] == list(IDS)
    assert all(list(row) == list(LIST_FIELDS) for row in rows)
    badoux = next(row for row in rows if row["id"] == "badoux-2011")
    assert badoux == {
        "id": "badoux-2011",
        "title": lenasched.get_protocol("badoux-2011").title,
        "setting": "untreated CLL, age 65 or older",
        "citation": "Badoux XC et al. Blood 2011 (NCT00535873)",
        "year": 2011,
        "pmid": badoux["pmid"],
        "doi": badoux["doi"],
        "registry": "NCT00535873",
        "phases": ["treatment"],
        "drugs": ["lenalidomide", "allopurinol"],
        "cycles": None,
        "until_progression": True,
    }
    aue = next(row for row in rows if row["id"] == "aue-2009")
    assert aue["cycles"] == 4 and aue["until_progression"] is False


def test_list_csv_has_a_header_and_the_json_values(capsys: Capture) -> None:
    text = run(capsys, "list", "--format", "csv")
    assert text.splitlines()[0] == ",".join(LIST_FIELDS)
    table = list(csv.DictReader(io.StringIO(text)))
    rows = json.loads(run(capsys, "list", "--format", "json"))
    assert len(table) == len(rows) == len(IDS)
    for got, want in zip(table, rows):
        for field in LIST_FIELDS:
            value = want[field]
            expected = (
                "; ".join(value)
                if isinstance(value, list)
                else ("true" if value else "false")
                if isinstance(value, bool)
                else ""
                if value is None
                else str(value)
            )
            assert got[field] == expected, (want["id"], field)


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_list_formats_are_deterministic_and_go_to_a_file(fmt: str, tmp_path: Path, capsys: Capture) -> None:
    first = run(capsys, "list", "--format", fmt)
    assert run(capsys, "list", "--format", fmt) == first
    out = tmp_path / f"protocols.{fmt}"
    assert run(capsys, "list", "--format", fmt, "--output", str(out)) == ""
    assert out.read_text(encoding="utf-8") == first


def test_list_outcomes_json_and_csv(capsys: Capture) -> None:
    rows = json.loads(run(capsys, "list", "--outcomes", "--format", "json"))
    assert [row["id"] for row in rows] == list(IDS)
    assert all(list(row) == list(OUTCOME_LIST_FIELDS) == ["id", *OUTCOME_FIELDS] for row in rows)
    badoux = next(row for row in rows if row["id"] == "badoux-2011")
    assert badoux["patients"] == "60" and badoux["orr_pct"] == "65"
    label = next(row for row in rows if row["id"] == "label-mm-rd")
    assert label["orr_pct"] is None  # not reported is null, never 0 or "NR"
    table = list(csv.DictReader(io.StringIO(run(capsys, "list", "--outcomes", "--format", "csv"))))
    assert [r["id"] for r in table] == list(IDS)
    assert next(r for r in table if r["id"] == "label-mm-rd")["orr_pct"] == ""


def test_list_table_to_a_file_is_plain_text(tmp_path: Path, capsys: Capture) -> None:
    out = tmp_path / "list.txt"
    assert run(capsys, "list", "--output", str(out)) == ""
    text = out.read_text(encoding="utf-8")
    assert "Bundled protocols" in text and all(pid in text for pid in IDS) and "\x1b[" not in text


# --- 80 columns: no identifier broken --------------------------------------------------------------------


def render(renderable: RenderableType, width: int) -> str:
    buffer = io.StringIO()
    Console(width=width, file=buffer, color_system=None, legacy_windows=False).print(renderable)
    text = buffer.getvalue()
    assert all(len(line) <= width for line in text.splitlines()), "a line is wider than the console"
    return text


def words_whole(text: str, words: set[str]) -> list[str]:
    """The words that do not appear whole on some line of ``text``."""
    return sorted(w for w in words if w not in text)


def all_words(*texts: str) -> set[str]:
    return {word for text in texts for word in text.split()}


@pytest.mark.parametrize("width", [80, 100, 120, 160])
def test_list_keeps_every_id_and_word_whole(width: int) -> None:
    text = render(render_protocol_list(PROTOCOLS), width)
    assert words_whole(text, set(IDS)) == []
    cells = [t for p in PROTOCOLS for t in (p.title, p.setting, p.citation.short())]
    assert words_whole(text, all_words(*cells)) == []
    if width >= 160:
        assert "┃ setting" in text  # wide enough for a column of its own
    if width == 80:
        assert "setting:" in text and "relapsed/refractory" in text  # under the title, never "relapsed/refracto ry"


@pytest.mark.parametrize("width", [80, 120])
def test_list_outcomes_keeps_every_id_and_value_whole(width: int) -> None:
    text = render(render_outcomes(PROTOCOLS), width)
    assert words_whole(text, set(IDS)) == []
    values = [p.outcomes.display(name) for p in PROTOCOLS for name in OUTCOME_FIELDS]
    assert words_whole(text, all_words(*values)) == []
    assert all(label.split()[-1] in text for label in OUTCOME_FIELDS.values())
    for pid in IDS:  # each id is the first cell of its row in every table the outcomes are split into
        assert any(line.startswith(f"│ {pid} ") for line in text.splitlines())


@pytest.mark.parametrize(("width", "group"), [(80, 2), (80, 3), (80, 5), (100, 4), (80, len(IDS))])
def test_compare_keeps_every_id_whole(width: int, group: int) -> None:
    for start in range(0, len(PROTOCOLS), group):
        chosen = PROTOCOLS[start : start + group]
        result = compare(chosen, horizon="24w")
        text = render(render_comparison(result), width)
        table_lines = [line for line in text.splitlines() if line.startswith(("┃", "│"))]
        for pid in result.ids:
            assert any(pid in line for line in table_lines), pid  # heads a column, whole
        values = [v for label, vs in result.table() if label != "title" for v in vs]
        assert words_whole(text, all_words(*values)) == []


def test_calendar_summary_and_audit_trail_keep_words_whole() -> None:
    protocol = lenasched.get_protocol("gimema-llc0606")
    events = lenasched.PatientEvents.model_validate(
        {"events": [{"kind": "hold", "date": "2027-01-10", "reason": "thrombocytopenia", "grade": 3}]}
    )
    cal = lenasched.expand(
        protocol,
        lenasched.engine.calendar.as_date("2026-12-01"),
        cycles=3,
        events=events,
        patient=lenasched.Patient(bsa_m2=2),
    )
    text = render(render_calendar(cal), 80)
    words = all_words(*(m.effect for m in cal.modifications), *(m.event for m in cal.modifications), *cal.drugs)
    assert words_whole(text, words) == []


def test_command_line_at_80_columns() -> None:
    env = dict(os.environ, COLUMNS="80")
    for argv in (["list"], ["list", "--outcomes"], ["compare", *IDS[:4]]):
        done = subprocess.run(
            [sys.executable, "-m", "lenasched", *argv], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        assert all(len(line) <= 80 for line in done.stdout.splitlines())
        assert words_whole(done.stdout, set(IDS if argv[0] == "list" else IDS[:4])) == []


# --- the fitting itself -------------------------------------------------------------------------------


def test_fitted_widths_never_go_below_the_longest_word() -> None:
    columns = [Col("id", ["chanan-khan-2006-original"], whole_cells=True), Col("text", ["a relapsed/refractory b"])]
    widths = fitted_widths(columns, 80)
    assert widths == [25, 23]  # both at their natural width: it fits
    widths = fitted_widths(columns, 52)
    assert widths is not None and widths[0] == 25 and widths[1] >= len("relapsed/refractory")
    assert fitted_widths(columns, 40) is None  # 25 + 19 + borders does not fit 40


def test_chunked_tables_repeat_the_key_column() -> None:
    key = Col("", ["a metric"], one_line=True)
    columns = [Col(f"protocol-number-{i}", [str(i)], whole_header=True) for i in range(6)]
    tables = chunked_tables(key, columns, 60, title="T")
    assert tables is not None and len(tables) > 1
    text = render(tables[0], 60) + render(tables[1], 60)
    assert text.count("a metric") == 2 and "T (continued)" in text
    assert chunked_tables(Col("", ["x" * 50]), columns, 60) is None
