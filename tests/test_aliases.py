"""Former protocol ids (``registry.ALIASES``): a renamed protocol still answers to its old id.

The library returns the protocol under its current id; the command line prints exactly what the current
id gives on stdout and says once, on stderr, that the id is a former one.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

import lenasched
from lenasched import docgen
from lenasched.cli.main import main
from lenasched.errors import UnknownProtocolError
from lenasched.formats.csv import to_csv
from lenasched.model.registry import ALIAS_REASONS, ALIASES, alias_note, current_id, protocol_path, resolve

Capture = pytest.CaptureFixture[str]

OLD, NEW = "badoux-2011-lo", "badoux-2010-lo"
NOTE = (
    f"note: '{OLD}' is the former id of '{NEW}' "
    "(renamed: the Badoux report the review cites as [24] is an ASH 2010 abstract)"
)
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def run(capsys: Capture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- the registry ------------------------------------------------------------------------------------


def test_every_alias_names_a_bundled_protocol_and_none_is_one() -> None:
    bundled = set(lenasched.bundled_ids())
    assert ALIASES, "the mapping is empty: drop this test file with it"
    for old, new in ALIASES.items():
        assert new in bundled, f"alias {old!r} points at {new!r}, which is not bundled"
        assert old not in bundled, f"alias {old!r} is also a bundled id (a file protocols/{old}.yaml)"
        assert old not in ALIASES.values(), f"alias {old!r} is itself a target: chains are not followed"
        assert _ID.match(old), old
        assert ALIAS_REASONS.get(old), f"alias {old!r} has no reason in ALIAS_REASONS"
    assert set(ALIAS_REASONS) <= set(ALIASES)


def test_the_alias_resolves_to_the_current_protocol() -> None:
    assert ALIASES[OLD] == NEW and current_id(OLD) == NEW and current_id(NEW) == NEW
    current = lenasched.get_protocol(NEW)
    assert lenasched.get_protocol(OLD) is current
    assert current.id == NEW
    assert resolve(OLD) is current and lenasched.resolve(OLD).id == NEW
    assert protocol_path(OLD) == protocol_path(NEW)
    assert protocol_path(NEW).name == f"{NEW}.yaml"


def test_the_alias_gives_the_same_calendar() -> None:
    start = date(2026, 12, 1)
    by_alias = lenasched.expand(lenasched.get_protocol(OLD), start, cycles=24)
    by_id = lenasched.expand(lenasched.get_protocol(NEW), start, cycles=24)
    assert by_alias.days == by_id.days
    assert to_csv(by_alias) == to_csv(by_id)


def test_bundled_ids_lists_current_ids_only() -> None:
    ids = lenasched.bundled_ids()
    assert NEW in ids
    assert not set(ALIASES) & set(ids)


def test_an_unknown_id_still_gets_the_close_matches() -> None:
    with pytest.raises(UnknownProtocolError) as info:
        lenasched.get_protocol("badoux-2012-lo")
    assert NEW in info.value.close_matches
    assert not set(ALIASES) & set(info.value.close_matches)  # suggestions are current ids
    assert "did you mean" in str(info.value)
    with pytest.raises(UnknownProtocolError):
        protocol_path(OLD + "x")


def test_alias_note_only_for_a_former_id() -> None:
    assert alias_note(OLD) == NOTE.removeprefix("note: ")
    assert alias_note(NEW) is None
    assert alias_note("badoux-2011") is None
    assert alias_note(f"protocols/{OLD}.yaml") is None  # a path is a file, not an id


# --- the command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ("calendar", "{}", "--start", "2026-12-01", "--cycles", "3", "--format", "csv"),
        ("calendar", "{}", "--start", "2026-12-01", "--cycles", "2", "--format", "json"),
        ("show", "{}"),
        ("dispense", "{}", "--start", "2026-12-01", "--cycles", "2"),
        ("compare", "{}", "badoux-2011", "--days", "84", "--format", "csv"),
    ],
    ids=lambda argv: "-".join(a for a in argv if not a.startswith("{") and a[:1].isalpha())[:40],
)
def test_cli_notes_the_alias_on_stderr_and_keeps_stdout(capsys: Capture, argv: tuple[str, ...]) -> None:
    code_new, out_new, err_new = run(capsys, *(a.format(NEW) for a in argv))
    code_old, out_old, err_old = run(capsys, *(a.format(OLD) for a in argv))
    assert code_new == code_old == 0
    assert out_old == out_new
    assert NOTE not in err_new and "former id" not in err_new
    assert err_old.splitlines().count(NOTE) == 1
    assert err_old.replace(NOTE + "\n", "", 1) == err_new


def test_cli_validate_accepts_the_alias(capsys: Capture) -> None:
    code, out, err = run(capsys, "validate", "--strict", OLD)
    assert code == 0 and f"ok: {OLD} ({NEW};" in out
    assert err.splitlines() == [NOTE]


def test_cli_set_may_name_the_protocol_by_its_former_id(capsys: Capture) -> None:
    code_new, out_new, _ = run(
        capsys,
        "compare",
        NEW,
        "badoux-2011",
        "--days",
        "84",
        "--format",
        "csv",
        "--set",
        f"{NEW}:lenalidomide.first_cycle_start_day=1",
    )
    code_old, out_old, err_old = run(
        capsys,
        "compare",
        OLD,
        "badoux-2011",
        "--days",
        "84",
        "--format",
        "csv",
        "--set",
        f"{OLD}:lenalidomide.first_cycle_start_day=1",
    )
    assert code_new == code_old == 0 and out_old == out_new
    assert f"{NEW}-variant" in out_old
    assert err_old.splitlines().count(NOTE) == 1


def test_cli_unknown_id_is_still_refused_with_close_matches(capsys: Capture) -> None:
    code, out, err = run(capsys, "calendar", "badoux-2012-lo", "--start", "2026-12-01", "--format", "csv")
    assert code == 1 and out == ""
    assert "unknown protocol id 'badoux-2012-lo'; did you mean" in err and NEW in err
    assert "former id" not in err and "Traceback" not in err


def test_the_catalogue_lists_the_former_id() -> None:
    page = docgen.catalogue_page()
    assert f"`{OLD}` is now [{NEW}](#{NEW})" in page
    assert f"## {OLD} " not in page and f"## {NEW} {{#{NEW}}}" in page
