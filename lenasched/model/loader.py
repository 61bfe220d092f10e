"""The only YAML reader: safe parsing that keeps line numbers, then model validation.

Parsing and validation errors become ``ProtocolError`` with ``file:line:column``, the field path,
what was expected and a hint. Floats are read as exact decimals (``2.5`` stays ``Decimal('2.5')``).
"""

from __future__ import annotations

import copy
import difflib
import unicodedata
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel, ValidationError

from lenasched.errors import ProtocolError
from lenasched.model.events import PatientEvents
from lenasched.model.paths import addons_dir
from lenasched.model.protocol import AddOn, FieldProblem, Protocol

if TYPE_CHECKING:
    import yaml

    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = object  # PyYAML is imported on the first parse: see _loader_class

__all__ = [
    "load_addon",
    "load_events",
    "load_protocol",
    "load_protocol_or_addon",
    "parse_protocol",
    "protocol_from_dict",
]

MAX_BYTES = 1_000_000
"""Largest file (and text) read, in bytes; checked before parsing."""
MAX_NODES = 100_000
"""Most values a document may expand to, counting each alias (``*name``) as a copy of what it names."""
MAX_ALIASES = 1_000
"""Most aliases (``*name``) in one document; refused while composing, before anything is expanded."""
MAX_DEPTH = 100
"""Deepest nesting of lists and mappings, as written and as expanded through aliases and merge keys."""
MAX_MERGED = 1_000
"""Most entries merge keys (``<<``) may bring into one mapping, counted as if every alias were copied."""

_MERGE_TAG = "tag:yaml.org,2002:merge"


class _LimitExceeded(Exception):
    """A guard of ``_GuardedLoader`` fired; ``_read_yaml`` turns it into a located ``ProtocolError``."""

    def __init__(self, message: str, mark: yaml.Mark | None, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.hint = hint


class _GuardedLoader(_SafeLoader):
    """SafeLoader with limits, so a small hostile file is refused at once instead of exhausting memory.

    Written as a mixin and put on PyYAML's ``SafeLoader`` by ``_loader_class`` on the first parse, so
    a run that parses nothing (every bundled protocol from the cache) never imports PyYAML.

    Counts aliases and nesting depth while composing, and replaces PyYAML's merge-key flattening by
    one that first counts what the merges would bring in (an alias chain of ``<<: [*a, *a]`` doubles
    at every level: the "merge-key bomb", exponential in PyYAML before 6.0.4) and refuses more than
    ``MAX_MERGED`` entries, whatever PyYAML version is installed. Identical entries (the same key node
    reached through two aliases) are merged once.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._merge_sizes: dict[int, int] = {}

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _LimitExceeded(
                    f"the document has more than {MAX_ALIASES} aliases (*name; limit MAX_ALIASES)",
                    self._next_mark(),
                    "remove YAML aliases",
                )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(
                    f"lists and mappings nest deeper than {MAX_DEPTH} levels (limit MAX_DEPTH)",
                    self._next_mark(),
                    "a protocol file needs only a few levels",
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> yaml.Mark | None:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]  # untyped in types-PyYAML
        return event.start_mark  # type: ignore[return-value]  # a Mark of libyaml's type in the stubs' union

    def _merged_size(self, node: yaml.MappingNode, depth: int = 0) -> int:
        """Entries of ``node`` once its merge keys are expanded, every alias copied (memoised per node)."""
        known = self._merge_sizes.get(id(node))
        if known is not None:
            return known
        if depth > MAX_DEPTH:
            raise _LimitExceeded(
                f"merge keys (<<) nest deeper than {MAX_DEPTH} levels (limit MAX_DEPTH)",
                node.start_mark,
                "remove YAML merge keys",
            )
        self._merge_sizes[id(node)] = 0  # a mapping that merges itself counts once
        own = merged = 0
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                own += 1
                continue
            subs = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for sub in subs:
                if isinstance(sub, yaml.MappingNode):
                    merged += self._merged_size(sub, depth + 1)
            if merged > MAX_MERGED:
                raise _LimitExceeded(
                    f"merge keys (<<) bring more than {MAX_MERGED} entries into this mapping (limit MAX_MERGED)",
                    key_node.start_mark,
                    "remove YAML merge keys and aliases",
                )
        self._merge_sizes[id(node)] = own + merged
        return own + merged

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        self._merged_size(node)
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        seen: set[int] = set()
        index = 0
        while index < len(node.value):
            key_node, value_node = node.value[index]
            if key_node.tag == "tag:yaml.org,2002:value":
                key_node.tag = "tag:yaml.org,2002:str"
            if key_node.tag != _MERGE_TAG:
                index += 1
                continue
            del node.value[index]
            subs = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            if not isinstance(value_node, (yaml.MappingNode, yaml.SequenceNode)):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"expected a mapping or list of mappings for merging, but found {value_node.id}",
                    value_node.start_mark,
                )
            for sub in subs:
                if not isinstance(sub, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"expected a mapping for merging, but found {sub.id}",
                        sub.start_mark,
                    )
                self.flatten_mapping(sub)
                for pair in sub.value:
                    if id(pair[0]) not in seen:
                        seen.add(id(pair[0]))
                        merged.append(pair)
        if merged:
            node.value = merged + node.value


@cache
def _loader_class() -> type[_GuardedLoader]:
    """``_GuardedLoader`` on ``yaml.SafeLoader``; imports PyYAML, also as this module's ``yaml``, on first use."""
    import yaml

    globals()["yaml"] = yaml  # the readers below name yaml's classes; every parse passes here first
    made = type("_GuardedLoader", (_GuardedLoader, yaml.SafeLoader), {"__module__": __name__})
    return cast("type[_GuardedLoader]", made)


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp", "merge")
)

Marks = dict[tuple[str | int, ...], tuple[int, int]]


class _Reader:
    """Turns a composed YAML node tree into plain Python, remembering each path's position."""

    def __init__(self, loader: yaml.SafeLoader, source: str) -> None:
        self.loader = loader
        self.source = source
        self.marks: Marks = {}
        self.nodes = 0
        self.node: yaml.Node | None = None  # the node being read, for an error without one of its own

    def _fail(
        self, node: yaml.Node, message: str, path: tuple[str | int, ...], hint: str | None = None
    ) -> ProtocolError:
        return ProtocolError(
            message,
            file=self.source,
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            path=_dotted(path) or None,
            hint=hint,
        )

    def read(self, node: yaml.Node, path: tuple[str | int, ...] = ()) -> Any:
        self.nodes += 1
        self.node = node
        if self.nodes > MAX_NODES:
            raise self._fail(node, f"the document expands to more than {MAX_NODES} nodes", path, "remove YAML aliases")
        if len(path) > MAX_DEPTH:  # deeper than written: an alias that contains itself, or a chain of them
            raise self._fail(
                node,
                f"the document nests deeper than {MAX_DEPTH} levels once aliases are expanded (limit MAX_DEPTH)",
                path[:3],  # where it starts; the whole path would be MAX_DEPTH steps long
                "remove YAML aliases",
            )
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _PLAIN_TAGS:
            raise self._fail(
                node, f"the YAML tag {node.tag!r} is not allowed", path, "protocol files hold plain data only"
            )
        if isinstance(node, yaml.MappingNode):
            try:
                self.loader.flatten_mapping(node)
            except yaml.MarkedYAMLError as exc:  # a merge key (<<) with something other than mappings
                raise self._fail(node, str(exc.problem or exc), path) from None
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node, path)
                if isinstance(key, (dict, list)) or key is None:
                    raise self._fail(key_node, "mapping keys must be plain names or numbers", path)
                if key in out:
                    raise self._fail(key_node, f"key {key!r} appears twice", (*path, key))
                child = (*path, key)
                out[key] = self.read(value_node, child)
                self.marks[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _scalar(self, node: yaml.Node, path: tuple[str | int, ...]) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise self._fail(node, "expected a plain value here", path)
        if node.tag == "tag:yaml.org,2002:float":
            try:
                return Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                raise self._fail(node, f"{node.value!r} is not a number this tool accepts", path) from None
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise self._fail(node, str(exc).splitlines()[0], path) from None
        except (ValueError, OverflowError) as exc:  # a timestamp that names no real date, an int of 5,000 digits
            message, hint = _unreadable_scalar(node, exc)
            raise self._fail(node, message, path, hint) from None


def _read_yaml(text: str, source: str) -> tuple[dict[str, Any], Marks]:
    """Safe-parse YAML text into a mapping plus the position of every field path.

    Refuses, with ``file:line:column``, text over ``MAX_BYTES`` (before parsing), more than
    ``MAX_ALIASES`` aliases, nesting deeper than ``MAX_DEPTH``, merge keys bringing in more than
    ``MAX_MERGED`` entries and documents expanding to more than ``MAX_NODES`` values.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ProtocolError(f"file is larger than {MAX_BYTES // 1000} kB; refusing to read it", file=source)
    loader_class = _loader_class()
    try:
        loader = loader_class(text)  # the reader checks every character here, before parsing
    except yaml.reader.ReaderError as exc:
        raise _unreadable_character(text, source, exc) from None
    reader = _Reader(loader, source)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise ProtocolError(
                f"not valid YAML: {exc.problem or exc.context}",
                file=source,
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None,
                hint="check indentation and quoting near this position",
            ) from None
        except yaml.YAMLError as exc:
            raise ProtocolError(f"not valid YAML: {exc}", file=source) from None
        if node is None:
            raise ProtocolError("the file is empty", file=source, hint="start with `schema_version: 1`")
        data = reader.read(node)
    except _LimitExceeded as exc:
        raise ProtocolError(
            exc.message,
            file=source,
            line=exc.mark.line + 1 if exc.mark else None,
            column=exc.mark.column + 1 if exc.mark else None,
            hint=exc.hint,
        ) from None
    except RecursionError:  # a guard above should fire first; never let a traceback out
        mark = reader.node.start_mark if reader.node is not None else loader.get_mark()
        raise ProtocolError(
            f"the document nests too deeply to read (limit MAX_DEPTH = {MAX_DEPTH} levels)",
            file=source,
            line=mark.line + 1,
            column=mark.column + 1,
            hint="remove YAML aliases and deep nesting",
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ProtocolError("a protocol file must be a mapping of fields", file=source, line=1, column=1)
    return data, reader.marks


def _unreadable_scalar(node: yaml.ScalarNode, exc: Exception) -> tuple[str, str]:
    """Message and hint for a plain value PyYAML recognises but cannot build (``2027-02-30``, a 5,000-digit int)."""
    if node.tag == "tag:yaml.org,2002:timestamp":
        return (
            f"{node.value!r} is not a real date ({exc})",
            "write an existing date as YYYY-MM-DD, e.g. 2027-02-28; quote it to keep it as text",
        )
    if node.tag == "tag:yaml.org,2002:int":
        return f"the number {node.value[:20]}... is too long to read", "write a number of at most a few digits"
    return f"{node.value[:40]!r} cannot be read: {exc}", "quote it to keep it as text"


def _unreadable_character(text: str, source: str, exc: yaml.reader.ReaderError) -> ProtocolError:
    """A character YAML does not allow (a control character, a lone surrogate), located by line and column."""
    before = text[: exc.position]
    line = before.count("\n") + 1
    column = exc.position - (before.rfind("\n") + 1) + 1
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    kind = {"Cc": "a control character", "Cs": "half of a surrogate pair"}.get(unicodedata.category(char), "")
    return ProtocolError(
        f"the character U+{ord(char):04X} ({unicodedata.name(char, kind) or 'not printable'}) is not allowed in YAML",
        file=source,
        line=line,
        column=column,
        hint='remove it; in a double-quoted string it can be written as an escape, e.g. "\\t"',
    )


def parse_protocol(text: str, source: str = "<string>", *, base_dir: str | Path | None = None) -> Protocol:
    """Parse and validate protocol YAML text; ``source`` names it in error messages.

    Includes are looked up in ``base_dir/addons`` (when given), then among the bundled add-ons.
    """
    data, marks = _read_yaml(text, source)
    data = _resolve_includes(data, source, marks, base_dir)
    return _validate(data, source, marks)


def load_protocol_or_addon(path: str | Path) -> Protocol | AddOn:
    """A protocol file, or an add-on module file (one with a top-level ``addon:`` key)."""
    file = Path(path)
    text = _read_text(file)
    data, marks = _read_yaml(text, str(file))
    if "addon" in data:
        try:
            return AddOn.model_validate(data)
        except ValidationError as exc:
            raise _to_protocol_error(exc, str(file), marks, data, AddOn) from None
    return parse_protocol(text, str(file), base_dir=file.parent)


def load_addon(path: str | Path) -> AddOn:
    """Read and validate an add-on module file."""
    return _load_model(path, AddOn)


def load_events(path: str | Path) -> PatientEvents:
    """Read a patient-events file (YAML or JSON: ``events: [- hold: 2027-01-10, ...]``)."""
    return _load_model(path, PatientEvents)


def merge_events(path: str | Path | None, options: Sequence[tuple[str, dict[str, Any]]] = ()) -> PatientEvents | None:
    """The events of a file and of command-line options as one list, validated together; None when there are none.

    However they arrive, events are checked as one list (a ``--hold`` option and its ``resume`` in the
    file fit together). A problem with a file's event is located at that event's line and column; one
    with an option names the option (``options`` pairs the option as typed with its event).
    """
    items: list[Any] = []
    marks: Marks = {}
    source = "<command line>"
    if path is not None:
        file = Path(path)
        source = str(file)
        data, marks = _read_yaml(_read_text(file), source)
        if not isinstance(data, dict) or set(data) != {"events"} or not isinstance(data["events"], list):
            load_events(file)  # raises the located error for a file of the wrong shape
            data = {"events": []}
        items = list(data["events"])
    n_file = len(items)
    items += [item for _, item in options]
    if not items:
        return None
    combined = {"events": items}
    try:
        return PatientEvents.model_validate(combined)
    except ValidationError as exc:
        error = _to_protocol_error(exc, source, marks, combined, PatientEvents)
    parts = (error.path or "").split(".")
    index = int(parts[1]) if len(parts) > 1 and parts[0] == "events" and parts[1].isdigit() else None
    if index is not None and index >= n_file:
        label, _ = options[index - n_file]
        rest = ".".join(parts[2:])
        raise ProtocolError(
            error.message, file="<command line>", path=label + (f" ({rest})" if rest else ""), hint=error.hint
        )
    raise error


_M = TypeVar("_M", bound=BaseModel)


def _load_model(path: str | Path, model: type[_M]) -> _M:
    """A YAML/JSON file validated as ``model``, with errors located like protocol errors."""
    file = Path(path)
    data, marks = _read_yaml(_read_text(file), str(file))
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _to_protocol_error(exc, str(file), marks, data, model) from None


def _find_addon(name: str, base_dir: str | Path | None) -> Path:
    """The file of add-on ``name``: ``NAME.yaml`` in the protocol's own ``addons/`` folder, else a bundled one.

    An add-on is named, never a path: ``..``, ``/`` and absolute paths are refused, and so is a file that
    is a symbolic link leading out of its add-on folder. The refusal says where add-ons may live and never
    opens the file, so nothing of a file outside those folders reaches the message.
    """
    import re

    folders = [Path(base_dir) / "addons"] if base_dir is not None else []
    folders.append(addons_dir())
    where = " or ".join(str(folder) for folder in folders)
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name):
        raise ProtocolError(
            f"{name!r} is not an add-on name: add-ons are included by name, not by path",
            hint=f"write the add-on's id (lower-case letters, digits and '-'); add-ons live in {where} as <id>.yaml",
        )
    for folder in folders:
        candidate = folder / f"{name}.yaml"
        if not candidate.is_file():
            continue
        try:
            real_folder, real = folder.resolve(strict=True), candidate.resolve(strict=True)
        except (OSError, RuntimeError):  # a loop of links, or the file went away
            continue
        if not real.is_relative_to(real_folder):
            raise ProtocolError(
                f"add-on {name!r}: {candidate} is a link to a file outside {folder}; it is not read",
                hint=f"add-ons live in {where} as <id>.yaml; copy the file there instead of linking to it",
            )
        return candidate
    known = sorted(p.stem for p in addons_dir().glob("*.yaml"))
    close = difflib.get_close_matches(name, known, n=1)
    raise ProtocolError(
        f"unknown add-on {name!r}",
        hint=f"did you mean {close[0]!r}?" if close else f"add-ons live in {where}; bundled: " + ", ".join(known),
    )


def _resolve_includes(data: dict[str, Any], source: str, marks: Marks, base_dir: str | Path | None) -> dict[str, Any]:
    """Merge each included add-on's regimens into its phase; sources are re-keyed to the add-on's id."""
    includes = data.get("includes")
    if not includes or not isinstance(includes, list) or not isinstance(data.get("phases"), list):
        return data
    if not isinstance(data.get("references") or {}, dict):
        return data  # the model reports the malformed references; nothing is merged into them
    data = copy.deepcopy(data)
    references = dict(data.get("references") or {})
    for i, include in enumerate(includes):
        if not isinstance(include, dict) or not isinstance(include.get("addon"), str):
            continue  # the model reports the malformed entry
        line, column = marks.get(("includes", i), (None, None))
        try:
            addon = load_addon(_find_addon(include["addon"], base_dir))
        except ProtocolError as exc:
            if exc.file is None:
                raise ProtocolError(
                    exc.message, file=source, line=line, column=column, path=f"includes.{i}.addon", hint=exc.hint
                ) from None
            raise
        phases = data["phases"]
        target = include.get("phase")
        index = next((k for k, p in enumerate(phases) if isinstance(p, dict) and p.get("name") == target), None)
        if target is None:
            index = 0
        if index is None:
            names = [p.get("name") for p in phases if isinstance(p, dict)]
            raise ProtocolError(
                f"no phase named {target!r}",
                file=source,
                line=line,
                column=column,
                path=f"includes.{i}.phase",
                hint="phases: " + ", ".join(map(str, names)),
            )
        key_map = {"primary": addon.addon, **{k: f"{addon.addon}.{k}" for k in addon.references}}
        references.setdefault(addon.addon, addon.citation.model_dump(exclude_none=True))
        for k, ref in addon.references.items():
            references.setdefault(key_map[k], ref.model_dump(exclude_none=True))
        if not isinstance(phases[index], dict) or not isinstance(phases[index].get("drugs", []), list):
            continue  # the model reports the malformed phase or drug list
        drugs = phases[index].setdefault("drugs", [])
        for regimen in addon.drugs:
            raw = regimen.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
            raw["addon"] = addon.addon
            raw = _rekey_sources(raw, key_map)
            marks.setdefault(("phases", index, "drugs", len(drugs)), (line or 0, column or 0))
            drugs.append(raw)
    data["references"] = references
    return data


def _rekey_sources(value: Any, key_map: dict[str, str]) -> Any:
    if isinstance(value, dict):
        out = {k: _rekey_sources(v, key_map) for k, v in value.items()}
        if isinstance(out.get("source"), str) and "value" in out:
            out["source"] = key_map.get(out["source"], out["source"])
        return out
    if isinstance(value, list):
        return [_rekey_sources(v, key_map) for v in value]
    return value


def load_protocol(path: str | Path) -> Protocol:
    """Read a protocol YAML file (add-ons are looked up beside it, in ``addons/``, then bundled)."""
    file = Path(path)
    return parse_protocol(_read_text(file), str(file), base_dir=file.parent)


def _read_text(file: Path) -> str:
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:
            raise ProtocolError(f"file is larger than {MAX_BYTES // 1000} kB; refusing to read it", file=str(file))
        with file.open("rb") as handle:  # at most MAX_BYTES + 1: a pipe or device reports no size
            raw = handle.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ProtocolError(f"file is larger than {MAX_BYTES // 1000} kB; refusing to read it", file=str(file))
        text = raw.decode("utf-8")
        if "\r" in text:  # as read_text() would give it (universal newlines)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        raise ProtocolError("no such file", file=str(file)) from None
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"not UTF-8 text ({exc.reason})", file=str(file)) from None
    except OSError as exc:
        raise ProtocolError(f"cannot read the file: {exc.strerror}", file=str(file)) from None
    return text


def protocol_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Protocol:
    """Validate an in-memory definition (no line numbers to report); includes resolve to bundled add-ons."""
    marks: Marks = {}
    return _validate(_resolve_includes(dict(data), source, marks, None), source, marks)


def _validate(data: dict[str, Any], source: str, marks: Marks) -> Protocol:
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise _to_protocol_error(exc, source, marks, data) from None


def _to_protocol_error(
    exc: ValidationError, source: str, marks: Marks, data: Any, root: type[BaseModel] = Protocol
) -> ProtocolError:
    errors = exc.errors()
    if root is PatientEvents:  # drop the discriminator step ('hold', 'resume', ...) from locations
        errors = [
            {**e, "loc": tuple(p for i, p in enumerate(e["loc"]) if not (i == 2 and isinstance(p, str)))}
            for e in errors
        ]
    # A misspelt key shows up twice (unknown + missing); the unknown one carries the useful hint.
    error = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _clean_loc(error["loc"])
    message = error["msg"]
    hint: str | None = None
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        loc = (*loc, *cause.path)
        message, hint = cause.message, cause.hint
    elif message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] == "extra_forbidden":
        key = loc[-1]
        fields = _fields_at(loc[:-1], root)
        close = difflib.get_close_matches(str(key), fields, n=1, cutoff=0.6)
        message = f"unknown field {key!r}"
        hint = f"did you mean `{close[0]}`?" if close else ("allowed here: " + ", ".join(fields) if fields else None)
    elif error["type"] == "missing":
        message = f"required field {loc[-1]!r} is missing"
    elif error["type"] == "literal_error" and loc == ("schema_version",):
        hint = "this tool reads schema_version 1"
    others = [
        e for e in errors if e is not error and not (e["type"] == "missing" and hint and f"`{e['loc'][-1]}`" in hint)
    ]
    if others:
        message += f" (and {len(others)} more problem(s))"
    line, column = _position(loc, marks)
    if loc and loc[-1] == "value" and loc not in marks:  # a bare value: the file never wrote `value:`
        loc = loc[:-1]
    return ProtocolError(message, file=source, line=line, column=column, path=_dotted(loc) or None, hint=hint)


def _clean_loc(loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Drop pydantic's internal steps (union branches such as 'Sourced[int]', 'function-after[...]')."""
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (part.startswith("function-") or "[" in part):
            continue
        out.append(part)
    return tuple(out)


def _position(loc: tuple[str | int, ...], marks: Marks) -> tuple[int | None, int | None]:
    for n in range(len(loc), -1, -1):
        key = loc[:n]
        if key in marks:
            return marks[key]
        if n and loc[n - 1] == "value" and loc[: n - 1] in marks:
            return marks[loc[: n - 1]]
    return None, None


def _fields_at(loc: tuple[str | int, ...], root: type[BaseModel]) -> list[str]:
    """Names the model at ``loc`` accepts, found by walking the model classes."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return []
        field = model.model_fields.get(str(part))
        if field is None:
            continue
        model = _inner_model(field.annotation)
    return sorted(model.model_fields) if model else []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in path)
