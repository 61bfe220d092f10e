"""lenasched.compare() and `lenasched compare`: every metric on hand-computed cases."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

import lenasched
from lenasched.cli.main import main
from lenasched.design.compare import CUMULATIVE_DAYS, Comparison, compare
from lenasched.errors import ScheduleError
from tests.protocol_texts import BADOUX_LIKE

# 25 mg on days 1-21 of 28-day cycles, 6 cycles.
ON_OFF = """
schema_version: 1
id: on-off
title: 25 mg days 1-21 of 28
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 6
    drugs:
      - drug: lenalidomide
        dose: 25
        days: 1-21
"""

# Lenalidomide 10 mg days 1-21 with rituximab 375 mg/m² iv on days 1, 8, 15, 22 of cycle 1, day 1 later.
WITH_INFUSIONS = """
schema_version: 1
id: with-infusions
title: lenalidomide with rituximab
setting: test
citation: {title: test protocol}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 12
    drugs:
      - drug: lenalidomide
        dose: 10
        days: 1-21
      - drug: rituximab
        route: iv
        unit: mg/m2
        dose: 375
        days: 1
        cycle_days: {1: "1, 8, 15, 22"}
"""


@pytest.fixture(scope="module")
def badoux() -> lenasched.Protocol:
    return lenasched.parse_protocol(BADOUX_LIKE)


@pytest.fixture(scope="module")
def on_off() -> lenasched.Protocol:
    return lenasched.parse_protocol(ON_OFF)


def test_badoux_like_by_hand(badoux: lenasched.Protocol) -> None:
    s = compare([badoux], horizon=168)["badoux-like"]
    assert s.start_dose == 5 and s.cap == 25
    # 5 mg on days 1-56, 10 mg 57-84, 15 mg 85-112, 20 mg 113-140, 25 mg from day 141.
    assert s.cap_first_day == 141
    assert s.cumulative_at(28) == 5 * 28 == 140
    assert s.cumulative_at(56) == 5 * 56 == 280
    assert s.cumulative_at(84) == 5 * 56 + 10 * 28 == 560
    # The brief's 1540 mg (5*56 + 10*28 + 15*28 + 20*28) is the total at day 140; day 168 adds 28 days of 25 mg.
    assert s.cumulative_at(168) == 5 * 56 + 10 * 28 + 15 * 28 + 20 * 28 + 25 * 28 == 2240
    assert s.total_mg == 2240
    assert s.dose_intensity_mg_per_week == Decimal("93.33")  # 2240 mg / 24 weeks
    assert (s.dosing_days, s.rest_days, s.cycles, s.complete_cycles) == (168, 0, 6, 6)
    assert s.capsules == 168  # every dose (5, 10, 15, 20, 25 mg) is one capsule of that strength
    assert s.clinic_days == 0


def test_badoux_like_day_140_is_1540(badoux: lenasched.Protocol) -> None:
    s = compare([badoux], horizon=140)["badoux-like"]
    assert s.total_mg == 5 * 56 + 10 * 28 + 15 * 28 + 20 * 28 == 1540
    assert s.cap_first_day is None  # 25 mg starts on day 141
    assert s.cumulative_at(168) is None  # beyond the horizon


def test_on_off_intensity(on_off: lenasched.Protocol) -> None:
    s = compare([on_off], horizon="24w")["on-off"]
    assert [s.cumulative_at(d) for d in CUMULATIVE_DAYS] == [525, 1050, 1575, 3150]
    assert s.dose_intensity_mg_per_week == Decimal("131.25")  # 25 mg x 21 days / 4 weeks
    assert (s.dosing_days, s.rest_days) == (126, 42)
    assert s.cap_first_day == 1


def test_protocol_ending_before_the_horizon(on_off: lenasched.Protocol) -> None:
    s = compare([on_off], horizon=364)["on-off"]
    assert s.span_days == 168  # 6 cycles of 28 days
    assert s.total_mg == 3150
    assert s.dose_intensity_mg_per_week == Decimal("131.25")  # over the weeks it runs, not the horizon
    assert s.rest_days == 42


def test_partial_last_cycle(on_off: lenasched.Protocol) -> None:
    s = compare([on_off], horizon=60)["on-off"]
    assert (s.cycles, s.complete_cycles) == (3, 2)
    assert s.total_mg == 25 * (21 + 21 + 4)
    assert s.cumulative_at(84) is None
    assert dict(compare([on_off], horizon=60).table())["cycles"] == ("3 (1 partial)",)


def test_infusion_days_and_body_size_companion() -> None:
    protocol = lenasched.parse_protocol(WITH_INFUSIONS)
    s = compare([protocol], horizon=84)["with-infusions"]
    assert s.clinic_days == 4 + 1 + 1  # cycle 1: days 1, 8, 15, 22; day 1 of cycles 2 and 3
    assert s.total_mg == 10 * 21 * 3
    assert any("reference patient" in note for note in s.notes)


def test_capsules_use_label_strengths() -> None:
    text = ON_OFF.replace("id: on-off", "id: odd-dose").replace("dose: 25", "dose: 7.5")
    s = compare([lenasched.parse_protocol(text)], horizon=28)["odd-dose"]
    assert s.capsules == 2 * 21  # 7.5 mg = 5 mg + 2.5 mg
    assert any("7.5 mg takes" in note for note in s.notes)


def test_outcomes_not_reported_is_not_zero(badoux: lenasched.Protocol) -> None:
    s = compare([badoux], horizon=28)["badoux-like"]
    assert s.outcomes["tls_pct"] == "0"
    assert s.outcomes["orr_pct"] is None
    table = dict(compare([badoux], horizon=28).table())
    assert table["reported TLS %"] == ("0",)
    assert table["reported ORR %"] == ("NR",)


def test_order_rows_and_lookup(badoux: lenasched.Protocol, on_off: lenasched.Protocol) -> None:
    result = lenasched.compare([on_off, badoux], horizon=168)
    assert isinstance(result, Comparison)
    assert result.ids == ("on-off", "badoux-like") and len(result) == 2
    rows = result.to_rows()
    assert [r["protocol"] for r in rows] == ["on-off", "badoux-like"]
    assert rows[1]["cumulative_mg_day_168"] == Decimal(2240)
    assert rows[1]["outcome_orr_pct"] is None and rows[1]["outcome_patients"] == "60"
    with pytest.raises(KeyError):
        result["nope"]


def test_to_dataframe(badoux: lenasched.Protocol, on_off: lenasched.Protocol) -> None:
    pytest.importorskip("pandas")
    frame = compare([on_off, badoux], horizon=168).to_dataframe()
    assert list(frame.index) == ["on-off", "badoux-like"]
    assert frame.loc["badoux-like", "cumulative_mg_day_168"] == Decimal(2240)


def test_refusals(badoux: lenasched.Protocol) -> None:
    with pytest.raises(ScheduleError, match="at least one protocol"):
        compare([])
    with pytest.raises(ScheduleError, match="not a horizon"):
        compare([badoux], horizon="6 months")
    with pytest.raises(ScheduleError, match="at least 1 day"):
        compare([badoux], horizon=0)


def test_same_result_whatever_the_start(on_off: lenasched.Protocol) -> None:
    from datetime import date

    a = compare([on_off], horizon=168).to_rows()
    b = compare([on_off], horizon=168, start=date(2027, 2, 27)).to_rows()
    assert a == b


# --- command line ---------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    a = tmp_path / "badoux-like.yaml"
    a.write_text(BADOUX_LIKE, encoding="utf-8")
    b = tmp_path / "on-off.yaml"
    b.write_text(ON_OFF, encoding="utf-8")
    return str(a), str(b)


def test_cli_csv(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *files, "--days", "168", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["protocol"] for r in rows] == ["badoux-like", "on-off"]
    assert rows[0]["cumulative_mg_day_168"] == "2240"
    assert rows[1]["dose_intensity_mg_per_week"] == "131.25"
    assert rows[0]["outcome_tls_pct"] == "0" and rows[0]["outcome_orr_pct"] == ""
    assert rows[0]["outcome_orr_pct_text"] == "NR" and rows[0]["setting"] == "test"


def test_cli_csv_numeric_columns_hold_numbers_only(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from decimal import InvalidOperation

    assert main(["compare", *files, "badoux-2011", "--days", "168", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    text_columns = {"protocol", "title", "setting", "citation", "drug", "unit", "notes"}
    for column in rows[0]:
        if column in text_columns or column.endswith("_text"):
            continue
        for row in rows:
            if row[column]:
                try:
                    Decimal(row[column])
                except InvalidOperation:
                    pytest.fail(f"{column} holds text: {row[column]!r}")
    badoux = rows[2]
    assert badoux["outcome_neutropenia_g34_pct"] == ""  # "34 (of cycles)" is not a share of patients
    assert badoux["outcome_neutropenia_g34_pct_text"] == "34 (of cycles)"
    assert badoux["outcome_thrombocytopenia_g34_pct"] == "12"


def test_setting_row(badoux: lenasched.Protocol) -> None:
    table = dict(compare([badoux, lenasched.get_protocol("badoux-2011")], horizon=28).table())
    assert table["setting"][0] == "test" and table["setting"][1] == lenasched.get_protocol("badoux-2011").setting


def test_cli_json_and_horizon_in_weeks(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", *files, "--horizon", "8w", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["horizon_days"] == 56
    assert data["protocols"][0]["cumulative_mg_horizon"] == "280"
    assert data["protocols"][0]["cumulative_mg_day_84"] is None
    assert data["protocols"][1]["outcome_orr_pct"] is None


def test_cli_table(files: tuple[str, str], tmp_path: Path) -> None:
    out = tmp_path / "table.txt"
    assert main(["compare", *files, "--days", "168", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "cumulative mg, day 168" in text and "2240" in text and "3150" in text
    assert "NR = not reported" in text


def test_cli_set_adds_a_variant_column(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["compare", *files, "--days", "168", "--format", "csv", "--set", "badoux-like:lenalidomide.start=10"]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["protocol"] for r in rows] == ["badoux-like", "badoux-like-variant", "on-off"]
    # 10 mg days 1-56, 15 mg 57-84, 20 mg 85-112, 25 mg from 113
    assert rows[1]["cumulative_mg_day_168"] == str(10 * 56 + 15 * 28 + 20 * 28 + 25 * 56)
    assert rows[1]["outcome_patients"] == ""  # the trial's outcomes do not belong to the variant
    assert rows[1]["outcome_patients_text"] == "NR"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("lenalidomide.start=10", "several protocols are given"),
        ("nope-2000:lenalidomide.start=10", "'nope-2000' is not among the protocols given"),
        ("badoux-like:lenalidomide.start=30", "start dose 30 is above the cap 25"),
    ],
)
def test_cli_set_refusals(
    files: tuple[str, str], capsys: pytest.CaptureFixture[str], override: str, message: str
) -> None:
    assert main(["compare", *files, "--set", override]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_named_twice(files: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", files[0], files[0]]) == 1
    assert "named twice" in capsys.readouterr().err


def test_bundled_badoux_2011_light() -> None:
    if "badoux-2011" not in lenasched.bundled_ids():
        pytest.skip("badoux-2011 is not bundled")
    s = compare([lenasched.get_protocol("badoux-2011")], horizon=168)["badoux-2011"]
    assert (s.start_dose, s.cap, s.cap_first_day, s.total_mg) == (5, 25, 141, 2240)
