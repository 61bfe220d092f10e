"""Start-up of the command line: the csv calendar imports only what it uses, and the cache is never trusted blindly."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lenasched.model import cache, label, registry
from lenasched.model.loader import load_protocol
from lenasched.model.protocol import Protocol
from lenasched.model.registry import bundled_ids, protocol_path

CSV = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "6", "--format", "csv"]

HEAVY = (
    "rich",
    "jinja2",
    "numpy",
    "pandas",
    "matplotlib",
    "icalendar",
    "starlette",
    "uvicorn",
    "lenasched.web",
    "lenasched.design.simulation",
    "lenasched.design.compare",
    "lenasched.design.variants",
    "lenasched.design.plot",
    "lenasched.engine.renal",
    "lenasched.pharmacy.dispense",
    "lenasched.render",
)
"""Never imported by a csv calendar: these packages and modules, and everything below them."""

OWN = {
    "lenasched.cli": {
        "lenasched.cli",
        "lenasched.cli.main",
        "lenasched.cli.registry",
        "lenasched.cli.options",
        "lenasched.cli.calendar",
        "lenasched.cli._events",
        "lenasched.cli._pharmacy",
    },
    "lenasched.formats": {
        "lenasched.formats",
        "lenasched.formats.csv",
        "lenasched.formats.cells",
        "lenasched.formats.describe",
    },
}
"""Of these packages a csv calendar imports only its own modules: no other command, no other format."""


def _run(args: list[str], cache_dir: Path | str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LENASCHED_CACHE_DIR=str(cache_dir))
    return subprocess.run(
        [sys.executable, *extra, "-m", "lenasched", *args], capture_output=True, text=True, env=env, check=False
    )


def _imported(stderr: str) -> set[str]:
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize("warm", [False, True], ids=["cold-cache", "warm-cache"])
def test_csv_calendar_imports_no_heavy_module(tmp_path: Path, warm: bool) -> None:
    if warm:
        assert _run(CSV, tmp_path).returncode == 0
    done = _run(CSV, tmp_path, "-X", "importtime")
    assert done.returncode == 0, done.stderr
    loaded = _imported(done.stderr)
    assert "lenasched.engine" in loaded  # the importtime output was read
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []
    for package, own in OWN.items():
        assert sorted(m for m in loaded if m.startswith(package) and m not in own) == []
    if warm:  # the compiled protocol from the cache: no YAML read, no model built, so neither library is imported
        assert sorted(m for m in loaded if m.split(".")[0] in ("yaml", "pydantic", "pydantic_core")) == []
        assert "dateutil.parser" not in loaded  # YYYY-MM-DD is read by the standard library


def test_a_warm_csv_calendar_builds_no_validator(tmp_path: Path) -> None:
    """With the cache warm, no model builds its validator (``defer_build``): nothing is validated at all."""
    script = (
        "import io, contextlib\n"
        "from pydantic import BaseModel\n"
        "from lenasched.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        f"    assert main({CSV!r}) == 0\n"
        "def every(cls):\n"
        "    for sub in cls.__subclasses__():\n"
        "        yield sub\n"
        "        yield from every(sub)\n"
        "built = sorted({c.__qualname__ for c in every(BaseModel) if c.__module__.startswith('lenasched')\n"
        "                and c.__dict__.get('__pydantic_complete__')})\n"
        "print(built)\n"
    )
    env = dict(os.environ, LENASCHED_CACHE_DIR=str(tmp_path))
    for run in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 0, done.stderr
        if run == "cold":
            assert "Protocol" in done.stdout  # the first run validates (the check would see a validator)
    assert done.stdout.strip() == "[]"


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    from lenasched.cli.registry import COMMANDS

    done = _run(["--help"], tmp_path)
    assert done.returncode == 0
    for name in COMMANDS:
        assert f"\n    {name} " in done.stdout


def test_a_corrupt_or_stale_cache_is_ignored(tmp_path: Path) -> None:
    expected = _run(CSV, tmp_path / "fresh")
    assert expected.returncode == 0
    entries = list((tmp_path / "fresh").glob("label-facts-*.json"))
    assert len(entries) == 1
    for garbage in (
        b"\x00\xff not json",
        b"",
        b"[1, 2]",
        json.dumps({"key": "0" * 64, "value": {"strengths_us": ["99"]}}).encode(),  # stale: another key
        json.dumps({"key": cache.cache_key("label-facts", label.label_path().read_bytes()), "value": 5}).encode(),
        json.dumps(
            {
                "key": cache.cache_key("label-facts", label.label_path().read_bytes()),
                "value": {"strengths_us": ["-1", "x"], "strengths_eu": [], "not_indicated_cll": 3},
            }
        ).encode(),
    ):
        entries[0].write_bytes(garbage)
        done = _run(CSV, tmp_path / "fresh")
        assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_an_unwritable_or_disabled_cache_is_no_error(tmp_path: Path) -> None:
    expected = _run(CSV, "")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = _run(CSV, blocker / "cache")
    assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_cached_label_facts_equal_the_validated_label(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LENASCHED_CACHE_DIR", str(tmp_path))
    whole = label.load_label()
    for _ in range(2):  # a miss that stores, then a hit that reads
        label.bundled_facts.cache_clear()
        facts = label.bundled_facts()
        assert facts.strengths_us == whole.strengths_for("us")
        assert facts.strengths_eu == whole.strengths_for("eu")
        assert facts.not_indicated_cll == whole.not_indicated_cll.value
        assert label.bundled_strengths("eu") == tuple(Decimal(s) for s in facts.strengths_eu)
    assert len(list(tmp_path.glob("label-facts-*.json"))) == 1
    label.bundled_facts.cache_clear()


# --- the validated bundled protocols in the cache --------------------------------------------------


def _same_tree(a: Any, b: Any, path: str = "protocol") -> None:
    """Equal, and of the very same classes throughout (``==`` alone lets ``Sourced[int]`` pass for ``Sourced[str]``)."""
    assert type(a) is type(b), path
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set, path
        for name in type(a).model_fields:
            _same_tree(getattr(a, name), getattr(b, name), f"{path}.{name}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _same_tree(x, y, f"{path}.{i}")
    elif isinstance(a, dict):
        assert list(a) == list(b), path
        for key in a:
            _same_tree(a[key], b[key], f"{path}.{key}")
    else:
        assert a == b, path


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder, and no protocol remembered by this process."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("LENASCHED_CACHE_DIR", str(folder))
    registry._bundled.cache_clear()
    yield folder
    registry._bundled.cache_clear()


def _fresh(protocol_id: str) -> Protocol:
    registry._bundled.cache_clear()
    return registry.get_protocol(protocol_id)


@pytest.mark.parametrize("protocol_id", bundled_ids())
def test_a_cached_bundled_protocol_is_the_validated_one(fresh_cache: Path, protocol_id: str) -> None:
    validated = load_protocol(protocol_path(protocol_id))
    stored = _fresh(protocol_id)  # a miss: validated, then stored
    entry = fresh_cache / f"protocol-{protocol_id}.pickle"
    assert entry.is_file()
    assert cache.load_model("protocol", protocol_id, protocol_path(protocol_id).read_bytes(), Protocol) is not None
    cached = _fresh(protocol_id)  # a hit: read back, not validated
    assert cached is not stored
    _same_tree(cached, validated)
    _same_tree(stored, validated)
    assert cached.model_dump() == validated.model_dump()
    assert cached.assumptions() == validated.assumptions()


def _entry_bytes(data: bytes, payload: bytes, deps: list[list[Any]] | None = None, key: str | None = None) -> bytes:
    header = json.dumps({"key": key or cache.cache_key("protocol", data), "deps": deps or []}).encode()
    return b"lenasched-model\n" + len(header).to_bytes(4, "big") + header + payload


class _Trap:
    """Unpickling this would create the folder ``path``: a restricted unpickler must refuse it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (os.mkdir, (str(self.path),))


def test_a_corrupt_stale_or_foreign_cache_entry_is_a_miss(fresh_cache: Path, tmp_path: Path) -> None:
    data = protocol_path("badoux-2011").read_bytes()
    expected = _fresh("badoux-2011")
    entry = fresh_cache / "protocol-badoux-2011.pickle"
    good = entry.read_bytes()
    other = load_protocol(protocol_path("badoux-2010-lo"))
    classes = cache._model_classes(Protocol)
    trap = tmp_path / "trap"
    for garbage in (
        b"",
        b"\x00\xff not an entry",
        good[: len(good) // 2],  # truncated
        good[:-1] + b"\x00",
        b"lenasched-model\n" + (10**9).to_bytes(4, "big") + b"{}",  # a header longer than the file
        _entry_bytes(data, cache._dumps(expected, classes), key="0" * 64),  # stale: another file or release
        _entry_bytes(data, cache._dumps(expected, classes), deps=[[str(tmp_path / "gone.yaml"), "0" * 64]]),
        _entry_bytes(data, cache._dumps(expected, classes), deps=[["x"]]),
        _entry_bytes(data, cache._dumps(other.citation, classes)),  # not a protocol at all
        _entry_bytes(data, pickle.dumps(_Trap(trap))),  # a global outside the allowed few
        _entry_bytes(data, pickle.dumps({"id": "badoux-2011"})),
        _entry_bytes(data, b"\x80\x05K\x07\x94."),  # a pickle of 7
    ):
        entry.write_bytes(garbage)
        assert cache.load_model("protocol", "badoux-2011", data, Protocol) is None
        _same_tree(_fresh("badoux-2011"), expected)  # validated again (and a good entry stored)
        assert not trap.exists()
    # another protocol's entry under this name and key is a well-formed protocol: the registry refuses it
    entry.write_bytes(_entry_bytes(data, cache._dumps(other, classes)))
    _same_tree(_fresh("badoux-2011"), expected)
    assert entry.read_bytes() != b""  # the last miss stored a good entry again
    assert cache.load_model("protocol", "badoux-2011", data, Protocol) is not None


def test_an_edited_protocol_or_add_on_misses(
    fresh_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of the bundled folder stands in for it: edit the protocol, then an add-on it includes."""
    from lenasched.model import loader

    bundled = tmp_path / "protocols"
    shutil.copytree(protocol_path("badoux-2011").parent, bundled)
    monkeypatch.setattr(registry, "protocols_dir", lambda: bundled)
    validated: list[str] = []

    def counting(path: Any) -> Protocol:
        validated.append(Path(path).stem)
        return load_protocol(path)

    monkeypatch.setattr(loader, "load_protocol", counting)
    including = next(pid for pid in bundled_ids() if not pid.startswith("label-") and _fresh(pid).includes)
    validated.clear()
    first = _fresh(including)
    assert validated == []  # a hit
    file = bundled / f"{including}.yaml"
    file.write_text(file.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert _fresh(including) == first and validated == [including]  # the edited file missed
    assert _fresh(including) == first and validated == [including]  # and was stored again

    addon = bundled / "addons" / f"{first.includes[0].addon}.yaml"
    addon.write_text(addon.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    assert _fresh(including) == first and validated == [including, including]  # so did an edited add-on


def test_an_edited_file_misses_and_a_dependency_is_checked(fresh_cache: Path, tmp_path: Path) -> None:
    protocol = load_protocol(protocol_path("badoux-2011"))
    data = protocol_path("badoux-2011").read_bytes()
    dep = tmp_path / "dep.yaml"
    dep.write_text("a: 1\n")
    absent = tmp_path / "absent.yaml"
    cache.store_model("protocol", "x", data, protocol, [dep, absent])
    assert cache.load_model("protocol", "x", data, Protocol) == protocol
    assert cache.load_model("protocol", "x", data + b"\n# edited\n", Protocol) is None  # the file itself
    dep.write_text("a: 2\n")
    assert cache.load_model("protocol", "x", data, Protocol) is None  # a file it was built from
    dep.write_text("a: 1\n")
    assert cache.load_model("protocol", "x", data, Protocol) == protocol
    absent.write_text("b: 1\n")
    assert cache.load_model("protocol", "x", data, Protocol) is None  # a file that appeared where one was looked for


def test_a_file_named_by_path_is_always_validated(fresh_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise AssertionError("the cache was consulted for a file given by path")

    monkeypatch.setattr(cache, "load_model", refuse)
    monkeypatch.setattr(cache, "store_model", refuse)
    protocol = registry.resolve(str(protocol_path("badoux-2011")))
    assert protocol.id == "badoux-2011"
    assert not fresh_cache.exists() or not list(fresh_cache.glob("protocol-*"))


def test_the_code_stamp_changes_with_a_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key names the code that made the entry: an edited module of a checkout never meets an old entry."""
    before = cache.code_stamp()
    assert before == cache.code_stamp()
    folder = tmp_path / "lenasched"
    folder.mkdir()
    (folder / "protocol.py").write_text("x = 1\n")
    fake = folder / "cache.py"
    fake.write_text("")
    monkeypatch.setattr(cache, "__file__", str(fake))
    cache.code_stamp.cache_clear()
    try:
        stamped = cache.code_stamp()
        (folder / "protocol.py").write_text("x = 22\n")
        cache.code_stamp.cache_clear()
        assert cache.code_stamp() != stamped
    finally:
        monkeypatch.undo()
        cache.code_stamp.cache_clear()
    assert cache.code_stamp() == before


def test_entries_of_the_cache_stay_few(fresh_cache: Path) -> None:
    """One entry per bundled protocol, replaced when it goes stale, so the folder never grows with use."""
    data = protocol_path("badoux-2011").read_bytes()
    protocol = _fresh("badoux-2011")
    for edit in range(3):
        cache.store_model("protocol", "badoux-2011", data + b"#" * edit, protocol)
    assert len(list(fresh_cache.glob("protocol-badoux-2011*"))) == 1
    assert not list(fresh_cache.glob(".*tmp"))
