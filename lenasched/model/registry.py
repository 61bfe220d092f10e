"""The bundled protocols: the single list of what ships, found by id.

Installed wheels carry them as ``lenasched/protocols``; a source checkout reads the top-level
``protocols/`` folder. File name and ``id`` always agree (a test checks it).

A renamed protocol keeps answering to its former id through :data:`ALIASES`: ``get_protocol``,
``protocol_path`` and ``resolve`` accept it and return the protocol under its current id, while
``bundled_ids`` lists current ids only. The command line says once, on stderr, that an id is a
former one (:func:`alias_note`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from lenasched.errors import UnknownProtocolError
from lenasched.model.paths import addons_dir, protocols_dir

if TYPE_CHECKING:
    from lenasched.model import compiled
    from lenasched.model.protocol import Protocol
    from lenasched.model.shapes import ProtocolShape

__all__ = [
    "ALIASES",
    "ALIAS_REASONS",
    "alias_note",
    "bundled_ids",
    "current_id",
    "get_compiled",
    "get_protocol",
    "protocol_path",
    "protocols_dir",
    "resolve",
    "resolve_compiled",
]

ALIASES: dict[str, str] = {
    "badoux-2011-lo": "badoux-2010-lo",  # renamed in lenasched 0.2
}
"""Former protocol ids: old id -> current id.

Add an entry when a bundled protocol is renamed, with its reason in ``ALIAS_REASONS``. An alias is never
itself a bundled id and always names one (``tests/test_aliases.py`` checks both).
"""

ALIAS_REASONS: dict[str, str] = {
    "badoux-2011-lo": "the Badoux report the review cites as [24] is an ASH 2010 abstract",
}
"""Why each alias was renamed, as :func:`alias_note` and the catalogue say it."""


def current_id(protocol_id: str) -> str:
    """The current id of a protocol id: an alias maps to its new id, anything else is returned unchanged."""
    return ALIASES.get(protocol_id, protocol_id)


def alias_note(name: str | Path) -> str | None:
    """For a former id, one line saying so (for the command line to show on stderr); otherwise ``None``.

    >>> print(alias_note("badoux-2011-lo"))
    'badoux-2011-lo' is the former id of 'badoux-2010-lo' (renamed: ...)
    >>> alias_note("badoux-2010-lo") is None
    True
    """
    text = str(name)
    if text not in ALIASES or _names_a_file(text):
        return None
    reason = ALIAS_REASONS.get(text)
    return f"{text!r} is the former id of {ALIASES[text]!r}" + (f" (renamed: {reason})" if reason else "")


LABEL_PREFIX = "label-"
"""The approved regimens of the product label live in ``protocols/label/`` with ids ``label-...``."""


def bundled_ids() -> tuple[str, ...]:
    """Ids of every bundled protocol, sorted (current ids only, no aliases): trial protocols, then label regimens."""
    trials = sorted(p.stem for p in protocols_dir().glob("*.yaml"))
    label = sorted(p.stem for p in (protocols_dir() / "label").glob(f"{LABEL_PREFIX}*.yaml"))
    return (*trials, *label)


def protocol_path(protocol_id: str) -> Path:
    """Path of a bundled protocol (by id or former id); unknown ids raise with the close matches."""
    name = current_id(protocol_id)
    folder = protocols_dir() / "label" if name.startswith(LABEL_PREFIX) else protocols_dir()
    path = folder / f"{name}.yaml"
    if not path.is_file() or name != name.strip() or "/" in name:
        import difflib

        known = bundled_ids()
        close = difflib.get_close_matches(protocol_id, known, n=3, cutoff=0.5)
        if not close:
            close = [k for k in known if k.split("-")[0] == protocol_id.split("-")[0]][:3]
        raise UnknownProtocolError(protocol_id, close, known)
    return path


def get_protocol(protocol_id: str) -> Protocol:
    """A bundled protocol by id or former id (parsed once per process); its ``id`` is the current one."""
    return _bundled(current_id(protocol_id))


@cache
def _bundled(protocol_id: str) -> Protocol:
    """A bundled protocol, validated once per installation rather than once per run.

    The validated model is kept in the user's cache (``lenasched.model.cache``), keyed by the file's bytes,
    the add-on files it includes and lenasched's code; a run that finds it there reads it back without
    parsing YAML or building validators. Anything else (a first run, an edited file or add-on, another
    release, a corrupt entry) validates the file as before, and a file that fails to validate is never
    cached. Files named by path (``resolve``) are always validated: only the bundled set is cached.
    """
    from lenasched.model import cache as cached
    from lenasched.model.protocol import Protocol

    def validate(path: Path) -> tuple[Protocol, Protocol]:
        from lenasched.model.loader import load_protocol

        protocol = load_protocol(path)
        return protocol, protocol

    return _through_cache(
        protocol_id,
        lambda data: cached.load_model("protocol", protocol_id, data, Protocol),
        lambda data, value, deps: cached.store_model("protocol", protocol_id, data, value, deps),
        validate,
    )


def get_compiled(protocol_id: str) -> compiled.Protocol:
    """A bundled protocol by id or former id in its plain form (``lenasched.model.compiled``): no pydantic.

    What the command line expands: once validated (``get_protocol``) and compiled, the plain tree is
    kept in the user's cache under the same rules as the validated model, so later runs read it back
    without importing pydantic at all.
    """
    return _compiled(current_id(protocol_id))


@cache
def _compiled(protocol_id: str) -> compiled.Protocol:
    from lenasched.model import cache as cached
    from lenasched.model.compiled import Protocol as Plain
    from lenasched.model.compiled import compile_protocol

    def build(path: Path) -> tuple[compiled.Protocol, Protocol]:
        protocol = _bundled(protocol_id)
        return compile_protocol(protocol), protocol

    return _through_cache(
        protocol_id,
        lambda data: cached.load_compiled("compiled", protocol_id, data, Plain),
        lambda data, value, deps: cached.store_compiled("compiled", protocol_id, data, value, deps),
        build,
    )


_T = TypeVar("_T", bound="ProtocolShape")


def _through_cache(
    protocol_id: str,
    load: Callable[[bytes], _T | None],
    store: Callable[[bytes, _T, list[Path]], None],
    build: Callable[[Path], tuple[_T, Protocol]],
) -> _T:
    """A bundled protocol's cached form (validated model or compiled plain tree), else built and stored.

    The entry is keyed by the file's bytes; a hit must name the protocol asked for (another protocol's
    entry under this name is a miss). ``build`` also returns the validated model, whose add-ons the new
    entry depends on.
    """
    path = protocol_path(protocol_id)
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    if data is not None:
        hit = load(data)
        if hit is not None and hit.id == protocol_id:
            return hit
    value, protocol = build(path)
    if data is not None:
        store(data, value, _addon_files(protocol, path))
    return value


def resolve_compiled(name: str | Path) -> compiled.Protocol | Protocol:
    """``resolve`` for expanding only: a bundled id gives the plain form, a file the validated model."""
    text = str(name)
    if _names_a_file(text):
        return resolve(text)
    return get_compiled(text)


def _addon_files(protocol: Protocol, path: Path) -> list[Path]:
    """Where the loader looks for each add-on ``protocol`` includes: beside the file, then bundled.

    The cache entry of a bundled protocol depends on all of them, present or absent: an add-on that is
    edited, or that appears where the loader would look first, makes the entry miss.
    """
    names = dict.fromkeys(include.addon for include in protocol.includes)
    folders = dict.fromkeys((path.parent / "addons", addons_dir()))
    return [folder / f"{name}.yaml" for name in names for folder in folders]


def _names_a_file(text: str) -> bool:
    return text.endswith((".yaml", ".yml")) or "/" in text or Path(text).is_file()


def resolve(name: str | Path) -> Protocol:
    """A protocol from a bundled id (or former id) or a path to a YAML file."""
    text = str(name)
    if _names_a_file(text):
        from lenasched.model.loader import load_protocol

        return load_protocol(text)
    return get_protocol(text)
