"""The command line: each command, its formats, and its refusals (no traceback, non-zero exit)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lenasched.cli.main import main

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_calendar_csv_contract(capsys: Capture) -> None:
    code, out, _ = run(capsys, "calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "6", "--format", "csv")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("date,study_day,phase,cycle,cycle_day,drug,dose,unit")
    assert lines[1] == "2026-12-01,1,treatment,1,1,lenalidomide,5,mg,5,oral,treatment,"
    assert sum(1 for line in lines if ",lenalidomide," in line) == 168


def test_calendar_json_has_rows_windows_and_id(capsys: Capture) -> None:
    code, out, _ = run(capsys, "calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "2", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["protocol"] == "badoux-2011"
    assert len(data["windows"]) == 2 and data["windows"][1]["start"] == "2026-12-29"
    assert data["days"][0]["dose"] == "5"
    assert any("dose_levels" in a["field"] for a in data["assumptions"])


def test_calendar_table_shows_grid_summary_assumptions_and_disclaimer(capsys: Capture) -> None:
    code, out, _ = run(capsys, "calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "6")
    assert code == 0
    for text in ("December 2026", "Cycles", "5 mg", "25 mg", "Assumptions", "clinical judgement", "Total lenalidomide"):
        assert text in out


def test_open_ended_default_horizon_is_announced(capsys: Capture) -> None:
    code, _out, err = run(capsys, "calendar", "badoux-2011", "--start", "2026-12-01", "--format", "csv")
    assert code == 0 and "first 6 cycles" in err


def test_output_is_written_atomically(tmp_path: Path, capsys: Capture) -> None:
    target = tmp_path / "cal.csv"
    code, out, _ = run(
        capsys,
        "calendar",
        "badoux-2011",
        "--start",
        "2026-12-01",
        "--cycles",
        "1",
        "--format",
        "csv",
        "--output",
        str(target),
    )
    assert code == 0 and out == "" and target.read_text().startswith("date,")
    assert [p.name for p in tmp_path.iterdir()] == ["cal.csv"]
    # a refused calendar leaves the old file untouched and no temporary file behind
    code, _, err = run(
        capsys,
        "calendar",
        "badoux-2011",
        "--start",
        "2026-12-01",
        "--until",
        "2026-11-01",
        "--format",
        "csv",
        "--output",
        str(target),
    )
    assert code == 1 and "before the start" in err
    assert [p.name for p in tmp_path.iterdir()] == ["cal.csv"]


def test_unknown_protocol_lists_close_matches(capsys: Capture) -> None:
    code, _, err = run(capsys, "calendar", "badoux-2012", "--start", "2026-12-01")
    assert code == 1 and "badoux-2011" in err and "Traceback" not in err


def test_bad_start_date(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as info:
        main(["calendar", "badoux-2011", "--start", "2026-13-45"])
    assert info.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_bsa_missing_is_refused_with_the_drug_named(tmp_path: Path, capsys: Capture) -> None:
    proto = tmp_path / "r.yaml"
    proto.write_text(
        "schema_version: 1\nid: r\ntitle: R\nsetting: s\ncitation: {title: c}\nphases:\n"
        "  - name: p\n    cycle_length_days: 28\n    cycles: 1\n    drugs:\n"
        "      - {drug: rituximab, route: iv, unit: mg/m2, dose: 375, days: 1}\n"
    )
    code, _, err = run(capsys, "calendar", str(proto), "--start", "2026-12-01")
    assert code == 1 and "rituximab" in err and "--bsa" in err
    code, out, _ = run(capsys, "calendar", str(proto), "--start", "2026-12-01", "--bsa", "1.9", "--format", "csv")
    assert code == 0 and ",rituximab,375,mg/m2,712.5," in out
    code, out, _ = run(
        capsys, "calendar", str(proto), "--start", "2026-12-01", "--height", "170", "--weight", "70", "--format", "csv"
    )
    assert ",712.5," not in out and ",682.5," in out  # Mosteller 1.82 m²


def test_list_show_validate_schema(capsys: Capture) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0 and "badoux-2011" in out
    code, out, _ = run(capsys, "show", "badoux-2011")
    assert code == 0 and "first increase on day 57" in out and "ASSUMPTION" in out
    code, out, _ = run(capsys, "validate", "--strict", "badoux-2011")
    assert code == 0 and out.startswith("ok:")
    code, out, _ = run(capsys, "schema")
    schema = json.loads(out)
    assert code == 0 and "cycle_length_days" in json.dumps(schema)


def test_python_dash_m_works() -> None:
    done = subprocess.run([sys.executable, "-m", "lenasched", "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("lenasched ")


def test_csv_path_does_not_import_rich() -> None:
    code = (
        "import sys; from lenasched.cli.main import main; "
        "main(['calendar','badoux-2011','--start','2026-12-01','--cycles','1','--format','csv']); "
        "sys.stderr.write(str('rich' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.endswith("False")


def test_validate_folders_and_add_ons(capsys: Capture) -> None:
    """`validate` takes folders (every *.yaml in them) and recognises add-on modules."""
    root = Path(__file__).parent.parent / "protocols"
    code, out, _ = run(capsys, "validate", "--strict", str(root), str(root / "addons"))
    assert code == 0
    assert "(add-on tfr-prednisone-prophylaxis; 0 assumption(s))" in out
    assert sum(1 for line in out.splitlines() if line.startswith("ok: ")) == len(list(root.glob("*.yaml"))) + len(
        list((root / "addons").glob("*.yaml"))
    )
    code, _, err = run(capsys, "validate", str(root / "label"))
    assert code == 1 and "unknown field 'drug'" in err


def test_a_dose_no_capsule_makes_is_refused_in_every_format(tmp_path: Path, capsys: Capture) -> None:
    proto = tmp_path / "three.yaml"
    proto.write_text(
        "schema_version: 1\nid: three\ntitle: T\nsetting: s\ncitation: {title: c}\nphases:\n"
        "  - name: p\n    cycle_length_days: 28\n    cycles: 1\n    drugs:\n"
        "      - {drug: lenalidomide, dose: 3, days: 1-21}\n"
    )
    for fmt in ("table", "csv", "json"):
        code, out, err = run(capsys, "calendar", str(proto), "--start", "2026-12-01", "--format", fmt)
        assert code == 1 and out == ""
        assert "no lenalidomide capsule makes 3 mg" in err and "first on 2026-12-01" in err
