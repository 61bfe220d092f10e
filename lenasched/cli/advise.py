"""``lenasched advise``: the one-screen answer at the counter - what the rules say to do on a date."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    from lenasched.cli._events import add_event_arguments, add_lab_arguments
    from lenasched.cli.options import parse_date

    parser = sub.add_parser(
        "advise",
        help="what the protocol's dose-modification rules say on a date, from lab results",
        description="Apply a protocol's dose-modification rules to the patient's results up to a date and "
        "print that date's action (interrupt / resume at a level / do not start the cycle / no change), the "
        "rule and its source, and the next dose. Earlier results count (a second drop is not a first).",
    )
    parser.add_argument("protocol", help="bundled id or path to a YAML file (with dose_modification rules)")
    parser.add_argument("--start", required=True, type=parse_date, help="date of cycle 1 day 1 (YYYY-MM-DD)")
    parser.add_argument("--date", type=parse_date, help="the date to advise on (default: the latest result's date)")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    add_lab_arguments(parser)
    add_event_arguments(parser)


def run(args: argparse.Namespace) -> int:
    import json

    from lenasched.cli._events import events_from_args, labs_from_args
    from lenasched.cli.options import resolve_protocol
    from lenasched.formats.describe import DISCLAIMER
    from lenasched.pharmacy.advice import advise

    protocol = resolve_protocol(args.protocol)
    advice = advise(protocol, args.start, labs_from_args(args) or [], on=args.date, events=events_from_args(args))
    if args.format == "json":
        data = {
            "protocol": advice.protocol_id,
            "date": advice.on.isoformat(),
            "drug": advice.drug,
            "result": {k: str(v) for k, v in sorted(advice.result.values.items())} if advice.result else None,
            "action": advice.action,
            "headline": advice.headline,
            "reasons": list(advice.reasons),
            "checks": list(advice.checks),
            "next_dose": None
            if advice.next_dose is None
            else {
                "date": advice.next_dose[0].isoformat(),
                "dose": str(advice.next_dose[1]),
                "unit": advice.next_dose[2],
            },
            "disclaimer": DISCLAIMER,
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.text import Text

    console = Console(soft_wrap=True)
    console.print(Text(f"{protocol.id} · {advice.on.isoformat()}", style="bold"))
    if advice.result is not None:
        console.print(Text(f"result: {advice.result.describe()}"))
    else:
        console.print(Text(f"no result dated {advice.on.isoformat()}: the state after the earlier ones"))
    console.print(Text(advice.headline, style="bold"))
    for reason in advice.reasons:
        console.print(Text(f"  because {reason}"))
    if advice.checks:
        console.print(Text("rules read:"))
        for check in advice.checks:
            console.print(Text(f"  {check}"))
    for line in advice.lines()[1 + len(advice.reasons) :]:
        console.print(Text(line))
    console.print(Text(DISCLAIMER, style="italic"))
    return 0
