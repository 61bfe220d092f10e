"""The public API: what `import lenasched` offers, and the JSON Schema."""

from __future__ import annotations

import json

import lenasched
from lenasched.schema import protocol_schema


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
