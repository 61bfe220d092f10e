"""NONMEM dosing records: expanding II/ADDL back gives exactly the calendar's doses, for any calendar."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings

from lenasched import Calendar, ScheduleError, expand, protocol_from_dict
from lenasched.cli import main
from lenasched.formats.nonmem import NONMEM_COLUMNS, to_nonmem

from .calendars import START, calendars, sample_calendar
from .goldens import check_golden

Dose = tuple[int, Decimal]


def expand_records(text: str) -> list[Dose]:
    """Every dose the table describes, (hours, mg), in row order; written here from the NONMEM rules."""
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == NONMEM_COLUMNS
    doses: list[Dose] = []
    for row in reader:
        assert row["EVID"] == "1"
        time, ii, addl = int(row["TIME"]), int(row["II"]), int(row["ADDL"])
        assert addl >= 0 and ii in (0, 24) and (ii == 0) == (addl == 0)
        doses += [(time + k * ii, Decimal(row["AMT"])) for k in range(addl + 1)]
    return doses


def calendar_doses(calendar: Calendar, drug: str) -> list[Dose]:
    days = calendar.for_drug(drug)
    return [((d.date - days[0].date).days * 24, d.dose_mg) for d in days]


def assert_exact(calendar: Calendar, drug: str, text: str) -> None:
    doses = expand_records(text)
    assert doses == calendar_doses(calendar, drug)  # same doses, same order: TIME never goes back


def test_sample_is_compressed_into_runs() -> None:
    text = to_nonmem(sample_calendar())
    assert text.splitlines() == [
        "ID,TIME,AMT,EVID,CMT,II,ADDL",
        "1,0,2.5,1,1,24,13",  # days 1-14 at 2.5 mg
        "1,336,5,1,1,24,6",  # days 15-21 at 5 mg, then the rest week
        "1,672,7.5,1,1,24,13",
        "1,1008,10,1,1,24,6",
        "1,1344,10,1,1,24,27",  # maintenance: 28 days continuous
    ]
    check_golden("export-sample.nonmem.csv", text)
    assert_exact(sample_calendar(), "lenalidomide", text)


def test_explicit_doses_one_row_each() -> None:
    cal = sample_calendar()
    text = to_nonmem(cal, explicit=True)
    rows = text.splitlines()[1:]
    assert len(rows) == len(cal.for_drug("lenalidomide"))
    assert all(row.endswith(",0,0") for row in rows)
    assert_exact(cal, "lenalidomide", text)


def test_other_drug_body_size_dose_and_options() -> None:
    cal = sample_calendar()
    text = to_nonmem(cal, drug="rituximab", subject_id=7, cmt=2)
    assert text.splitlines()[1:] == ["7,0,712.5,1,2,0,0", "7,672,712.5,1,2,0,0"]  # 375 mg/m² x 1.9 m²
    weekly = to_nonmem(cal, drug="dexamethasone")
    assert len(weekly.splitlines()) == 1 + 8  # weekly doses are not daily runs: one row each
    assert_exact(cal, "dexamethasone", weekly)


def test_refusals() -> None:
    cal = sample_calendar()
    with pytest.raises(ScheduleError, match=r"'aspirin' is not given .*lenalidomide, rituximab, dexamethasone"):
        to_nonmem(cal, drug="aspirin")
    with pytest.raises(ScheduleError, match="CMT"):
        to_nonmem(cal, cmt=0)
    with pytest.raises(ScheduleError, match="subject ID"):
        to_nonmem(cal, subject_id=0)
    two_routes = protocol_from_dict(
        {
            "schema_version": 1,
            "id": "routes",
            "title": "T",
            "setting": "s",
            "citation": {"title": "c"},
            "phases": [
                {"name": "a", "cycle_length_days": 7, "cycles": 1, "drugs": [{"drug": "x", "dose": 1, "days": 1}]},
                {
                    "name": "b",
                    "cycle_length_days": 7,
                    "cycles": 1,
                    "drugs": [{"drug": "x", "route": "iv", "dose": 1, "days": 1}],
                },
            ],
        }
    )
    with pytest.raises(ScheduleError, match="more than one route"):
        to_nonmem(expand(two_routes, START), drug="x")


@settings(max_examples=150, deadline=None)
@given(calendars())
def test_records_expand_back_to_the_calendar(calendar: Calendar) -> None:
    for drug in calendar.drugs:
        if len({d.route for d in calendar.for_drug(drug)}) > 1:
            with pytest.raises(ScheduleError, match="more than one route"):
                to_nonmem(calendar, drug=drug)
            continue
        compressed = to_nonmem(calendar, drug=drug)
        assert_exact(calendar, drug, compressed)
        assert_exact(calendar, drug, to_nonmem(calendar, drug=drug, explicit=True))
        # compression is maximal: no record simply continues the one before it
        rows = list(csv.DictReader(io.StringIO(compressed)))
        for a, b in zip(rows, rows[1:]):
            end = int(a["TIME"]) + int(a["II"]) * int(a["ADDL"])
            assert not (int(b["TIME"]) == end + 24 and a["AMT"] == b["AMT"])
        assert to_nonmem(calendar, drug=drug) == compressed  # deterministic


def test_cli_nonmem(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "7", "--format", "nonmem"]
    assert main([*argv, "--subject", "3", "--cmt", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["ID,TIME,AMT,EVID,CMT,II,ADDL", "3,0,5,1,2,24,55"]
    assert main([*argv, "--explicit-doses"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 7 * 28
    assert main([*argv, "--subject", "A1"]) == 1
    assert "numeric ID" in capsys.readouterr().err
    assert main([*argv, "--drug", "rituximab"]) == 1
    assert "'rituximab' is not given" in capsys.readouterr().err
    assert main([*argv[:-1], "csv", "--explicit-doses"]) == 1
    assert "--explicit-doses applies to --format nonmem only" in capsys.readouterr().err
