"""Every bundled protocol's NONMEM data set, read by an independent client: pharmpy's NONMEM reader.

pharmpy ``read_model`` parses the minimal control stream shown in docs/designers.md with the
exported file as ``$DATA``; its own ``expand_additional_doses`` (NONMEM's II/ADDL rule) must give
exactly the calendar's doses, for every drug of every bundled protocol, with observation rows.
The same check also runs without pharmpy (our own expansion in test_nonmem.py), so a missing
pharmpy skips only the client half.
"""

from __future__ import annotations

import csv
import io
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lenasched import Calendar, bundled_ids, expand, get_protocol
from lenasched.formats.nonmem import NONMEM_COLUMNS, to_nonmem

from .calendars import PATIENT, START
from .test_nonmem import assert_exact, calendar_doses

# The control stream docs/designers.md shows (one-compartment oral model); $DATA is the exported file.
CONTROL_STREAM = """$PROBLEM lenalidomide doses from lenasched
$INPUT ID TIME AMT RATE EVID MDV DV CMT II ADDL DOSELVL STUDYDAY CALDATE=DROP
$DATA {data} IGNORE=@
$SUBROUTINES ADVAN2 TRANS2
$PK
CL = THETA(1) * EXP(ETA(1))
V = THETA(2)
KA = THETA(3)
S2 = V
$ERROR
Y = F + F * EPS(1)
$THETA (0, 10) (0, 80) (0, 2)
$OMEGA 0.1
$SIGMA 0.05
$SIMULATION (20261201) ONLYSIM
"""

OBS_HOURS = ("0", "2", "24.5", "336", "671", "2000")  # troughs, a peak, a rest week


def bundled_calendar(pid: str) -> Calendar:
    protocol = get_protocol(pid)
    return expand(protocol, START, cycles=6 if protocol.open_ended else None, patient=PATIENT)


def exports() -> list[tuple[str, str]]:
    out = []
    for pid in bundled_ids():
        cal = bundled_calendar(pid)
        out += [(pid, drug) for drug in cal.drugs if len({d.route for d in cal.for_drug(drug)}) == 1]
    return out


EXPORTS = exports()


def test_every_bundled_protocol_is_covered() -> None:
    assert {pid for pid, _ in EXPORTS} == set(bundled_ids())


@pytest.mark.parametrize(("pid", "drug"), EXPORTS)
def test_expanding_addl_gives_the_calendar(pid: str, drug: str) -> None:
    cal = bundled_calendar(pid)
    for explicit in (False, True):
        assert_exact(cal, drug, to_nonmem(cal, drug=drug, explicit=explicit))
        assert_exact(cal, drug, to_nonmem(cal, drug=drug, explicit=explicit, obs_times=OBS_HOURS))


def _pharmpy_doses(tmp_path: Path, text: str) -> tuple[list[tuple[Decimal, Decimal]], Any]:
    modeling = pytest.importorskip("pharmpy.modeling")
    data = tmp_path / "doses.csv"
    data.write_text(text, encoding="utf-8")
    control = tmp_path / "run.ctl"
    control.write_text(CONTROL_STREAM.format(data=data.name), encoding="utf-8")
    with warnings.catch_warnings():
        # pharmpy 2.1 calls pandas with inplace=True, which pandas 3.1 deprecates; not ours to fix
        warnings.filterwarnings("ignore", message="The inplace keyword")
        # ... and notes a table with a single dose record (one II/ADDL run); a remark, not a problem
        warnings.filterwarnings("ignore", message="CMT column present with only one value")
        model = modeling.read_model(str(control))
        dataset = model.dataset
        expanded = modeling.expand_additional_doses(model).dataset
    doses = expanded[expanded["EVID"] == 1]
    found = [
        (Decimal(repr(float(t))).normalize(), Decimal(repr(float(a))).normalize())
        for t, a in zip(doses["TIME"], doses["AMT"])
    ]
    return found, dataset


def _exact(doses: list[tuple[Decimal, Decimal]]) -> list[tuple[Decimal, Decimal]]:
    return [(t.normalize(), a.normalize()) for t, a in doses]


@pytest.mark.parametrize(("pid", "drug"), EXPORTS)
def test_pharmpy_reads_it_with_observations(tmp_path: Path, pid: str, drug: str) -> None:
    cal = bundled_calendar(pid)
    text = to_nonmem(cal, drug=drug, obs_times=OBS_HOURS)
    found, dataset = _pharmpy_doses(tmp_path, text)
    assert sorted(found) == _exact(calendar_doses(cal, drug))
    assert list(dataset.columns) == list(NONMEM_COLUMNS)  # CALDATE is kept in the data frame, dropped for NONMEM
    observations = dataset[dataset["EVID"] == 0]
    assert [str(Decimal(repr(float(t))).normalize()) for t in observations["TIME"]] == [
        str(Decimal(h).normalize()) for h in OBS_HOURS
    ]
    assert set(observations["MDV"]) == {0}
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [float(r["DOSELVL"]) for r in rows] == list(dataset["DOSELVL"])


def test_pharmpy_reads_explicit_rows(tmp_path: Path) -> None:
    cal = bundled_calendar("badoux-2011")
    found, dataset = _pharmpy_doses(tmp_path, to_nonmem(cal, explicit=True, obs_times=OBS_HOURS))
    assert sorted(found) == _exact(calendar_doses(cal, "lenalidomide"))
    assert set(dataset["ADDL"]) == {0}
