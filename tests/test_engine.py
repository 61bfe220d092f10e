"""Engine behaviour on hand-made protocols, and its invariants over generated ones (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import Patient, ScheduleError, expand, protocol_from_dict
from lenasched.formats.csv import to_csv

START = date(2026, 3, 2)


def make(drugs: list[dict[str, Any]], **phase: Any) -> lenasched.Protocol:
    body = {"name": "treatment", "cycle_length_days": 28, "cycles": 3, "drugs": drugs}
    body.update(phase)
    return protocol_from_dict(
        {"schema_version": 1, "id": "t", "title": "T", "setting": "s", "citation": {"title": "c"}, "phases": [body]}
    )


def lena(**kw: Any) -> dict[str, Any]:
    return {"drug": "lenalidomide", "days": "1-21", **kw}


def test_rest_days_have_no_rows_and_windows_say_so() -> None:
    cal = expand(make([lena(dose=25)]), START)
    assert len(cal) == 63
    first = cal.windows[0]
    assert first.start == START and first.end == START + timedelta(days=27)
    assert len(first.on_days) == 21 and len(first.rest_days) == 7
    assert cal.on(START + timedelta(days=21)) == ()
    assert [d.study_day for d in cal][:2] == [1, 2]


def test_decimal_steps_land_exactly() -> None:
    esc = {"start": 2.5, "step": 2.5, "cap": 10, "every_days": 7}
    cal = expand(make([lena(escalation=esc, days="1-28")]), START)
    doses = [str(d.dose) for d in cal if d.study_day in (1, 8, 15, 22, 29)]
    assert doses == ["2.5", "5.0", "7.5", "10.0", "10.0"]


def test_first_step_day_and_every_cycles() -> None:
    esc = {"start": 5, "step": 5, "cap": 15, "every_cycles": 1, "first_step_cycle": 3}
    cal = expand(make([lena(escalation=esc)], cycles=4), START)
    assert [str(d.dose) for d in cal if d.cycle_day == 1] == ["5", "5", "10", "15"]


def test_escalation_at_named_days() -> None:
    esc = {"sequence": [2.5, 5, 10], "at": [{"cycle": 1, "day": 8}, {"cycle": 2, "day": 1}]}
    cal = expand(make([lena(escalation=esc)]), START)
    assert [str(d.dose) for d in cal if d.study_day in (7, 8, 21, 29)] == ["2.5", "5", "5", "10"]


def test_never_more_than_one_level_between_administrations() -> None:
    # increases fall due on days 22 and 29: the rest week must not skip a level
    esc = {"start": 5, "step": 5, "cap": 25, "every_days": 7}
    cal = expand(make([lena(escalation=esc)]), START)
    levels = [d.dose for d in cal]
    assert all(b - a in (0, 5) for a, b in zip(levels, levels[1:]))


def test_cycle_length_exception_and_first_cycle_start_day() -> None:
    proto = make([lena(dose=10, first_cycle_start_day=9)], cycle_lengths={1: 35})
    cal = expand(proto, START)
    assert cal.windows[0].length_days == 35
    assert cal.windows[1].start == START + timedelta(days=35)
    assert next(d.cycle_day for d in cal if d.cycle == 1) == 9


def test_until_cuts_the_calendar_and_marks_the_partial_cycle() -> None:
    until = START + timedelta(days=40)
    cal = expand(make([lena(dose=10)], cycles=None, until_progression=True), START, until=until)
    assert cal.days[-1].date <= until
    assert cal.windows[-1].end == until and not cal.windows[-1].complete


def test_open_ended_needs_a_horizon() -> None:
    with pytest.raises(ScheduleError, match="until progression"):
        expand(make([lena(dose=10)], cycles=None, until_progression=True), START)


def test_bsa_required_for_mg_per_m2() -> None:
    proto = make([lena(dose=10), {"drug": "rituximab", "route": "iv", "unit": "mg/m2", "dose": 375, "days": 1}])
    with pytest.raises(ScheduleError, match="rituximab is dosed in mg/m²"):
        expand(proto, START)
    cal = expand(proto, START, patient=Patient(bsa_m2=Decimal("1.9")))
    ritux = cal.for_drug("rituximab")
    assert [str(d.dose_mg) for d in ritux] == ["712.5"] * 3
    assert ritux[0].dose == Decimal(375) and ritux[0].unit == "mg/m2"


def test_mg_per_kg_requires_weight() -> None:
    proto = make([{"drug": "x", "unit": "mg/kg", "dose": 2, "days": 1}])
    with pytest.raises(ScheduleError, match="weight"):
        expand(proto, START)
    assert expand(proto, START, patient=Patient(weight_kg=Decimal(70))).days[0].dose_mg == Decimal(140)


def test_bsa_formulas() -> None:
    assert lenasched.bsa_mosteller(170, 70) == Decimal("1.82")
    assert lenasched.bsa_dubois(170, 70) == Decimal("1.81")
    assert Patient(height_cm=Decimal(170), weight_kg=Decimal(70), bsa_formula="dubois").bsa == Decimal("1.81")


def test_repeat_monthly_keeps_the_day_of_month() -> None:
    rep = {"every_months": 1, "start": {"cycle": 1, "day": 1}, "count": 3}
    proto = make([lena(dose=10), {"drug": "x", "route": "iv", "dose": 100, "repeat": rep}], cycles=4)
    cal = expand(proto, date(2026, 1, 31))
    assert [d.date.isoformat() for d in cal.for_drug("x")] == ["2026-01-31", "2026-02-28", "2026-03-31"]


def test_first_doses_then_the_regular_dose() -> None:
    proto = make([{"drug": "ofatumumab", "route": "iv", "dose": 1000, "first_doses": [300], "days": "1, 8"}])
    assert [str(d.dose) for d in expand(proto, START)][:3] == ["300", "1000", "1000"]


def test_bad_arguments() -> None:
    proto = make([lena(dose=10)])
    with pytest.raises(ScheduleError):
        expand(proto, START, cycles=0)
    with pytest.raises(ScheduleError, match="before the start"):
        expand(proto, START, until=START - timedelta(days=1))


# ---- invariants over generated protocols --------------------------------------------------------


@st.composite
def protocols(draw: st.DrawFn) -> lenasched.Protocol:
    length = draw(st.integers(7, 42))
    first = draw(st.integers(1, length))
    last = draw(st.integers(first, length))
    start = draw(st.sampled_from(["2.5", "5", "10"]))
    step = draw(st.sampled_from(["2.5", "5"]))
    steps = draw(st.integers(0, 4))
    cap = str(Decimal(start) + steps * Decimal(step))
    if steps == 0:
        regimen = lena(dose=start, days=f"{first}-{last}")
    else:
        timing = draw(
            st.one_of(
                st.builds(lambda n: {"every_days": n}, st.integers(1, 60)),
                st.builds(lambda n: {"every_cycles": n}, st.integers(1, 3)),
            )
        )
        regimen = lena(escalation={"start": start, "step": step, "cap": cap, **timing}, days=f"{first}-{last}")
    phases = [{"name": "induction", "cycle_length_days": length, "cycles": draw(st.integers(1, 6)), "drugs": [regimen]}]
    if draw(st.booleans()):
        phases.append(
            {
                "name": "maintenance",
                "cycle_length_days": 28,
                "until_progression": True,
                "drugs": [lena(dose=start, days="1-21")],
            }
        )
    return protocol_from_dict(
        {"schema_version": 1, "id": "gen", "title": "G", "setting": "s", "citation": {"title": "c"}, "phases": phases}
    )


@settings(max_examples=150, deadline=None)
@given(protocols(), st.integers(1, 15), st.dates(date(2000, 1, 1), date(2090, 1, 1)))
def test_engine_invariants(proto: lenasched.Protocol, cycles: int, start: date) -> None:
    cal = expand(proto, start, cycles=cycles)
    phases = {p.name: p for p in proto.phases}
    # cycles tile the calendar without gaps or overlaps
    assert cal.windows[0].start == start
    for a, b in zip(cal.windows, cal.windows[1:]):
        assert b.start == a.end + timedelta(days=1)
    previous: dict[str, Decimal] = {}
    for day in cal:
        regimen = phases[day.phase].drugs[0]
        window = next(w for w in cal.windows if w.phase == day.phase and w.cycle == day.cycle)
        assert day.date in window.on_days and day.date not in window.rest_days
        # no dose on a rest day, never above the cap
        assert day.cycle_day in regimen.days_in(cast(int, day.cycle))
        assert day.dose <= regimen.max_dose
        # doses follow the escalation steps in order, one level at a time
        if regimen.escalation is not None:
            levels = regimen.escalation.levels
            if day.phase in previous:
                before = levels.index(previous[day.phase])
                assert levels.index(day.dose) in (before, before + 1)
            else:
                assert day.dose == levels[0]
        previous[day.phase] = day.dose
    # same input, byte-identical CSV
    assert to_csv(expand(proto, start, cycles=cycles)) == to_csv(cal)
