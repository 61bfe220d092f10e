"""SDTM EX: one record per constant-dose interval, covering the calendar exactly, with EPOCH and study days."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import given, settings

from lenasched import Calendar, ScheduleError
from lenasched.cli.main import main
from lenasched.formats.sdtm import SDTM_EX_COLUMNS, to_sdtm_ex

from .calendars import calendars, sample_calendar
from .goldens import check_golden

Given = tuple[date, str, str, str, str]  # date, EXTRT, EXDOSE, EXDOSU, EXROUTE
ROUTES = {"oral": "ORAL", "iv": "INTRAVENOUS", "sc": "SUBCUTANEOUS"}


def records(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text))
    assert tuple(reader.fieldnames or ()) == SDTM_EX_COLUMNS
    return list(reader)


def expand_records(rows: list[dict[str, str]]) -> set[Given]:
    out: set[Given] = set()
    for row in rows:
        first, last = date.fromisoformat(row["EXSTDTC"]), date.fromisoformat(row["EXENDTC"])
        assert first <= last and row["EXDOSFRQ"] == ("ONCE" if first == last else "QD")
        for n in range((last - first).days + 1):
            item = (first + timedelta(days=n), row["EXTRT"], row["EXDOSE"], row["EXDOSU"], row["EXROUTE"])
            assert item not in out
            out.add(item)
    return out


def calendar_given(calendar: Calendar) -> set[Given]:
    from lenasched.model.doses import format_dose

    return {(d.date, d.drug.upper(), format_dose(d.dose), d.unit, ROUTES[d.route]) for d in calendar.days}


def test_sample() -> None:
    text = to_sdtm_ex(sample_calendar())
    check_golden("export-sample.sdtm-ex.csv", text)
    rows = records(text)
    assert rows[0] == {
        "STUDYID": "export-sample",
        "DOMAIN": "EX",
        "USUBJID": "PLANNED",
        "EXSEQ": "1",
        "EXTRT": "LENALIDOMIDE",
        "EXDOSE": "2.5",
        "EXDOSU": "mg",
        "EXDOSFRM": "CAPSULE",
        "EXDOSFRQ": "QD",
        "EXROUTE": "ORAL",
        "EXADJ": "",
        "EPOCH": "INDUCTION TREATMENT",
        "EXSTDTC": "2026-12-01",
        "EXENDTC": "2026-12-14",
        "EXSTDY": "1",
        "EXENDY": "14",
    }
    # mg/m² stays as prescribed (SDTMIG: protocol-specified units); a single infusion is ONCE, not QD
    ritux = [r for r in rows if r["EXTRT"] == "RITUXIMAB"]
    assert [(r["EXDOSE"], r["EXDOSU"], r["EXROUTE"], r["EXDOSFRQ"], r["EXDOSFRM"]) for r in ritux] == [
        ("375", "mg/m2", "INTRAVENOUS", "ONCE", "INJECTION")
    ] * 2
    # the step to 10 mg at the end of induction and the 10 mg maintenance are split by the rest week
    lena = [(r["EXDOSE"], r["EXSTDTC"], r["EXENDTC"], r["EPOCH"]) for r in rows if r["EXTRT"] == "LENALIDOMIDE"]
    assert lena[-2:] == [
        ("10", "2027-01-12", "2027-01-18", "INDUCTION TREATMENT"),
        ("10", "2027-01-26", "2027-02-22", "MAINTENANCE TREATMENT"),
    ]
    assert [(r["EXSTDY"], r["EXENDY"]) for r in rows if r["EXTRT"] == "LENALIDOMIDE"][-1] == ("57", "84")


def test_subject_label() -> None:
    rows = records(to_sdtm_ex(sample_calendar(), usubjid="STUDY-001-0042"))
    assert {r["USUBJID"] for r in rows} == {"STUDY-001-0042"}
    with pytest.raises(ScheduleError, match="USUBJID is empty"):
        to_sdtm_ex(sample_calendar(), usubjid=" ")


@settings(max_examples=150, deadline=None)
@given(calendars())
def test_records_cover_the_calendar_exactly(calendar: Calendar) -> None:
    text = to_sdtm_ex(calendar)
    rows = records(text)
    assert [int(r["EXSEQ"]) for r in rows] == list(range(1, len(rows) + 1))
    assert expand_records(rows) == calendar_given(calendar)
    # every record is a maximal run: the next day of the same drug is never the same dose in the same epoch
    given_days = calendar_given(calendar)
    epochs = {(d.date, d.drug.upper()): d.phase for d in calendar.days}
    for row in rows:
        after = date.fromisoformat(row["EXENDTC"]) + timedelta(days=1)
        if epochs.get((after, row["EXTRT"])) == epochs[(date.fromisoformat(row["EXENDTC"]), row["EXTRT"])]:
            assert (after, row["EXTRT"], row["EXDOSE"], row["EXDOSU"], row["EXROUTE"]) not in given_days
        first = date.fromisoformat(row["EXSTDTC"])
        assert int(row["EXSTDY"]) == (first - calendar.start).days + (1 if first >= calendar.start else 0)
    assert [r["EXSTDTC"] for r in rows] == sorted(r["EXSTDTC"] for r in rows)
    assert to_sdtm_ex(calendar) == text


def test_cli_sdtm_ex(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "7", "--format", "sdtm-ex"]
    assert main([*argv, "--subject", "P-01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ",".join(SDTM_EX_COLUMNS)
    assert lines[1] == "badoux-2011,EX,P-01,1,LENALIDOMIDE,5,mg,CAPSULE,QD,ORAL,,TREATMENT,2026-12-01,2027-01-25,1,56"
    assert main([*argv[:-1], "csv", "--subject", "P-01"]) == 1
    assert "--subject applies to --format fhir, nonmem, sdtm-ex only" in capsys.readouterr().err
