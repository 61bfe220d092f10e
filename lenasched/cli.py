"""The ``lenasched`` command line. Only this module prints; heavy imports happen per command."""

from __future__ import annotations

import argparse
import contextvars
import sys
from collections.abc import Sequence
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import LenaschedError

__all__ = ["main"]

DEFAULT_OPEN_CYCLES = 6


class UsageError(LenaschedError):
    """Bad command-line input (a date that does not parse, a negative BSA...)."""


def _date(text: str) -> date:
    from dateutil.parser import isoparse

    try:
        return (
            isoparse(text).date() if "T" in text else isoparse(text[:10]).date() if len(text) == 10 else _bad_date(text)
        )
    except ValueError:
        return _bad_date(text)


def _bad_date(text: str) -> date:
    raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-12-01")


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _clock(text: str) -> time:
    import re

    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day; write it as HH:MM, e.g. 08:00")
    return time(int(match[1]), int(match[2]))


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be " + ("0 or more" if minimum == 0 else f"at least {minimum}")
        )
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lenasched",
        description="Lenalidomide dosing protocols as exact, auditable day-by-day calendars.",
        epilog="It plans and documents; it does not replace clinical judgement.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"lenasched {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lst = sub.add_parser("list", help="bundled protocols: id, title, setting, citation")
    lst.add_argument("--outcomes", action="store_true", help="show the reported outcomes instead (NR = not reported)")

    show = sub.add_parser("show", help="a protocol in words, with the source of every value")
    show.add_argument("protocol", help="bundled id or path to a YAML file")

    cal = sub.add_parser("calendar", help="expand a protocol into a dated calendar")
    cal.add_argument("protocol", help="bundled id or path to a YAML file")
    cal.add_argument("--start", required=True, type=_date, help="date of day 1 (YYYY-MM-DD)")
    horizon = cal.add_mutually_exclusive_group()
    horizon.add_argument("--cycles", type=_positive_int, help="number of cycles (across phases)")
    horizon.add_argument("--until", type=_date, help="last date to show (YYYY-MM-DD)")
    cal.add_argument(
        "--format", choices=("table", "csv", "json", "html", "ics", "fhir", "nonmem", "sdtm-ex"), default="table"
    )
    add_output_argument(cal, "write to this file (atomically; - for standard output) instead of the terminal")
    cal.add_argument("--reminder", type=_clock, metavar="HH:MM", help="ics: a daily reminder at this time (with --tz)")
    cal.add_argument("--tz", metavar="ZONE", help="ics: IANA time zone of the reminder, e.g. Europe/Rome")
    _add_export_arguments(cal)
    from .commands._events import add_event_arguments, add_lab_arguments

    add_event_arguments(cal)
    add_lab_arguments(cal)
    body = cal.add_argument_group("patient (for mg/m² and mg/kg doses)")
    body.add_argument("--bsa", type=_decimal, help="body-surface area in m²")
    body.add_argument("--height", type=_decimal, help="height in cm (with --weight: BSA is computed)")
    body.add_argument("--weight", type=_decimal, help="weight in kg")
    body.add_argument("--bsa-formula", choices=("mosteller", "dubois"), default="mosteller")
    from .commands._pharmacy import add_multiple_argument, add_rems_arguments, add_renal_arguments

    add_multiple_argument(cal)
    add_renal_arguments(cal, with_weight=False)
    add_rems_arguments(cal)

    val = sub.add_parser("validate", help="check protocol files; exit 1 if any is invalid")
    val.add_argument("files", nargs="+", help="YAML files (or bundled ids)")
    val.add_argument("--strict", action="store_true", help="also require a source or assumption for every value")

    sub.add_parser("schema", help="print the JSON Schema of the protocol format")
    for name in EXTRA_COMMANDS:
        _extra(name).register(sub)
    return parser


# Further commands, each a module in lenasched/commands with ``register(sub)`` and ``run(args) -> int``.
EXTRA_COMMANDS: tuple[str, ...] = ("dispense", "advise", "compare", "variant", "simulate")


def _extra(name: str) -> Any:
    import importlib

    return importlib.import_module(f"lenasched.commands.{name}")


def _patient(args: argparse.Namespace) -> Any:
    if args.bsa is None and args.height is None and args.weight is None:
        return None
    if args.height is not None and args.weight is None:
        raise UsageError("--height needs --weight to compute a BSA")
    if args.bsa is not None and args.height is not None:
        raise UsageError("give either --bsa or --height/--weight, not both")
    from .patient import Patient

    # Patient refuses bad or implausible values itself, as a LenaschedError naming the value and range.
    return Patient(
        bsa_m2=args.bsa,
        height_cm=args.height,
        weight_kg=args.weight,
        bsa_formula=args.bsa_formula,
        allow_implausible=frozenset(args.allow_implausible),
    )


def resolve_protocol(name: str) -> Any:
    """``registry.resolve`` for a name typed on the command line; a former id also gets a note on stderr."""
    from .registry import alias_note, resolve

    protocol = resolve(name)
    note = alias_note(name)
    if note is not None:
        print(f"note: {note}", file=sys.stderr)
    return protocol


def horizon_of(protocol: Any, args: argparse.Namespace, verb: str) -> tuple[int | None, date | None]:
    """``--cycles``/``--until`` as given; an open-ended protocol without them gets a default, announced."""
    cycles, until = args.cycles, args.until
    if protocol.open_ended and cycles is None and until is None:
        cycles = DEFAULT_OPEN_CYCLES
        print(
            f"note: {protocol.id} continues until progression; {verb} the first {cycles} cycles "
            "(use --cycles or --until for more)",
            file=sys.stderr,
        )
    return cycles, until


# --force of the running command, set by main(): every command's output goes through _emit, also
# those that hand it only the --output path, so each honours --force without threading it through.
_FORCE: contextvars.ContextVar[bool] = contextvars.ContextVar("lenasched_force", default=False)


def add_output_argument(parser: argparse.ArgumentParser, description: str) -> None:
    """``--output/-o FILE`` (``-`` is standard output) and the ``--force`` that goes with it."""
    parser.add_argument("--output", "-o", metavar="FILE", help=description)
    parser.add_argument(
        "--force", action="store_true", help="replace the --output file even if it is read-only (keeping its mode)"
    )


def _emit(text: str | bytes, output: str | None) -> None:
    """``text`` to the file ``output`` (atomically, see lenasched.atomic) or, without one or for ``-``, stdout."""
    if output and output != "-":
        from .atomic import write_atomic

        for stale in write_atomic(output, text, force=_FORCE.get()):
            print(f"note: removed stale temporary file {stale} from an interrupted run", file=sys.stderr)
    elif isinstance(text, bytes):  # exact bytes (CRLF of iCalendar), untouched by newline translation
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(text)


def _cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .registry import bundled_ids, get_protocol

    if args.outcomes:
        from .outcomes import OUTCOME_FIELDS

        table = Table(title="Reported outcomes (NR = not reported)", title_justify="left")
        table.add_column("id", overflow="fold")
        for label in OUTCOME_FIELDS.values():
            table.add_column(label, overflow="fold", justify="right")
        for pid in bundled_ids():
            outcomes = get_protocol(pid).outcomes
            table.add_row(pid, *(outcomes.display(name) for name in OUTCOME_FIELDS))
    else:
        table = Table(title="Bundled protocols", title_justify="left")
        for name in ("id", "title", "setting", "citation"):
            table.add_column(name, overflow="fold")
        for pid in bundled_ids():
            p = get_protocol(pid)
            table.add_row(p.id, p.title, p.setting, p.citation.short())
    Console().print(table)
    return 0


def _cmd_show(args: argparse.Namespace) -> int:
    from .describe import describe_protocol

    sys.stdout.write(describe_protocol(resolve_protocol(args.protocol)))
    return 0


def _cmd_calendar(args: argparse.Namespace) -> int:
    from .engine import expand

    if args.format != "ics" and (args.reminder is not None or args.tz is not None):
        raise UsageError("--reminder and --tz apply to --format ics only")
    _check_export_arguments(args)
    protocol = resolve_protocol(args.protocol)
    cycles, until = horizon_of(protocol, args, "showing")
    from .commands._events import events_from_args, labs_from_args
    from .commands._pharmacy import apply_pharmacy, renal_function

    calendar = expand(  # the Calendar itself refuses impossible doses (lenasched.safety)
        protocol,
        args.start,
        cycles=cycles,
        until=until,
        patient=_patient(args),
        events=events_from_args(args),
        renal=renal_function(args),
        renal_column=args.renal_column,
        labs=labs_from_args(args),
    )
    layer = apply_pharmacy(args, calendar)
    if args.format == "html":
        from .formats.html import to_html

        _emit(
            to_html(calendar, allow_multiple=args.allow_multiple_capsules, remarks=layer.remarks, checks=layer.tests),
            args.output,
        )
    elif args.format == "ics":
        from .formats.ics import to_ics

        _emit(
            to_ics(
                calendar,
                reminder=args.reminder,
                tz=args.tz,
                allow_multiple=args.allow_multiple_capsules,
                remarks=layer.remarks,
                checks=layer.tests,
            ),
            args.output,
        )
    elif args.format in EXPORT_FORMATS:
        _emit(_export(args, calendar), args.output)
        for remark in layer.csv_notes():
            print(f"note: {remark}", file=sys.stderr)
    elif args.format == "csv":
        from .formats.csv import to_csv

        _emit(to_csv(calendar), args.output)
        for remark in layer.csv_notes():
            print(f"note: {remark}", file=sys.stderr)
    elif args.format == "json":
        from .formats.json import to_json

        _emit(layer.extend_json(to_json(calendar)), args.output)
    else:
        from rich.console import Console

        from .render.terminal import render_calendar

        if args.output:
            import io

            console = Console(record=True, width=120, file=io.StringIO(), color_system=None)
            console.print(render_calendar(calendar), *layer.renderables())
            _emit(console.export_text(), args.output)
        else:
            Console().print(render_calendar(calendar), *layer.renderables())
    return 0


EXPORT_FORMATS = ("fhir", "nonmem", "sdtm-ex")
_EXPORT_OPTIONS = {"drug": "nonmem", "cmt": "nonmem", "explicit_doses": "nonmem", "fhir_granularity": "fhir"}


def _add_export_arguments(cal: argparse.ArgumentParser) -> None:
    group = cal.add_argument_group("exchange formats (fhir, nonmem, sdtm-ex)")
    group.add_argument(
        "--drug",
        metavar="NAME",
        help="nonmem: the drug to write (default lenalidomide; one drug per table: its doses share a compartment)",
    )
    group.add_argument("--cmt", type=_positive_int, metavar="N", help="nonmem: dosing compartment CMT (default 1)")
    group.add_argument(
        "--explicit-doses", action="store_true", help="nonmem: one row per dose instead of II/ADDL runs of daily doses"
    )
    group.add_argument(
        "--fhir-granularity",
        choices=("step", "day"),
        help="fhir: one MedicationRequest per drug and dose step (default) or per administration day",
    )
    group.add_argument(
        "--subject",
        metavar="ID",
        help="nonmem ID (a number, default 1), sdtm-ex USUBJID (default PLANNED), fhir subject name",
    )


def _check_export_arguments(args: argparse.Namespace) -> None:
    for name, fmt in _EXPORT_OPTIONS.items():
        if getattr(args, name) not in (None, False) and args.format != fmt:
            raise UsageError(f"--{name.replace('_', '-')} applies to --format {fmt} only")
    if args.subject is not None and args.format not in EXPORT_FORMATS:
        raise UsageError("--subject applies to --format " + ", ".join(EXPORT_FORMATS) + " only")


def _export(args: argparse.Namespace, calendar: Any) -> str:
    """fhir, nonmem or sdtm-ex text; each module documents its choices."""
    if args.format == "fhir":
        from .formats.fhir import to_fhir

        return to_fhir(calendar, granularity=args.fhir_granularity or "step", subject=args.subject)
    if args.format == "sdtm-ex":
        from .formats.sdtm import DEFAULT_USUBJID, to_sdtm_ex

        return to_sdtm_ex(calendar, usubjid=DEFAULT_USUBJID if args.subject is None else args.subject)
    from .formats.nonmem import DEFAULT_DRUG, to_nonmem

    subject = 1
    if args.subject is not None:
        try:
            subject = _positive_int(args.subject)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(f"--subject for nonmem is the numeric ID column: {exc}") from None
    return to_nonmem(
        calendar,
        drug=args.drug or DEFAULT_DRUG,
        subject_id=subject,
        cmt=args.cmt or 1,
        explicit=args.explicit_doses,
    )


def _cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .loader import load_protocol_or_addon
    from .protocol import Protocol
    from .sourced import iter_sourced

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


def _cmd_schema(args: argparse.Namespace) -> int:
    from .schema import schema_json

    sys.stdout.write(schema_json())
    return 0


_COMMANDS = {
    "list": _cmd_list,
    "show": _cmd_show,
    "calendar": _cmd_calendar,
    "validate": _cmd_validate,
    "schema": _cmd_schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 refused or invalid, 2 usage)."""
    args = _parser().parse_args(argv)
    token = _FORCE.set(bool(getattr(args, "force", False)))
    try:
        if args.command in _COMMANDS:
            return _COMMANDS[args.command](args)
        return int(_extra(args.command).run(args))
    except LenaschedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        _FORCE.reset(token)
