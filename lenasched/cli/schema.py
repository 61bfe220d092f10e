"""``lenasched schema``: the JSON Schema of the protocol, add-on or events format."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    schema = sub.add_parser("schema", help="print the JSON Schema of the protocol format (or add-on, events)")
    schema.add_argument(
        "--kind",
        choices=("protocol", "addon", "events"),
        default="protocol",
        help="which file format (default protocol)",
    )


def run(args: argparse.Namespace) -> int:
    from lenasched.model.schema import schema_json

    sys.stdout.write(schema_json(args.kind))
    return 0
