"""``advise``: the action for one date from the rules, its source, and the next dose - the issue's example."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

import lenasched
from lenasched.cli.main import main
from lenasched.model.labs import LabError, parse_lab_option
from lenasched.pharmacy.advice import advise

RD = lenasched.get_protocol("label-mm-rd")
START = date(2027, 1, 4)
US_LABEL = "REVLIMID (lenalidomide) capsules, for oral use. Full prescribing information (US), section 2.1"


def _advise(*labs: str, on: date | None = None, protocol: lenasched.Protocol = RD) -> object:
    return advise(protocol, START, [parse_lab_option(t) for t in labs], on=on)


def test_platelets_25_interrupts_with_the_rule_and_its_source() -> None:
    advice = advise(RD, START, [parse_lab_option("2027-01-18:plt=25")])
    assert advice.action == "interrupt"
    assert advice.headline == "INTERRUPT lenalidomide from 2027-01-18; recheck, and resume when plt ≥ 30 ×10⁹/L"
    assert f'rule thrombocytopenia ({US_LABEL}, Table 1: "Fall to <30,000/mcL")' in advice.reasons[0]
    assert advice.next_dose is None


def test_recovery_resumes_one_level_lower_and_names_the_dose() -> None:
    advice = advise(RD, START, [parse_lab_option("2027-01-18:plt=25"), parse_lab_option("2027-01-25:plt=42,anc=1.4")])
    assert advice.action == "resume"
    assert advice.headline == "RESUME lenalidomide at the next lower dose level from 2027-01-25: 20 mg a day"
    assert advice.next_dose == (date(2027, 2, 1), Decimal(20), "mg")  # days 22-28 of cycle 1 are rest days


def test_a_second_drop_counts_as_subsequent() -> None:
    labs = ["2027-01-18:plt=25", "2027-01-25:plt=42", "2027-02-08:plt=20", "2027-02-15:plt=60"]
    advice = advise(RD, START, [parse_lab_option(t) for t in labs])
    assert advice.action == "resume" and advice.headline.endswith(": 15 mg a day")


def test_neutropenia_alone_first_returns_to_the_starting_dose() -> None:
    advice = advise(RD, START, [parse_lab_option("2027-01-11:anc=0.8"), parse_lab_option("2027-01-15:anc=1.2")])
    assert advice.headline == "RESUME lenalidomide at 25 mg (the starting dose) from 2027-01-15: 25 mg a day"


def test_the_advice_is_for_the_date_asked_and_ignores_later_results() -> None:
    labs = [parse_lab_option("2027-01-18:plt=25"), parse_lab_option("2027-01-25:plt=42")]
    advice = advise(RD, START, labs, on=date(2027, 1, 18))
    assert advice.action == "interrupt"
    later = advise(RD, START, labs, on=date(2027, 1, 21))
    assert later.action == "stay_held" and later.result is None


def test_still_low_keeps_it_held_and_no_change_when_nothing_fires() -> None:
    held = advise(RD, START, [parse_lab_option("2027-01-18:plt=25"), parse_lab_option("2027-01-21:plt=28")])
    assert held.action == "stay_held" and "stays held since 2027-01-18" in held.reasons[0]
    fine = advise(RD, START, [parse_lab_option("2027-01-18:plt=120")])
    assert fine.action == "no_change" and fine.next_dose == (date(2027, 1, 18), Decimal(25), "mg")
    assert fine.checks == (
        f"plt 120 ×10⁹/L: rule thrombocytopenia (plt < 30 ×10⁹/L) does not fire; source: {US_LABEL}, "
        'Table 1: "Fall to <30,000/mcL"',
    )


def test_maintenance_start_condition_says_do_not_start() -> None:
    protocol = lenasched.get_protocol("label-mm-maintenance")
    advice = advise(protocol, START, [parse_lab_option("2027-01-03:anc=0.8,plt=100")])
    assert advice.action == "do_not_start_cycle"
    assert advice.headline.startswith("DO NOT START cycle 1 of lenalidomide")


def test_a_protocol_without_rules_has_nothing_to_advise() -> None:
    with pytest.raises(LabError, match="badoux-2011 has no dose-modification rules"):
        advise(lenasched.get_protocol("badoux-2011"), START, [parse_lab_option("2027-01-18:plt=25")])


def test_cli_prints_the_one_screen_answer(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["advise", "label-mm-rd", "--start", "2027-01-04", "--lab", "2027-01-18:plt=25"])
    out = capsys.readouterr().out
    assert code == 0
    assert "INTERRUPT lenalidomide from 2027-01-18" in out and "Fall to <30,000/mcL" in out
    assert "does not replace" in out


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["advise", "label-mm-rd", "--start", "2027-01-04", "--format", "json"]
    assert main([*argv, "--lab", "2027-01-18:plt=25", "--lab", "2027-01-25:plt=42,anc=1.4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["action"] == "resume" and data["next_dose"] == {"date": "2027-02-01", "dose": "20", "unit": "mg"}


def test_the_issue_example_calendar(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's command: calendar label-mm-rd ... --lab 2027-01-18:plt=25 --lab 2027-01-25:plt=42,anc=1.4."""
    argv = ["calendar", "label-mm-rd", "--start", "2027-01-04", "--cycles", "3", "--format", "json"]
    assert main([*argv, "--lab", "2027-01-18:plt=25", "--lab", "2027-01-25:plt=42,anc=1.4"]) == 0
    data = json.loads(capsys.readouterr().out)
    lena = {d["date"]: d["dose"] for d in data["days"] if d["drug"] == "lenalidomide"}
    assert lena["2027-01-17"] == "25" and "2027-01-18" not in lena and "2027-01-24" not in lena
    assert lena["2027-02-01"] == "20" and lena["2027-03-21"] == "20"
    hold, resume = data["modifications"]
    assert hold["date"] == "2027-01-18" and "rule thrombocytopenia" in hold["event"] and "below 30" in hold["event"]
    assert "Full prescribing information (US)" in hold["event"] and "plt 25" in hold["event"]
    assert resume["event"].startswith("resume on 2027-01-25 one dose level lower (plt 42")
    assert resume["effect"].startswith("lenalidomide 25 -> 20 mg")
