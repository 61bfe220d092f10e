"""Command-line options for patient events (holds, reductions, delays, stops), shared by commands."""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from lenasched.errors import ScheduleError

if TYPE_CHECKING:
    from lenasched.model.events import PatientEvents

__all__ = ["add_event_arguments", "add_lab_arguments", "events_from_args", "labs_from_args"]


def add_event_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "what really happened (holds, dose reductions, delays)",
        "Each option may be repeated; --events reads the same from a YAML/JSON file. "
        "The calendar is recomputed and every change is listed in the audit trail.",
    )
    group.add_argument("--events", metavar="FILE", help="patient events file (see docs/pharmacists.md)")
    group.add_argument(
        "--hold",
        action="append",
        default=[],
        metavar="DATE[:REASON[:GRADE]]",
        help="hold lenalidomide from DATE, e.g. 2027-01-10:neutropenia:3",
    )
    group.add_argument(
        "--resume",
        action="append",
        default=[],
        metavar="DATE[:lower|same|DOSE]",
        help="resume on DATE one dose level lower (default), at the same dose, or at DOSE mg",
    )
    group.add_argument("--delay", action="append", default=[], metavar="CYCLE:DAYS", help="delay cycle N by K days")
    group.add_argument("--no-escalation", action="append", default=[], metavar="DATE", help="no increase from DATE")
    group.add_argument("--stop", metavar="DATE", help="stop every drug from DATE")


def add_lab_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "lab results (through the protocol's dose-modification rules)",
        "Counts in 10^9/L (plt=25 is 25,000/mcL; anc=1.4 is 1,400/mcL), crcl in mL/min, "
        "grade.<toxicity>=0-5 (CTCAE). The holds, resumptions and delays the rules give join the events.",
    )
    group.add_argument(
        "--lab",
        action="append",
        default=[],
        metavar="DATE:NAME=VALUE[,...]",
        help="a dated result, e.g. 2027-01-18:plt=25,anc=1.4 (repeat for more dates)",
    )
    group.add_argument("--labs", metavar="FILE", help="results file: CSV (date,anc,plt,...) or YAML (results: [...])")


def labs_from_args(args: argparse.Namespace) -> list[Any] | None:
    """The results of ``--labs FILE`` and ``--lab`` options as one list; None when there are none."""
    if not getattr(args, "labs", None) and not getattr(args, "lab", []):
        return None  # no results: their models are not even imported (start-up)
    from lenasched.model.labs import parse_lab_option

    results: list[Any] = []
    if getattr(args, "labs", None):
        from lenasched.model.labfile import load_labs

        results.extend(load_labs(args.labs))
    results.extend(parse_lab_option(text) for text in getattr(args, "lab", []))
    return results or None


def events_from_args(args: argparse.Namespace) -> PatientEvents | None:
    """The events given as options and/or a file, as one list validated together; None when there are none."""
    if not (args.events or args.hold or args.resume or args.delay or args.no_escalation or args.stop):
        return None  # no events: their models are not even imported (start-up)
    from lenasched.model.loader import merge_events

    options: list[tuple[str, dict[str, Any]]] = []
    for text in args.hold:
        day, _, rest = text.partition(":")
        reason, _, grade = rest.partition(":")
        item: dict[str, Any] = {"kind": "hold", "date": day}
        if reason:
            item["reason"] = reason
        if grade:
            item["grade"] = grade
        options.append((f"--hold {text}", item))
    for text in args.resume:
        day, _, how = text.partition(":")
        item = {"kind": "resume", "date": day}
        if how in ("lower", "same"):
            item["level"] = how
        elif how:
            try:
                item["dose"] = Decimal(how)
            except InvalidOperation:
                raise ScheduleError(f"--resume {text}: say 'lower', 'same' or a dose in mg after the date") from None
        options.append((f"--resume {text}", item))
    for text in args.delay:
        cycle, sep, days = text.partition(":")
        if not sep:
            raise ScheduleError(f"--delay {text}: write CYCLE:DAYS, e.g. 3:7")
        options.append((f"--delay {text}", {"kind": "delay", "cycle": cycle, "days": days}))
    options.extend((f"--no-escalation {day}", {"kind": "no_escalation", "date": day}) for day in args.no_escalation)
    if args.stop:
        options.append((f"--stop {args.stop}", {"kind": "stop", "date": args.stop}))
    return merge_events(args.events, options)
