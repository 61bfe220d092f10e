"""Lab result files (CSV from a spreadsheet, YAML/JSON): read exactly, every problem located at its cell."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from lenasched.cli.main import main
from lenasched.errors import ProtocolError
from lenasched.model.labfile import load_labs, parse_labs_csv, parse_labs_yaml

CSV = "date,anc,plt,grade.rash\n2027-01-18,1.4,25,\n2027-01-25,,42,2\n"


def test_csv_reads_exact_values_and_skips_empty_cells() -> None:
    first, second = parse_labs_csv(CSV, "labs.csv")
    assert first.values == {"anc": Decimal("1.4"), "plt": Decimal(25)}
    assert second.values == {"plt": Decimal(42), "grade.rash": Decimal(2)}
    assert str(first.date) == "2027-01-18"


def test_yaml_reads_the_same_results() -> None:
    text = "results:\n  - {date: 2027-01-18, anc: 1.4, plt: 25}\n  - {date: 2027-01-25, plt: 42, grade.rash: 2}\n"
    assert parse_labs_yaml(text, "labs.yaml") == parse_labs_csv(CSV, "labs.csv")


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("anc,plt\n", 1, 1, "the first column must be `date`"),
        ("date,hb\n", 1, 6, "unknown lab value 'hb'"),
        ("date,plt\n2027-01-18,25\n2027-02-30,40\n", 3, 1, "'2027-02-30' is not a date"),
        ("date,anc,plt\n2027-01-18,1.4,25000\n", 2, 16, "plt=25000 is outside 0-2000"),
        ("date,anc,plt\n2027-01-18,-1,25\n", 2, 12, "anc=-1 is outside"),
        ("date,anc,plt\n2027-01-18,x,25\n", 2, 12, "anc: 'x' is not a number"),
        (
            "date,plt\n2027-01-18,25\n2027-01-18,30\n",
            3,
            None,
            "a second result for 2027-01-18 (the first is on line 2)",
        ),
        ("date,plt\n2027-01-18,\n", 2, 1, "2027-01-18 has no value"),
    ],
)
def test_csv_problems_are_located(text: str, line: int, column: int | None, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_labs_csv(text, "labs.csv")
    assert message in info.value.message
    assert (info.value.file, info.value.line, info.value.column) == ("labs.csv", line, column)


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ("- {date: 2027-01-18}\n", 1, 1, "one key, `results:`"),
        ("results:\n  - {date: 2027-01-18, plt: 25}\n  - {date: 2027-01-25, plt: nan}\n", 3, 24, "is not a number"),
        ("results:\n  - {date: 2027-01-18, hb: 9}\n", 2, 24, "unknown lab value 'hb'"),
        ("results:\n  - {plt: 25}\n", 2, 5, "each result is a mapping with a `date`"),
        ("results:\n  - {date: 2027-01-18, grade.rash: 7}\n", 2, 24, "a CTCAE grade is a whole number from 0 to 5"),
    ],
)
def test_yaml_problems_are_located(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_labs_yaml(text, "labs.yaml")
    assert message in info.value.message
    assert (info.value.line, info.value.column) == (line, column)


def test_cli_takes_a_file_and_options_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "labs.csv"
    file.write_text("date,plt\n2027-01-18,25\n", encoding="utf-8")
    argv = ["calendar", "label-mm-rd", "--start", "2027-01-04", "--cycles", "2", "--format", "csv"]
    assert main([*argv, "--labs", str(file), "--lab", "2027-01-25:plt=42"]) == 0
    rows = capsys.readouterr().out.splitlines()
    lena = [r.split(",") for r in rows[1:] if ",lenalidomide," in r]
    assert next(r[0] for r in lena if r[6] == "20") == "2027-02-01"
    assert not [r for r in lena if "2027-01-18" <= r[0] < "2027-02-01"]


def test_cli_reports_a_file_error_in_one_line_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "labs.csv"
    file.write_text("date,plt\n2027-01-18,25000\n", encoding="utf-8")
    code = main(["calendar", "label-mm-rd", "--start", "2027-01-04", "--cycles", "2", "--labs", str(file)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"error: {file}:2:12:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_load_labs_picks_the_reader_by_suffix(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "a.json").write_text('{"results": [{"date": "2027-01-18", "plt": 25}]}', encoding="utf-8")
    assert len(load_labs(tmp_path / "a.csv")) == 2
    assert load_labs(tmp_path / "a.json")[0].values == {"plt": Decimal(25)}
