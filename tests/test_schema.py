"""The published JSON Schemas accept what the loader accepts, as read by an independent validator (jsonschema).

Editors are told to wire these schemas in; a schema that rejects a valid file (a `/N` cycle step,
the bare-value form) sends users to "fix" correct protocols.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

import lenasched
from lenasched.cli import main
from lenasched.registry import protocol_path
from lenasched.schema import addon_schema, events_schema, protocol_schema

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = Draft202012Validator(protocol_schema())


def _plain(value: Any) -> Any:
    """YAML as a JSON document: dates become the strings an editor sees."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _errors(validator: Draft202012Validator, data: Any) -> list[str]:
    return [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(_plain(data))]


@pytest.mark.parametrize("pid", lenasched.bundled_ids())
def test_every_bundled_protocol_is_valid_under_the_published_schema(pid: str) -> None:
    data = yaml.safe_load(protocol_path(pid).read_text(encoding="utf-8"))
    assert _errors(PROTOCOL, data) == []


def _phase(**drug: Any) -> dict[str, Any]:
    regimen = {"drug": "lenalidomide", "dose": 10, "days": "1-21", **drug}
    return {
        "schema_version": 1,
        "id": "x-2024",
        "title": "t",
        "setting": "s",
        "citation": {"title": "t", "year": 2024},
        "phases": [{"name": "treatment", "cycle_length_days": 28, "cycles": 24, "drugs": [regimen]}],
    }


@pytest.mark.parametrize("cycles", ["7-23/2", "all", "ALL", 3, "1-6", "2-", [1, "3-4"], " 7 - 23 / 2 "], ids=repr)
def test_documented_cycle_forms_pass_both_the_loader_and_the_schema(cycles: Any) -> None:
    data = _phase(cycles=cycles)
    lenasched.protocol_from_dict(data)  # the loader accepts it
    assert _errors(PROTOCOL, data) == []


@pytest.mark.parametrize("cycles", ["7-23/x", "every", "1-6/2,9"], ids=repr)
def test_invalid_cycle_forms_fail_both(cycles: Any) -> None:
    data = _phase(cycles=cycles)
    with pytest.raises(lenasched.ProtocolError):
        lenasched.protocol_from_dict(data)
    if cycles != "1-6/2,9":  # a step after a list is a semantic rule the loader states; the pattern allows lists
        assert _errors(PROTOCOL, data) != []


def test_a_missing_required_field_fails_both() -> None:
    data = _phase()
    del data["setting"]
    with pytest.raises(lenasched.ProtocolError, match="setting"):
        lenasched.protocol_from_dict(data)
    assert any("'setting' is a required property" in e for e in _errors(PROTOCOL, data))


def test_bare_and_sourced_values_are_both_valid() -> None:
    bare = _phase()
    sourced = _phase(dose={"value": 10, "source": "primary", "detail": '"10 mg"'})
    assumed = _phase(dose={"value": 10, "assumption": "not stated"})
    for data in (bare, sourced, assumed):
        lenasched.protocol_from_dict(data)
        assert _errors(PROTOCOL, data) == []


def test_addon_files_have_a_schema_that_accepts_the_bundled_ones() -> None:
    validator = Draft202012Validator(addon_schema())
    files = sorted((ROOT / "protocols" / "addons").glob("*.yaml"))
    assert files
    for file in files:
        assert _errors(validator, yaml.safe_load(file.read_text(encoding="utf-8"))) == [], file.name


def test_events_schema_accepts_the_documented_forms() -> None:
    validator = Draft202012Validator(events_schema())
    data = {
        "events": [
            {"kind": "hold", "date": "2027-01-10", "reason": "neutropenia", "grade": 3},
            {"kind": "resume", "date": "2027-01-24", "level": "lower"},
        ]
    }
    lenasched.PatientEvents.model_validate(data)
    assert _errors(validator, data) == []


def test_cli_prints_each_schema(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("protocol", "addon", "events"):
        assert main(["schema", "--kind", kind]) == 0
        assert json.loads(capsys.readouterr().out)["$id"].endswith(f"/{kind}-v1.json")
