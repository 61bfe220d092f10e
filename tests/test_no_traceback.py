"""No traceback on any input, and no silent wrong answer (issue 11, "Tracebacks and silent wrong answers").

Each test is named after a finding it reproduces; the docstring says what happened before. Every
refusal is one ``error:`` line (``file:line:col: path: message (hint: ...)`` where it comes from a
file) with exit 1, or an argparse usage error with exit 2. ``tests/test_fuzz_cli.py`` looks for
more of each class.
"""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lenasched
from lenasched import ProtocolError, ScheduleError, expand, protocol_from_dict
from lenasched.cli.main import main
from lenasched.model.dayspec import EARLIEST_DATE, LATEST_DATE, parse_cycles
from lenasched.model.events import Delay, PatientEvents
from lenasched.model.loader import parse_protocol

Capture = pytest.CaptureFixture[str]
START = "2027-01-04"

TINY = """\
schema_version: 1
id: tiny
title: Tiny
setting: s
citation: {title: c}
phases:
  - name: p
    cycle_length_days: 28
    cycles: 6
    drugs:
      - {drug: lenalidomide, dose: 10, days: 1-21}
"""


def one_error(capsys: Capture) -> str:
    """The single ``error:`` line the last command wrote (and nothing else but notes)."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return errors[0]


def write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- values PyYAML recognises but cannot build -----------------------------------------------------


def test_an_impossible_date_in_a_protocol_gave_a_traceback(tmp_path: Path, capsys: Capture) -> None:
    """Was: ValueError "day is out of range for month" from PyYAML's timestamp constructor, as a traceback."""
    path = write(tmp_path, TINY.replace("title: Tiny", "title: 2027-02-30"))
    assert main(["validate", str(path)]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: {path}:3:8: title: '2027-02-30' is not a real date")
    assert "(hint: write an existing date as YYYY-MM-DD" in line


@pytest.mark.parametrize("event", ["- hold: 2027-02-30", "- {hold: 2027-02-30}", "- {stop: 0000-01-01}"])
def test_an_impossible_date_in_an_events_file_gave_a_traceback(tmp_path: Path, capsys: Capture, event: str) -> None:
    events = write(tmp_path, f"events:\n  {event}\n", "events.yaml")
    assert main(["calendar", "badoux-2011", "--start", START, "--cycles", "1", "--events", str(events)]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: {events}:2:") and "events.0." in line and "is not a real date" in line


def test_an_impossible_date_as_an_option_is_one_line(capsys: Capture) -> None:
    assert main(["calendar", "badoux-2011", "--start", START, "--cycles", "1", "--hold", "2027-02-30"]) == 1
    assert "--hold 2027-02-30" in one_error(capsys)


def test_a_5000_digit_number_gave_a_traceback() -> None:
    """Was: ValueError "Exceeds the limit (4300 digits) for integer string conversion"."""
    with pytest.raises(
        ProtocolError, match=r"^x\.yaml:11:36: phases\.0\.drugs\.0\.dose: the number 1+\.\.\. is too long"
    ):
        parse_protocol(TINY.replace("dose: 10", "dose: " + "1" * 5000), "x.yaml")


@pytest.mark.parametrize(("char", "column"), [("\x01", 5), ("\x7f", 5), ("\ud800", 5), ("\ufffe", 5)])
def test_a_control_character_gave_a_traceback(char: str, column: int) -> None:
    """Was: yaml.reader.ReaderError "unacceptable character #x0001", raised before parsing began."""
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(TINY.replace("id: tiny", f"id: {char}tiny"), "x.yaml")
    assert (caught.value.line, caught.value.column) == (2, column)
    assert f"U+{ord(char):04X}" in caught.value.message and "not allowed in YAML" in caught.value.message


def test_a_control_character_in_a_file_is_one_located_line(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path, TINY.replace("title: Tiny", 'title: "a\x01b"'))
    assert main(["validate", str(path)]) == 1
    assert one_error(capsys).startswith(f"error: {path}:3:10: the character U+0001 (a control character)")


def test_a_merge_key_of_a_number_is_a_located_error(tmp_path: Path, capsys: Capture) -> None:
    """``<<: 5``: PyYAML would raise while flattening; the loader's own merge says where."""
    path = write(tmp_path, TINY.replace("    cycles: 6\n", "    cycles: 6\n    <<: 5\n"))
    assert main(["validate", str(path)]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: {path}:7:5: phases.0: ") and "for merging, but found scalar" in line


# --- numbers that would overflow, exhaust memory or take minutes -------------------------------------


def test_variant_set_every_days_99999999999_wrote_a_file_that_crashed(tmp_path: Path, capsys: Capture) -> None:
    """Was: OverflowError in calendar after ``variant --set`` wrote a file that validate accepted."""
    out = tmp_path / "v.yaml"
    argv = ["variant", "badoux-2011", "--set", "lenalidomide.every_days=99999999999", "-o", str(out)]
    assert main(argv) == 1
    assert "every_days" in one_error(capsys) and not out.exists()


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ("days: 1-99999999", "past the longest possible cycle"),
        ("escalation: {start: 1, step: 1e-30, cap: 25, every_days: 7}, days: 1-21", "dose levels"),
        ("escalation: {start: 1, step: 0.0001, cap: 25, every_days: 7}, days: 1-21", "dose levels"),
        ("escalation: {start: 1, step: 1, cap: 5, every_days: 99999999999}, days: 1-21", "less than or equal"),
        ("days: 1-21, cycles: 1-99999999999", "1000 cycles a phase may have"),
    ],
)
def test_numbers_that_exhausted_the_machine_are_refused_by_validate_at_once(
    tmp_path: Path, capsys: Capture, replace: str, expected: str
) -> None:
    """Was: MemoryError (days), decimal.InvalidOperation or 20 s and 2.5 GB (steps), OverflowError (every_days)."""
    path = write(tmp_path, TINY.replace("dose: 10, days: 1-21", "dose: 10, " + replace).replace("dose: 10, esc", "esc"))
    started = time.perf_counter()
    assert main(["validate", str(path)]) == 1
    assert time.perf_counter() - started < 2
    line = one_error(capsys)
    assert line.startswith(f"error: {path}:11:") and expected in line


def test_validate_dev_zero_is_refused_without_reading_it_all(capsys: Capture) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    assert main(["validate", "/dev/zero"]) == 1
    assert one_error(capsys) == "error: /dev/zero: file is larger than 1000 kB; refusing to read it"


# --- dates past the end of the calendar Python can write ---------------------------------------------


@pytest.mark.parametrize("command", ["calendar", "dispense", "compare", "advise"])
def test_start_9999_12_01_gave_a_traceback(command: str, capsys: Capture) -> None:
    """Was: OverflowError "date value out of range" from the engine (calendar, dispense) or compare."""
    with pytest.raises(SystemExit) as caught:
        main([command, "badoux-2011", "--start", "9999-12-01"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "'9999-12-01' is outside the dates lenasched writes" in err


@pytest.mark.parametrize(
    ("start", "kwargs"),
    [
        (LATEST_DATE - timedelta(days=30), {"cycles": 2}),
        (LATEST_DATE - timedelta(days=100), {"cycles": 2, "events": PatientEvents(events=[Delay(cycle=2, days=90)])}),
        (date(9999, 12, 1), {"cycles": 1}),
        (date(1, 1, 1), {"cycles": 1}),
        (LATEST_DATE - timedelta(days=10), {"until": date(9999, 12, 31)}),
    ],
)
def test_a_calendar_past_the_last_date_gave_an_overflow_error(start: date, kwargs: dict[str, Any]) -> None:
    """Any date expansion computes (cycles, delays, an open-ended protocol to --until) stays in range."""
    with pytest.raises(ScheduleError, match="would run outside the dates lenasched writes"):
        expand(lenasched.get_protocol("badoux-2011"), start, **kwargs)


def test_the_last_writable_dates_still_expand_and_render() -> None:
    """The edges are allowed, and every output's look-ahead (a month grid, a time zone's span) fits."""
    from datetime import time as clock

    from lenasched.formats.html import to_html
    from lenasched.formats.ics import to_ics

    protocol = lenasched.get_protocol("badoux-2011")
    for start in (LATEST_DATE - timedelta(days=27), EARLIEST_DATE):
        cal = expand(protocol, start, cycles=1)
        assert to_ics(cal, reminder=clock(8), tz="Europe/Rome") and to_html(cal)
    assert expand(protocol, LATEST_DATE - timedelta(days=27), cycles=1).end == LATEST_DATE


def test_month_repeats_near_the_last_date_are_refused_before_stepping_months() -> None:
    every_month = {
        "drug": "rituximab",
        "dose": 375,
        "unit": "mg/m2",
        "route": "iv",
        "repeat": {"every_months": 2, "start": {"cycle": 1, "day": 1}},
    }
    protocol = protocol_from_dict(
        {
            "schema_version": 1,
            "id": "m",
            "title": "M",
            "setting": "s",
            "citation": {"title": "c"},
            "phases": [
                {
                    "name": "p",
                    "cycle_length_days": 28,
                    "until_progression": True,
                    "drugs": [{"drug": "lenalidomide", "dose": 10, "days": "1-21"}, every_month],
                }
            ],
        }
    )
    with pytest.raises(ScheduleError, match="outside the dates"):
        expand(protocol, date(9997, 6, 1), cycles=12, patient=lenasched.Patient(bsa_m2=1.9))


def test_compare_start_plus_horizon_past_the_last_date_is_one_line(capsys: Capture) -> None:
    assert main(["compare", "badoux-2011", "--start", "9997-12-01", "--days", "7320"]) == 1
    assert "a horizon of 7320 days from 9997-12-01 would run outside" in one_error(capsys)


def test_days_7321_gave_a_raw_argparse_exception(capsys: Capture) -> None:
    """Was: ``argparse.ArgumentTypeError`` escaping from the command (the limit was checked after parsing)."""
    for command in ("compare", "simulate"):
        with pytest.raises(SystemExit) as caught:
            main([command, "badoux-2011", "--days", "7321"])
        assert caught.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "argument --days: a horizon of 7321 days is longer than" in err


# --- validate accepts only what calendar expands -----------------------------------------------------

OVERLAP = TINY.replace(
    "      - {drug: lenalidomide, dose: 10, days: 1-21}\n",
    "      - {drug: lenalidomide, dose: 10, days: 1-21, cycles: CYCLES_A}\n"
    "      - {drug: lenalidomide, dose: 5, days: 1-21, cycles: CYCLES_B}\n",
)


@pytest.mark.parametrize(
    ("cycles_a", "cycles_b", "cycle"),
    [("3-6", "1-3", 3), ('"2-/2"', '"3-/3"', 6), ('"1, 6"', '"4-6"', 6), ('"5-"', '"2-6/3"', 5)],
)
def test_overlapping_windows_passed_validate_and_failed_calendar(
    tmp_path: Path, capsys: Capture, cycles_a: str, cycles_b: str, cycle: int
) -> None:
    """Was: validate probed cycle 1 and each regimen's first cycle only: "ok", then "given twice" in calendar."""
    path = write(tmp_path, OVERLAP.replace("CYCLES_A", cycles_a).replace("CYCLES_B", cycles_b))
    assert main(["validate", str(path)]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: {path}:12:") and f"given twice on day 1 of cycle {cycle}" in line


def test_regimens_of_one_drug_in_different_cycles_still_validate(tmp_path: Path, capsys: Capture) -> None:
    path = write(tmp_path, OVERLAP.replace("CYCLES_A", '"1-6/2"').replace("CYCLES_B", '"2-6/2"'))
    assert main(["validate", str(path)]) == 0
    assert main(["calendar", str(path), "--start", START, "--format", "csv"]) == 0
    assert capsys.readouterr().out.count("lenalidomide") == 6 * 21


def test_a_window_longer_than_a_later_cycle_was_silently_spilled_into_the_next(tmp_path: Path, capsys: Capture) -> None:
    """Was: cycles 2-3 are 35 days, cycle 5 is 28: days 1-30 of cycle 5 validated and were dated in cycle 6."""
    text = TINY.replace("    cycles: 6\n", "    cycles: 6\n    cycle_lengths: {2: 35, 3: 35}\n").replace(
        "days: 1-21}", 'days: 1-30, cycles: "2, 5"}'
    )
    path = write(tmp_path, text)
    assert main(["validate", str(path)]) == 1
    assert "days 1-30 fall outside cycle 5, which is 28 days long" in one_error(capsys)


def brute_first_shared(a: Any, b: Any, last: int | None, skip: set[int]) -> int | None:
    for cycle in range(1, 1001 if last is None else last + 1):
        if cycle in a and cycle in b and cycle not in skip:
            return cycle
    return None


SPECS = st.sampled_from(["all", "1", "3", "1-6", "2-", "5-", "1-9/2", "2-/2", "5-/5", "7-23/2", "1, 4, 9", "4-/3"])


@settings(max_examples=200, deadline=None)
@given(SPECS, SPECS, st.one_of(st.none(), st.integers(1, 40)), st.sets(st.integers(1, 40), max_size=8))
def test_the_cycles_two_regimens_share_are_found_exactly(a: str, b: str, last: int | None, skip: set[int]) -> None:
    """What replaced the probing: the first shared cycle of any two cycle sets, against counting."""
    first = parse_cycles(a).first_shared(parse_cycles(b), last=last, skip=skip)
    expected = brute_first_shared(parse_cycles(a), parse_cycles(b), last, skip)
    assert first == expected or (last is None and expected is None and first is not None and first > 1000)


# --- where the output goes --------------------------------------------------------------------------


def test_output_to_a_directory_gave_is_a_directory_error(tmp_path: Path, capsys: Capture) -> None:
    assert (
        main(["calendar", "badoux-2011", "--start", START, "--cycles", "1", "--format", "csv", "-o", str(tmp_path)])
        == 1
    )
    assert one_error(capsys) == f"error: cannot write {tmp_path}: it is a directory, not a regular file"


class _FullDisk(io.RawIOBase):
    """A device that is full while ``full`` is set (then it swallows what is left, so closing is quiet)."""

    full = True

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(data)


@pytest.mark.parametrize("fmt", ["csv", "ics", "table"])
def test_a_full_disk_on_standard_output_gave_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture, fmt: str
) -> None:
    """Was: OSError "[Errno 28] No space left on device" as a traceback (stdout redirected to a full disk)."""
    device = _FullDisk()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(device), encoding="utf-8"))
    code = main(["calendar", "badoux-2011", "--start", START, "--cycles", "2", "--format", fmt])
    device.full = False
    assert code == 1
    assert one_error(capsys) == (
        "error: cannot write to standard output: No space left on device "
        "(hint: free some space, or write to a file with --output)"
    )


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_dev_full_as_standard_output_is_one_line_and_exit_1() -> None:
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "lenasched", "calendar", "badoux-2011", "--start", START, "--format", "csv"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [done.stderr.splitlines()[-1]] and "No space left on device" in errors[0], done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "badoux-2011"],
        ["calendar", "label-mm-rd", "--start", START, "--cycles", "1", "--lab", "2027-01-10:anc=0.3"],
        ["calendar", "badoux-2011", "--start", START, "--cycles", "1", "--format", "html"],
        ["dispense", "badoux-2011", "--start", START, "--cycles", "1"],
    ],
)
def test_non_utf8_stdout_gave_a_unicode_encode_error(monkeypatch: pytest.MonkeyPatch, argv: list[str]) -> None:
    """Was: UnicodeEncodeError on "→" (and "·", "×10⁹/L") with PYTHONIOENCODING=ascii or LANG=C and a pipe.

    Characters the output encoding lacks fall back to ASCII: "→" is "->", "×10⁹/L" is "x10^9/L".
    """
    buffer = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(buffer, encoding="ascii", errors="strict"))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    assert main(argv) == 0, err.getvalue()
    text = buffer.getvalue().decode("ascii")
    if argv[0] == "show":
        assert "5 -> 10 -> 15" in text
    if "--lab" in argv:
        assert "x10^9/L" in text
    assert sys.stdout.errors == "strict"  # the stream is given back as it was


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"}, {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0"}])
def test_a_non_utf8_locale_with_a_pipe_falls_back_to_ascii(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lenasched", "show", "badoux-2011"],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "", **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert b"5 -> 10 -> 15" in done.stdout and b"Traceback" not in done.stderr


def test_an_undecodable_file_name_is_written_back_as_it_came(tmp_path: Path) -> None:
    if sys.platform != "linux":
        pytest.skip("bytes file names")
    name = os.fsencode(tmp_path) + b"/\xff.yaml"
    with open(name, "w", encoding="utf-8") as handle:
        handle.write(TINY)
    done = subprocess.run([sys.executable, "-m", "lenasched", "validate", name], capture_output=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith(b"ok: " + name), done


def test_a_defect_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys: Capture) -> None:
    """The last line of defence: an exception lenasched did not mean to raise is still one line, exit 1."""
    import lenasched.cli.show as show_command

    def broken(args: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(show_command, "run", broken)
    monkeypatch.delenv("LENASCHED_TRACEBACK", raising=False)
    assert main(["show", "badoux-2011"]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith("error: internal error: RuntimeError: boom (hint: this is a bug in lenasched")
        and len(err.splitlines()) == 1
    )


# --- events that changed nothing must still be said -----------------------------------------------


def test_an_event_after_the_calendars_end_is_in_the_audit() -> None:
    """The engine records it (tests/test_event_accounting.py covers every kind); here: from the CLI's JSON."""
    import json

    buffer = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", buffer)
        assert main(["calendar", "badoux-2011", "--start", START, "--cycles", "1", "--format", "json",
                     "--hold", "2027-12-01"]) == 0  # fmt: skip
    modifications = json.loads(buffer.getvalue())["modifications"]
    assert modifications[0]["effect"] == "lenalidomide: no planned dose fell in the hold; nothing held"


@pytest.mark.parametrize(
    ("command", "event"),
    [
        (["dispense", "--format", "csv"], ["--hold", "2027-12-01"]),  # after the calendar's end
        (["dispense", "--format", "table"], ["companion"]),  # a hold of allopurinol, which dispense leaves out
        (["calendar", "--format", "csv"], ["--hold", "2027-12-01"]),
    ],
)
def test_an_event_that_changed_nothing_was_silently_ignored(
    tmp_path: Path, capsys: Capture, command: list[str], event: list[str]
) -> None:
    """Was: exit 0 and no word of it; now the audit entries go to stderr as notes (``cli.say_audit``)."""
    if event == ["companion"]:
        events = write(tmp_path, "events:\n  - {hold: 2027-01-10, drug: allopurinol}\n", "events.yaml")
        event = ["--events", str(events)]
    assert main([command[0], "badoux-2011", "--start", START, "--cycles", "1", *command[1:], *event]) == 0
    captured = capsys.readouterr()
    assert "2027-12-01" in captured.out + captured.err or "allopurinol" in captured.err


def test_compare_and_simulate_past_the_last_date_are_refused_in_the_api() -> None:
    """Was: OverflowError from ``start + timedelta(days)`` before any check (comparison, simulation)."""
    from datetime import date

    import lenasched
    from lenasched.design.compare import compare
    from lenasched.errors import ScheduleError

    protocol = lenasched.get_protocol("badoux-2011")
    with pytest.raises(ScheduleError, match="would run outside the dates lenasched writes"):
        compare([protocol], horizon=7320, start=date(9997, 12, 1))
    pytest.importorskip("numpy")
    with pytest.raises(ScheduleError, match="would run outside the dates lenasched writes"):
        lenasched.simulate(protocol, patients=10, start=date(9997, 12, 1))
