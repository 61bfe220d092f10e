"""SDTM EC (plan), EX (applied, EXADJ from the audit trail), CM (prophylaxis, supportive); XPT read by pandas."""

from __future__ import annotations

import csv
import io
import math
from datetime import date
from pathlib import Path

import pytest

from lenasched import Calendar, ScheduleError, bundled_ids, expand, get_protocol
from lenasched.cli.main import main
from lenasched.formats.sdtm import (
    SDTM_CM_COLUMNS,
    SDTM_EC_COLUMNS,
    SDTM_EX_COLUMNS,
    sdtm_domain,
    to_sdtm_cm,
    to_sdtm_ec,
    to_sdtm_ex,
    to_xpt,
)
from lenasched.model.events import Delay, Hold, PatientEvents, Resume

from .calendars import PATIENT, START

COLUMNS = {"ex": SDTM_EX_COLUMNS, "ec": SDTM_EC_COLUMNS, "cm": SDTM_CM_COLUMNS}


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def held(pid: str = "chen-2011") -> Calendar:
    events = PatientEvents(
        events=[
            Hold(date=date(2026, 12, 10), drug="lenalidomide", reason="neutropenia", grade=3),
            Resume(date=date(2026, 12, 15), drug="lenalidomide", level="same"),
            Delay(cycle=2, days=7),
        ]
    )
    return expand(get_protocol(pid), START, cycles=3, events=events)


def test_ex_is_applied_ec_is_the_plan() -> None:
    cal = held()
    ex = [r for r in rows(to_sdtm_ex(cal)) if r["EXTRT"] == "LENALIDOMIDE"]
    assert [(r["EXSTDTC"], r["EXENDTC"]) for r in ex][:2] == [
        ("2026-12-01", "2026-12-09"),
        ("2026-12-15", "2026-12-21"),
    ]
    ec = [r for r in rows(to_sdtm_ec(cal)) if r["ECTRT"] == "LENALIDOMIDE"]
    assert [(r["ECSTDTC"], r["ECENDTC"]) for r in ec][:2] == [
        ("2026-12-01", "2026-12-21"),
        ("2026-12-29", "2027-01-18"),
    ]
    assert {r["ECMOOD"] for r in rows(to_sdtm_ec(cal))} == {"SCHEDULED"}
    assert to_sdtm_ec(cal) == to_sdtm_ec(expand(cal.protocol, START, cycles=3))  # events do not touch the plan


def test_exadj_comes_from_the_audit_trail() -> None:
    cal = held()
    reasons = {m.event for m in cal.modifications}
    ex = rows(to_sdtm_ex(cal))
    adjusted = {r["EXADJ"] for r in ex if r["EXADJ"]}
    assert adjusted and adjusted <= reasons
    assert "cycle 2 delayed by 7 day(s)" in adjusted
    assert ex[0]["EXADJ"] == ""  # before any event the plan was followed
    lower = PatientEvents(
        events=[Hold(date=date(2026, 12, 10), reason="neutropenia", grade=3), Resume(date=date(2026, 12, 20))]
    )
    reduced = rows(to_sdtm_ex(expand(get_protocol("badoux-2011"), START, cycles=3, events=lower)))
    assert [(r["EXDOSE"], r["EXSTDTC"], r["EXADJ"]) for r in reduced] == [
        ("5", "2026-12-01", ""),
        (
            "2.5",
            "2026-12-20",
            "resume on 2026-12-20 one dose level lower after hold from 2026-12-10 (neutropenia, grade 3)",
        ),
    ]


def test_prophylaxis_is_concomitant_medication() -> None:
    cal = expand(get_protocol("chen-2011"), START, cycles=2)
    assert {r["EXTRT"] for r in rows(to_sdtm_ex(cal))} == {"LENALIDOMIDE"}
    assert {r["ECTRT"] for r in rows(to_sdtm_ec(cal))} == {"LENALIDOMIDE"}
    cm = rows(to_sdtm_cm(cal))
    assert {(r["CMTRT"], r["CMCAT"]) for r in cm} == {("ALLOPURINOL", "PROPHYLAXIS"), ("ASPIRIN", "PROPHYLAXIS")}
    assert [int(r["CMSEQ"]) for r in cm] == list(range(1, len(cm) + 1))


def test_lead_in_is_run_in_with_negative_study_days() -> None:
    cal = expand(get_protocol("gimema-llc0606"), START, cycles=1, patient=PATIENT)
    lead = [r for r in rows(to_sdtm_cm(cal)) + rows(to_sdtm_ex(cal)) if r["EPOCH"] == "RUN-IN"]
    assert lead
    for r in lead:
        stdy = r.get("CMSTDY") or r["EXSTDY"]
        assert int(stdy) < 0  # no day 0 before the reference start


def calendars() -> list[tuple[str, Calendar]]:
    out = []
    for pid in bundled_ids():
        protocol = get_protocol(pid)
        out.append((pid, expand(protocol, START, cycles=6 if protocol.open_ended else None, patient=PATIENT)))
    return out


CALENDARS = calendars()


def _equal(csv_value: str, xpt_value: object, numeric: bool) -> bool:
    if numeric:
        return isinstance(xpt_value, float) and not math.isnan(xpt_value) and float(csv_value) == xpt_value
    return (xpt_value if isinstance(xpt_value, str) else "") == csv_value


@pytest.mark.parametrize(("pid", "cal"), CALENDARS, ids=[pid for pid, _ in CALENDARS])
def test_xpt_reads_back_equal_to_csv(tmp_path: Path, pid: str, cal: Calendar) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyreadstat")
    from lenasched.formats.sdtm import NUMERIC

    for domain in ("ex", "ec", "cm"):
        text = sdtm_domain(cal, domain)
        assert isinstance(text, str)
        expected = rows(text)
        if not expected:
            with pytest.raises(ScheduleError, match="an empty domain is not submitted"):
                to_xpt(cal, domain)
            continue
        data = to_xpt(cal, domain)
        assert data == to_xpt(cal, domain)  # same inputs, same bytes
        path = tmp_path / f"{domain}.xpt"
        path.write_bytes(data)
        frame = pd.read_sas(path, format="xport", encoding="utf-8")
        assert list(frame.columns) == list(COLUMNS[domain])
        assert all(len(c) <= 8 for c in frame.columns)
        assert len(frame) == len(expected)
        for want, got in zip(expected, frame.to_dict("records")):
            for name in COLUMNS[domain]:
                assert _equal(want[name], got[name], name in NUMERIC), (pid, domain, name, want[name], got[name])


def test_xpt_labels_and_names(tmp_path: Path) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    path = tmp_path / "ex.xpt"
    path.write_bytes(to_xpt(held(), "ex"))
    _, meta = pyreadstat.read_xport(str(path))
    assert meta.table_name == "EX"
    assert all(len(label) <= 40 for label in meta.column_labels)
    assert dict(zip(meta.column_names, meta.column_labels))["EXADJ"] == "Reason for Dose Adjustment"


def test_cli_domains_and_xpt(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    argv = ["calendar", "chen-2011", "--start", "2026-12-01", "--cycles", "2", "--format", "sdtm-ex"]
    assert main([*argv, "--domain", "cm"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(SDTM_CM_COLUMNS)
    assert main([*argv, "--domain", "ec", "--subject", "S-1"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("chen-2011,EC,S-1,1,LENALIDOMIDE,SCHEDULED,2.5,mg,")
    pytest.importorskip("pyreadstat")
    out = tmp_path / "ex.xpt"
    assert main([*argv, "--xpt", "--output", str(out)]) == 0
    assert out.read_bytes().startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD")
    assert main([*argv[:-1], "csv", "--xpt"]) == 1
    assert "--xpt applies to --format sdtm-ex only" in capsys.readouterr().err
    assert main([*argv[:-1], "nonmem", "--domain", "ec"]) == 1
    assert "--domain applies to --format sdtm-ex only" in capsys.readouterr().err


def test_dates_are_iso() -> None:
    for r in rows(to_sdtm_ex(held())):
        assert date.fromisoformat(r["EXSTDTC"]) <= date.fromisoformat(r["EXENDTC"])
