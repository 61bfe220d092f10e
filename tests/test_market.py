"""Markets (capsule strengths differ: the EU has 7.5 mg) and the off-label sentence on CLL calendars."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import lenasched
from lenasched.cli.main import main
from lenasched.engine.capsules import choose_capsules
from lenasched.engine.renal import RenalFunction
from lenasched.errors import CapsuleError, ScheduleError
from lenasched.formats.describe import is_cll, off_label_note
from lenasched.model.label import load_label
from lenasched.pharmacy.dispense import dispense_plan

START = date(2027, 1, 4)


def _seven_and_a_half() -> lenasched.Protocol:
    data = lenasched.get_protocol("label-mcl").model_dump(mode="json", exclude_none=True)
    regimen = data["phases"][0]["drugs"][0]
    regimen["dose"] = {"value": "7.5", "assumption": "test: a dose only the EU makes with one capsule"}
    regimen["dose_levels"] = {"value": ["7.5", "5", "2.5"], "assumption": "test"}
    data["id"] = "mcl-7-5"
    return lenasched.protocol_from_dict(data)


def test_eu_strengths_are_the_annex_list() -> None:
    label = load_label()
    assert label.strengths_for("eu") == tuple(Decimal(x) for x in ("2.5", "5", "7.5", "10", "15", "20", "25"))
    assert label.strengths_for("us") == tuple(Decimal(x) for x in ("2.5", "5", "10", "15", "20", "25"))
    assert label.capsule_strengths_mg_eu.source == "eu-smpc-annex"
    assert "Revlimid 7.5 mg hard capsules" in (label.capsule_strengths_mg_eu.detail or "")


def test_7_5_mg_is_one_capsule_in_the_eu_and_two_in_the_us() -> None:
    assert choose_capsules(Decimal("7.5"), market="eu").describe() == "1 × 7.5 mg capsule"
    with pytest.raises(CapsuleError, match=r"no single lenalidomide capsule is 7\.5 mg"):
        choose_capsules(Decimal("7.5"), market="us")
    assert choose_capsules(Decimal("7.5"), allow_multiple=True).describe() == "1 × 5 mg + 1 × 2.5 mg capsules"


def test_dispensing_follows_the_market() -> None:
    protocol = _seven_and_a_half()
    eu = dispense_plan(lenasched.expand(protocol, START, cycles=1, market="eu"))
    assert [(line.strength_mg, line.capsules) for line in eu.fills[0].lines] == [(Decimal("7.5"), 21)]
    us_calendar = lenasched.expand(protocol, START, cycles=1)
    with pytest.raises(CapsuleError):
        dispense_plan(us_calendar)
    us = dispense_plan(us_calendar, allow_multiple=True)
    assert sorted((line.strength_mg, line.capsules) for line in us.fills[0].lines) == [
        (Decimal("2.5"), 21),
        (Decimal(5), 21),
    ]


def test_a_dose_no_capsule_of_the_market_makes_is_refused_by_the_calendar() -> None:
    data = lenasched.get_protocol("label-mcl").model_dump(mode="json", exclude_none=True)
    data["phases"][0]["drugs"][0]["dose"] = {"value": "3", "assumption": "test"}
    data["phases"][0]["drugs"][0].pop("dose_levels")
    protocol = lenasched.protocol_from_dict(data)
    for market in ("us", "eu"):
        with pytest.raises(CapsuleError, match="no lenalidomide capsule makes 3 mg"):
            lenasched.expand(protocol, START, cycles=1, market=market)


def test_eu_with_a_crcl_is_refused_not_answered_from_the_us_table() -> None:
    with pytest.raises(ScheduleError, match="US renal starting-dose table only"):
        lenasched.expand(
            lenasched.get_protocol("label-mcl"), START, cycles=1, market="eu", renal=RenalFunction.given(Decimal(40))
        )


def test_unknown_market_is_refused() -> None:
    with pytest.raises(ScheduleError, match="unknown market 'uk'"):
        lenasched.expand(lenasched.get_protocol("label-mcl"), START, cycles=1, market="uk")  # type: ignore[arg-type]


def test_cli_dispense_market(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "mcl75.yaml"
    assert (
        main(
            [
                "variant",
                "label-mcl",
                "--set",
                "lenalidomide.dose=7.5",
                "--set",
                "lenalidomide.dose_levels=7.5,5,2.5",
                "-o",
                str(file),
            ]
        )
        == 0
    )
    capsys.readouterr()
    base = ["dispense", str(file), "--start", "2027-01-04", "--cycles", "1", "--format", "json"]
    assert main([*base, "--market", "eu"]) == 0
    text = capsys.readouterr().out
    assert '"7.5"' in text
    assert main(base) == 1
    assert "--allow-multiple-capsules" in capsys.readouterr().err


# off-label --------------------------------------------------------------------------------------------


def test_every_cll_protocol_and_no_label_protocol_is_off_label() -> None:
    for pid in lenasched.bundled_ids():
        protocol = lenasched.get_protocol(pid)
        assert is_cll(protocol) == (not pid.startswith("label-")), pid


def test_the_sentence_quotes_the_label() -> None:
    note = off_label_note(lenasched.get_protocol("badoux-2011"))
    assert note is not None and note.count(".") == 1 and note.endswith('outside of controlled clinical trials."')
    assert "not approved for CLL" in note
    assert off_label_note(lenasched.get_protocol("label-mm-rd")) is None


def test_exports_carry_it(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["calendar", "badoux-2011", "--start", "2027-01-04", "--cycles", "1"]
    assert main([*base, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["off_label"].startswith(
        "Off-label: lenalidomide is not approved for CLL"
    )
    assert main([*base, "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert "Off-label" not in out and err.count("note: Off-label:") == 1
    assert main([*base, "--format", "ics"]) == 0
    assert "not approved for CLL" in capsys.readouterr().out.replace("\r\n ", "")
    assert main(["calendar", "label-mcl", "--start", "2027-01-04", "--cycles", "1", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["off_label"] is None
