"""``lenasched show``: one protocol with every number's source and the assumptions."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lenasched.cli.options import (
    resolve_protocol,
)

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    show = sub.add_parser("show", help="a protocol in words, with the source of every value")
    show.add_argument("protocol", help="bundled id or path to a YAML file")


def run(args: argparse.Namespace) -> int:
    from lenasched.formats.describe import describe_protocol

    sys.stdout.write(describe_protocol(resolve_protocol(args.protocol)))
    return 0
