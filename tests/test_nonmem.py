"""NONMEM data set: expanding II/ADDL gives exactly the calendar's doses, for any calendar; DOSELVL on every row."""

from __future__ import annotations

import csv
import io
from datetime import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenasched import Calendar, ScheduleError, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.formats.nonmem import NONMEM_COLUMNS, parse_obs_times, to_nonmem

from .calendars import START, calendars, sample_calendar
from .goldens import check_golden

Dose = tuple[Decimal, Decimal]


def expand_records(text: str) -> list[Dose]:
    """Every dose the table describes, (hours, mg), in row order; written here from the NONMEM rules.

    Also checks each row's own items: MDV/EVID/DV, and DOSELVL = the mg of the latest dose at or
    before the row's TIME (computed here from the expanded doses, not from the rows around it).
    """
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == NONMEM_COLUMNS
    rows = list(reader)
    doses: list[Dose] = []
    for row in rows:
        assert row["DV"] == "."
        if row["EVID"] == "0":
            assert row["MDV"] == "0" and row["AMT"] == "0" and row["II"] == row["ADDL"] == "0"
            continue
        assert row["EVID"] == "1" and row["MDV"] == "1"
        time_, ii, addl = Decimal(row["TIME"]), int(row["II"]), int(row["ADDL"])
        assert addl >= 0 and ii in (0, 24) and (ii == 0) == (addl == 0)
        assert row["DOSELVL"] == row["AMT"]
        doses += [(time_ + k * ii, Decimal(row["AMT"])) for k in range(addl + 1)]
    times = [Decimal(r["TIME"]) for r in rows]
    assert times == sorted(times)  # TIME never goes back
    for row in rows:
        before = [mg for at, mg in doses if at <= Decimal(row["TIME"])]
        assert Decimal(row["DOSELVL"]) == (before[-1] if before else 0), row
    return doses


def calendar_doses(calendar: Calendar, drug: str, clock: Decimal = Decimal(0)) -> list[Dose]:
    """Hours from study day 1 00:00 (calendar.start), the one origin of every drug's table."""
    return [(Decimal((d.date - calendar.start).days * 24) + clock, d.dose_mg) for d in calendar.for_drug(drug)]


def assert_exact(calendar: Calendar, drug: str, text: str, clock: Decimal = Decimal(0)) -> None:
    doses = expand_records(text)
    assert sorted(doses) == calendar_doses(calendar, drug, clock)


def test_sample_is_compressed_into_runs() -> None:
    text = to_nonmem(sample_calendar())
    assert text.splitlines() == [
        "ID,TIME,AMT,RATE,EVID,MDV,DV,CMT,II,ADDL,DOSELVL,STUDYDAY,CALDATE",
        "1,0,2.5,0,1,1,.,1,24,13,2.5,1,2026-12-01",  # days 1-14 at 2.5 mg
        "1,336,5,0,1,1,.,1,24,6,5,15,2026-12-15",  # days 15-21 at 5 mg, then the rest week
        "1,672,7.5,0,1,1,.,1,24,13,7.5,29,2026-12-29",
        "1,1008,10,0,1,1,.,1,24,6,10,43,2027-01-12",
        "1,1344,10,0,1,1,.,1,24,27,10,57,2027-01-26",  # maintenance: 28 days continuous
    ]
    check_golden("export-sample.nonmem.csv", text)
    assert_exact(sample_calendar(), "lenalidomide", text)


def test_one_time_origin_for_every_drug() -> None:
    """TIME 0 is study day 1 00:00 for each drug's table, so tables of one calendar line up."""
    cal = sample_calendar()
    for drug in cal.drugs:
        first = next(csv.DictReader(io.StringIO(to_nonmem(cal, drug=drug))))
        day = cal.for_drug(drug)[0]
        assert Decimal(first["TIME"]) == (day.date - cal.start).days * 24
        assert (first["STUDYDAY"], first["CALDATE"]) == (str(day.study_day), day.date.isoformat())


def test_observation_rows_and_doselvl() -> None:
    cal = sample_calendar()
    text = to_nonmem(cal, obs_times=["600", 0, "2", "25.5", "1344", "1343.5", "5000"], obs_cmt=2)
    rows = list(csv.DictReader(io.StringIO(text)))
    obs = [(r["TIME"], r["DOSELVL"], r["STUDYDAY"], r["CALDATE"], r["CMT"]) for r in rows if r["EVID"] == "0"]
    assert obs == [
        ("0", "2.5", "1", "2026-12-01", "2"),  # at a dose time the dose comes first
        ("2", "2.5", "1", "2026-12-01", "2"),
        ("25.5", "2.5", "2", "2026-12-02", "2"),
        ("600", "5", "26", "2026-12-26", "2"),  # rest week after the 5 mg run: the last dose was 5 mg
        ("1343.5", "10", "56", "2027-01-25", "2"),
        ("1344", "10", "57", "2027-01-26", "2"),
        ("5000", "10", "209", "2027-06-27", "2"),  # after the last dose
    ]
    assert [r["EVID"] for r in rows[:3]] == ["1", "0", "0"]
    assert_exact(cal, "lenalidomide", text)
    explicit = to_nonmem(cal, obs_times=[600, 0, 2, "25.5", 1344, "1343.5", 5000], obs_cmt=2, explicit=True)
    assert_exact(cal, "lenalidomide", explicit)
    same = [(r["TIME"], r["DOSELVL"]) for r in csv.DictReader(io.StringIO(explicit)) if r["EVID"] == "0"]
    assert same == [o[:2] for o in obs]  # DOSELVL does not depend on the compression


def test_before_the_first_dose_and_lead_in_days() -> None:
    cal = sample_calendar()
    rows = list(csv.DictReader(io.StringIO(to_nonmem(cal, drug="rituximab", obs_times=["-30", "1"]))))
    assert [(r["TIME"], r["EVID"], r["DOSELVL"], r["STUDYDAY"], r["CALDATE"]) for r in rows[:3]] == [
        ("-30", "0", "0", "-2", "2026-11-29"),  # before study day 1: no day 0
        ("0", "1", "712.5", "1", "2026-12-01"),
        ("1", "0", "712.5", "1", "2026-12-01"),
    ]


def test_dose_time_moves_every_dose() -> None:
    cal = sample_calendar()
    text = to_nonmem(cal, dose_time=time(8, 30), obs_times=["8"])
    assert text.splitlines()[1:3] == [
        "1,8,0,0,0,0,.,0,0,0,0,1,2026-12-01",  # a pre-dose sample: no dose yet
        "1,8.5,2.5,0,1,1,.,1,24,13,2.5,1,2026-12-01",
    ]
    assert_exact(cal, "lenalidomide", text, Decimal("8.5"))


def test_obs_times_text() -> None:
    assert parse_obs_times("1,2\n\n  3 # comment, 4\n") == (Decimal(1), Decimal(2), Decimal(3))
    with pytest.raises(ScheduleError, match="line 2: 'x' is not a number"):
        parse_obs_times("1\nx", source="obs.txt")
    with pytest.raises(ScheduleError, match="no observation times"):
        parse_obs_times("# nothing")
    with pytest.raises(ScheduleError, match="not a finite"):
        parse_obs_times("inf")
    with pytest.raises(ScheduleError, match="given twice"):
        to_nonmem(sample_calendar(), obs_times=["2", "2.0"])
    with pytest.raises(ScheduleError, match="not a number of hours"):
        to_nonmem(sample_calendar(), obs_times=["two"])
    with pytest.raises(ScheduleError, match="observation compartment"):
        to_nonmem(sample_calendar(), obs_cmt=-1)


def test_explicit_doses_one_row_each() -> None:
    cal = sample_calendar()
    text = to_nonmem(cal, explicit=True)
    rows = text.splitlines()[1:]
    assert len(rows) == len(cal.for_drug("lenalidomide"))
    assert all(row.split(",")[8:10] == ["0", "0"] for row in rows)
    assert_exact(cal, "lenalidomide", text)


def test_other_drug_body_size_dose_and_options() -> None:
    cal = sample_calendar()
    text = to_nonmem(cal, drug="rituximab", subject_id=7, cmt=2)
    assert text.splitlines()[1:] == [  # 375 mg/m² x 1.9 m²; no infusion duration in this protocol: RATE 0
        "7,0,712.5,0,1,1,.,2,0,0,712.5,1,2026-12-01",
        "7,672,712.5,0,1,1,.,2,0,0,712.5,29,2026-12-29",
    ]
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
@given(calendars(), st.lists(st.integers(-48, 24 * 300), max_size=6, unique=True))
def test_records_expand_back_to_the_calendar(calendar: Calendar, obs: list[int]) -> None:
    for drug in calendar.drugs:
        if len({d.route for d in calendar.for_drug(drug)}) > 1:
            with pytest.raises(ScheduleError, match="more than one route"):
                to_nonmem(calendar, drug=drug)
            continue
        compressed = to_nonmem(calendar, drug=drug)
        assert_exact(calendar, drug, compressed)
        assert_exact(calendar, drug, to_nonmem(calendar, drug=drug, explicit=True))
        assert_exact(calendar, drug, to_nonmem(calendar, drug=drug, obs_times=obs))
        assert_exact(calendar, drug, to_nonmem(calendar, drug=drug, obs_times=obs, explicit=True))
        # compression is maximal: no record simply continues the one before it
        rows = list(csv.DictReader(io.StringIO(compressed)))
        for a, b in zip(rows, rows[1:]):
            end = int(a["TIME"]) + int(a["II"]) * int(a["ADDL"])
            assert not (int(b["TIME"]) == end + 24 and a["AMT"] == b["AMT"])
        assert to_nonmem(calendar, drug=drug) == compressed  # deterministic


def test_cli_nonmem(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "7", "--format", "nonmem"]
    assert main([*argv, "--subject", "3", "--cmt", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == [",".join(NONMEM_COLUMNS), "3,0,5,0,1,1,.,2,24,55,5,1,2026-12-01"]
    assert main([*argv, "--explicit-doses"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 7 * 28
    assert main([*argv, "--obs-times", "2, 26", "--obs-cmt", "2", "--dose-time", "08:00"]) == 0
    assert capsys.readouterr().out.splitlines()[1:4] == [
        "1,2,0,0,0,0,.,2,0,0,0,1,2026-12-01",
        "1,8,5,0,1,1,.,1,24,55,5,1,2026-12-01",
        "1,26,0,0,0,0,.,2,0,0,5,2,2026-12-02",
    ]
    times = tmp_path / "obs.txt"
    times.write_text("# trough before each cycle\n0\n672\n", encoding="utf-8")
    assert main([*argv, "--obs-file", str(times)]) == 0
    assert sum(1 for line in capsys.readouterr().out.splitlines() if ",0,0,.," in line) == 2
    assert main([*argv, "--obs-file", str(tmp_path / "missing.txt")]) == 1
    assert "cannot read it" in capsys.readouterr().err
    assert main([*argv, "--obs-times", "1", "--obs-file", str(times)]) == 1
    assert "either --obs-times or --obs-file" in capsys.readouterr().err
    assert main([*argv, "--obs-times", "soon"]) == 1
    assert "'soon' is not a number of hours" in capsys.readouterr().err
    assert main([*argv, "--subject", "A1"]) == 1
    assert "numeric ID" in capsys.readouterr().err
    assert main([*argv, "--drug", "rituximab"]) == 1
    assert "'rituximab' is not given" in capsys.readouterr().err
    assert main([*argv[:-1], "csv", "--explicit-doses"]) == 1
    assert "--explicit-doses applies to --format nonmem only" in capsys.readouterr().err
    assert main([*argv[:-1], "csv", "--obs-times", "1"]) == 1
    assert "--obs-times applies to --format nonmem only" in capsys.readouterr().err


def _infusion_protocol(minutes: int, route: str = "iv") -> dict[str, object]:
    return {
        "schema_version": 1,
        "id": "infusion",
        "title": "T",
        "setting": "s",
        "citation": {"title": "c"},
        "phases": [
            {
                "name": "a",
                "cycle_length_days": 7,
                "cycles": 2,
                "drugs": [
                    {
                        "drug": "rituximab",
                        "route": route,
                        "dose": 375,
                        "unit": "mg/m2",
                        "days": "1-2",
                        "infusion_minutes": {"value": minutes, "source": "primary", "detail": "over N minutes"},
                    }
                ],
            }
        ],
    }


def test_rate_from_the_protocols_infusion_duration() -> None:
    from .calendars import PATIENT

    cal = expand(protocol_from_dict(_infusion_protocol(90)), START, patient=PATIENT)
    text = to_nonmem(cal, drug="rituximab", explicit=True)
    assert {row.split(",")[3] for row in text.splitlines()[1:]} == {"475"}  # 712.5 mg over 1.5 h
    assert_exact(cal, "rituximab", text)
    odd = expand(protocol_from_dict(_infusion_protocol(7)), START, patient=PATIENT)
    assert to_nonmem(odd, drug="rituximab").splitlines()[1].split(",")[3] == "6107.1429"  # rounded to 4 places
    with pytest.raises(ValueError, match="infusion_minutes is for intravenous drugs"):
        protocol_from_dict(_infusion_protocol(90, route="sc"))
