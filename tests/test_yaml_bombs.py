"""Hostile YAML is refused quickly, with a located error naming the limit, whatever PyYAML is installed.

Alias bombs ("billion laughs"), merge-key bombs, deep nesting and oversized files, through the
protocol loader and through the label reader (which uses the same reader).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import lenasched
from lenasched import ProtocolError
from lenasched.model.label import load_label, parse_label
from lenasched.model.loader import MAX_ALIASES, MAX_BYTES, MAX_DEPTH, MAX_MERGED, MAX_NODES, _read_yaml


def billion_laughs() -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def merge_doubling() -> str:
    """Each level merges the one before twice: 2**24 entries if every alias were copied."""
    lines = ["m0: &m0 {k0: 0}"]
    lines += [f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}], k{i}: {i}}}" for i in range(1, 25)]
    return "\n".join(lines) + "\n"


def merge_fan_out() -> str:
    """Eight mappings merge the previous level, and the next level merges all eight: 8**n entries."""
    lines = ["n0: &n0 {a: 0, b: 1, c: 2, d: 3, e: 4, f: 5, g: 6, h: 7}"]
    for level in range(1, 5):
        names = [f"l{level}{j}" for j in range(8)]
        lines += [f"{name}: &{name} {{<<: *n{level - 1}}}" for name in names]
        lines.append(f"n{level}: &n{level} {{<<: [{', '.join('*' + n for n in names)}]}}")
    return "\n".join(lines) + "\n"


BOMBS: dict[str, tuple[Callable[[], str], str]] = {
    "billion-laughs": (billion_laughs, f"more than {MAX_NODES} nodes"),
    "merge-doubling": (merge_doubling, f"more than {MAX_MERGED} entries into this mapping (limit MAX_MERGED)"),
    "merge-fan-out": (merge_fan_out, f"more than {MAX_MERGED} entries into this mapping (limit MAX_MERGED)"),
}


def refused(read: Callable[[], object]) -> tuple[ProtocolError, float]:
    start = time.perf_counter()
    with pytest.raises(ProtocolError) as info:
        read()
    return info.value, time.perf_counter() - start


@pytest.mark.parametrize("name", list(BOMBS))
def test_small_bombs_are_refused_quickly_with_the_limit_named(name: str, tmp_path: Path) -> None:
    make, limit = BOMBS[name]
    text = make()
    assert len(text.encode("utf-8")) < 1024
    file = tmp_path / f"{name}.yaml"
    file.write_text(text, encoding="utf-8")
    readers: list[Callable[[], object]] = [
        lambda: lenasched.parse_protocol(text, "bomb.yaml"),
        lambda: lenasched.load_protocol(file),
        lambda: parse_label(text, "bomb.yaml"),
    ]
    for read in readers:
        error, seconds = refused(read)
        assert seconds < 2, f"{name}: {seconds:.2f} s"
        assert limit in error.message, error
        assert error.file in ("bomb.yaml", str(file)) and error.line is not None and error.column is not None


def test_merge_bomb_is_refused_without_pyyaml_flattening(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard does not rely on the installed PyYAML's own merge-key handling (fixed only in 6.0.4)."""

    def exploding(self: object, node: object) -> None:
        raise AssertionError("PyYAML's flatten_mapping was called")

    monkeypatch.setattr(yaml.constructor.SafeConstructor, "flatten_mapping", exploding)
    error, seconds = refused(lambda: lenasched.parse_protocol(merge_doubling(), "bomb.yaml"))
    assert "MAX_MERGED" in error.message and seconds < 2


def test_plain_merge_keys_still_work() -> None:
    data, _ = _read_yaml("a: &a {x: 1, y: 2}\nb: {<<: *a, z: 3}\nc: {<<: [*a, *a]}\n", "m.yaml")
    assert data == {"a": {"x": 1, "y": 2}, "b": {"x": 1, "y": 2, "z": 3}, "c": {"x": 1, "y": 2}}


def test_too_many_aliases_are_refused_while_composing() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    error, seconds = refused(lambda: lenasched.parse_protocol(text, "aliases.yaml"))
    assert f"more than {MAX_ALIASES} aliases" in error.message and "MAX_ALIASES" in error.message
    assert (error.line, error.column) == (2, 5 + 4 * MAX_ALIASES) and seconds < 2
    _read_yaml("a: &a 1\nb: [" + ", ".join(["*a"] * MAX_ALIASES) + "]\n", "ok.yaml")  # the limit itself is fine


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 5000 + "]" * 5000 + "\n",
        "a: " + "{b: " * 500 + "1" + "}" * 500 + "\n",
        "".join(" " * i + "k:\n" for i in range(MAX_DEPTH + 5)) + " " * (MAX_DEPTH + 5) + "k: 1\n",
        "- " * 1000 + "1\n",
    ],
    ids=["flow-lists", "flow-mappings", "block-mappings", "block-lists"],
)
def test_deep_nesting_is_refused_with_a_located_error(text: str, tmp_path: Path) -> None:
    file = tmp_path / "deep.yaml"
    file.write_text(text, encoding="utf-8")
    error, seconds = refused(lambda: lenasched.load_protocol(file))
    assert str(error).startswith(f"{file}:{error.line}:{error.column}: ")
    assert f"deeper than {MAX_DEPTH} levels (limit MAX_DEPTH)" in error.message and seconds < 2


@pytest.mark.parametrize(
    "text", ["x: &a [*a]\n", "a: &a {x: {<<: *a}}\n"], ids=["list-containing-itself", "merge-cycle"]
)
def test_nesting_through_aliases_is_refused_with_a_located_error(text: str) -> None:
    error, _ = refused(lambda: lenasched.parse_protocol(text, "cycle.yaml"))
    assert error.line == 1 and error.column is not None
    assert f"deeper than {MAX_DEPTH} levels once aliases are expanded" in error.message
    assert error.path is not None and len(error.path) < 20


def test_malformed_merge_is_a_located_protocol_error() -> None:
    error, _ = refused(lambda: lenasched.parse_protocol("a: {<<: 1}\n", "merge.yaml"))
    assert (error.line, error.column, error.path) == (1, 4, "a")
    assert "expected a mapping or list of mappings for merging" in error.message


def test_oversized_files_are_refused_before_parsing(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("a: [" * (MAX_BYTES // 4 + 1), encoding="utf-8")  # would not even parse
    assert big.stat().st_size > MAX_BYTES
    error, seconds = refused(lambda: lenasched.load_protocol(big))
    assert "larger than 1000 kB" in error.message and error.file == str(big) and seconds < 2
    error, _ = refused(lambda: lenasched.parse_protocol(big.read_text(encoding="utf-8"), "big.yaml"))
    assert "larger than 1000 kB" in error.message
    error, _ = refused(lambda: load_label(big))
    assert "larger than 200 kB" in error.message


def test_cli_reports_a_bomb_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from lenasched.cli.main import main

    file = tmp_path / "bomb.yaml"
    file.write_text(merge_doubling(), encoding="utf-8")
    assert main(["validate", str(file)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {file}:") and "MAX_MERGED" in err and len(err.splitlines()) == 1
