"""Renal function and the label's renal table applied to a calendar (a pure function)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenasched import Calendar, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.engine.renal import (
    RenalFunction,
    adjust_for_renal,
    cockcroft_gault,
    renal_band,
    scr_umol_to_mg_dl,
)
from lenasched.errors import ScheduleError
from lenasched.model.label import load_label

START = date(2026, 12, 1)
D = Decimal
Capture = pytest.CaptureFixture[str]


def calendar(drugs: list[dict[str, Any]], length: int = 28, cycles: int = 2) -> Calendar:
    phase = {"name": "treatment", "cycle_length_days": length, "cycles": cycles, "drugs": drugs}
    p = protocol_from_dict(
        {"schema_version": 1, "id": "t", "title": "T", "setting": "s", "citation": {"title": "c"}, "phases": [phase]}
    )
    return expand(p, START)


def lena(**kw: Any) -> dict[str, Any]:
    return {"drug": "lenalidomide", "days": "1-21", **kw}


def test_cockcroft_gault_by_hand() -> None:
    # (140 - 60) × 72 / (72 × 1.0) = 80; × 0.85 = 68
    assert cockcroft_gault(60, D(72), D("1.0"), "male") == D("80.0")
    assert cockcroft_gault(60, D(72), D("1.0"), "female") == D("68.0")
    # (140 - 75) × 60 / (72 × 1.6) × 0.85 = 28.776...
    assert cockcroft_gault(75, D(60), D("1.6"), "female") == D("28.8")
    assert scr_umol_to_mg_dl(D("88.4")) == D(1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((17, D(70), D(1), "male"), "adults"),
        ((60, D(10), D(1), "male"), "weight"),
        ((60, D(70), D(90), "male"), "µmol/L"),
        ((60, D(70), D(1), "other"), "sex"),
    ],
)
def test_cockcroft_gault_refuses_implausible_inputs(args: Any, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        cockcroft_gault(*args)


@pytest.mark.parametrize(
    ("crcl", "dialysis", "band"),
    [
        ("90", False, None),
        ("60", False, None),
        ("59.9", False, "moderate"),
        ("30", False, "moderate"),
        ("29.9", False, "severe"),
        ("11", False, "severe"),
        ("20", True, "end-stage renal disease (dialysis)"),
        (None, True, "end-stage renal disease (dialysis)"),
    ],
)
def test_bands_and_their_edges(crcl: str | None, dialysis: bool, band: str | None) -> None:
    renal = RenalFunction.on_dialysis() if crcl is None else RenalFunction.given(D(crcl), dialysis=dialysis)
    found = renal_band(renal)
    assert (found.name if found else None) == band


def test_not_studied_and_impossible_inputs_are_refused() -> None:
    with pytest.raises(ScheduleError, match="not been studied"):
        renal_band(RenalFunction.given(D("10.9")))
    with pytest.raises(ScheduleError, match="no row for a patient on dialysis"):
        renal_band(RenalFunction.given(D(45), dialysis=True))
    with pytest.raises(ScheduleError, match="give a creatinine clearance"):
        RenalFunction(None)
    with pytest.raises(ScheduleError, match="0-300"):
        RenalFunction.given(D(400))


def test_moderate_band_lowers_doses_above_10_mg_and_keeps_the_rest() -> None:
    esc = {"sequence": [5, 10, 15, 25], "every_cycles": 1}
    original = calendar([lena(escalation=esc), {"drug": "dexamethasone", "dose": 40, "days": "1, 8"}], cycles=4)
    adjusted, record = adjust_for_renal(original, RenalFunction.given(D(45)))
    lena_doses = [d.dose_mg for d in adjusted.for_drug("lenalidomide") if d.cycle_day == 1]
    assert lena_doses == [D(5), D(10), D(10), D(10)]
    assert adjusted.for_drug("dexamethasone") == original.for_drug("dexamethasone")
    assert len(record.lowered) == 42 and record.dropped == ()
    assert all(c.before_mg in (D(15), D(25)) and c.after_mg == D(10) for c in record.changes)
    assert record.changes[0].reason == "renal: moderate band, at most 10 mg"
    summary = record.summary()
    assert summary.startswith("Renal dose adjustment applied: CrCl 45 mL/min (given), in the label's moderate band")
    assert "10 mg once daily" in summary and "42 dose day(s) lowered" in summary
    # pure: the input calendar is unchanged
    assert [d.dose_mg for d in original.for_drug("lenalidomide") if d.cycle_day == 1] == [D(5), D(10), D(15), D(25)]


def test_severe_band_gives_15_mg_every_48_hours_across_cycle_boundaries() -> None:
    original = calendar([lena(dose=25, days="1-21")], length=21, cycles=2)  # continuous 21-day cycles
    adjusted, record = adjust_for_renal(original, RenalFunction.given(D(20)))
    dates = [d.date for d in adjusted.for_drug("lenalidomide")]
    assert all((b - a).days == 2 for a, b in zip(dates, dates[1:]))
    assert {d.dose_mg for d in adjusted} == {D(15)}
    assert [d.cycle_day for d in adjusted if d.cycle == 2][:2] == [2, 4]  # day 1 of cycle 2 is 24 h after day 21
    assert len(adjusted) + len(record.dropped) == len(original)
    # the windows follow: a dropped day is a rest day
    first = adjusted.windows[0]
    assert len(first.on_days) == 11 and len(first.rest_days) == 10


def test_no_band_leaves_the_calendar_alone() -> None:
    original = calendar([lena(dose=25)])
    adjusted, record = adjust_for_renal(original, RenalFunction.given(D(75)))
    assert adjusted.days == original.days and adjusted.windows == original.windows
    assert not record.applies and record.changes == ()
    assert "no lenalidomide dose adjustment" in record.summary()


def test_band_with_nothing_to_change_says_so() -> None:
    _, record = adjust_for_renal(calendar([lena(dose=5)]), RenalFunction.given(D(45)))
    assert record.applies and record.changes == ()
    assert record.summary().startswith("Renal dose check:") and "nothing changed" in record.summary()


def test_dialysis_note_and_columns() -> None:
    _, record = adjust_for_renal(calendar([lena(dose=10)]), RenalFunction.on_dialysis())
    assert "after dialysis" in record.summary() and len(record.lowered) == 42
    with pytest.raises(ScheduleError, match="no verified myelodysplastic syndromes dose"):
        adjust_for_renal(calendar([lena(dose=10)]), RenalFunction.on_dialysis(), column="mds")
    with pytest.raises(ScheduleError, match="label data has no renal table column 'cll'"):
        adjust_for_renal(calendar([lena(dose=10)]), RenalFunction.given(D(40)), column="cll")
    adjusted, _ = adjust_for_renal(calendar([lena(dose=10)]), RenalFunction.given(D(40)), column="mds")
    assert {d.dose_mg for d in adjusted} == {D(5)}


@settings(max_examples=100, deadline=None)
@given(
    dose=st.sampled_from(load_label().strengths),
    first=st.integers(1, 10),
    span=st.integers(0, 27),
    length=st.integers(28, 40),
    crcl=st.sampled_from([D(12), D(29), D(30), D(59), D(60)]),
)
def test_never_above_the_band_never_closer_than_its_interval(
    dose: Decimal, first: int, span: int, length: int, crcl: Decimal
) -> None:
    original = calendar([lena(dose=str(dose), days=f"{first}-{min(first + span, length)}")], length=length, cycles=3)
    adjusted, record = adjust_for_renal(original, RenalFunction.given(crcl))
    before = {d.date: d.dose_mg for d in original}
    assert set(d.date for d in adjusted) <= set(before)  # no dose day added: rest days stay rest days
    if record.rule is None:
        assert adjusted.days == original.days and adjusted.windows == original.windows
        return
    assert all(d.dose_mg <= record.rule.dose_mg.value and d.dose_mg <= before[d.date] for d in adjusted)
    dates = [d.date for d in adjusted]
    assert all((b - a).days >= record.rule.interval_days for a, b in zip(dates, dates[1:]))


# The calendar command -------------------------------------------------------------------------

YAML = """
schema_version: 1
id: t-renal
title: Test
setting: test
citation: {title: c}
phases:
  - name: treatment
    cycle_length_days: 28
    cycles: 1
    drugs:
      - {drug: lenalidomide, dose: 25, days: 1-21}
"""


def test_calendar_command_applies_and_reports_the_adjustment(tmp_path: Path, capsys: Capture) -> None:
    file = tmp_path / "t-renal.yaml"
    file.write_text(YAML, encoding="utf-8")
    base = ["calendar", str(file), "--start", "2026-12-01"]
    assert main([*base, "--crcl", "45", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["dose"] for d in data["days"]} == {"10"}
    assert data["renal"]["band"] == "moderate" and len(data["renal"]["changes"]) == 21
    assert main([*base, "--crcl", "45", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert ",lenalidomide,10,mg,10," in out and "note: Renal dose adjustment applied" in err
    assert main([*base, "--crcl", "45"]) == 0
    out = capsys.readouterr().out
    assert "Renal dose adjustment applied" in " ".join(out.split())
    assert main([*base, "--crcl", "45", "--format", "html"]) == 0
    assert "Renal dose adjustment applied" in capsys.readouterr().out
    assert main([*base, "--format", "json"]) == 0
    assert "renal" not in json.loads(capsys.readouterr().out)
