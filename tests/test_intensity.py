"""Relative dose intensity as admiral defines it: total dose given / planned dose × 100."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import lenasched
from lenasched.cli.main import main
from lenasched.model.labs import parse_lab_option
from lenasched.pharmacy.intensity import dose_intensity

START = date(2027, 1, 4)
RD = lenasched.get_protocol("label-mm-rd")


def test_a_plan_is_100_percent() -> None:
    (lena, dexa) = dose_intensity(lenasched.expand(RD, START, cycles=3))
    assert (lena.drug, lena.given_mg, lena.planned_mg, lena.relative_pct) == (
        "lenalidomide",
        Decimal(1575),
        Decimal(1575),
        Decimal("100.0"),
    )
    assert dexa.given_mg == dexa.planned_mg == Decimal(480)


def test_a_hold_and_a_reduction_lower_it_exactly() -> None:
    labs = [parse_lab_option("2027-01-18:plt=25"), parse_lab_option("2027-01-25:plt=42")]
    (lena, dexa) = dose_intensity(lenasched.expand(RD, START, cycles=3, labs=labs))
    assert lena.given_mg == 14 * 25 + 2 * 21 * 20  # 7 days held, then 20 mg
    assert lena.relative_pct == Decimal("75.6")  # 1190 / 1575
    assert dexa.relative_pct == Decimal("100.0")  # the rule holds lenalidomide only


def test_json_carries_it(capsys: object) -> None:
    import pytest

    assert isinstance(capsys, pytest.CaptureFixture)
    argv = ["calendar", "label-mm-rd", "--start", "2027-01-04", "--cycles", "3", "--format", "json"]
    assert main([*argv, "--lab", "2027-01-18:plt=25", "--lab", "2027-01-25:plt=42"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dose_intensity"][0] == {
        "drug": "lenalidomide",
        "given_mg": "1190",
        "planned_mg": "1575",
        "relative_pct": "75.6",
    }
