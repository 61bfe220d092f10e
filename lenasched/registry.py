"""The bundled protocols: the single list of what ships, found by id.

Installed wheels carry them as ``lenasched/protocols``; a source checkout reads the top-level
``protocols/`` folder. File name and ``id`` always agree (a test checks it).
"""

from __future__ import annotations

import difflib
from functools import cache
from pathlib import Path

from .errors import UnknownProtocolError
from .loader import load_protocol
from .paths import protocols_dir
from .protocol import Protocol

__all__ = ["bundled_ids", "get_protocol", "protocol_path", "protocols_dir", "resolve"]


def bundled_ids() -> tuple[str, ...]:
    """Ids of every bundled protocol, sorted."""
    return tuple(sorted(p.stem for p in protocols_dir().glob("*.yaml")))


def protocol_path(protocol_id: str) -> Path:
    """Path of a bundled protocol; unknown ids raise with the close matches."""
    path = protocols_dir() / f"{protocol_id}.yaml"
    if not path.is_file() or protocol_id != protocol_id.strip() or "/" in protocol_id:
        known = bundled_ids()
        close = difflib.get_close_matches(protocol_id, known, n=3, cutoff=0.5)
        if not close:
            close = [k for k in known if k.split("-")[0] == protocol_id.split("-")[0]][:3]
        raise UnknownProtocolError(protocol_id, close, known)
    return path


@cache
def get_protocol(protocol_id: str) -> Protocol:
    """A bundled protocol by id (parsed once per process)."""
    return load_protocol(protocol_path(protocol_id))


def resolve(name: str | Path) -> Protocol:
    """A protocol from a bundled id or a path to a YAML file."""
    text = str(name)
    if text.endswith((".yaml", ".yml")) or "/" in text or Path(text).is_file():
        return load_protocol(text)
    return get_protocol(text)
