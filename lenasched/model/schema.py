"""The JSON Schemas of the file formats (protocol, add-on, patient events), generated from the models.

Generated, so they cannot drift from what the loader accepts; tests check every bundled file
against them with an independent validator (jsonschema).
"""

from __future__ import annotations

import json
from typing import Any

from lenasched.model.protocol import Protocol

__all__ = ["SCHEMA_KINDS", "addon_schema", "events_schema", "protocol_schema", "schema_json"]

SCHEMA_ID = "https://lenasched.invalid/schema/protocol-v1.json"
SCHEMA_KINDS = ("protocol", "addon", "events")


def _with_header(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    schema_id = SCHEMA_ID if kind == "protocol" else SCHEMA_ID.replace("protocol-v1", f"{kind}-v1")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": schema_id, **schema}


def protocol_schema() -> dict[str, Any]:
    return _with_header(Protocol.model_json_schema(mode="validation"), "protocol")


def addon_schema() -> dict[str, Any]:
    """An add-on file (``protocols/addons/<id>.yaml``): reusable regimens merged by ``includes:``."""
    from lenasched.model.protocol import AddOn

    return _with_header(AddOn.model_json_schema(mode="validation"), "addon")


def events_schema() -> dict[str, Any]:
    """A patient-events file (``--events FILE``): holds, resumptions, delays, stops."""
    from lenasched.model.events import PatientEvents

    return _with_header(PatientEvents.model_json_schema(mode="validation"), "events")


def schema_json(kind: str = "protocol") -> str:
    """The schema of ``kind`` (protocol, addon or events) as stable, sorted JSON text."""
    schemas = {"protocol": protocol_schema, "addon": addon_schema, "events": events_schema}
    if kind not in schemas:
        raise ValueError(f"unknown schema {kind!r}; known: {', '.join(SCHEMA_KINDS)}")
    return json.dumps(schemas[kind](), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
