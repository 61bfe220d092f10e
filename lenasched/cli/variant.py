"""``lenasched variant``: save a what-if variant of a protocol as a new, valid protocol file."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    from lenasched.cli._designer import add_set_argument
    from lenasched.cli.options import add_output_argument

    parser = sub.add_parser(
        "variant",
        help="a what-if variant (--set drug.field=value) written as a new protocol YAML file",
        description="Apply --set overrides to a protocol and write the result as a protocol file. The models "
        "validate it again (cap, windows, escalation steps...); each changed value is marked as an "
        "assumption that says what it was; id, title and notes say what was changed; reported outcomes "
        "are dropped (the trial did not observe them with the changed schedule).",
    )
    parser.add_argument("protocol", help="bundled id or path to a YAML file")
    add_set_argument(parser)
    parser.add_argument("--id", dest="new_id", help="id of the variant (default: ID-variant)")
    add_output_argument(
        parser, "write the YAML to this file (atomically; - for standard output) instead of the terminal"
    )


def run(args: argparse.Namespace) -> int:
    from lenasched import __version__
    from lenasched.cli.options import emit, resolve_protocol
    from lenasched.design.variants import apply_overrides, protocol_to_yaml
    from lenasched.errors import LenaschedError, VariantError
    from lenasched.model.loader import parse_protocol

    if not args.overrides:
        raise VariantError("", "give at least one --set override, e.g. --set lenalidomide.start=5")
    original = resolve_protocol(args.protocol)
    variant = apply_overrides(original, args.overrides, new_id=args.new_id, version=__version__)
    command = ["lenasched", "variant", args.protocol, *(f"--set={o}" for o in args.overrides)]
    if args.new_id:
        command.append(f"--id={args.new_id}")
    header = [
        f"{variant.id}: what-if variant of {original.id}, written by lenasched {__version__}.",
        "Made with: " + shlex.join(command),
        "Changed values carry `assumption:` saying what they were; see `notes:`.",
    ]
    text = protocol_to_yaml(variant, header=header)
    source = "<variant>" if args.output in (None, "-") else args.output
    if parse_protocol(text, source=source) != variant:  # never write what does not read back
        raise LenaschedError(f"internal error: the YAML of {variant.id} does not read back to the same protocol")
    emit(text, args.output)
    return 0
