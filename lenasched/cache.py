"""A small on-disk cache of facts derived from bundled files, so the command line need not re-read them.

An entry is JSON named by the SHA-256 of the source file's bytes, the cache's kind and lenasched's
version: an edited file or another release simply misses. The cache lives in ``$LENASCHED_CACHE_DIR``,
else ``$XDG_CACHE_HOME/lenasched``, else ``~/.cache/lenasched``; ``LENASCHED_CACHE_DIR=""`` turns it
off. Everything here fails silently: an unreadable, corrupt or stale entry is a miss, and a cache
that cannot be written is simply not written. Only data derived from files that validated is stored,
so a hit never skips a check a miss would have made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["cache_dir", "cache_key", "load", "store"]

FORMAT = 1
"""Bumped when the layout of an entry changes."""


def cache_dir() -> Path | None:
    """Where entries live, or None when the cache is turned off."""
    configured = os.environ.get("LENASCHED_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lenasched"


def cache_key(kind: str, data: bytes) -> str:
    """The key of ``kind`` derived from a file's bytes ``data`` by this version of lenasched."""
    digest = hashlib.sha256(f"{kind}\0{_version()}\0{FORMAT}\0".encode())
    digest.update(data)
    return digest.hexdigest()


def _version() -> str:
    # looked up, not imported with ``from . import``: that import made mypy see lenasched's names twice
    import importlib

    return str(importlib.import_module("lenasched").__version__)


def _entry(kind: str, key: str) -> Path | None:
    folder = cache_dir()
    return None if folder is None else folder / f"{kind}-{key[:32]}.json"


def load(kind: str, data: bytes) -> Any | None:
    """The value stored for ``kind`` and the file bytes ``data``, or None (a miss: absent, stale, corrupt)."""
    key = cache_key(kind, data)
    path = _entry(kind, key)
    if path is None:
        return None
    try:
        entry = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or "value" not in entry:
        return None
    return entry["value"]


def store(kind: str, data: bytes, value: Any) -> None:
    """Remember ``value`` (plain JSON data) for ``kind`` and the file bytes ``data``; silently skipped on failure."""
    key = cache_key(kind, data)
    path = _entry(kind, key)
    if path is None:
        return
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps({"key": key, "value": value}), encoding="utf-8")
        os.replace(temporary, path)  # readers see the old entry or the whole new one, never half of it
    except (OSError, ValueError, TypeError):
        with contextlib.suppress(OSError):
            temporary.unlink()
