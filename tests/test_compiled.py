"""The compiled (plain) form of a bundled protocol is the validated model without pydantic, and nothing else.

The command line expands bundled protocols in this form (``lenasched.model.compiled``) so its start-up
imports no pydantic; these tests make sure the two forms cannot drift apart: same fields, same
answers, byte-identical calendars in every text format, and a cache entry that builds nothing else.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from lenasched.engine import expand
from lenasched.errors import LenaschedError
from lenasched.formats.csv import to_csv
from lenasched.formats.ics import to_ics
from lenasched.formats.json import to_json
from lenasched.formats.nonmem import to_nonmem
from lenasched.model import cache, compiled, registry
from lenasched.model.events import PatientEvents
from lenasched.model.labs import parse_lab_option
from lenasched.model.patient import Patient
from lenasched.model.protocol import Protocol
from lenasched.model.registry import bundled_ids, get_protocol, protocol_path
from lenasched.model.shapes import Shape

from .test_startup import _Trap

START = date(2026, 12, 1)
PATIENT = Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal("70"))


def _models() -> list[type[BaseModel]]:
    return [*cache._model_classes(Protocol), PatientEvents]


def _own_behaviour(model: type[BaseModel]) -> list[str]:
    """Public methods and properties written on a model class (or a lenasched base of it) rather than its shape."""
    own = []
    for cls in model.__mro__:
        if cls.__module__.split(".")[0] in ("pydantic", "builtins", "typing") or (
            issubclass(cls, Shape) and not issubclass(cls, BaseModel)
        ):
            continue  # pydantic's own classes, and the shapes (where the behaviour belongs)
        own += [
            f"{cls.__name__}.{name}"
            for name, value in vars(cls).items()
            if not name.startswith(("_", "model_"))
            and (callable(value) or isinstance(value, (property, classmethod, staticmethod)))
        ]
    return own


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__[:40])
def test_every_model_behaviour_lives_on_its_shape(model: type[BaseModel]) -> None:
    """A public method or property written on a model itself would be missing from the plain form."""
    assert _own_behaviour(model) == [], "move them to the model's shape in lenasched.model.shapes"


def test_a_method_on_a_model_is_caught() -> None:
    """The check above can fail: a model with a method or property of its own is reported."""

    class Odd(Protocol):
        def extra(self) -> int:
            return 1

        @property
        def more(self) -> int:
            return 2

    assert _own_behaviour(Odd) == ["Odd.extra", "Odd.more"]


def _pairs(model: Any, plain: Any, path: str = "protocol") -> Iterator[tuple[str, Any, Any]]:
    """Walk both trees together, checking that each node has the plain class of its model's shape."""
    if isinstance(model, BaseModel):
        assert isinstance(plain, compiled.Node), path
        assert type(plain) is compiled._plain_of(type(model)), path
        assert list(vars(plain)) == list(type(model).model_fields), path
        yield path, model, plain
        for name in type(model).model_fields:
            yield from _pairs(getattr(model, name), getattr(plain, name), f"{path}.{name}")
    elif isinstance(model, (list, tuple)):
        assert type(plain) is type(model) and len(plain) == len(model), path
        for i, (a, b) in enumerate(zip(model, plain)):
            yield from _pairs(a, b, f"{path}.{i}")
    elif isinstance(model, dict):
        assert type(plain) is dict and list(plain) == list(model), path
        for key in model:
            yield from _pairs(model[key], plain[key], f"{path}.{key}")
    else:
        assert type(plain) is type(model) and plain == model, path


def _norm(value: Any) -> Any:
    """A comparable answer: models in their plain form, dataclasses (timings) as their fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(_norm(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, (list, tuple)):
        return [_norm(v) for v in value]
    return compiled._compile(value)


def _answers(node: Any) -> dict[str, Any]:
    """What a node answers: every public property, and the methods that need no arguments."""
    out: dict[str, Any] = {}
    shape = next(c for c in type(node).__mro__ if issubclass(c, Shape) and c.__module__ == "lenasched.model.shapes")
    for cls in shape.__mro__:
        for name, value in vars(cls).items():
            if name.startswith("_") or name in out:
                continue
            if isinstance(value, property):
                out[name] = _norm(getattr(node, name))
            elif callable(value) and value.__code__.co_argcount == 1:
                out[name] = _norm(getattr(node, name)())
    if hasattr(node, "days_in"):
        out["days_in"] = [node.days_in(c) for c in range(1, 8)]
    if hasattr(node, "length_of"):
        out["length_of"] = [node.length_of(c) for c in range(1, 8)]
    return out


@pytest.mark.parametrize("protocol_id", bundled_ids())
def test_the_plain_form_has_the_fields_and_answers_of_the_model(protocol_id: str) -> None:
    model = get_protocol(protocol_id)
    plain = compiled.compile_protocol(model)
    nodes = 0
    for path, a, b in _pairs(model, plain):
        nodes += 1
        assert _answers(b) == _answers(a), path
    assert nodes > 10
    said = [(p, _norm(s.value), s.provenance()) for p, s in model.assumptions()]
    assert [(p, _norm(s.value), s.provenance()) for p, s in plain.assumptions()] == said
    assert compiled.compile_protocol(plain) is plain


@pytest.mark.parametrize("protocol_id", bundled_ids())
def test_calendars_of_either_form_are_byte_identical(protocol_id: str) -> None:
    model = get_protocol(protocol_id)
    plain = compiled.compile_protocol(model)
    cycles = 3 if model.total_cycles is None else min(model.total_cycles, 8)
    a = expand(model, START, cycles=cycles, patient=PATIENT)
    b = expand(plain, START, cycles=cycles, patient=PATIENT)
    for write in (to_csv, to_json, to_ics, to_nonmem):
        assert write(b) == write(a), write.__name__


CASES = {
    ("label-mm-rd", "platelets and neutrophils fall twice"): [
        (9, "plt=20,anc=0.4"),
        (16, "plt=60,anc=1.2"),
        (37, "plt=22,anc=0.3"),
        (44, "plt=90,anc=1.6"),
    ],
    ("label-mm-rd", "neutropenia alone: resume at the starting dose"): [
        (9, "plt=150,anc=0.4"),
        (16, "plt=150,anc=1.2"),
    ],
    ("label-mm-maintenance", "counts too low on day 1: the first cycle waits"): [
        (0, "plt=50,anc=0.8"),
        (4, "plt=120,anc=1.6"),
    ],
}


def test_every_protocol_with_rules_has_a_lab_case() -> None:
    assert sorted({pid for pid, _ in CASES}) == [pid for pid in bundled_ids() if get_protocol(pid).dose_modification]


@pytest.mark.parametrize(("protocol_id", "case"), CASES, ids=[f"{p}: {c}" for p, c in CASES])
def test_lab_results_act_alike_on_either_form(protocol_id: str, case: str) -> None:
    """The dose-modification rules (a fall, a recovery, a resumption at the rule's level) read either form."""
    model = get_protocol(protocol_id)
    plain = compiled.compile_protocol(model)
    labs = [parse_lab_option(f"{START + timedelta(days=day)}:{values}") for day, values in CASES[protocol_id, case]]
    said = [_outcome(form, labs) for form in (model, plain)]
    assert said[0] == said[1]
    assert "modified" in said[0] or said[0].startswith("error:")  # the results changed the calendar, or stopped it


def _outcome(protocol: Any, labs: list[Any]) -> str:
    """The calendar as CSV with its audit, or the error that refused it."""
    try:
        calendar = expand(protocol, START, cycles=4, patient=PATIENT, labs=labs)
    except LenaschedError as exc:
        return f"error: {exc}"
    return to_csv(calendar) + "\n".join(f"modified: {m}" for m in calendar.modifications)


def test_a_plain_node_is_frozen_and_compares_by_value() -> None:
    plain = compiled.compile_protocol(get_protocol("badoux-2011"))
    with pytest.raises(AttributeError, match="frozen"):
        plain.id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del plain.title
    again = compiled.compile_protocol(get_protocol("badoux-2011"))
    assert again is not plain and again == plain
    assert plain != compiled.compile_protocol(get_protocol("badoux-2010-lo"))
    length = plain.phases[0].cycle_length_days
    assert hash(length) == hash(again.phases[0].cycle_length_days)
    with pytest.raises(TypeError):  # a list inside, as with a frozen model
        hash(plain.citation)
    assert "badoux-2011" in repr(plain)


def test_a_model_without_a_plain_form_is_refused() -> None:
    with pytest.raises(TypeError, match="has no plain form"):
        compiled.compile_protocol(PATIENT)  # type: ignore[arg-type]


# --- the compiled form in the cache ------------------------------------------------------------------


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("LENASCHED_CACHE_DIR", str(folder))
    registry._compiled.cache_clear()
    yield folder
    registry._compiled.cache_clear()


def _fresh(protocol_id: str) -> compiled.Protocol:
    registry._compiled.cache_clear()
    return registry.get_compiled(protocol_id)


@pytest.mark.parametrize("protocol_id", ["badoux-2011", "ferrajoli-2008", "label-mm-maintenance"])
def test_a_cached_compiled_protocol_reads_back_equal(fresh_cache: Path, protocol_id: str) -> None:
    first = _fresh(protocol_id)  # compiled and stored
    assert (fresh_cache / f"compiled-{protocol_id}.pickle").is_file()
    data = protocol_path(protocol_id).read_bytes()
    hit = cache.load_compiled("compiled", protocol_id, data, compiled.Protocol)
    assert hit is not None and hit is not first
    assert hit == first == compiled.compile_protocol(get_protocol(protocol_id))
    for _, _, node in _pairs(get_protocol(protocol_id), hit):
        assert type(node).__module__ == "lenasched.model.compiled"


def test_a_foreign_or_corrupt_compiled_entry_is_a_miss(fresh_cache: Path, tmp_path: Path) -> None:
    expected = _fresh("badoux-2011")
    entry = fresh_cache / "compiled-badoux-2011.pickle"
    good = entry.read_bytes()
    data = protocol_path("badoux-2011").read_bytes()
    trap = tmp_path / "trap"
    header_end = good.index(b"}") + 1
    for payload in (
        pickle.dumps(_Trap(trap)),  # a global outside the plain classes and the allowed few
        pickle.dumps(PATIENT),  # a pydantic model: not a plain class
        pickle.dumps(compiled.compile_protocol(get_protocol("badoux-2010-lo")).citation),  # not a protocol
        b"\x80\x05K\x07\x94.",  # a pickle of 7
        good[header_end : header_end + 40],  # truncated
    ):
        entry.write_bytes(good[:header_end] + payload)
        assert cache.load_compiled("compiled", "badoux-2011", data, compiled.Protocol) is None
        assert _fresh("badoux-2011") == expected  # compiled again, and a good entry stored
        assert not trap.exists()
    entry.write_bytes(good[:header_end] + pickle.dumps(compiled.compile_protocol(get_protocol("badoux-2010-lo"))))
    assert _fresh("badoux-2011") == expected  # another protocol under this name: the registry refuses it
