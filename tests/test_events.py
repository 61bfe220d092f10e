"""Holds, dose reductions, delays and stops: the calendar as it really happens."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import ScheduleError, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.formats.csv import to_csv
from lenasched.model.events import PatientEvents
from lenasched.pharmacy.dispense import dispense_plan

START = date(2026, 1, 5)
D = Decimal


def events(*items: dict[str, Any]) -> PatientEvents:
    return PatientEvents.model_validate({"events": list(items)})


def make(ladder: tuple[float, ...] = (25, 20, 15, 10, 5, 2.5), **esc: Any) -> lenasched.Protocol:
    escalation = esc or {"start": 5, "step": 5, "cap": 25, "every_days": 28}
    return protocol_from_dict(
        {
            "schema_version": 1,
            "id": "t",
            "title": "T",
            "setting": "s",
            "citation": {"title": "c"},
            "phases": [
                {
                    "name": "treatment",
                    "cycle_length_days": 28,
                    "cycles": 6,
                    "drugs": [
                        {"drug": "lenalidomide", "days": "1-21", "escalation": escalation, "dose_levels": list(ladder)},
                        {"drug": "rituximab", "route": "iv", "dose": 375, "unit": "mg/m2", "days": 1},
                    ],
                }
            ],
        }
    )


PATIENT = lenasched.Patient(bsa_m2=D("1.9"))


def lena(cal: lenasched.Calendar, day: int) -> Decimal | None:
    rows = [d for d in cal.on(START + timedelta(days=day - 1)) if d.drug == "lenalidomide"]
    return rows[0].dose if rows else None


def test_hold_spanning_a_cycle_boundary_then_one_level_lower() -> None:
    # 10 mg from day 29; held day 40 (cycle 2 day 12) to day 60 (cycle 3 day 4)
    cal = expand(
        make(),
        START,
        patient=PATIENT,
        events=events(
            {"hold": (START + timedelta(days=39)).isoformat(), "reason": "neutropenia", "grade": 3},
            {"resume": (START + timedelta(days=59)).isoformat(), "level": "lower"},
        ),
    )
    assert lena(cal, 39) == D(10)
    assert all(lena(cal, d) is None for d in range(40, 60))
    assert lena(cal, 60) == D(5)
    assert lena(cal, 141) == D(5)  # no re-escalation after a reduction
    # the companion drug keeps its cycle days
    assert [d.cycle for d in cal.for_drug("rituximab")] == [1, 2, 3, 4, 5, 6]
    reduced = [d for d in cal.for_drug("lenalidomide") if d.modified_by]
    assert reduced[0].study_day == 60 and "neutropenia, grade 3" in reduced[0].modified_by
    effects = " | ".join(m.effect for m in cal.modifications)
    assert "10 -> 5 mg" in effects and "planned dose(s) not given" in effects


def test_hold_and_resume_same_pauses_day_counted_escalation() -> None:
    cal = expand(
        make(),
        START,
        patient=PATIENT,
        events=events(
            {"hold": (START + timedelta(days=9)).isoformat()},
            {"resume": (START + timedelta(days=16)).isoformat(), "level": "same"},
        ),
    )
    assert lena(cal, 17) == D(5)
    assert lena(cal, 29) == D(5) and lena(cal, 36) == D(10)  # the day-29 step moves by the 7 held days


def test_delay_moves_later_cycles_and_their_companion_drugs() -> None:
    cal = expand(make(), START, patient=PATIENT, events=events({"delay": {"cycle": 3, "days": 7}}))
    assert cal.windows[2].start == START + timedelta(days=56 + 7)
    assert cal.windows[3].start == cal.windows[2].end + timedelta(days=1)
    assert cal.for_drug("rituximab")[2].date == START + timedelta(days=63)
    assert lena(cal, 57) is None and lena(cal, 64) == D(15)  # escalation shifted by the delay too


def test_reduction_below_the_lowest_level_stops_the_drug() -> None:
    proto = make(ladder=(5, 2.5), sequence=[2.5, 5], every_cycles=1)
    cal = expand(
        proto,
        START,
        patient=PATIENT,
        events=events(
            {"hold": (START + timedelta(days=2)).isoformat()},
            {"resume": (START + timedelta(days=5)).isoformat(), "level": "lower"},
        ),
    )
    assert [d.study_day for d in cal.for_drug("lenalidomide")] == [1, 2]
    assert any("stopped: no dose level below 2.5" in m.effect for m in cal.modifications)


def test_no_escalation_and_stop() -> None:
    cal = expand(
        make(),
        START,
        patient=PATIENT,
        events=events(
            {"no_escalation": (START + timedelta(days=40)).isoformat()},
            {"stop": (START + timedelta(days=100)).isoformat()},
        ),
    )
    assert lena(cal, 57) == D(10) and lena(cal, 99) == D(10)
    assert cal.days[-1].date < START + timedelta(days=100)


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"resume": "2026-01-20"}, {"hold": "2026-01-25"}], "before its hold"),
        ([{"resume": "2026-01-20"}], "is not held"),
        ([{"stop": "2026-01-20"}, {"hold": "2026-01-25"}], "after the stop"),
        ([{"hold": "2026-01-20"}, {"hold": "2026-01-22"}], "already held"),
        ([{"delay": {"cycle": 2, "days": 3}}, {"delay": {"cycle": 2, "days": 4}}], "delayed twice"),
    ],
)
def test_inconsistent_events_are_refused(items: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        events(*items)


def test_unknown_cycle_unknown_drug_and_dose_above_cap_are_refused() -> None:
    with pytest.raises(ScheduleError, match="cycle 9 cannot be delayed"):
        expand(make(), START, patient=PATIENT, events=events({"delay": {"cycle": 9, "days": 3}}))
    with pytest.raises(ScheduleError, match="'lenalidomid' is not a drug"):
        expand(make(), START, patient=PATIENT, events=events({"hold": "2026-01-10", "drug": "lenalidomid"}))
    with pytest.raises(ScheduleError, match="above the cap"):
        expand(
            make(), START, patient=PATIENT, events=events({"hold": "2026-01-10"}, {"resume": "2026-01-12", "dose": 30})
        )


def test_cli_options_events_file_and_audit_trail(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    chanan = ["calendar", "chanan-khan-2006", "--start", "2026-01-05", "--cycles", "3"]
    file = tmp_path / "events.yaml"
    file.write_text("events:\n  - hold: 2026-01-24\n    reason: neutropenia\n    grade: 3\n  - resume: 2026-02-07\n")
    assert main([*chanan, "--events", str(file), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].endswith(",modified_by")
    assert '2026-02-07,34,treatment,2,6,lenalidomide,5,mg,5,oral,treatment,"resume on 2026-02-07' in out
    assert main([*chanan, "--hold", "2026-01-24:neutropenia:3", "--resume", "2026-02-07"]) == 0
    assert "Audit trail" in capsys.readouterr().out
    assert main([*chanan, "--resume", "2026-01-04"]) == 1
    assert "is not held" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("events:\n  - hold: 2026-01-24\n    grade: 7\n")
    assert main([*chanan, "--events", str(bad)]) == 1
    assert f"{bad}:3:" in capsys.readouterr().err


@st.composite
def event_lists(draw: st.DrawFn) -> PatientEvents:
    items: list[dict[str, Any]] = []
    day = draw(st.integers(1, 60))
    for _ in range(draw(st.integers(0, 3))):
        hold = START + timedelta(days=day)
        length = draw(st.integers(1, 30))
        items.append({"hold": hold.isoformat()})
        how = draw(st.sampled_from(["lower", "same", "none"]))
        if how != "none":
            items.append({"resume": (hold + timedelta(days=length)).isoformat(), "level": how})
            day += length + draw(st.integers(1, 40))
        else:
            break
    if draw(st.booleans()):
        items.append({"delay": {"cycle": draw(st.integers(2, 6)), "days": draw(st.integers(1, 14))}})
    return events(*items)


@settings(max_examples=120, deadline=None)
@given(event_lists())
def test_invariants_after_any_valid_events(evs: PatientEvents) -> None:
    proto = make()
    cal = expand(proto, START, patient=PATIENT, events=evs)
    regimen = proto.phases[0].drugs[0]
    ladder = regimen.dose_levels.value if regimen.dose_levels else []
    for day in cal.for_drug("lenalidomide"):
        assert day.dose <= D(25) and day.dose >= min(ladder)  # never above the cap nor below the floor
        assert day.cycle_day in regimen.days_in(cast(int, day.cycle))  # rest days stay rest days
    for window in cal.windows:
        assert len(window.on_days) + len(window.rest_days) == (window.end - window.start).days + 1
    assert to_csv(expand(proto, START, patient=PATIENT, events=evs)) == to_csv(cal)
    # what is dispensed is exactly what is scheduled, fill by fill (a 7.5 mg dose would need two capsules)
    plan = dispense_plan(cal, allow_multiple=True)
    assert plan.total_dispensed_mg == cal.total_mg("lenalidomide")
    assert all(len(fill.lines) >= 1 for fill in plan.fills)


def test_printed_calendar_lists_the_changes_and_marks_delay_days() -> None:
    from lenasched.formats.html import calendar_page, to_html

    cal = expand(
        make(),
        START,
        patient=PATIENT,
        events=events(
            {"hold": "2026-02-14", "reason": "neutropenia", "grade": 3},
            {"resume": "2026-03-02", "level": "lower"},
            {"delay": {"cycle": 4, "days": 7}},
        ),
    )
    page = calendar_page(cal)
    texts = [what for _, what in page.changes]
    assert any("neutropenia, grade 3" in t for t in texts) and any("cycle 4 delayed" in t for t in texts)
    gap = START + timedelta(days=84)  # the first day cycle 4 would have had
    cells = [c for m in page.months for week in m.weeks for c in week if c.iso == gap.isoformat()]
    assert cells and cells[0].label == "cycle delayed"
    assert "Changes to the planned calendar" in to_html(cal)


def test_a_reduction_in_one_phase_does_not_rewrite_the_next_phase() -> None:
    two_phases = protocol_from_dict(
        {
            "schema_version": 1, "id": "t2", "title": "T", "setting": "s", "citation": {"title": "c"},
            "phases": [
                {"name": "induction", "cycle_length_days": 28, "cycles": 2,
                 "drugs": [{"drug": "lenalidomide", "dose": 10, "days": "1-21", "dose_levels": [10, 5, 2.5]}]},
                {"name": "maintenance", "cycle_length_days": 28, "cycles": 2,
                 "drugs": [{"drug": "lenalidomide", "dose": 5, "days": "1-21", "dose_levels": [5, 2.5]}]},
            ],
        }
    )  # fmt: skip
    cal = expand(two_phases, START, events=events({"hold": "2026-01-10"}, {"resume": "2026-01-20", "level": "lower"}))
    assert lena(cal, 16) == D(5)  # induction resumes one level lower
    assert lena(cal, 57) == D(5)  # maintenance starts at its own planned dose
    held_over = expand(two_phases, START, events=events({"hold": "2026-02-20"}, {"resume": "2026-03-10"}))
    assert lena(cal, 57) == D(5) and lena(held_over, 57) is None  # a hold running into maintenance holds it
    assert next(d.dose for d in held_over.for_drug("lenalidomide") if d.phase == "maintenance") == D("2.5")


def test_resume_dose_must_be_a_dose_level() -> None:
    with pytest.raises(ScheduleError, match=r"7 is not one of lenalidomide's dose levels \(25, 20, 15, 10, 5, 2.5\)"):
        expand(
            make(), START, patient=PATIENT, events=events({"hold": "2026-01-10"}, {"resume": "2026-01-12", "dose": 7})
        )


WEEKLY = protocol_from_dict(
    {
        "schema_version": 1, "id": "w", "title": "W", "setting": "s", "citation": {"title": "c"},
        "phases": [{
            "name": "treatment", "cycle_length_days": 28, "cycles": 6,
            "drugs": [
                {"drug": "lenalidomide", "dose": 10, "days": "1-21"},
                {"drug": "x", "dose": 100, "repeat": {"every_weeks": 1, "start": {"cycle": 1, "day": 3}}},
                {"drug": "y", "dose": 100, "repeat": {"every_months": 1, "start": {"cycle": 2, "day": 1}}},
            ],
        }],
    }
)  # fmt: skip


@settings(max_examples=80)
@given(st.dictionaries(st.integers(2, 6), st.integers(1, 20), max_size=3))
def test_every_dose_day_lies_inside_its_cycle_window_after_delays(delays: dict[int, int]) -> None:
    evs = events(*({"delay": {"cycle": c, "days": d}} for c, d in delays.items()))
    cal = expand(WEEKLY, START, events=evs)
    windows: dict[tuple[str, int | None], Any] = {(w.phase, w.cycle): w for w in cal.windows}
    for day in cal:
        window = windows[(day.phase, day.cycle)]
        assert window.start <= day.date <= window.end
        assert 1 <= day.cycle_day <= window.length_days
        assert day.date == window.start + timedelta(days=day.cycle_day - 1)
    # a weekly schedule keeps its rhythm on treatment time: 7 days apart unless a delay lies between
    weekly = [d.date for d in cal.for_drug("x")]
    gaps = {(b - a).days for a, b in zip(weekly, weekly[1:])}
    assert gaps <= {7, *(7 + d for d in delays.values())} | {7 + sum(delays.values())}
