"""Each broken file in tests/invalid/ must give the exact message stored next to it (<name>.expected)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lenasched
from lenasched import ProtocolError
from lenasched.cli.main import main

INVALID = Path(__file__).parent / "invalid"
CASES = sorted(INVALID.glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_invalid_file_gives_its_message(path: Path) -> None:
    """The whole message is pinned: ``line:column: field.path: message (hint: ...)`` after the file name."""
    with pytest.raises(ProtocolError) as info:
        lenasched.load_protocol(path)
    text = str(info.value)
    assert text.startswith(f"{path}:"), text
    assert info.value.line is not None and info.value.column is not None
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").strip()
    assert text[len(f"{path}:") :] == expected
    assert expected.startswith(f"{info.value.line}:{info.value.column}: ")


@pytest.mark.parametrize("path", CASES[:3], ids=[p.stem for p in CASES[:3]])
def test_cli_reports_without_traceback(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}:")
    assert "Traceback" not in err


def test_every_case_has_an_expectation() -> None:
    assert len(CASES) >= 12
    for path in CASES:
        assert path.with_suffix(".expected").is_file(), path


def test_protocol_error_is_a_value_error_and_keeps_its_fields() -> None:
    with pytest.raises(ValueError) as info:
        lenasched.load_protocol(INVALID / "misspelt-key.yaml")
    error = info.value
    assert isinstance(error, lenasched.LenaschedError)
    assert isinstance(error, ProtocolError)
    assert error.path == "phases.0.cycle_lenght_days"
    assert error.hint == "did you mean `cycle_length_days`?"
    assert (error.line, error.column) == (8, 5)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError, match="no such file"):
        lenasched.load_protocol(tmp_path / "nope.yaml")
    with pytest.raises(ProtocolError, match="must be a mapping"):
        lenasched.parse_protocol("- 1\n- 2\n")
    with pytest.raises(ProtocolError, match="empty"):
        lenasched.parse_protocol("")


def test_huge_file_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("notes: '" + "x" * 1_100_000 + "'\n")
    with pytest.raises(ProtocolError, match="larger than"):
        lenasched.load_protocol(big)


def test_duplicate_key_refused() -> None:
    with pytest.raises(ProtocolError, match="key 'id' appears twice"):
        lenasched.parse_protocol("schema_version: 1\nid: a\nid: b\n")
