"""Hypothesis strategies of near-valid input, and the checks every fuzz case must pass.

Shared by the CI fuzz tests (``tests/test_fuzz_cli.py``, ``tests/test_fuzz_loader.py``) and the long run
(``benchmarks/fuzz_long.py``), so both throw the same things at lenasched:

- bundled protocol files mutated where they are most fragile (extreme numbers, impossible dates,
  control characters, merge keys, nesting, a regimen copied with other cycles and days);
- events files likewise, and command lines built from every command's options with extreme values;
- random YAML documents and random mutations of a bundled protocol, straight into the loader.

Every strategy of a whole case gives a :class:`Case`: what to run, with the files it needs, so a case
can be drawn in one process and run in another (the long run forks one child per case).
"""

from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

import lenasched
from lenasched import ProtocolError
from lenasched.cli.main import main
from lenasched.model.paths import protocols_dir

__all__ = [
    "BUNDLED",
    "DATES",
    "FORMATS",
    "Case",
    "accepted_problems",
    "any_case",
    "case_problems",
    "cli_problems",
    "command_line_cases",
    "command_lines",
    "documents",
    "events_texts",
    "loader_problems",
    "mutated_bundled_texts",
    "mutated_protocol_cases",
    "paths",
    "protocol_texts",
    "random_document_texts",
    "run_cli",
    "scalars",
]

DIR = "{workdir}"
"""Stands for the case's work folder in a :class:`Case`'s arguments."""


@dataclass(frozen=True)
class Case:
    """One fuzz case: ``kind`` says how it is run and checked (see :func:`case_problems`).

    - ``cli``: ``main(argv)``, after writing ``files`` into the work folder (``{workdir}`` in ``argv``);
    - ``accepted``: ``validate`` the file ``files[0]``; if it is accepted, ``calendar`` must expand it;
    - ``loader``: ``lenasched.parse_protocol(text)``, then ``expand`` what parses.
    """

    kind: str
    argv: tuple[str, ...] = ()
    files: tuple[tuple[str, str], ...] = ()
    text: str = ""

    def materialise(self, workdir: Path) -> list[str]:
        """Write the case's files into ``workdir``; the arguments with ``{workdir}`` filled in."""
        for name, text in self.files:
            (workdir / name).write_text(text, encoding="utf-8", errors="surrogatepass")
        return [arg.replace(DIR, str(workdir)) for arg in self.argv]


# --- the loader: random documents and mutations --------------------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 400),
    st.sampled_from(["1-21", "1, 8, 15", "2-", "all", "mg/m2", "oral", "x", "", "-3", "7-23/2", "1.5"]),
    st.decimals(min_value=-5, max_value=50, places=1, allow_nan=False).map(float),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text("abcdeiklnoprstuvy_", max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)


def paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a nested document (the empty path first)."""
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += paths(value, (*path, i))
    return out


@st.composite
def random_document_texts(draw: st.DrawFn) -> str:
    """A random document as YAML, made to look like a protocol at the top (``schema_version``, ``id``)."""
    doc = draw(documents)
    return yaml.safe_dump({"schema_version": 1, "id": "fuzz", **doc} if isinstance(doc, dict) else doc)


def _james() -> dict[str, Any]:
    protocol = lenasched.get_protocol("james-2014-lr")
    data: dict[str, Any] = protocol.model_dump(mode="json", exclude_none=True, exclude={"includes"})
    return data


BASE = _james()


@st.composite
def mutated_bundled_texts(draw: st.DrawFn) -> str:
    """A bundled protocol (as the model dumps it) with one to three values deleted or replaced by scalars."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(doc)[1:]))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(scalars)
    return yaml.safe_dump(doc, sort_keys=False)


def loader_problems(text: str) -> list[str]:
    """Parse, and expand what parses: only lenasched's own errors may come out (others propagate)."""
    try:
        protocol = lenasched.parse_protocol(text, "fuzz.yaml")
    except ProtocolError as exc:
        return [] if str(exc).startswith("fuzz.yaml") else [f"error not located in fuzz.yaml: {exc}"]
    patient = lenasched.Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal(70))
    with contextlib.suppress(lenasched.LenaschedError):
        lenasched.expand(protocol, date(2026, 1, 5), cycles=4, patient=patient)
    return []


# --- the command line: mutated files and extreme options --------------------------------------------

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
        where = paths(doc)[1:]
        path = draw(st.sampled_from(where))
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
            listed = doc.get("phases")  # an earlier mutation may have made it a number or deleted it
            listed = listed if isinstance(listed, list) else []
            phases = [p for p in listed if isinstance(p, dict) and isinstance(p.get("drugs"), list)]
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


PROTOCOL_COMMANDS = ("validate", "show", "calendar", "dispense", "compare")


def protocol_argv(command: str, path: str) -> list[str]:
    """The command line that runs ``command`` on the protocol file ``path``."""
    return {
        "validate": ["validate", path],
        "show": ["show", path],
        "calendar": ["calendar", path, "--start", "2027-01-04", "--cycles", "3", "--format", "csv", "--bsa", "1.9"],
        "dispense": ["dispense", path, "--start", "2027-01-04", "--cycles", "2", "--format", "csv"],
        "compare": ["compare", path, "--days", "200", "--format", "csv"],
    }[command]


@st.composite
def mutated_protocol_cases(draw: st.DrawFn) -> Case:
    """A mutated protocol file, run through one of the commands that read protocol files."""
    text = draw(protocol_texts())
    command = draw(st.sampled_from(PROTOCOL_COMMANDS))
    return Case("cli", tuple(protocol_argv(command, f"{DIR}/mutated.yaml")), (("mutated.yaml", text),))


FORMATS = ["table", "csv", "json", "html", "ics", "fhir", "nonmem", "sdtm-ex"]


@st.composite
def command_line_cases(draw: st.DrawFn) -> Case:
    """A command line from every command's options with extreme values (and maybe an events file)."""
    files: list[tuple[str, str]] = []
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
            files.append(("events.yaml", draw(events_texts())))
            argv += ["--events", f"{DIR}/events.yaml"]
    if command != "advise" and draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from([DIR, f"{DIR}/no/such/dir/x", "/dev/full", "-"]))
        argv += ["-o", target]
    return Case("cli", tuple(argv), tuple(files))


@st.composite
def command_lines(draw: st.DrawFn, workdir: Path) -> list[str]:
    """A command line of :func:`command_line_cases`, its files written into ``workdir``."""
    return draw(command_line_cases()).materialise(workdir)


@st.composite
def any_case(draw: st.DrawFn) -> Case:
    """One case of any kind, in the proportions of the CI tests (the long run draws from this)."""
    kind = draw(st.sampled_from(["protocol", "accepted", "command", "document", "mutation"]))
    if kind == "protocol":
        return draw(mutated_protocol_cases())
    if kind == "accepted":
        return Case("accepted", files=(("accepted.yaml", draw(protocol_texts())),))
    if kind == "command":
        return draw(command_line_cases())
    text = draw(random_document_texts() if kind == "document" else mutated_bundled_texts())
    return Case("loader", text=text)


# --- running a case and judging what happened -----------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``main(argv)`` as the console script runs it; the exit status and what it wrote to stderr."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")  # with a .buffer, for the bytes of iCalendar
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage errors (2) and --help (0)
            code = exc.code if isinstance(exc.code, int) else 2
    return code, err.getvalue()


def cli_problems(argv: list[str]) -> list[str]:
    """What is wrong with how ``main(argv)`` ended: exit 0, 1 or 2, no traceback, one ``error:`` line on 1."""
    code, err = run_cli(argv)
    problems = []
    if "Traceback" in err:
        problems.append(f"traceback: {err[-2000:]}")
    if "internal error" in err:
        problems.append(f"internal error: {err[-2000:]}")
    if code not in (0, 1, 2):
        problems.append(f"exit status {code}: {err[-2000:]}")
    if code == 1:
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        if len(errors) != 1:
            problems.append(f"{len(errors)} error lines: {err[-2000:]}")
        elif not (err.endswith("\n") and errors[0] == err.rstrip("\n").splitlines()[-1]):
            problems.append(f"the error line is not the last line: {err[-2000:]}")
    return problems


def accepted_problems(path: Path) -> list[str]:
    """validate accepts only what calendar can expand: no 'given twice', no traceback, after an ok."""
    code, _ = run_cli(["validate", str(path)])
    if code != 0:
        return []
    patient = ["--bsa", "1.9", "--weight", "70", "--allow-multiple-capsules"]
    code, err = run_cli(["calendar", str(path), "--start", "2027-01-04", "--cycles", "4", "--format", "json", *patient])
    problems = []
    if "Traceback" in err or "internal error" in err:
        problems.append(f"traceback: {err[-2000:]}")
    if "twice" in err or "outside" in err:  # the protocol's own consistency was validate's job
        problems.append(f"validate accepted what calendar refuses: {err[-2000:]}")
    return problems


def case_problems(case: Case, workdir: Path) -> list[str]:
    """Run ``case`` (files in ``workdir``); what went wrong, if anything. An escaping exception propagates."""
    if case.kind == "loader":
        return loader_problems(case.text)
    argv = case.materialise(workdir)
    if case.kind == "accepted":
        return accepted_problems(workdir / case.files[0][0])
    return cli_problems(argv)
