"""REMS pregnancy-test dates: two before the prescription, weekly for 4 weeks, then every 4 weeks."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from lenasched import expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.errors import ScheduleError
from lenasched.pharmacy.rems import PregnancyTest, pregnancy_test_dates, pregnancy_tests

START = date(2026, 12, 1)
Capture = pytest.CaptureFixture[str]


def days_from_start(tests: tuple[PregnancyTest, ...]) -> list[int]:
    return [(t.date - START).days for t in tests]


def test_schedule_over_five_cycles() -> None:
    tests = pregnancy_test_dates(START, START + timedelta(days=139))
    assert days_from_start(tests) == [-14, -1, 7, 14, 21, 28, 56, 84, 112]
    assert [t.kind for t in tests[:3]] == ["before-start", "before-start", "weekly"]
    assert [t.number for t in tests] == list(range(1, 10))
    first, second = tests[0], tests[1]
    assert (first.earliest, first.latest) == (START - timedelta(days=14), START - timedelta(days=10))
    assert (
        first.is_window
        and first.title == "Pregnancy test 1 of 2 before starting (10 to 14 days before the prescription)"
    )
    assert (second.earliest, second.latest) == (START - timedelta(days=1), START)
    assert tests[2].title == "Pregnancy test (week 1)" and not tests[2].is_window
    assert tests[-1].title == "Pregnancy test (every 4 weeks, regular menstrual cycles)"
    assert all(t.source for t in tests)


def test_irregular_cycles_every_two_weeks_after_the_first_four() -> None:
    tests = pregnancy_test_dates(START, START + timedelta(days=70), irregular_cycles=True)
    assert days_from_start(tests) == [-14, -1, 7, 14, 21, 28, 42, 56, 70]
    assert "every 2 weeks, irregular" in tests[-1].title


def test_short_calendar_and_prescription_date() -> None:
    assert days_from_start(pregnancy_test_dates(START, START + timedelta(days=10))) == [-14, -1, 7]
    tests = pregnancy_test_dates(START, START, prescribed_on=START - timedelta(days=3))
    assert days_from_start(tests) == [-17, -4]
    with pytest.raises(ScheduleError, match="after the start date"):
        pregnancy_test_dates(START, START, prescribed_on=START + timedelta(days=1))
    with pytest.raises(ScheduleError, match="before the start date"):
        pregnancy_test_dates(START, START - timedelta(days=1))


def test_tests_continue_through_rest_days_until_the_calendar_ends() -> None:
    phase = {
        "name": "t",
        "cycle_length_days": 28,
        "cycles": 3,
        "drugs": [{"drug": "lenalidomide", "dose": 10, "days": "1-21"}],
    }
    p = protocol_from_dict(
        {"schema_version": 1, "id": "t", "title": "T", "setting": "s", "citation": {"title": "c"}, "phases": [phase]}
    )
    cal = expand(p, START)
    tests = pregnancy_tests(cal)
    assert tests[-1].date <= cal.end and days_from_start(tests)[-1] == 56
    assert any(cal.on(t.date) == () for t in tests if t.date >= START)  # a rest-day test is kept


YAML = """
schema_version: 1
id: t-rems
title: Test
setting: test
citation: {title: c}
phases:
  - {name: treatment, cycle_length_days: 28, cycles: 2, drugs: [{drug: lenalidomide, dose: 10, days: 1-21}]}
"""


def test_calendar_command_rems_option(tmp_path: Path, capsys: Capture) -> None:
    file = tmp_path / "t-rems.yaml"
    file.write_text(YAML, encoding="utf-8")
    base = ["calendar", str(file), "--start", "2026-12-01"]
    assert main([*base, "--rems", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [t["date"] for t in data["pregnancy_tests"]][:3] == ["2026-11-17", "2026-11-30", "2026-12-08"]
    assert main([*base, "--rems"]) == 0
    assert "REMS pregnancy tests" in capsys.readouterr().out
    assert main([*base, "--rems", "--format", "ics"]) == 0
    assert "Pregnancy test (week 1)" in capsys.readouterr().out
    assert main([*base, "--irregular-cycles"]) == 1
    assert "goes with --rems" in capsys.readouterr().err


def test_thromboprophylaxis_reminder_where_the_protocol_includes_it() -> None:
    from datetime import date

    import lenasched
    from lenasched.pharmacy.rems import thromboprophylaxis_reminder

    chen = lenasched.expand(lenasched.get_protocol("chen-2011"), date(2026, 12, 1), cycles=2)
    text = thromboprophylaxis_reminder(chen)
    assert text is not None and "aspirin 81 mg on 56 day(s), 2026-12-01 to 2027-01-25" in text
    assert "boxed warning" in text
    badoux = lenasched.expand(lenasched.get_protocol("badoux-2011"), date(2026, 12, 1), cycles=2)
    assert thromboprophylaxis_reminder(badoux) is None


def test_rems_option_shows_the_reminder(capsys: pytest.CaptureFixture[str]) -> None:
    from lenasched.cli.main import main

    assert main(["calendar", "chen-2011", "--start", "2026-12-01", "--cycles", "1", "--rems", "--format", "json"]) == 0
    assert "Thromboprophylaxis is part of this protocol" in capsys.readouterr().out
