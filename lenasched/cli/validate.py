"""``lenasched validate``: check protocol files (``--strict``: every number sourced)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lenasched.cli.options import (
    resolve_protocol,
)
from lenasched.errors import LenaschedError

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    val = sub.add_parser("validate", help="check protocol files; exit 1 if any is invalid")
    val.add_argument("files", nargs="+", help="YAML files (or bundled ids)")
    val.add_argument("--strict", action="store_true", help="also require a source or assumption for every value")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lenasched.model.loader import load_protocol_or_addon
    from lenasched.model.protocol import Protocol
    from lenasched.model.sourced import iter_sourced

    names: list[str] = []
    for name in args.files:
        folder = Path(name)
        names.extend(sorted(str(f) for f in folder.glob("*.yaml")) if folder.is_dir() else [name])
    failed = 0
    for name in names:
        try:
            model = load_protocol_or_addon(name) if Path(name).is_file() else resolve_protocol(name)
        except LenaschedError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        values = list(iter_sourced(model))
        missing = [path for path, s in values if not s.is_sourced] if args.strict else []
        if missing:
            failed += 1
            for path in missing:
                print(f"error: {name}: {path}: value has no source and is not marked as an assumption", file=sys.stderr)
            continue
        what = model.id if isinstance(model, Protocol) else f"add-on {model.addon}"
        assumed = sum(1 for _, s in values if s.is_assumption)
        print(f"ok: {name} ({what}; {assumed} assumption(s))")
    if not names:
        print("error: no protocol files found", file=sys.stderr)
        return 1
    return 1 if failed else 0
