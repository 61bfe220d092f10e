"""One regression test per defect the engine v2 review reproduced (issue 10), named after the defect.

Each test fails on the engine before v2: it is the reproducer, turned into an assertion.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import Calendar, DoseDay, ScheduleError, expand, protocol_from_dict
from lenasched.engine.renal import RenalFunction, adjust_for_renal
from lenasched.errors import CapsuleError, ProtocolError
from lenasched.formats.csv import to_csv
from lenasched.model.events import Hold, PatientEvents, Resume, Stop

START = date(2027, 1, 4)
D = Decimal


def protocol(*phases: dict[str, Any], lead_in: dict[str, Any] | None = None) -> lenasched.Protocol:
    data: dict[str, Any] = {
        "schema_version": 1,
        "id": "t",
        "title": "T",
        "setting": "s",
        "citation": {"title": "c"},
        "phases": list(phases),
    }
    if lead_in is not None:
        data["lead_in"] = lead_in
    return protocol_from_dict(data)


def phase(name: str, drugs: list[dict[str, Any]], cycles: int = 4, length: int = 28) -> dict[str, Any]:
    return {"name": name, "cycle_length_days": length, "cycles": cycles, "drugs": drugs}


def doses_by_cycle(cal: Calendar, drug: str = "lenalidomide") -> dict[tuple[str, int | None], list[str]]:
    out: dict[tuple[str, int | None], list[str]] = {}
    for row in cal.for_drug(drug):
        levels = out.setdefault((row.phase, row.cycle), [])
        if not levels or levels[-1] != str(row.dose):
            levels.append(str(row.dose))
    return out


# 1 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timing",
    [{"every_cycles": 1}, {"at": [{"cycle": 2, "day": 1}, {"cycle": 3, "day": 1}, {"cycle": 4, "day": 1}]}],
    ids=["every_cycles", "at"],
)
def test_escalation_skips_the_start_dose_when_the_drug_starts_after_cycle_1(timing: dict[str, Any]) -> None:
    """A 2.5 -> 10 mg sequence given from cycle 2 starts at 2.5 mg in cycle 2 (its own cycle 1), not at 5 mg."""
    lena = {
        "drug": "lenalidomide",
        "days": "1-21",
        "cycles": "2-",
        "escalation": {"sequence": [2.5, 5, 7.5, 10], **timing},
    }
    cal = expand(protocol(phase("treatment", [lena], cycles=5)), START, allow={"no-capsule-makes-dose"})
    assert doses_by_cycle(cal) == {
        ("treatment", 2): ["2.5"],
        ("treatment", 3): ["5"],
        ("treatment", 4): ["7.5"],
        ("treatment", 5): ["10"],
    }


# 2 ------------------------------------------------------------------------------------------------


def two_phases(maintenance_levels: tuple[float, ...] = (10, 5, 2.5)) -> lenasched.Protocol:
    induction = {"drug": "lenalidomide", "dose": 5, "days": "1-21", "dose_levels": [5, 2.5]}
    maintenance = {"drug": "lenalidomide", "dose": 10, "days": "1-28", "dose_levels": list(maintenance_levels)}
    return protocol(phase("induction", [induction], cycles=2), phase("maintenance", [maintenance], cycles=2))


def test_stopped_but_the_drug_comes_back() -> None:
    """A reduction below the lowest level stops the drug for good: the next phase does not restart it."""
    events = PatientEvents(
        events=[
            Hold(date=START + timedelta(days=2), reason="neutropenia", grade=3),
            Resume(date=START + timedelta(days=9), level="lower"),  # 5 -> 2.5
            Hold(date=START + timedelta(days=12), reason="neutropenia", grade=4),
            Resume(date=START + timedelta(days=30), level="lower"),  # nothing below 2.5: stop
        ]
    )
    cal = expand(two_phases(), START, events=events)
    assert [r.phase for r in cal.for_drug("lenalidomide")][-1] == "induction"
    assert not [r for r in cal if r.phase == "maintenance"]
    assert any("stopped: no dose level below 2.5" in m.effect for m in cal.modifications)


def test_a_stop_event_carries_across_later_phases() -> None:
    cal = expand(two_phases(), START, events=PatientEvents(events=[Stop(date=START + timedelta(days=10))]))
    assert max(r.date for r in cal) < START + timedelta(days=10)


# 3 ------------------------------------------------------------------------------------------------

pytest.importorskip("numpy")


def simulated_path(proto: lenasched.Protocol, horizon: int, event_days: list[int], recovery: int) -> list[int]:
    """One patient's daily lenalidomide (units of 1/10,000 mg) with events forced on ``event_days`` (0-based)."""
    import numpy as np

    from lenasched.design.simulation import EventRate, _plan, _run

    plan = _plan(proto, START, horizon, None, "lenalidomide", None)
    path = _run(plan, 1, np.random.default_rng(0), EventRate((0.0,), ()), recovery, True, forced=event_days)
    assert path.daily is not None
    return [int(x) for x in path.daily[0]]


def expanded_path(proto: lenasched.Protocol, horizon: int, event_days: list[int], recovery: int) -> list[int]:
    """The same patient through ``expand``: each event is a hold from the next day and a resume one level lower."""
    lead = proto.lead_in.length_days if proto.lead_in is not None else 0
    events = []
    for day in event_days:
        events += [
            Hold(date=START + timedelta(days=day + 1), reason="simulated event"),
            Resume(date=START + timedelta(days=day + 1 + recovery), level="lower"),
        ]
    from lenasched.design.compare import REFERENCE_PATIENT  # companions dosed by body size (not simulated)

    cal = expand(
        proto,
        START,
        until=START + timedelta(days=horizon - 1),
        events=PatientEvents(events=events),
        patient=REFERENCE_PATIENT,
    )
    out = [0] * (lead + horizon)
    for row in cal.for_drug("lenalidomide"):
        out[(row.date - START).days + lead] = int(row.dose_mg * 10_000)
    return out


def test_the_simulation_contradicts_the_calendar() -> None:
    """Each phase reduces on its own ladder: a reduction from 10 mg in maintenance ([10, 7.5]) gives 7.5 mg,
    where a ladder pooled over phases ([2.5, 5, 7.5, 10]... or [2.5, 5, 10]) would give a dose the calendar lacks."""
    proto = two_phases((10, 7.5))
    sim = simulated_path(proto, 112, [0, 56], 7)  # events on induction day 1 (5 mg) and maintenance day 1 (10 mg)
    assert sim == expanded_path(proto, 112, [0, 56], 7)
    assert sim[0] == 50_000 and set(sim[8:21]) == {25_000}  # induction: 5 mg, held, then 2.5 mg
    assert sim[56] == 100_000 and set(sim[64:112]) == {75_000}  # maintenance: 10 mg, held, then 7.5 mg


def test_a_reduction_dated_in_a_phase_stays_in_that_phase() -> None:
    """An event on the last induction dose, resumed one level lower in induction's rest week: induction gives no
    more doses, so maintenance starts at its own planned 10 mg, in the simulation and in ``expand`` alike."""
    proto = two_phases()
    sim = simulated_path(proto, 84, [48], 3)  # induction cycle 2 day 21; resume on day 52 (rest week)
    assert sim == expanded_path(proto, 84, [48], 3)
    assert sim[56] == 100_000


@settings(max_examples=40)
@given(data=st.data())
def test_the_simulated_patient_is_the_expanded_calendar_across_phases(data: st.DataObject) -> None:
    """The differential test on a two-phase protocol with rest weeks, where resumes fall near phase changes."""
    proto = two_phases()
    horizon = 112
    event_days = data.draw(st.lists(st.integers(30, 70), max_size=3, unique=True).map(sorted))
    recovery = data.draw(st.integers(1, 14))
    sim = simulated_path(proto, horizon, event_days, recovery)
    real: list[int] = []
    for day in event_days:
        if sim[day] and not any(r <= day <= r + recovery for r in real):
            real.append(day)
    assert sim == expanded_path(proto, horizon, real, recovery)


def event_lists(horizon: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.integers(0, horizon - 1), max_size=4, unique=True).map(sorted)


@pytest.mark.parametrize(
    "protocol_id",
    [
        "badoux-2011",
        "chen-2011",
        "chanan-khan-2006",
        "ferrajoli-2008",
        "james-2014-lr",
        "continuum-2012",
        "egle-2010-flr",
        "gcllsg-2011-blr",
        "gimema-llc0606",
        "shanafelt-2013-pcr-l",
    ],
)
@settings(max_examples=15)
@given(data=st.data())
def test_the_simulated_patient_is_the_expanded_calendar(protocol_id: str, data: st.DataObject) -> None:
    """Differential: for random event days, the simulation's path equals ``expand`` with the same events, day by day."""
    proto = lenasched.get_protocol(protocol_id)
    horizon = 200
    event_days = data.draw(event_lists(horizon))
    recovery = data.draw(st.integers(1, 21))
    sim = simulated_path(proto, horizon, event_days, recovery)
    # An event on a day the simulated patient takes no dose does not happen: expand gets the ones that did.
    lead = proto.lead_in.length_days if proto.lead_in is not None else 0
    real: list[int] = []
    for day in event_days:
        if sim[day + lead] and not any(r <= day <= r + recovery for r in real):
            real.append(day)
    assert sim == expanded_path(proto, horizon, real, recovery)


# 4 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lenalidomide", "Lenalidomide", "lenalidomide ", " LENALIDOMIDE"])
def test_the_capsule_check_lives_only_in_the_cli(name: str) -> None:
    """The library refuses a 3 mg lenalidomide dose, however the drug is spelled; no CLI involved."""
    proto = protocol(phase("treatment", [{"drug": name, "dose": 3, "days": "1-21"}], cycles=1))
    assert proto.phases[0].drugs[0].drug == "lenalidomide"
    with pytest.raises(CapsuleError, match="no lenalidomide capsule makes 3 mg"):
        to_csv(expand(proto, START))
    allowed = expand(proto, START, allow={"no-capsule-makes-dose"})  # design work may ask by name
    assert {r.dose for r in allowed} == {D(3)}


def test_lenalidomide_by_another_route_is_refused() -> None:
    with pytest.raises(ProtocolError, match="route 'sc' does not exist for it"):
        protocol(phase("treatment", [{"drug": "Lenalidomide", "route": "sc", "dose": 10, "days": "1-21"}]))


def test_a_calendar_built_by_hand_is_checked_too() -> None:
    proto = protocol(phase("treatment", [{"drug": "lenalidomide", "dose": 10, "days": "1-21"}], cycles=1))
    good = expand(proto, START)
    row = good.days[0]
    above = DoseDay(row.date, 1, "treatment", 1, 1, "lenalidomide", D(15), "mg", "oral", D(15))
    with pytest.raises(ScheduleError, match="above the protocol's cap 10 mg"):
        Calendar(protocol=proto, start=START, days=(above,), windows=good.windows)
    odd = DoseDay(row.date, 1, "treatment", 1, 1, "Lenalidomide", D(3), "mg", "oral", D(3))
    with pytest.raises(CapsuleError):
        Calendar(protocol=proto, start=START, days=(odd,), windows=good.windows)
    with pytest.raises(ScheduleError, match="unknown permission"):
        Calendar(protocol=proto, start=START, days=(), windows=(), allow=frozenset({"anything"}))  # type: ignore[arg-type]


# 5 ------------------------------------------------------------------------------------------------


def test_renal_rows_have_an_empty_modified_by() -> None:
    """The renal ceiling is a modifier like any other: lowered rows say so, and the one audit trail has it."""
    proto = protocol(phase("treatment", [{"drug": "lenalidomide", "dose": 25, "days": "1-21"}], cycles=2))
    events = PatientEvents(events=[Hold(date=START + timedelta(days=3)), Resume(date=START + timedelta(days=8))])
    cal = expand(proto, START, renal=RenalFunction.given(D(45)), events=events)
    assert {r.dose for r in cal} == {D(10)}
    assert all(r.modified_by.startswith("renal:") or "renal:" in r.modified_by for r in cal)
    kinds = [m.event for m in cal.modifications]
    assert any(k.startswith("renal dose adjustment") for k in kinds) and any(k.startswith("hold") for k in kinds)
    again, record = adjust_for_renal(expand(proto, START, events=events), RenalFunction.given(D(45)))
    assert again.days == cal.days and record.applies and len(record.lowered) == len(cal)


# 6 ------------------------------------------------------------------------------------------------


def test_days_before_day_1_cannot_be_written() -> None:
    """--start is cycle 1 day 1: GIMEMA's FC and lenalidomide begin on it; the allopurinol lead-in falls before it."""
    cal = expand(lenasched.get_protocol("gimema-llc0606"), START, cycles=6, patient=lenasched.Patient(bsa_m2=D("1.9")))
    assert len(cal.windows) == 6 and cal.windows[0].start == START
    first = {drug: cal.for_drug(drug)[0] for drug in ("fludarabine", "cyclophosphamide", "lenalidomide", "allopurinol")}
    assert {d: r.date for d, r in first.items() if d != "allopurinol"} == dict.fromkeys(
        ("fludarabine", "cyclophosphamide", "lenalidomide"), START
    )
    allopurinol = first["allopurinol"]
    assert (allopurinol.date, allopurinol.study_day, allopurinol.cycle, allopurinol.cycle_day) == (
        START - timedelta(days=3),
        -3,
        None,
        -3,
    )
    assert "\n2027-01-01,-3,lead-in,,-3,allopurinol," in to_csv(cal)
    summary = lenasched.compare([lenasched.get_protocol("gimema-llc0606")]).summaries[0]
    assert summary.cap_first_day == 29  # course 2 day 1, not 3 days late


def test_a_lead_in_is_not_a_cycle_and_has_no_day_0() -> None:
    lead = {"drugs": [{"drug": "lenalidomide", "dose": 5, "days": "-7..-1"}]}
    proto = protocol(phase("treatment", [{"drug": "lenalidomide", "dose": 5, "days": "1-28"}], cycles=3), lead_in=lead)
    cal = expand(proto, START, cycles=2)
    assert len(cal.windows) == 2
    days = [r.study_day for r in cal]
    assert days[:8] == [-7, -6, -5, -4, -3, -2, -1, 1] and 0 not in days
    assert [r.date for r in cal][:8] == [START + timedelta(days=k) for k in range(-7, 1)]
    with pytest.raises(ProtocolError, match="negative"):
        protocol(
            phase("treatment", [{"drug": "lenalidomide", "dose": 5, "days": "1-28"}]),
            lead_in={"drugs": [{"drug": "lenalidomide", "dose": 5, "days": "0..2"}]},
        )
