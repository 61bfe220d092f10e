"""Plausibility ranges of patient inputs: each edge, the message, overrides by name, the command line."""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from lenasched.cli.main import main
from lenasched.engine.renal import RenalFunction, cockcroft_gault
from lenasched.errors import ImplausibleValueError, LenaschedError, ScheduleError
from lenasched.model.patient import Patient
from lenasched.model.plausible import LIMITS, format_range

Capture = pytest.CaptureFixture[str]


def _patient(**kw: Any) -> Callable[[D, frozenset[str]], object]:
    field = next(iter(kw))
    return lambda value, allow: Patient(**{**kw, field: value}, allow_implausible=allow)


def _cg(position: int) -> Callable[[D, frozenset[str]], object]:
    def build(value: D, allow: frozenset[str]) -> object:
        args: list[Any] = [60, D(70), D(1)]
        args[position] = value
        return cockcroft_gault(*args, "male", allow_implausible=allow)  # type: ignore[misc]

    return build


BUILDERS: dict[str, Callable[[D, frozenset[str]], object]] = {
    "bsa": _patient(bsa_m2=None),
    "height": _patient(height_cm=None, weight_kg=D(70)),  # BSA 1.39-2.20 m² over the height range
    "weight": _patient(weight_kg=None),
    "age": _cg(0),
    "scr": _cg(2),
    "crcl": lambda value, allow: RenalFunction.given(value, allow_implausible=allow),
}

# name, just inside (low, high), just outside (low, high); None: the edge is a hard limit, not a plausibility one
EDGES = [
    ("bsa", "0.5", "3.5", "0.49", "3.51"),
    ("height", "100", "250", "99.9", "250.1"),
    ("weight", "25", "300", "24.9", "300.1"),
    ("age", "18", "120", "17", "121"),
    ("scr", "0.1", "20", "0.09", "20.1"),
    ("crcl", "0", "250", None, "250.1"),  # below 0 mL/min is impossible, refused whatever is allowed
]


def test_the_table_has_a_builder_and_edges_for_every_limit() -> None:
    assert set(LIMITS) == set(BUILDERS) == {edge[0] for edge in EDGES}
    for limit in LIMITS.values():
        assert limit.low < limit.high and limit.unit and limit.why


@pytest.mark.parametrize(("name", "low", "high", "below", "above"), EDGES, ids=[e[0] for e in EDGES])
def test_edges(name: str, low: str, high: str, below: str | None, above: str) -> None:
    build = BUILDERS[name]
    build(D(low), frozenset())
    build(D(high), frozenset())
    for outside in (below, above):
        if outside is None:
            continue
        with pytest.raises(ImplausibleValueError) as info:
            build(D(outside), frozenset())
        message = str(info.value)
        assert f" {outside} " in message, message
        assert f"outside the plausible range {format_range(name)}" in message
        assert f"--allow-implausible {name}" in message and f"allow_implausible={{{name!r}}}" in message
        assert "\n" not in message
        assert (info.value.name, info.value.low, info.value.high) == (name, LIMITS[name].low, LIMITS[name].high)
        assert isinstance(info.value, ScheduleError) and isinstance(info.value, ValueError)
        build(D(outside), frozenset({name}))  # allowed by its name
        with pytest.raises(ImplausibleValueError):
            build(D(outside), frozenset(set(LIMITS) - {name}))  # every other name does not help


def test_ranges_as_chosen() -> None:
    assert format_range("bsa") == "0.5-3.5 m²"
    assert format_range("height") == "100-250 cm"
    assert format_range("weight") == "25-300 kg"
    assert format_range("age") == "18-120 years" and "adults" in LIMITS["age"].why
    assert format_range("scr") == "0.1-20 mg/dL = 8.84-1768 µmol/L"
    assert format_range("crcl") == "0-250 mL/min"


def test_computed_bsa_is_checked_and_named() -> None:
    with pytest.raises(ImplausibleValueError, match=r"BSA 4\.56 m² \(Mosteller, from 250 cm and 300 kg\)"):
        Patient(height_cm=D(250), weight_kg=D(300))
    assert Patient(height_cm=D(250), weight_kg=D(300), allow_implausible={"bsa"}).bsa == D("4.56")


def test_hard_limits_stay_whatever_is_allowed() -> None:
    every = frozenset(LIMITS)
    with pytest.raises(ScheduleError, match="patient bsa 6 m² is outside the hard limit 0-5 m²"):
        Patient(bsa_m2=D(6), allow_implausible=every)
    with pytest.raises(ImplausibleValueError):  # without the override, the plausibility message comes first
        Patient(bsa_m2=D(6))
    with pytest.raises(ScheduleError, match="0-300"):
        RenalFunction.given(D(400), allow_implausible=every)
    with pytest.raises(ScheduleError, match="age between 0 and 140"):
        cockcroft_gault(150, D(70), D(1), "male", allow_implausible=every)


def test_override_is_by_known_name_and_recorded() -> None:
    patient = Patient(bsa_m2=D("0.01"), allow_implausible={"bsa"})
    assert patient.allow_implausible == frozenset({"bsa"})
    assert "plausibility check waived for: bsa" in patient.describe()
    assert Patient(bsa_m2=D("0.01"), allow_implausible="bsa").bsa == D("0.01")  # one name, not its letters
    with pytest.raises(ScheduleError, match=r"unknown plausibility limit 'bas'.*did you mean 'bsa'"):
        Patient(bsa_m2=D("1.9"), allow_implausible={"bas"})
    with pytest.raises(ScheduleError, match="unknown plausibility limit"):
        RenalFunction.given(D(45), allow_implausible={"crc"})
    renal = RenalFunction.from_cockcroft_gault(
        age_years=17, weight_kg=D(70), scr_mg_dl=D(1), sex="male", allow_implausible={"age"}
    )
    assert renal.crcl_ml_min == D("119.6") and "waived for: age" in renal.describe()
    with pytest.raises(ImplausibleValueError, match="Cockcroft-Gault"):
        RenalFunction.from_cockcroft_gault(age_years=40, weight_kg=D(100), scr_mg_dl=D("0.5"), sex="male")


def test_patient_validation_errors_are_lenasched_errors() -> None:
    for kwargs in ({"bsa_m2": D(1), "height_cm": D(170)}, {"bsa_m2": D(-1)}, {"bsa": D(1)}, {"bsa_m2": "x"}):
        with pytest.raises(LenaschedError) as info:
            Patient(**kwargs)
        assert isinstance(info.value, ScheduleError) and str(info.value).startswith("patient")
    with pytest.raises(ImplausibleValueError):
        Patient.model_validate({"bsa_m2": "0.1"})
    with pytest.raises(ScheduleError, match="not both"):
        Patient.model_validate({"bsa_m2": "1.9", "height_cm": "170"})
    assert Patient.model_validate({"bsa_m2": "0.1", "allow_implausible": ["bsa"]}).bsa == D("0.1")


def test_error_pickles_with_its_fields() -> None:
    with pytest.raises(ImplausibleValueError) as info:
        Patient(bsa_m2=D("0.01"))
    # our own dispatch table: a test dependency (pharmpy -> dask -> tblib) registers a global reducer for every
    # exception that also pickles pytest's traceback and context, which is not what this test is about
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer)
    pickler.dispatch_table = {}
    pickler.dump(info.value)
    again = pickle.loads(buffer.getvalue())
    assert type(again) is ImplausibleValueError and str(again) == str(info.value)
    assert (again.name, again.value, again.low, again.high, again.unit) == ("bsa", D("0.01"), D("0.5"), D("3.5"), "m²")


CALENDAR = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "--format", "csv"]


def _run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    code = main([*CALENDAR, *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_refuses_an_implausible_bsa_in_one_line_and_allows_it_by_name(capsys: Capture) -> None:
    code, out, err = _run(capsys, "--bsa", "0.01")
    assert code == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: BSA 0.01 m² is outside the plausible range 0.5-3.5 m²")
    assert "--allow-implausible bsa" in lines[0] and "Traceback" not in err
    code, out, err = _run(capsys, "--bsa", "0.01", "--allow-implausible", "bsa")
    assert code == 0 and out.startswith("date,") and "error" not in err  # only the CLL off-label note


def test_cli_other_values_and_repeated_overrides(capsys: Capture) -> None:
    code, _, err = _run(capsys, "--height", "1.75", "--weight", "70")
    assert code == 1 and "height 1.75 cm" in err and "100-250 cm" in err
    code, _, err = _run(capsys, "--crcl", "260")
    assert code == 1 and "0-250 mL/min" in err
    assert _run(capsys, "--crcl", "260", "--allow-implausible", "crcl")[0] == 0
    cg = ["--weight", "70", "--scr", "1", "--sex", "male"]
    code, _, err = _run(capsys, "--age", "16", *cg)
    assert code == 1 and "age 16 years" in err and "adults" in err
    assert _run(capsys, "--age", "16", *cg, "--allow-implausible", "age")[0] == 0
    code, _, err = _run(capsys, "--age", "60", "--weight", "20", "--scr", "1", "--sex", "male")
    assert code == 1 and "weight 20 kg" in err
    both = ["--allow-implausible", "weight", "--allow-implausible", "age"]
    assert _run(capsys, "--age", "16", "--weight", "20", "--scr", "1", "--sex", "male", *both)[0] == 0


def test_cli_creatinine_in_umol_is_refused_as_typed(capsys: Capture) -> None:
    cg = ["--age", "60", "--weight", "70", "--sex", "male", "--scr-unit", "umol/L"]
    assert _run(capsys, *cg, "--scr", "90")[0] == 0  # 90 µmol/L = 1.02 mg/dL
    code, _, err = _run(capsys, *cg, "--scr", "5")
    assert code == 1 and "serum creatinine 5 µmol/L is outside" in err and "8.84-1768 µmol/L" in err
    code, _, err = _run(capsys, "--age", "60", "--weight", "70", "--sex", "male", "--scr", "90")
    assert code == 1 and "serum creatinine 90 mg/dL" in err and "give µmol/L values as µmol/L" in err


def test_cli_unknown_name_is_a_usage_error(capsys: Capture) -> None:
    with pytest.raises(SystemExit) as info:
        main([*CALENDAR, "--bsa", "0.01", "--allow-implausible", "bsaa"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_dispense_takes_the_override_too(tmp_path: Path, capsys: Capture) -> None:
    base = ["dispense", "badoux-2011", "--start", "2026-12-01", "--cycles", "1", "--format", "csv"]
    base += ["-o", str(tmp_path / "fills.csv")]
    assert main([*base, "--crcl", "260"]) == 1
    assert "--allow-implausible crcl" in capsys.readouterr().err
    assert main([*base, "--crcl", "260", "--allow-implausible", "crcl"]) == 0
