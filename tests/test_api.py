"""The public API: what `import lenasched` offers, and the JSON Schema."""

from __future__ import annotations

import json

import lenasched
from lenasched.model.schema import protocol_schema


def test_all_is_sorted_and_complete() -> None:
    assert list(lenasched.__all__) == sorted(lenasched.__all__)
    for name in lenasched.__all__:
        assert hasattr(lenasched, name)


def test_schema_is_generated_from_the_models() -> None:
    schema = protocol_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert schema["additionalProperties"] is False
    assert "phases" in schema["required"]
    json.dumps(schema)


def test_every_bundled_protocol_validates_strictly_and_matches_its_file_name() -> None:
    ids = lenasched.bundled_ids()
    assert "badoux-2011" in ids
    for pid in ids:
        protocol = lenasched.get_protocol(pid)
        assert protocol.id == pid
        assert protocol.unsourced() == [], pid


def test_until_progression_carries_provenance_like_a_number() -> None:
    text = (
        "schema_version: 1\nid: o\ntitle: O\nsetting: s\ncitation: {title: c}\nphases:\n"
        "  - name: p\n    cycle_length_days: {value: 28, source: primary}\n    until_progression: true\n"
        "    drugs:\n      - drug: lenalidomide\n        dose: {value: 10, source: primary}\n"
        "        days: {value: 1-21, source: primary}\n"
    )
    bare = lenasched.parse_protocol(text)
    assert bare.open_ended and bare.unsourced() == ["phases.0.until_progression"]
    sourced = lenasched.parse_protocol(
        text.replace("until_progression: true", "until_progression: {value: true, assumption: not stated}")
    )
    assert sourced.unsourced() == [] and [p for p, _ in sourced.assumptions()] == ["phases.0.until_progression"]
    fixed = lenasched.parse_protocol(text.replace("until_progression: true", "cycles: 2\n    until_progression: false"))
    assert not fixed.open_ended and fixed.total_cycles == 2
