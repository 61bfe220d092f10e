"""Dispensing plans: fills of at most 28 days, no rest days, exact totals, multi-capsule days flagged."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import Calendar, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.engine.renal import RenalFunction, adjust_for_renal
from lenasched.errors import CapsuleError, ProtocolError, ScheduleError
from lenasched.formats.dispense import DISPENSE_CSV_COLUMNS, plan_csv, plan_dict, plan_json
from lenasched.model.label import load_label
from lenasched.pharmacy.dispense import DispenseLine, dispense_plan

START = date(2026, 12, 1)
D = Decimal
Capture = pytest.CaptureFixture[str]


def protocol(drugs: list[dict[str, Any]], length: int = 28, cycles: int = 2) -> lenasched.Protocol:
    phase = {"name": "treatment", "cycle_length_days": length, "cycles": cycles, "drugs": drugs}
    return protocol_from_dict(
        {"schema_version": 1, "id": "t", "title": "T", "setting": "s", "citation": {"title": "c"}, "phases": [phase]}
    )


def lena(**kw: Any) -> dict[str, Any]:
    return {"drug": "lenalidomide", "days": "1-21", **kw}


def cal(drugs: list[dict[str, Any]], length: int = 28, cycles: int = 2) -> Calendar:
    return expand(protocol(drugs, length, cycles), START)


def test_a_28_day_fill_at_15_mg() -> None:
    plan = dispense_plan(cal([lena(dose=15, days="1-28")], cycles=1))
    (fill,) = plan.fills
    assert fill.lines == (DispenseLine(D(15), 28),)
    assert fill.days_covered == 28 and fill.dosing_days == 28
    assert fill.first == START and fill.last == START + timedelta(days=27)
    assert fill.total_mg == plan.total_scheduled_mg == D(420)
    assert fill.instructions == ("Take one 15 mg capsule by mouth every day, 2026-12-01 to 2026-12-28 (28 doses)",)
    assert fill.flags == ()


def test_a_cycle_with_21_on_days_dispenses_21_capsules_and_no_rest_day() -> None:
    calendar = cal([lena(dose=10)], cycles=2)
    plan = dispense_plan(calendar)
    assert [f.describe_lines() for f in plan.fills] == ["21 × 10 mg", "21 × 10 mg"]
    rest = {d for w in calendar.windows for d in w.rest_days}
    for fill in plan.fills:
        assert fill.days_covered == 21 and not rest & set(fill.dose_dates)
    assert plan.fills[1].first == START + timedelta(days=28)
    assert plan.total_dispensed_mg == D(420)


def test_a_seven_and_a_half_mg_dose_is_refused_without_the_option() -> None:
    with pytest.raises(CapsuleError, match=r"no single lenalidomide capsule is 7\.5 mg"):
        dispense_plan(cal([lena(dose="7.5")]))


def test_a_seven_and_a_half_mg_dose_is_flagged_with_the_option() -> None:
    plan = dispense_plan(cal([lena(dose="7.5")], cycles=1), allow_multiple=True)
    (fill,) = plan.fills
    assert fill.lines == (DispenseLine(D(5), 21), DispenseLine(D("2.5"), 21))
    assert fill.capsules == 42 and fill.total_mg == D("157.5") == plan.total_scheduled_mg
    assert any(flag.startswith("MULTIPLE CAPSULES PER DOSE: 7.5 mg") for flag in fill.flags)
    assert plan.flagged and plan.allow_multiple
    assert "Take one 5 mg capsule and one 2.5 mg capsule by mouth (7.5 mg in total)" in fill.instructions[0]


def test_a_cycle_longer_than_the_supply_limit_is_split() -> None:
    plan = dispense_plan(cal([lena(dose=5, days="1-35")], length=35, cycles=1))
    assert [(f.days_covered, f.dosing_days) for f in plan.fills] == [(28, 28), (7, 7)]
    assert [f.cycle for f in plan.fills] == [1, 1]
    assert plan.fills[1].first == START + timedelta(days=28)


def test_escalation_inside_a_fill_gives_two_strengths_and_a_flag() -> None:
    esc = {"start": 5, "step": 5, "cap": 10, "every_days": 14}
    plan = dispense_plan(cal([lena(escalation=esc)], cycles=1))
    (fill,) = plan.fills
    assert fill.describe_lines() == "7 × 10 mg + 14 × 5 mg"
    assert fill.flags == ("dose changes on 2026-12-15: 5 mg → 10 mg",)
    assert len(fill.instructions) == 2


def test_companion_drugs_are_not_dispensed_and_are_named() -> None:
    plan = dispense_plan(cal([lena(dose=10), {"drug": "dexamethasone", "dose": 40, "days": "1, 8"}]))
    assert plan.not_dispensed == ("dexamethasone",)
    assert plan.total_dispensed_mg == D(420)


def test_every_other_day_pattern_after_a_renal_adjustment() -> None:
    calendar, record = adjust_for_renal(cal([lena(dose=25)], cycles=1), RenalFunction.given(D(20)))
    plan = dispense_plan(calendar, renal=record)
    (fill,) = plan.fills
    assert fill.describe_lines() == "11 × 15 mg"
    assert "every other day" in fill.instructions[0]
    assert fill.flags == ("renal adjustment: 11 dose day(s) lowered, 10 dropped in this fill",)
    assert any(n.startswith("Renal dose adjustment applied") for n in plan.notes)


def test_no_lenalidomide_or_not_oral_is_refused() -> None:
    with pytest.raises(ScheduleError, match="nothing to dispense"):
        dispense_plan(cal([{"drug": "rituximab", "dose": 375, "days": "1", "route": "iv"}]))
    with pytest.raises(ProtocolError, match=r"route 'iv' does not exist for it"):
        cal([lena(dose=10, route="iv")])


def test_csv_and_json() -> None:
    plan = dispense_plan(cal([lena(escalation={"start": 5, "step": 5, "cap": 10, "every_days": 14})], cycles=1))
    lines = plan_csv(plan).splitlines()
    assert lines[0] == ",".join(DISPENSE_CSV_COLUMNS)
    assert lines[1].startswith("1,lenalidomide,treatment,1,2026-12-01,2026-12-21,21,21,10,7,70,")
    assert lines[2].startswith("1,lenalidomide,treatment,1,2026-12-01,2026-12-21,21,21,5,14,70,")
    data = json.loads(plan_json(plan))
    assert data == plan_dict(plan) and data["total_dispensed_mg"] == data["total_scheduled_mg"] == "140"
    assert data["fills"][0]["capsules"] == [{"strength_mg": "10", "count": 7}, {"strength_mg": "5", "count": 14}]
    assert data["renal"] is None
    assert plan_json(plan) == plan_json(dispense_plan(plan_calendar_again()))


def plan_calendar_again() -> Calendar:
    return cal([lena(escalation={"start": 5, "step": 5, "cap": 10, "every_days": 14})], cycles=1)


# Property: whatever the protocol, the plan hands out exactly what is scheduled, never a rest day,
# never more than 28 days per fill.
strengths = load_label().strengths


@st.composite
def calendars(draw: st.DrawFn) -> Calendar:
    length = draw(st.integers(7, 56))
    first = draw(st.integers(1, length))
    last = draw(st.integers(first, length))
    lena_kw: dict[str, Any] = {"days": f"{first}-{last}"}
    if draw(st.booleans()):
        levels = sorted(draw(st.sets(st.sampled_from(strengths), min_size=2, max_size=4)))
        lena_kw["escalation"] = {"sequence": [str(x) for x in levels], "every_days": draw(st.integers(1, 30))}
    else:
        lena_kw["dose"] = str(draw(st.sampled_from([*strengths, D("7.5"), D("12.5"), D("30")])))
    drugs = [lena(**lena_kw)]
    if draw(st.booleans()):
        drugs.append({"drug": "dexamethasone", "dose": 40, "days": "1"})
    calendar = expand(protocol(drugs, length, draw(st.integers(1, 5))), START)
    if draw(st.booleans()):
        crcl = draw(st.sampled_from([D(15), D(45), D(70)]))
        calendar, _ = adjust_for_renal(calendar, RenalFunction.given(crcl))
    return calendar


@settings(max_examples=150, deadline=None)
@given(calendars())
def test_total_dispensed_equals_total_scheduled(calendar: Calendar) -> None:
    plan = dispense_plan(calendar, allow_multiple=True)
    limit = load_label().max_supply_days.value
    assert plan.total_dispensed_mg == plan.total_scheduled_mg == calendar.total_mg("lenalidomide")
    dose_dates = [d.date for d in calendar.for_drug("lenalidomide")]
    assert [d for f in plan.fills for d in f.dose_dates] == dose_dates
    for fill in plan.fills:
        assert 1 <= fill.days_covered <= limit
        assert fill.total_mg == sum(
            (d.dose_mg for d in calendar.for_drug("lenalidomide") if d.date in fill.dose_dates), D(0)
        )
        assert sum(len(r.dates) for r in fill.runs) == fill.dosing_days


# Command line -----------------------------------------------------------------------------------

YAML = """
schema_version: 1
id: t-cli
title: Test
setting: test
citation: {title: c}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 2
    drugs:
      - {drug: lenalidomide, dose: DOSE, days: 1-21}
      - {drug: rituximab, dose: 375, unit: mg/m2, route: iv, days: "1"}
"""


def write(tmp_path: Path, dose: str) -> str:
    file = tmp_path / "t-cli.yaml"
    file.write_text(YAML.replace("DOSE", dose), encoding="utf-8")
    return str(file)


def test_cli_table_needs_no_bsa_for_companion_drugs(tmp_path: Path, capsys: Capture) -> None:
    code = main(["dispense", write(tmp_path, "10"), "--start", "2026-12-01"])
    out, err = capsys.readouterr()
    assert code == 0, err
    for text in ("21 × 10 mg", "420 mg dispensed; 420 mg scheduled", "rituximab", "Swallow capsules whole"):
        assert text in out


def test_cli_json_with_renal_options(tmp_path: Path, capsys: Capture) -> None:
    argv = ["dispense", write(tmp_path, "25"), "--start", "2026-12-01", "--cycles", "1", "--format", "json"]
    code = main([*argv, "--age", "70", "--weight", "70", "--scr", "1.2", "--sex", "male"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["renal"]["band"] == "moderate" and data["renal"]["crcl_ml_min"] == "56.7"
    assert data["fills"][0]["capsules"] == [{"strength_mg": "10", "count": 21}]


def test_cli_refuses_seven_and_a_half_without_the_option(tmp_path: Path, capsys: Capture) -> None:
    code = main(["dispense", write(tmp_path, "7.5"), "--start", "2026-12-01", "--format", "csv"])
    _, err = capsys.readouterr()
    assert code == 1 and "error: no single lenalidomide capsule is 7.5 mg" in err and "Traceback" not in err
    out_file = tmp_path / "plan.csv"
    argv = ["dispense", write(tmp_path, "7.5"), "--start", "2026-12-01", "--format", "csv", "-o", str(out_file)]
    assert main([*argv, "--allow-multiple-capsules"]) == 0
    assert "MULTIPLE CAPSULES PER DOSE" in out_file.read_text(encoding="utf-8")


def test_cli_option_conflicts(tmp_path: Path, capsys: Capture) -> None:
    base = ["dispense", write(tmp_path, "10"), "--start", "2026-12-01"]
    assert main([*base, "--crcl", "40", "--age", "70"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main([*base, "--age", "70", "--sex", "male"]) == 1
    assert "missing: --weight, --scr" in capsys.readouterr().err
    assert main([*base, "--crcl", "5"]) == 1
    assert "not been studied" in capsys.readouterr().err


def test_dispense_takes_the_same_events_as_calendar(tmp_path: Path, capsys: Capture) -> None:
    """An event naming a companion drug is valid for ``calendar`` and for ``dispense`` alike (it was refused as
    "not a drug of badoux-2011"): the drug filter keeps lenalidomide's doses and records the others' events."""
    events = tmp_path / "events.yaml"
    events.write_text("events:\n  - {kind: stop, date: 2026-12-05, drug: allopurinol}\n", encoding="utf-8")
    base = ["dispense", "badoux-2011", "--start", "2026-12-01", "--cycles", "2", "--format", "csv"]
    assert main(base) == 0
    plain = capsys.readouterr().out
    assert main([*base, "--events", str(events)]) == 0
    assert capsys.readouterr().out == plain  # lenalidomide's fills are unchanged
    assert main(["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "2", "--events", str(events)]) == 0
    cal = expand(
        lenasched.get_protocol("badoux-2011"),
        date(2026, 12, 1),
        cycles=2,
        events=lenasched.load_events(events),
        drugs=["lenalidomide"],
    )
    assert cal.drugs == ("lenalidomide",)
    assert [m.effect for m in cal.modifications] == ["allopurinol is not in this calendar (lenalidomide)"]
