"""``lenasched dispense``: what to hand out per fill (capsule strengths and counts, days, instructions)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    from lenasched.cli._pharmacy import add_multiple_argument, add_renal_arguments
    from lenasched.cli.options import add_output_argument, parse_date, positive_int

    parser = sub.add_parser(
        "dispense",
        help="dispensing plan: capsules per fill (at most 28 days), days covered, label instructions",
        description="Plan lenalidomide fills from a protocol calendar: per fill the capsule strength(s) and "
        "count, the days covered and the label instructions. Rest days are not dispensed; a fill never "
        "covers more than the REMS 28-day supply limit.",
    )
    parser.add_argument("protocol", help="bundled id or path to a YAML file")
    parser.add_argument("--start", required=True, type=parse_date, help="date of day 1 (YYYY-MM-DD)")
    horizon = parser.add_mutually_exclusive_group()
    horizon.add_argument("--cycles", type=positive_int, help="number of cycles (across phases)")
    horizon.add_argument("--until", type=parse_date, help="last date to plan (YYYY-MM-DD)")
    add_multiple_argument(parser)
    parser.add_argument(
        "--market", choices=("us", "eu"), default="us", help="capsule strengths of this market (EU also 7.5 mg)"
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_output_argument(parser, "write to this file (atomically; - for standard output) instead of the terminal")
    add_renal_arguments(parser, with_weight=True)
    from lenasched.cli._events import add_event_arguments, add_lab_arguments

    add_event_arguments(parser)
    add_lab_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from lenasched.cli.options import calendar_from_args, emit, horizon_of, resolve_protocol
    from lenasched.model.label import load_label
    from lenasched.pharmacy.dispense import dispense_plan

    protocol = resolve_protocol(args.protocol, plain=True)
    label = load_label()
    cycles, until = horizon_of(protocol, args, "planning")
    others = [d for d in protocol.drugs if d != label.drug]
    # the drug filter: companions keep their events, not their doses (no BSA needed)
    calendar = calendar_from_args(args, protocol, cycles, until, label=label, drugs=[label.drug])
    plan = dispense_plan(calendar, allow_multiple=args.allow_multiple_capsules, renal=calendar.renal, label=label)
    if others:
        from dataclasses import replace

        plan = replace(plan, not_dispensed=tuple(others))
    if args.format == "csv":
        from lenasched.formats.dispense import plan_csv

        emit(plan_csv(plan), args.output)
    elif args.format == "json":
        from lenasched.formats.dispense import plan_json

        emit(plan_json(plan), args.output)
    else:
        import io

        from rich.console import Console

        from lenasched.render.dispense import render_plan

        view = render_plan(plan, title=protocol.title)
        if args.output:
            console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
            console.print(view)
            emit(console.export_text(), args.output)
        else:
            Console().print(view)
    from lenasched.cli.options import say_audit

    say_audit(calendar)
    return 0
