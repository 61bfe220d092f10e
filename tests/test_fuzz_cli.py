"""Whatever a user types or a file holds, the command line answers in one line: a structure-aware fuzz.

``test_fuzz_loader`` throws random documents at the loader; this goes through ``main(argv)``, as a
user does: bundled protocol files mutated where they are most fragile (extreme numbers, impossible
dates, control characters, merge keys, nesting, a regimen copied with other cycles and days), events
files likewise, and command lines built from every command's options with extreme values. Each run
must end with exit 0, 1 or 2 (argparse's usage exit may come as ``SystemExit(2)``, ``--help`` as 0),
no traceback and no internal error, and exit 1 with exactly one ``error:`` line.

``LENASCHED_FUZZ_EXAMPLES=10000`` runs the long version (``python -m pytest tests/test_fuzz_cli.py``).
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lenasched.cli import main
from lenasched.paths import protocols_dir

from .test_fuzz_loader import _paths

EXAMPLES = int(os.environ.get("LENASCHED_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=5),  # a hang is a finding too
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 100,  # the CI run is the same every time; the long run explores
)

# Raw YAML that a dumped value cannot produce: planted as a placeholder string, swapped in after dumping.
RAW = [
    "2027-02-30",
    "0000-01-01",
    "2027-01-01 25:00:00",
    "99999999999",
    "-99999999999",
    "1" * 5000,
    "1e-30",
    "1e30",
    "1e999999",
    ".nan",
    "-.inf",
    "0",
    "-1",
    '"a\\x01b"',
    "\x01",
    "\x7f",
    '"\\e[2J\\r\\n=cmd|x"',
    "→×10⁹/L µ ≥ —",
    "{<<: 5}",
    "{<<: [1, 2]}",
    "[" * 60 + "]" * 60,
    "{a: " * 60 + "1" + "}" * 60,
    "*nowhere",
    "!!python/object/apply:os.system [echo]",
    "!!binary aGVsbG8=",
    "1-99999999",
    "1-21/0",
    "7-23/2",
    "2000-",
    "1001",
    '"1, 8, 15"',
    "[]",
    "{}",
    "~",
    "yes",
]
NUMBERS = st.one_of(
    st.sampled_from([0, 1, 2, 7, 27, 28, 29, 365, 366, 367, 999, 1000, 1001, 2000, 3660, 3661, 99999999999, 2**63]),
    st.integers(-3, 40),
)
CYCLE_SPECS = st.sampled_from(["all", "1", "2", "1-3", "3-6", "2-", "4-", "1-9/2", "2-/2", "5-/5", "1, 4", "3"])
DAY_SPECS = st.sampled_from(["1-21", "1-28", "1-30", "1, 8, 15", "1", "21", "8-14", "1-7", "29-35", "1-366"])


def _bundled() -> dict[str, Any]:
    files = sorted(protocols_dir().glob("*.yaml"))
    files += [f for f in sorted((protocols_dir() / "label").glob("*.yaml")) if f.stem != "lenalidomide"]
    return {f.stem: yaml.safe_load(f.read_text(encoding="utf-8")) for f in files}


BUNDLED = _bundled()


@st.composite
def protocol_texts(draw: st.DrawFn) -> str:
    """A bundled protocol with one to three mutations, as YAML text."""
    doc = copy.deepcopy(BUNDLED[draw(st.sampled_from(sorted(BUNDLED)))])
    raws: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)[1:]
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        how = draw(st.sampled_from(["raw", "number", "delete", "copy-regimen", "cycles", "days", "merge"]))
        if how == "raw":
            raws.append(draw(st.sampled_from(RAW)))
            parent[key] = f"RAW{len(raws) - 1}RAW"
        elif how == "number":
            parent[key] = draw(NUMBERS)
        elif how == "delete" and isinstance(parent, dict):
            del parent[key]
        elif how in ("copy-regimen", "cycles", "days"):
            phases = [p for p in doc.get("phases") or [] if isinstance(p, dict) and isinstance(p.get("drugs"), list)]
            if not phases:
                continue
            phase = draw(st.sampled_from(phases))
            drugs = [d for d in phase["drugs"] if isinstance(d, dict)]
            if not drugs:
                continue
            regimen = draw(st.sampled_from(drugs))
            if how == "copy-regimen":  # the same drug twice in a phase: windows that may overlap
                regimen = copy.deepcopy(regimen)
                phase["drugs"].append(regimen)
            if how != "days":
                regimen["cycles"] = draw(CYCLE_SPECS)
            if how != "cycles" and "repeat" not in regimen:
                regimen["days"] = draw(DAY_SPECS)
        elif how == "merge" and isinstance(parent, dict):
            raws.append(draw(st.sampled_from(["5", "[1]", "{x: 1}", "*nowhere"])))
            parent["<<"] = f"RAW{len(raws) - 1}RAW"
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=10_000).replace("'<<':", "<<:")
    for i, raw in enumerate(raws):
        text = text.replace(f"'RAW{i}RAW'", raw).replace(f"RAW{i}RAW", raw)
    return text


DATES = st.one_of(
    st.sampled_from(
        ["2027-01-04", "2027-02-30", "9999-12-01", "9997-12-01", "0001-01-01", "0003-01-01", "2027-1-4", "x", "-1"]
    ),
    st.dates().map(lambda d: d.isoformat()),
)


@st.composite
def events_texts(draw: st.DrawFn) -> str:
    kinds = ["hold", "resume", "stop", "no_escalation"]
    lines = ["events:"]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from([*kinds, "delay"]))
        if kind == "delay":
            lines.append(f"  - {{delay: {{cycle: {draw(NUMBERS)}, days: {draw(NUMBERS)}}}}}")
            continue
        when = draw(st.one_of(DATES, st.sampled_from(RAW)))
        drug = draw(st.sampled_from(["", ", drug: allopurinol", ", drug: nothing", ", drug: Lenalidomide "]))
        lines.append(f"  - {{{kind}: {when}{drug}}}")
    return "\n".join(lines) + "\n"


def run(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` as the console script runs it; the exit status and what it wrote to stderr."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # with a .buffer, for the bytes of iCalendar
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def check(argv: list[str]) -> None:
    code, err = run(argv)
    assert "Traceback" not in err, (argv, err)
    assert "internal error" not in err, (argv, err)
    assert code in (0, 1, 2), (argv, code, err)
    if code == 1:
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (argv, err)
        assert err.endswith("\n") and errors[0] == err.rstrip("\n").splitlines()[-1], (argv, err)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(text=protocol_texts(), command=st.sampled_from(["validate", "show", "calendar", "dispense", "compare"]))
def test_mutated_protocol_files_never_give_a_traceback(workdir: Path, text: str, command: str) -> None:
    path = workdir / "mutated.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    argv = {
        "validate": ["validate", str(path)],
        "show": ["show", str(path)],
        "calendar": [
            "calendar",
            str(path),
            "--start",
            "2027-01-04",
            "--cycles",
            "3",
            "--format",
            "csv",
            "--bsa",
            "1.9",
        ],
        "dispense": ["dispense", str(path), "--start", "2027-01-04", "--cycles", "2", "--format", "csv"],
        "compare": ["compare", str(path), "--days", "200", "--format", "csv"],
    }[command]
    check(argv)


@FUZZ
@given(text=protocol_texts())
def test_what_validate_accepts_calendar_expands(workdir: Path, text: str) -> None:
    """validate accepts only what calendar can expand: no 'given twice', no traceback, after an ok."""
    path = workdir / "accepted.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    code, _ = run(["validate", str(path)])
    if code != 0:
        return
    patient = ["--bsa", "1.9", "--weight", "70", "--allow-multiple-capsules"]
    code, err = run(["calendar", str(path), "--start", "2027-01-04", "--cycles", "4", "--format", "json", *patient])
    assert "Traceback" not in err and "internal error" not in err, err
    assert "twice" not in err and "outside" not in err, err  # the protocol's own consistency was validate's job


FORMATS = ["table", "csv", "json", "html", "ics", "fhir", "nonmem", "sdtm-ex"]


@st.composite
def command_lines(draw: st.DrawFn, workdir: Path) -> list[str]:
    protocol = draw(st.sampled_from(["badoux-2011", "label-mm-rd", "james-2014-lr", "chen-2011", "nosuch", "-"]))
    command = draw(st.sampled_from(["calendar", "dispense", "compare", "variant", "advise", "simulate", "show"]))
    argv = [command, protocol]
    if command in ("calendar", "dispense", "advise"):
        argv += ["--start", draw(DATES)]
    if command in ("calendar", "dispense") and draw(st.booleans()):
        argv += ["--cycles", str(draw(NUMBERS))] if draw(st.booleans()) else ["--until", draw(DATES)]
    if command == "calendar":
        argv += ["--format", draw(st.sampled_from(FORMATS))]
        if draw(st.booleans()):
            argv += ["--bsa", draw(st.sampled_from(["1.9", "0", "-1", "1e400", "nan", "99"]))]
    if command in ("compare", "simulate") and draw(st.booleans()):
        argv += [
            draw(st.sampled_from(["--days", "--horizon"])),
            draw(st.sampled_from(["7320", "7321", "0", "24w", "x"])),
        ]
    if command == "simulate":
        argv += ["--patients", draw(st.sampled_from(["20", "0", "-5", "x"]))]
    if command in ("compare", "variant", "simulate") and draw(st.booleans()):
        field = draw(
            st.sampled_from(["start", "step", "cap", "every_days", "first_step_day", "dose", "days", "cycles"])
        )
        value = draw(st.sampled_from(["5", "1e-30", "99999999999", "1-99999999", "2027-02-30", "nan", "0", "-1"]))
        argv += ["--set", f"lenalidomide.{field}={value}"]
    if command in ("calendar", "dispense", "advise"):
        for option in draw(st.lists(st.sampled_from(["--hold", "--resume", "--stop", "--no-escalation"]), max_size=2)):
            argv += [option, draw(DATES)]
        if draw(st.booleans()):
            events = workdir / "events.yaml"
            events.write_text(draw(events_texts()), encoding="utf-8", errors="surrogatepass")
            argv += ["--events", str(events)]
    if command != "advise" and draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from([str(workdir), str(workdir / "no" / "such" / "dir" / "x"), "/dev/full", "-"]))
        argv += ["-o", target]
    return argv


@FUZZ
@given(data=st.data())
def test_command_lines_never_give_a_traceback(workdir: Path, data: st.DataObject) -> None:
    check(data.draw(command_lines(workdir)))
