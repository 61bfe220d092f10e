"""A small on-disk cache of what lenasched derived from bundled files, so the command line need not redo it.

Two kinds of entry:

- **Facts** (:func:`load` / :func:`store`): plain JSON (``label-facts-bundled.json``: capsule strengths
  and the CLL sentence of the label).
- **Models** (:func:`load_model` / :func:`store_model`): a bundled protocol as validated, so a calendar
  of a bundled protocol needs no YAML parsing, no validator building and no validation
  (``protocol-badoux-2011.pickle``): the key of the file it came from, the hashes of the other files it
  was built from (add-ons) and the validated model as a pickle.
- **Compiled protocols** (:func:`load_compiled` / :func:`store_compiled`): the same, holding the
  protocol's plain form (``lenasched.model.compiled``, ``compiled-badoux-2011.pickle``), which the
  command line expands without importing pydantic; read back building only the plain classes.

Each entry holds its key and is found by a fixed name (kind and name), so a stale entry is replaced
rather than joined by a new one: the folder stays as small as the bundled set, however often
lenasched is upgraded or (in a checkout) edited.

Keys. A key is the SHA-256 of the file's bytes, the entry's kind, lenasched's version and a **code
stamp**: the size and modification time of every module of the ``lenasched`` package folder, Python's
and pydantic's versions. An edited file, an edited add-on, an edited lenasched module (a source
checkout), another release, another Python or pydantic simply misses; nothing is ever reused across them.

Trust. The cache lives in ``$LENASCHED_CACHE_DIR``, else ``$XDG_CACHE_HOME/lenasched``, else
``~/.cache/lenasched``; ``LENASCHED_CACHE_DIR=""`` turns it off. It is the user's own folder and is
trusted like the rest of their home directory: a hit is not validated again, so whoever can write
there could change a cached protocol's values (as they could edit the user's shell start-up files or,
in a checkout, the protocol files themselves). It can never run code, though: a model entry is read by
a restricted unpickler that builds only the model classes of the one validated tree asked for (by their
position in that tree, never by a name found in the file) and ``Decimal``, ``date`` and ``CycleSet``;
any other global is refused and the entry is a miss. An entry is stored only for a file that
validated, and only after it was read back this way and compared equal to the validated model, so an
untouched cache never gives what validating the file would not.

Everything here fails silently: an unreadable, corrupt, stale or foreign entry is a miss, and a cache
that cannot be written is simply not written.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "cache_dir",
    "cache_key",
    "code_stamp",
    "load",
    "load_compiled",
    "load_model",
    "store",
    "store_compiled",
    "store_model",
]

FORMAT = 2
"""Bumped when the layout of an entry changes."""

_MAGIC = b"lenasched-model\n"
_HEADER_MAX = 64_000
_ALLOWED_GLOBALS = frozenset({("decimal", "Decimal"), ("datetime", "date"), ("lenasched.model.dayspec", "CycleSet")})
"""The only classes, besides the models of the tree asked for, a model entry may build."""

_M = TypeVar("_M", bound="BaseModel")
_N = TypeVar("_N")


def cache_dir() -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    configured = os.environ.get("LENASCHED_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lenasched"


def cache_key(kind: str, data: bytes) -> str:
    """The key of ``kind`` derived from a file's bytes ``data`` by this version (and code) of lenasched."""
    digest = hashlib.sha256(f"{kind}\0{_version()}\0{FORMAT}\0{code_stamp()}\0".encode())
    digest.update(data)
    return digest.hexdigest()


def _version() -> str:
    # looked up, not imported with ``from . import``: that import made mypy see lenasched's names twice
    import importlib

    return str(importlib.import_module("lenasched").__version__)


@cache
def code_stamp() -> str:
    """Size and modification time of every module in the ``lenasched`` folder, Python's and pydantic's versions.

    Part of every key, so an edited module of a source checkout never meets an entry an older version of
    it wrote (a model entry's classes would otherwise not match its data).
    """
    parts = [sys.version, _pydantic_version()]
    folder = Path(__file__).resolve().parent
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.endswith(".py") and entry.is_file():
                info = entry.stat()
                parts.append(f"{entry.name}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _pydantic_version() -> str:
    """pydantic's installed version file, by size and time: found without importing pydantic (start-up)."""
    from importlib.util import find_spec

    try:
        spec = find_spec("pydantic")
        folder = spec.submodule_search_locations if spec is not None else None
        if not folder:
            return "?"
        info = os.stat(os.path.join(next(iter(folder)), "version.py"))
    except (ImportError, ValueError, OSError, StopIteration):  # pragma: no cover - pydantic is a dependency
        return "?"
    return f"pydantic:{info.st_size}:{info.st_mtime_ns}"


def _entry(kind: str, name: str, suffix: str) -> Path | None:
    folder = cache_dir()
    if folder is None or not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    return folder / f"{kind}-{name}{suffix}"


def load(kind: str, data: bytes, name: str = "bundled") -> Any | None:
    """The value stored as ``name`` for ``kind`` and the file bytes ``data``, or None (absent, stale, corrupt)."""
    key = cache_key(kind, data)
    path = _entry(kind, name, ".json")
    if path is None:
        return None
    try:
        entry = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or "value" not in entry:
        return None
    return entry["value"]


def store(kind: str, data: bytes, value: Any, name: str = "bundled") -> None:
    """Remember ``value`` (plain JSON data) as ``name`` for ``kind`` and the file bytes ``data``; skipped on failure."""
    key = cache_key(kind, data)
    path = _entry(kind, name, ".json")
    if path is None:
        return
    _write(path, json.dumps({"key": key, "value": value}).encode("utf-8"))


def _write(path: Path, payload: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_bytes(payload)
        os.replace(temporary, path)  # readers see the old entry or the whole new one, never half of it
    except (OSError, ValueError, TypeError):
        with contextlib.suppress(OSError):
            temporary.unlink()


# --- validated models -------------------------------------------------------------------------------


def _file_hash(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _payload(kind: str, name: str, data: bytes) -> bytes | None:
    """The pickled part of the entry ``name`` of ``kind`` when its key and every file it was built from match."""
    path = _entry(kind, name, ".pickle")
    if path is None:
        return None
    try:
        raw = path.read_bytes()
        if not raw.startswith(_MAGIC):
            return None
        length = int.from_bytes(raw[len(_MAGIC) : len(_MAGIC) + 4], "big")
        if length > _HEADER_MAX:
            return None
        start = len(_MAGIC) + 4
        header = json.loads(raw[start : start + length])
        if not isinstance(header, dict) or header.get("key") != cache_key(kind, data):
            return None
        deps = header.get("deps")
        if not isinstance(deps, list):
            return None
        for dep in deps:
            if not (isinstance(dep, list) and len(dep) == 2 and isinstance(dep[0], str)):
                return None
            if _file_hash(dep[0]) != dep[1]:
                return None
    except Exception:  # a miss, whatever went wrong: the caller validates the file instead
        return None
    return raw[start + length :]


def _store_payload(kind: str, name: str, data: bytes, payload: bytes, deps: Iterable[str | Path]) -> None:
    path = _entry(kind, name, ".pickle")
    if path is None:
        return
    entry = {"key": cache_key(kind, data), "deps": [[str(dep), _file_hash(dep)] for dep in deps]}
    header = json.dumps(entry).encode("utf-8")
    _write(path, _MAGIC + len(header).to_bytes(4, "big") + header + payload)


def load_model(kind: str, name: str, data: bytes, model: type[_M]) -> _M | None:
    """The ``model`` stored as ``name`` for the file bytes ``data``, or None (a miss).

    A miss: no entry, another key (the file, lenasched, Python or pydantic changed), a file it was
    built from that changed or appeared, a corrupt or foreign entry, or anything but a ``model``.
    """
    payload = _payload(kind, name, data)
    if payload is None:
        return None
    try:
        value = _restricted_loads(payload, _model_classes(model))
    except Exception:  # a miss, whatever went wrong: the caller validates the file instead
        return None
    return value if type(value) is model else None


def store_model(kind: str, name: str, data: bytes, value: BaseModel, deps: Iterable[str | Path] = ()) -> None:
    """Remember the validated ``value`` as ``name`` for the file bytes ``data``; silently skipped on failure.

    ``deps`` are the other files ``value`` was built from (add-ons, including the places an add-on
    would be looked up first but is absent): an entry misses as soon as any of them differs.
    """
    classes = _model_classes(type(value))
    try:
        payload = _dumps(value, classes)
        if _restricted_loads(payload, classes) != value:  # never store what would not read back the same
            return
    except Exception:  # not cacheable (an unexpected class, a changed pydantic): simply not cached
        return
    _store_payload(kind, name, data, payload, deps)


def load_compiled(kind: str, name: str, data: bytes, root: type[_N]) -> _N | None:
    """The compiled (plain, ``lenasched.model.compiled``) tree stored as ``name`` for ``data``, or None (a miss).

    Read by an unpickler that builds only the plain classes, ``Decimal``, ``date`` and ``CycleSet``.
    """
    payload = _payload(kind, name, data)
    if payload is None:
        return None
    try:
        value = _restricted_loads(payload, (), _plain_globals())
    except Exception:  # a miss, whatever went wrong: the caller compiles the protocol instead
        return None
    return value if type(value) is root else None


def store_compiled(kind: str, name: str, data: bytes, value: Any, deps: Iterable[str | Path] = ()) -> None:
    """Remember a compiled tree as ``name`` for the file bytes ``data``; silently skipped on failure."""
    import pickle

    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        if _restricted_loads(payload, (), _plain_globals()) != value:  # never store what reads back otherwise
            return
    except Exception:  # not cacheable: simply not cached
        return
    _store_payload(kind, name, data, payload, deps)


def _plain_globals() -> dict[tuple[str, str], Any]:
    from lenasched.model.compiled import plain_classes

    return {("lenasched.model.compiled", name): cls for name, cls in plain_classes().items()}


@cache
def _model_classes(root: type[BaseModel]) -> tuple[type[BaseModel], ...]:
    """Every model class reachable from ``root``'s fields, in a fixed order (field order, depth first).

    A model entry names its classes by their position here, so it reads back only into the classes of
    the tree asked for (generic parametrizations such as ``Sourced[int]`` included, which have no
    importable name).
    """
    from typing import get_args

    from pydantic import BaseModel

    seen: dict[type[BaseModel], None] = {}

    def visit(annotation: Any) -> None:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in seen:
                seen[annotation] = None
                for field in annotation.model_fields.values():
                    visit(field.annotation)
            return
        for arg in get_args(annotation):
            visit(arg)

    visit(root)
    return tuple(seen)


def _restricted_loads(
    payload: bytes, classes: Sequence[type[Any]], named: dict[tuple[str, str], Any] | None = None
) -> Any:
    """Unpickle ``payload`` building only ``classes`` (by position), ``named`` classes and the allowed globals."""
    import pickle

    class Unpickler(pickle.Unpickler):
        def persistent_load(self, pid: Any) -> Any:
            if type(pid) is not int or not 0 <= pid < len(classes):
                raise pickle.UnpicklingError("unknown model class")
            return classes[pid]

        def find_class(self, module: str, name: str) -> Any:
            if named is not None and (module, name) in named:
                return named[module, name]
            if (module, name) not in _ALLOWED_GLOBALS:
                raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache entry")
            return super().find_class(module, name)

    return Unpickler(io.BytesIO(payload)).load()


def _dumps(value: Any, classes: Sequence[type[BaseModel]]) -> bytes:
    """``value`` pickled with each model class named by its position in ``classes`` (see ``_model_classes``)."""
    import pickle

    from pydantic import BaseModel

    index = {cls: i for i, cls in enumerate(classes)}

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            if isinstance(obj, type) and issubclass(obj, BaseModel):
                if obj not in index:
                    raise pickle.PicklingError(f"{obj!r} is not a model of this tree")
                return index[obj]
            return None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()
