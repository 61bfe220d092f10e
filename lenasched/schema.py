"""The JSON Schema of the protocol format, generated from the models so it cannot drift."""

from __future__ import annotations

import json
from typing import Any

from .protocol import Protocol

__all__ = ["protocol_schema", "schema_json"]

SCHEMA_ID = "https://lenasched.invalid/schema/protocol-v1.json"


def protocol_schema() -> dict[str, Any]:
    schema = Protocol.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_json() -> str:
    return json.dumps(protocol_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
