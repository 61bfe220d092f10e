"""Bounded work, said before it starts (issue: a patient's record is never lost; unbounded work).

Each test is named after a finding it reproduces. The limits live in ``lenasched/model/limits.py``;
``benchmarks/memory_bench.py`` measures the peak memory of the worst accepted cases.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

import pytest

import lenasched
from lenasched import ProtocolError, ScheduleError, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.engine import plan as plan_module
from lenasched.engine.plan import _lay_out, row_bound
from lenasched.formats import ics
from lenasched.model.limits import MAX_CYCLE_DAY, MAX_DOSE_DAYS, MAX_ESCALATION_LEVELS

START = date(2027, 1, 4)


def protocol(drugs: list[dict[str, Any]], *, length: int = 28, **phase: Any) -> lenasched.Protocol:
    return protocol_from_dict(
        {
            "schema_version": 1,
            "id": "limits",
            "title": "Limits",
            "setting": "s",
            "citation": {"title": "c"},
            "phases": [{"name": "p", "cycle_length_days": length, "drugs": drugs, **(phase or {"cycles": 6})}],
        }
    )


def every_day_of_366(n_drugs: int) -> lenasched.Protocol:
    names = ["lenalidomide", "aspirin", "allopurinol", "dexamethasone"][:n_drugs]
    drugs = [{"drug": name, "dose": 10, "days": "1-366"} for name in names]
    return protocol(drugs, length=366, until_progression=True)


def test_a_1_4_kb_protocol_of_7_3_million_rows_is_refused_before_expanding() -> None:
    started = time.perf_counter()
    with pytest.raises(ScheduleError, match=r"up to 2,928,000 dose days .* more than the 100,000 .*--cycles"):
        expand(every_day_of_366(4), START, cycles=2000)
    assert time.perf_counter() - started < 2  # refused from the numbers, not after building rows


def test_the_row_limit_is_exact_at_its_edge(monkeypatch: pytest.MonkeyPatch) -> None:
    """One cycle of one daily drug of 366 days is 366 rows: accepted at a limit of 366, refused at 365."""
    proto = every_day_of_366(1)
    monkeypatch.setattr(plan_module, "MAX_DOSE_DAYS", 366)
    assert len(expand(proto, START, cycles=1)) == 366
    monkeypatch.setattr(plan_module, "MAX_DOSE_DAYS", 365)
    with pytest.raises(ScheduleError, match="up to 366 dose days"):
        expand(proto, START, until=START + timedelta(days=300))  # a request the plan cache has not seen


@pytest.mark.parametrize("pid", lenasched.bundled_ids())
def test_the_row_bound_is_never_below_the_calendar(pid: str) -> None:
    """The refusal must never turn away a calendar the limit allows: the bound is an upper bound."""
    proto = lenasched.get_protocol(pid)
    until = START + timedelta(days=730)
    patient = lenasched.Patient(bsa_m2=1.9, weight_kg=75)
    cal = expand(proto, START, until=until, patient=patient)
    slots = _lay_out(proto, None, (until - START).days)
    bound = row_bound(proto, slots)
    assert len(cal) <= bound
    assert bound < 4 * len(cal) + 100  # and not so loose that real calendars come near the limit


def test_days_1_to_100000000_is_refused_without_building_the_range() -> None:
    started = time.perf_counter()
    with pytest.raises(ProtocolError, match=rf"day 100000000 .* longest possible cycle \({MAX_CYCLE_DAY} days\)"):
        protocol([{"drug": "lenalidomide", "dose": 10, "days": "1-100000000"}])
    assert time.perf_counter() - started < 1


def escalation(step: str, cap: str) -> dict[str, Any]:
    return {
        "drug": "lenalidomide",
        "days": "1-21",
        "escalation": {"start": 1, "step": step, "cap": cap, "every_days": 7},
    }


def test_a_tiny_escalation_step_is_refused_in_validate() -> None:
    started = time.perf_counter()
    with pytest.raises(ProtocolError, match=rf"more than {MAX_ESCALATION_LEVELS} dose levels") as caught:
        protocol([escalation("1e-30", "25")])
    assert caught.value.path is not None and caught.value.path.endswith("escalation.step")
    assert time.perf_counter() - started < 1


def test_the_escalation_limit_is_exact_at_its_edge() -> None:
    """1, 2, ..., 200 is 200 levels (accepted); 1..201 is 201 (refused)."""
    at_limit = protocol([escalation("1", str(MAX_ESCALATION_LEVELS))])
    assert at_limit.phases[0].drugs[0].escalation is not None
    assert len(at_limit.phases[0].drugs[0].escalation.levels) == MAX_ESCALATION_LEVELS
    with pytest.raises(ProtocolError, match="dose levels"):
        protocol([escalation("1", str(MAX_ESCALATION_LEVELS + 1))])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("every_days", 99999999999),
        ("first_step_day", 99999999999),
    ],
)
def test_every_days_99999999999_is_refused_not_overflowed(field: str, value: int) -> None:
    drug = escalation("1", "5")
    drug["escalation"][field] = value
    with pytest.raises(ProtocolError, match="less than or equal to"):
        protocol([drug])


def test_ics_reminders_are_bounded_before_any_event_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """badoux-2011 cycle 1: 42 rows (lenalidomide 28 days, allopurinol 14) on 28 dates: 70 events with reminders."""
    from datetime import time as clock

    cal = expand(lenasched.get_protocol("badoux-2011"), START, cycles=1)
    assert (len(cal), len({d.date for d in cal})) == (42, 28)
    monkeypatch.setattr(ics, "MAX_ICS_EVENTS", 70)
    assert ics.to_ics(cal, reminder=clock(8), tz="Europe/Rome").count(b"BEGIN:VEVENT") == 70
    monkeypatch.setattr(ics, "MAX_ICS_EVENTS", 69)
    with pytest.raises(ScheduleError, match=r"70 events, more than the 69 .* leave out --reminder"):
        ics.to_ics(cal, reminder=clock(8), tz="Europe/Rome")
    assert ics.to_ics(cal).count(b"BEGIN:VEVENT") == 42  # without reminders it fits


def test_the_cli_names_the_limit_in_one_line(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(
        "schema_version: 1\nid: big\ntitle: Big\nsetting: s\ncitation: {title: c}\nphases:\n"
        "  - name: p\n    cycle_length_days: 366\n    until_progression: true\n"
        "    drugs:\n      - {drug: lenalidomide, dose: 10, days: 1-366}\n",
        encoding="utf-8",
    )
    code = main(["calendar", str(path), "--start", "2027-01-04", "--cycles", "1000", "--format", "csv"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("error: ") and f"{MAX_DOSE_DAYS:,}" in err
