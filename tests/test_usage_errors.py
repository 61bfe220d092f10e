"""Usage errors (issue 11, item 4): one ``error:`` line, a ``hint:`` naming the ``--help`` to read, exit status 2.

A command line argparse cannot parse gets no usage block (that is what ``--help`` is for); input lenasched
refuses gets one ``error:`` line and exit status 1. The README documents every status the CLI uses.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lenasched import __version__
from lenasched.cli.main import main
from lenasched.cli.options import EXIT_INTERRUPTED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from lenasched.cli.registry import COMMANDS

Capture = pytest.CaptureFixture[str]
ROOT = Path(__file__).resolve().parent.parent
START = ["--start", "2026-12-01"]


def usage_error(argv: list[str], capsys: Capture) -> tuple[str, str]:
    """The two lines a usage error prints (after checking the exit status and that nothing else is said)."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage:" not in err and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and err.endswith("\n"), err
    return lines[0], lines[1]


@pytest.mark.parametrize(
    ("argv", "message", "help_of"),
    [
        ([], "the following arguments are required: COMMAND", "lenasched"),
        (["bogus"], "argument COMMAND: invalid choice: 'bogus'", "lenasched"),
        (["--bogus"], "the following arguments are required: COMMAND", "lenasched"),
        (["calendar"], "the following arguments are required: protocol, --start", "lenasched calendar"),
        (["calendar", "badoux-2011", *START, "--bogus"], "unrecognized arguments: --bogus", "lenasched calendar"),
        (["calendar", "badoux-2011", "--start", "2026-13-45"], "argument --start: '2026-13-45' is not a date", None),
        (["calendar", "badoux-2011", *START, "--cycles", "2", "--until", "2027-01-01"], "not allowed with", None),
        (["calendar", "badoux-2011", *START, "--format", "xml"], "argument --format: invalid choice: 'xml'", None),
        (["calendar", "badoux-2011", *START, "--cycles", "0"], "argument --cycles: '0' must be at least 1", None),
        (["list", "--format", "xml"], "argument --format: invalid choice: 'xml'", "lenasched list"),
        (["list", "extra"], "unrecognized arguments: extra", "lenasched list"),
        (["show"], "the following arguments are required: protocol", "lenasched show"),
        (["validate"], "the following arguments are required: files", "lenasched validate"),
        (["schema", "--kind", "nope"], "argument --kind: invalid choice: 'nope'", "lenasched schema"),
        (["compare"], "the following arguments are required: PROTOCOL", "lenasched compare"),
        (["dispense", "badoux-2011"], "the following arguments are required: --start", "lenasched dispense"),
        (["compare", "badoux-2011", "--days", "x"], "argument --days: 'x' is not a whole number of days", None),
    ],
)
def test_usage_error_is_one_error_line_and_a_hint(
    argv: list[str], message: str, help_of: str | None, capsys: Capture
) -> None:
    error, hint = usage_error(argv, capsys)
    assert error.startswith("error: ") and message in error
    command = help_of or f"lenasched {argv[0]}"
    assert hint == f"hint: see `{command} --help`"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_parser_reports_usage_errors_the_same_way(command: str, capsys: Capture) -> None:
    error, hint = usage_error([command, "--no-such-option-anywhere"], capsys)
    assert error.startswith("error: ")  # the option, or first a missing argument
    assert hint == f"hint: see `lenasched {command} --help`"


def test_console_script_exits_2_with_two_lines() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lenasched", "calendar", "--bogus"], capture_output=True, text=True, check=False
    )
    assert done.returncode == EXIT_USAGE and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error: the following arguments are required: protocol, --start",
        "hint: see `lenasched calendar --help`",
    ]


def test_usage_error_in_an_ascii_locale_is_still_two_lines() -> None:
    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C", LANG="C")
    done = subprocess.run(
        [sys.executable, "-m", "lenasched", "calendar", "badoux-2011", "--start", "2026-12-01", "--bsa", "−1"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2


def test_help_and_version_still_exit_0(capsys: Capture) -> None:
    for argv in (["--help"], ["calendar", "--help"], ["list", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == EXIT_OK
        out, err = capsys.readouterr()
        assert out.startswith("usage: lenasched") and err == ""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == EXIT_OK
    assert capsys.readouterr().out == f"lenasched {__version__}\n"


def test_refused_input_is_exit_1_and_one_line(capsys: Capture) -> None:
    assert main(["calendar", "badoux-2012", *START]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: unknown protocol id 'badoux-2012'")
    # options that parse but do not fit together are refused input too (status 1, as documented)
    assert main(["calendar", "badoux-2011", *START, "--format", "csv", "--paper", "a4"]) == EXIT_REFUSED
    assert capsys.readouterr().err == "error: --paper applies to --format html and pdf only\n"


def test_readme_documents_every_exit_status() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit status", 1)[1].split("\n#", 1)[0]
    statuses = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)}
    assert statuses == {EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_INTERRUPTED}
    assert "hint:" in section
    cli_source = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "lenasched" / "cli").glob("*.py")))
    returned = {int(n) for n in re.findall(r"\breturn (\d+)\b", cli_source)} | {EXIT_USAGE}
    assert returned <= statuses


def test_readme_example_is_what_the_cli_prints(capsys: Capture) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit status", 1)[1]
    example = section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    command, shown = example[0], example[1:]
    assert command.startswith("$ lenasched ")
    with pytest.raises(SystemExit):
        main(command.split()[2:])
    assert capsys.readouterr().err.splitlines() == shown


def test_shell_completion_hook_runs_only_when_the_shell_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    """``eval "$(register-python-argcomplete lenasched)"`` (with argcomplete installed) completes options."""
    import types

    seen: list[object] = []
    fake = types.ModuleType("argcomplete")
    fake.autocomplete = seen.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "argcomplete", fake)
    monkeypatch.setattr(sys, "argv", ["lenasched", "list"])
    monkeypatch.delenv("_ARGCOMPLETE", raising=False)
    assert main() == EXIT_OK and seen == []
    monkeypatch.setenv("_ARGCOMPLETE", "1")
    monkeypatch.setattr(sys, "argv", ["lenasched"])  # as the completion function runs it
    with pytest.raises(SystemExit):  # no command: the real argcomplete would have exited before
        main()
    assert len(seen) == 1
    parser = seen[0]
    assert "calendar" in parser.format_help() and "compare" in parser.format_help()  # type: ignore[attr-defined]
