"""Every patient event is accounted for, however it arrives (issue: a patient's record is never lost).

Each test is named after a finding it reproduces.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import ProtocolError, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.model.events import Delay, Hold, NoEscalation, PatientEvents, Resume, Stop
from lenasched.model.loader import merge_events

START = date(2027, 1, 4)
BSA = lenasched.Patient(bsa_m2=Decimal("1.9"))


def test_silently_dropped_hold_before_a_drugs_first_dose() -> None:
    """james-2014-lr: rituximab begins on cycle 1 day 29; a hold on days 14-22 takes nothing and says so."""
    events = PatientEvents(
        events=[
            Hold(date=START + timedelta(days=13), drug="rituximab", reason="infusion reaction"),
            Resume(date=START + timedelta(days=21), drug="rituximab", level="same"),
        ]
    )
    cal = expand(lenasched.get_protocol("james-2014-lr"), START, cycles=2, patient=BSA, events=events)
    effects = [(m.event, m.effect) for m in cal.modifications]
    assert (
        "hold from 2027-01-17 (infusion reaction)",
        "rituximab: no planned dose fell in the hold; nothing held",
    ) in effects
    assert len(effects) == 2  # the resume is recorded too, once


def two_phases() -> lenasched.Protocol:
    lena = {"drug": "lenalidomide", "days": "1-21"}
    return protocol_from_dict(
        {
            "schema_version": 1,
            "id": "t",
            "title": "T",
            "setting": "s",
            "citation": {"title": "c"},
            "phases": [
                {
                    "name": "induction",
                    "cycle_length_days": 28,
                    "cycles": 1,
                    "drugs": [{**lena, "dose": 25, "dose_levels": [25, 20, 15, 10, 5]}],
                },
                {
                    "name": "maintenance",
                    "cycle_length_days": 28,
                    "cycles": 2,
                    "drugs": [{**lena, "dose": 15, "dose_levels": [15, 10, 5]}],
                },
            ],
        }
    )


def test_a_resume_with_a_dose_after_a_phases_last_dose_carries_into_the_next_phase() -> None:
    """A prescriber's 10 mg dated in induction's rest week is the dose maintenance starts at, and the audit says so."""
    events = PatientEvents(
        events=[Hold(date=START + timedelta(days=10)), Resume(date=START + timedelta(days=24), dose=Decimal(10))]
    )
    cal = expand(two_phases(), START, events=events)
    maintenance = [r for r in cal if r.phase == "maintenance"]
    assert maintenance and {r.dose for r in maintenance} == {Decimal(10)}  # planned 15
    assert all(r.modified_by.startswith("resume on 2027-01-28 at 10") for r in maintenance)
    (entry,) = [m for m in cal.modifications if m.event.startswith("resume")]
    assert "carried into maintenance" in entry.effect


def test_a_lower_resume_after_a_phases_last_dose_stays_in_that_phase() -> None:
    events = PatientEvents(events=[Hold(date=START + timedelta(days=10)), Resume(date=START + timedelta(days=24))])
    cal = expand(two_phases(), START, events=events)
    assert {r.dose for r in cal if r.phase == "maintenance"} == {Decimal(15)}
    (entry,) = [m for m in cal.modifications if m.event.startswith("resume")]
    assert entry.effect == "lenalidomide: no induction dose after it; maintenance starts at its own planned dose"


def test_two_ways_in_two_answers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --hold on the command line and its resume in --events are one list: accepted together."""
    events = tmp_path / "events.yaml"
    events.write_text("events:\n  - resume: 2027-01-25\n    level: lower\n", encoding="utf-8")
    args = ["calendar", "badoux-2011", "--start", "2027-01-04", "--cycles", "2", "--format", "csv"]
    assert main([*args, "--hold", "2027-01-17:rash:3", "--events", str(events)]) == 0
    out = capsys.readouterr().out
    assert '"resume on 2027-01-25 one dose level lower after hold from 2027-01-17 (rash, grade 3)"\n' in out
    merged = merge_events(events, [("--hold 2027-01-17:rash:3", {"kind": "hold", "date": "2027-01-17"})])
    assert merged is not None and [e.kind for e in merged.events] == ["resume", "hold"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "events:\n  - hold: 2027-01-17\n  - hold: 2027-01-20\n",
            ":3:5: events.1: hold from 2027-01-20 (not stated): lenalidomide is already held since 2027-01-17",
        ),
        (
            "events:\n  - {kind: hold, date: 2027-01-17}\n  - {kind: resume, date: 2027-01-10}\n",
            ":3:5: events.1: resume on 2027-01-10 one dose level lower is before its hold on 2027-01-17",
        ),
        (
            "events:\n  - {kind: delay, cycle: 2, days: 3}\n  - {kind: delay, cycle: 2, days: 4}\n",
            ":3:5: events.1: a cycle is delayed twice; give one delay per cycle with the total days",
        ),
    ],
)
def test_event_errors_from_files_always_point_at_1_1(tmp_path: Path, text: str, expected: str) -> None:
    """A consistency error names the event's own line and column, not the file's 1:1."""
    path = tmp_path / "events.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError) as info:
        lenasched.load_events(path)
    assert str(info.value) == f"{path}{expected}"
    with pytest.raises(ProtocolError) as merged:
        merge_events(path)
    assert str(merged.value) == str(info.value)


def test_an_options_error_names_the_option() -> None:
    with pytest.raises(ProtocolError) as info:
        merge_events(None, [("--resume 2027-01-25", {"kind": "resume", "date": "2027-01-25"})])
    assert str(info.value) == (
        "<command line>: --resume 2027-01-25: resume on 2027-01-25 one dose level lower: lenalidomide is not held"
    )


# --- every event appears in the audit trail exactly once ------------------------------------------------


def protocol(phases: int) -> lenasched.Protocol:
    body: list[dict[str, Any]] = []
    for n in range(phases):
        lena = {
            "drug": "lenalidomide",
            "days": "1-21",
            "escalation": {"sequence": [5, 10, 15], "every_days": 14},
            "dose_levels": [15, 10, 5, 2.5],
        }
        aspirin = {"drug": "aspirin", "role": "prophylaxis", "dose": 81, "days": "1-28"}
        body.append({"name": f"phase{n}", "cycle_length_days": 28, "cycles": 2, "drugs": [lena, aspirin]})
    data = {"schema_version": 1, "id": "t", "title": "T", "setting": "s", "citation": {"title": "c"}, "phases": body}
    return protocol_from_dict(data)


@st.composite
def event_lists(draw: st.DrawFn) -> tuple[int, PatientEvents]:
    phases = draw(st.integers(1, 2))
    horizon = 56 * phases + 30  # some events after the calendar's end
    days = sorted(draw(st.lists(st.integers(0, horizon), min_size=0, max_size=8, unique=True)))
    events: list[Any] = []
    held: dict[str, bool] = {"lenalidomide": False, "aspirin": False}
    stopped = False
    for day in days:
        when = START + timedelta(days=day)
        drug = draw(st.sampled_from(["lenalidomide", "aspirin"]))
        kind = draw(st.sampled_from(["hold", "resume", "freeze", "stop"]))
        if stopped:
            break
        if kind == "hold" and not held[drug]:
            events.append(Hold(date=when, drug=drug))
            held[drug] = True
        elif kind == "resume" and held[drug]:
            level = draw(st.sampled_from(["lower", "same"]))
            events.append(Resume(date=when, drug=drug, level=level))
            held[drug] = False
        elif kind == "freeze":
            events.append(NoEscalation(date=when))
        elif kind == "stop":
            events.append(Stop(date=when, drug=draw(st.sampled_from([None, "lenalidomide"]))))
            stopped = True
    if draw(st.booleans()):
        events.append(Delay(cycle=2, days=draw(st.integers(1, 14))))
    return phases, PatientEvents(events=events)


@settings(max_examples=150)
@given(event_lists())
def test_every_event_appears_in_the_audit_trail_exactly_once(case: tuple[int, PatientEvents]) -> None:
    phases, events = case
    cal = expand(protocol(phases), START, events=events)
    counts = Counter((m.drug, m.event) for m in cal.modifications)
    for event in events.events:
        if isinstance(event, Delay):
            assert counts[(None, event.describe())] == 1, event
        elif isinstance(event, Stop) and event.drug is None:
            for drug in ("lenalidomide", "aspirin"):
                assert counts[(drug, event.describe())] == 1, (drug, event, cal.modifications)
        else:
            drug = getattr(event, "drug", None)  # type: ignore[assignment]
            matching = [k for k in counts if k[0] == drug and k[1].startswith(event.describe())]
            assert sum(counts[k] for k in matching) == 1, (event, cal.modifications)


def test_a_lower_resume_on_a_phases_first_day_belongs_to_that_phase() -> None:
    """Found by hypothesis: the resume's date falls in maintenance, so maintenance's own dose is lowered."""
    events = PatientEvents(events=[Hold(date=START + timedelta(days=10)), Resume(date=START + timedelta(days=28))])
    cal = expand(two_phases(), START, events=events)
    maintenance = [r for r in cal if r.phase == "maintenance"]
    assert maintenance[0].date == START + timedelta(days=28)
    assert {r.dose for r in maintenance} == {Decimal(10)}  # planned 15, one level lower
    (entry,) = [m for m in cal.modifications if m.event.startswith("resume")]
    assert entry.effect.startswith("lenalidomide 15 -> 10 mg")
