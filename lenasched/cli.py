"""The ``lenasched`` command line. Only this module prints; heavy imports happen per command."""

from __future__ import annotations

import argparse
import contextvars
import sys
from collections.abc import Callable, Sequence
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from .errors import LenaschedError

__all__ = ["main"]

DEFAULT_OPEN_CYCLES = 6

# Exit statuses (README, "Exit status"): 0 done; 1 input refused (a LenaschedError, an unwritable output);
# 2 the command line does not parse (argparse); 130 interrupted (Ctrl-C).
EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class ArgumentParser(argparse.ArgumentParser):
    """argparse with lenasched's failure format: a usage error is one ``error:`` line, then a ``hint:`` line
    naming the ``--help`` to read, and exit status 2; the usage block is for ``--help`` only.

    Subcommand parsers are of this class too (``add_subparsers`` makes its parsers of the parent's class).
    """

    def error(self, message: str) -> NoReturn:
        self._usage_error(message, self.prog)

    def _usage_error(self, message: str, prog: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message}\nhint: see `{prog} --help`\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """As argparse's, but an unrecognized option's hint names the command's ``--help``, not the top one."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            prog = f"{self.prog} {command}" if command else self.prog
            self._usage_error("unrecognized arguments: " + " ".join(extras), prog)
        return parsed


class UsageError(LenaschedError):
    """Options that parse but do not go together (``--paper`` with ``--format csv``, ``--height`` without
    ``--weight``): refused input, exit status 1. What argparse itself cannot parse exits with 2."""


def _date(text: str) -> date:
    from dateutil.parser import isoparse

    from .dayspec import EARLIEST_DATE, LATEST_DATE

    try:
        value = (
            isoparse(text).date() if "T" in text else isoparse(text[:10]).date() if len(text) == 10 else _bad_date(text)
        )
    except (ValueError, OverflowError):
        return _bad_date(text)
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside the dates lenasched writes ({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
        )
    return value


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


def _parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv`` (default ``sys.argv[1:]``).

    Only the command that ``argv`` names gets its options (importing just its module); the others are
    registered by name alone. Without a command, or with an option before it (``--help``), every
    command is registered in full, so the top-level help and usage errors list them all.
    """
    parser = ArgumentParser(
        prog="lenasched",
        description="Lenalidomide dosing protocols as exact, auditable day-by-day calendars.",
        epilog="It plans and documents; it does not replace clinical judgement.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"lenasched {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registrations: dict[str, Callable[[Any], None]] = {
        "list": _register_list,
        "show": _register_show,
        "calendar": _register_calendar,
        "validate": _register_validate,
        "schema": _register_schema,
    }
    for name in EXTRA_COMMANDS:
        registrations[name] = _extra_registration(name)
    chosen = _named_command(sys.argv[1:] if argv is None else argv, registrations)
    for name, register in registrations.items():
        if chosen is None or name == chosen:
            register(sub)
        else:
            sub.add_parser(name)  # by name only: this run does not parse its options
    return parser


def _named_command(argv: Sequence[str], commands: Any) -> str | None:
    """The command ``argv`` runs when its first word names one (and no option comes before it), else None."""
    first = next(iter(argv), None)
    if first is None or first.startswith("-") or first not in commands:
        return None
    return first


def _extra_registration(name: str) -> Callable[[Any], None]:
    def register(sub: Any) -> None:
        _extra(name).register(sub)

    return register


def _register_list(sub: Any) -> None:
    lst = sub.add_parser("list", help="bundled protocols: id, title, setting, citation")
    lst.add_argument("--outcomes", action="store_true", help="show the reported outcomes instead (NR = not reported)")
    lst.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (terminal), or for scripts json (a list of objects) or csv (with a header row); "
        "fields: id, title, setting, citation, year, pmid, doi, registry, phases, drugs, cycles, until_progression "
        "(with --outcomes: id and each outcome, empty/null when not reported)",
    )
    add_output_argument(lst, "write to this file (atomically; - for standard output) instead of the terminal")


def _register_show(sub: Any) -> None:
    show = sub.add_parser("show", help="a protocol in words, with the source of every value")
    show.add_argument("protocol", help="bundled id or path to a YAML file")


def _register_calendar(sub: Any) -> None:
    cal = sub.add_parser("calendar", help="expand a protocol into a dated calendar")
    cal.add_argument("protocol", help="bundled id or path to a YAML file")
    cal.add_argument("--start", required=True, type=_date, help="date of day 1 (YYYY-MM-DD)")
    horizon = cal.add_mutually_exclusive_group()
    horizon.add_argument("--cycles", type=_positive_int, help="number of cycles (across phases)")
    horizon.add_argument("--until", type=_date, help="last date to show (YYYY-MM-DD)")
    cal.add_argument(
        "--format",
        choices=("table", "csv", "json", "html", "pdf", "ics", "fhir", "nonmem", "sdtm-ex"),
        default="table",
    )
    cal.add_argument(
        "--paper",
        choices=("a4", "letter"),
        help="html, pdf: paper size, landscape (default: letter where the locale's country uses it, else a4)",
    )
    add_output_argument(cal, "write to this file (atomically; - for standard output) instead of the terminal")
    cal.add_argument(
        "--market",
        choices=("us", "eu"),
        default="us",
        help="where the capsules are dispensed: the strengths differ (the EU also has 7.5 mg); default us",
    )
    cal.add_argument("--reminder", type=_clock, metavar="HH:MM", help="ics: a daily reminder at this time (with --tz)")
    cal.add_argument("--tz", metavar="ZONE", help="ics: IANA time zone of the reminder, e.g. Europe/Rome")
    cal.add_argument(
        "--previous",
        metavar="OLD.ics",
        help="ics: the file this one replaces: unchanged events keep their SEQUENCE, changed ones get SEQUENCE+1, "
        "dose days no longer in the plan are written as STATUS:CANCELLED",
    )
    cal.add_argument(
        "--stamp",
        metavar="WHEN",
        help="ics: DTSTAMP of new and changed events, a UTC date-time such as 2027-01-15T09:00:00Z "
        "(default: the start date, or 1 s after the latest DTSTAMP of --previous)",
    )
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


def _register_validate(sub: Any) -> None:
    val = sub.add_parser("validate", help="check protocol files; exit 1 if any is invalid")
    val.add_argument("files", nargs="+", help="YAML files (or bundled ids)")
    val.add_argument("--strict", action="store_true", help="also require a source or assumption for every value")


def _register_schema(sub: Any) -> None:
    schema = sub.add_parser("schema", help="print the JSON Schema of the protocol format (or add-on, events)")
    schema.add_argument(
        "--kind",
        choices=("protocol", "addon", "events"),
        default="protocol",
        help="which file format (default protocol)",
    )


# Further commands, each a module in lenasched/commands with ``register(sub)`` and ``run(args) -> int``.
EXTRA_COMMANDS: tuple[str, ...] = ("dispense", "advise", "compare", "variant", "simulate", "sweep", "serve")


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


def calendar_from_args(args: argparse.Namespace, protocol: Any, cycles: int | None, until: Any, **extra: Any) -> Any:
    """The calendar the patient options describe (events, lab results, renal function, market).

    One reading of those options for ``calendar``, ``dispense`` and the web app; ``extra`` goes to
    ``expand`` as is (the patient's body size, or the dispensing drug filter).
    """
    from .commands._events import events_from_args, labs_from_args
    from .commands._pharmacy import renal_function
    from .engine import expand

    return expand(
        protocol,
        args.start,
        cycles=cycles,
        until=until,
        events=events_from_args(args),
        labs=labs_from_args(args),
        renal=renal_function(args),
        renal_column=args.renal_column,
        market=args.market,
        **extra,
    )


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
    from .registry import bundled_ids, get_protocol

    protocols = [get_protocol(pid) for pid in bundled_ids()]
    if args.format in ("json", "csv"):
        from .describe import LIST_FIELDS, OUTCOME_LIST_FIELDS, outcomes_row, protocol_row

        rows = [outcomes_row(p) if args.outcomes else protocol_row(p) for p in protocols]
        if args.format == "json":
            import json

            text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
        else:
            text = _csv_rows(rows, OUTCOME_LIST_FIELDS if args.outcomes else LIST_FIELDS)
        _emit(text, args.output)
        return 0
    from .render.terminal import render_outcomes, render_protocol_list

    renderable = render_outcomes(protocols) if args.outcomes else render_protocol_list(protocols)
    _print_renderable(renderable, args.output)
    return 0


def _csv_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV with a header; lists joined with "; ", None empty, text cells safe from spreadsheet formulas."""
    import csv
    import io

    from .formats.cells import text_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells: list[object] = []
        for column in columns:
            value = row.get(column)
            if isinstance(value, list):
                value = "; ".join(map(str, value))
            if isinstance(value, bool):
                value = "true" if value else "false"
            cells.append(text_cell(value) if isinstance(value, str) else "" if value is None else value)
        writer.writerow(cells)
    return buffer.getvalue()


def _print_renderable(renderable: Any, output: str | None) -> None:
    """A rich renderable to the terminal, or its plain text (at 160 columns) to ``output``."""
    from rich.console import Console

    if output and output != "-":
        import io

        console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
        console.print(renderable)
        _emit(console.export_text(), output)
    else:
        Console().print(renderable)


def _cmd_show(args: argparse.Namespace) -> int:
    from .describe import describe_protocol

    sys.stdout.write(describe_protocol(resolve_protocol(args.protocol)))
    return 0


def _cmd_calendar(args: argparse.Namespace) -> int:

    if args.format != "ics" and (args.reminder is not None or args.tz is not None):
        raise UsageError("--reminder and --tz apply to --format ics only")
    if args.format not in ("html", "pdf") and args.paper is not None:
        raise UsageError("--paper applies to --format html and pdf only")
    if args.format != "ics" and (args.previous is not None or args.stamp is not None):
        raise UsageError("--previous and --stamp apply to --format ics only")
    _check_export_arguments(args)
    protocol = resolve_protocol(args.protocol)
    cycles, until = horizon_of(protocol, args, "showing")
    from .commands._pharmacy import apply_pharmacy

    # the Calendar itself refuses impossible doses (lenasched.safety)
    calendar = calendar_from_args(args, protocol, cycles, until, patient=_patient(args))
    layer = apply_pharmacy(args, calendar)
    if args.format == "pdf":
        from .formats.html import default_paper, to_html
        from .formats.pdf import html_to_pdf

        html = to_html(
            calendar,
            allow_multiple=args.allow_multiple_capsules,
            remarks=layer.remarks,
            checks=layer.tests,
            paper=args.paper or default_paper(),
        )
        _emit(html_to_pdf(html), args.output)
    elif args.format == "html":
        from .formats.html import default_paper, to_html

        _emit(
            to_html(
                calendar,
                allow_multiple=args.allow_multiple_capsules,
                remarks=layer.remarks,
                checks=layer.tests,
                paper=args.paper or default_paper(),
            ),
            args.output,
        )
    elif args.format == "ics":
        from .formats.ics import build_ics, parse_stamp

        previous = None
        if args.previous is not None:
            from pathlib import Path

            try:
                previous = Path(args.previous).read_bytes()
            except OSError as exc:
                raise UsageError(f"--previous {args.previous}: cannot read it ({exc.strerror or exc})") from None
        ics = build_ics(
            calendar,
            reminder=args.reminder,
            tz=args.tz,
            allow_multiple=args.allow_multiple_capsules,
            remarks=layer.remarks,
            checks=layer.tests,
            patient_id=args.patient_id,
            previous=previous,
            previous_name=args.previous or "",
            stamp=None if args.stamp is None else parse_stamp(args.stamp),
            warn=lambda message: print(f"warning: {message}", file=sys.stderr),
        )
        _emit(ics.data, args.output)
        if previous is not None:
            print(f"note: compared with {args.previous}: {ics.summary()}", file=sys.stderr)
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
    if args.format in ("csv", *EXPORT_FORMATS):  # data files carry no prose: the one sentence goes to the terminal
        from .describe import off_label_note

        off_label = off_label_note(protocol)
        if off_label:
            print(f"note: {off_label}", file=sys.stderr)
        say_audit(calendar)
    return 0


def say_audit(calendar: Any) -> None:
    """Every audit entry as a note on stderr, for outputs with no place for it (CSV, exports, dispensing).

    A row's ``modified_by`` shows what changed it; an event that changed nothing (a hold after the
    calendar's end, a companion's hold when only lenalidomide is dispensed) would otherwise go unsaid.
    """
    for entry in calendar.modifications:
        drug = f" {entry.drug}" if entry.drug else ""
        print(f"note: audit {entry.date.isoformat()}{drug}: {entry.event}: {entry.effect}", file=sys.stderr)


EXPORT_FORMATS = ("fhir", "nonmem", "sdtm-ex")
_EXPORT_OPTIONS = {
    "drug": "nonmem",
    "cmt": "nonmem",
    "explicit_doses": "nonmem",
    "fhir_granularity": "fhir",
    "fhir_bundle": "fhir",
}


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
        "--obs-times",
        metavar="HOURS",
        help="nonmem: observation rows (EVID 0, MDV 0) at these hours from study day 1 00:00, e.g. 2,4,24,672.5",
    )
    group.add_argument(
        "--obs-file", metavar="FILE", help="nonmem: observation times (hours) from a file, one or more per line"
    )
    group.add_argument(
        "--obs-cmt",
        type=lambda text: _whole_number(text, 0),
        metavar="N",
        help="nonmem: CMT of observation rows (default 0)",
    )
    group.add_argument(
        "--dose-time", type=_clock, metavar="HH:MM", help="nonmem: clock time of every dose (default 00:00)"
    )
    group.add_argument(
        "--domain",
        choices=("ex", "ec", "cm"),
        help="sdtm-ex: EX (default: exposure as applied, with EXADJ), EC (planned, ECMOOD=SCHEDULED), "
        "or CM (prophylaxis and supportive drugs)",
    )
    group.add_argument(
        "--xpt", action="store_true", help="sdtm-ex: SAS transport (XPT v5) instead of CSV (needs pyreadstat)"
    )
    group.add_argument(
        "--fhir-granularity",
        choices=("step", "day"),
        help="fhir: one MedicationRequest per drug and dose step (default) or per administration day",
    )
    group.add_argument(
        "--fhir-bundle",
        choices=("transaction", "collection"),
        help="fhir: a transaction an EHR imports (default; conditional updates) or a plain collection",
    )
    group.add_argument(
        "--patient-id",
        metavar="ID",
        help="fhir: the Patient's identifier (default PLANNED; --subject is its name); "
        "ics: keys the event UIDs (as a digest), so a regenerated calendar updates the same events",
    )
    group.add_argument(
        "--subject",
        metavar="ID",
        help="nonmem ID (a number, default 1), sdtm-ex USUBJID (default PLANNED), fhir subject name",
    )


def _check_export_arguments(args: argparse.Namespace) -> None:
    if args.patient_id is not None and args.format not in ("fhir", "ics"):
        raise UsageError("--patient-id applies to --format fhir and ics only")
    for name, fmt in _EXPORT_OPTIONS.items():
        if getattr(args, name) not in (None, False) and args.format != fmt:
            raise UsageError(f"--{name.replace('_', '-')} applies to --format {fmt} only")
    if args.subject is not None and args.format not in EXPORT_FORMATS:
        raise UsageError("--subject applies to --format " + ", ".join(EXPORT_FORMATS) + " only")
    only = {"obs_times": "nonmem", "obs_file": "nonmem", "obs_cmt": "nonmem", "dose_time": "nonmem"}
    for name, fmt in {**only, "domain": "sdtm-ex", "xpt": "sdtm-ex"}.items():
        if getattr(args, name) not in (None, False) and args.format != fmt:
            raise UsageError(f"--{name.replace('_', '-')} applies to --format {fmt} only")
    if args.obs_times is not None and args.obs_file is not None:
        raise UsageError("give either --obs-times or --obs-file, not both")


def _export(args: argparse.Namespace, calendar: Any) -> str | bytes:
    """fhir, nonmem or sdtm-ex text (sdtm-ex --xpt: bytes); each module documents its choices."""
    if args.format == "fhir":
        from .formats.fhir import to_fhir

        return to_fhir(
            calendar,
            granularity=args.fhir_granularity or "step",
            subject=args.subject,
            patient_id=args.patient_id,
            bundle=args.fhir_bundle or "transaction",
        )
    if args.format == "sdtm-ex":
        from .formats.sdtm import DEFAULT_USUBJID, sdtm_domain

        usubjid = DEFAULT_USUBJID if args.subject is None else args.subject
        return sdtm_domain(calendar, args.domain or "ex", usubjid=usubjid, xpt=args.xpt)
    from .formats.nonmem import DEFAULT_DRUG, parse_obs_times, to_nonmem

    obs_times: tuple[Decimal, ...] = ()
    if args.obs_file is not None:
        from pathlib import Path

        try:
            text = Path(args.obs_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--obs-file {args.obs_file}: cannot read it ({exc})") from None
        obs_times = parse_obs_times(text, source=args.obs_file)
    elif args.obs_times is not None:
        obs_times = parse_obs_times(args.obs_times)
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
        obs_times=obs_times,
        obs_cmt=args.obs_cmt or 0,
        dose_time=args.dose_time or time(0, 0),
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

    sys.stdout.write(schema_json(args.kind))
    return 0


_COMMANDS = {
    "list": _cmd_list,
    "show": _cmd_show,
    "calendar": _cmd_calendar,
    "validate": _cmd_validate,
    "schema": _cmd_schema,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 refused or invalid, 2 usage, 130 interrupted).

    Whatever happens, the user gets one ``error:`` line, never a traceback: an output that cannot be
    written (a full disk, a closed pipe) is said as such, and a defect of lenasched itself is reported
    as an internal error (set ``LENASCHED_TRACEBACK=1`` to see the traceback instead). A command line
    that does not parse is an ``error:`` line and a ``hint:`` line, and ``SystemExit(2)`` as argparse has it.
    """
    streams = _tolerant_streams()
    try:
        parser = _parser(argv)
        if argv is None:
            _complete(parser)
        args = parser.parse_args(argv)
        return _run(args)
    finally:
        streams()


def _complete(parser: argparse.ArgumentParser) -> None:
    """Shell completion, when the shell asks for it and argcomplete is installed (it then exits here).

    Set up with ``pip install argcomplete`` and ``eval "$(register-python-argcomplete lenasched)"``;
    costs nothing otherwise (argcomplete is imported only while completing).
    """
    import os

    if "_ARGCOMPLETE" not in os.environ:
        return
    try:
        import argcomplete  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    argcomplete.autocomplete(parser)


def _run(args: argparse.Namespace) -> int:
    token = _FORCE.set(bool(getattr(args, "force", False)))
    try:
        command = _COMMANDS.get(args.command) or _extra(args.command).run
        status = int(command(args))
        sys.stdout.flush()  # a full disk or a closed pipe shows here, while it can still be reported
        return status
    except LenaschedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:  # mostly standard output: files are read and written by modules that name them
        if exc.filename is not None:
            print(f"error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_REFUSED
        _silence_stdout()
        import errno

        hint = "free some space, or " if exc.errno == errno.ENOSPC else ""
        reason = exc.strerror or exc
        print(
            f"error: cannot write to standard output: {reason} (hint: {hint}write to a file with --output)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    except Exception as exc:  # a defect: say so in one line rather than a traceback
        import os

        if os.environ.get("LENASCHED_TRACEBACK"):
            raise
        print(
            f"error: internal error: {type(exc).__name__}: {exc} (hint: this is a bug in lenasched; please report "
            "it with the command line; LENASCHED_TRACEBACK=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    finally:
        _FORCE.reset(token)


# Characters the terminal's encoding may lack, as ASCII (LANG=C, PYTHONIOENCODING=ascii, a Latin-1 locale).
_ASCII = {
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "×": "x",
    "·": ".",
    "•": "*",
    "–": "-",
    "—": "-",
    "−": "-",
    "…": "...",
    "≤": "<=",
    "≥": ">=",
    "≠": "!=",
    "±": "+/-",
    "µ": "u",
    "μ": "u",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "⁰": "^0",
    "¹": "^1",
    "²": "^2",
    "³": "^3",
    "⁴": "^4",
    "⁵": "^5",
    "⁶": "^6",
    "⁷": "^7",
    "⁸": "^8",
    "⁹": "^9",
    "⚑": "!",
    "✓": "v",
    "✗": "x",
}


def _ascii_fallback(error: UnicodeError) -> tuple[str | bytes, int]:
    """Codec error handler: a character the output encoding lacks becomes ASCII ("→" "->", "×10⁹/L"
    "x10^9/L"), else its decomposed letters ("é" "e"), else a backslash escape; never an exception.
    Bytes that came in undecodable (a file name, as surrogate escapes) go out as they came."""
    import unicodedata

    if not isinstance(error, UnicodeEncodeError):
        raise error
    char = error.object[error.start]
    if "\udc80" <= char <= "\udcff":
        return bytes([ord(char) - 0xDC00]), error.start + 1
    if char in _ASCII:
        return _ASCII[char], error.start + 1
    if "\u2500" <= char <= "\u257f":  # box drawing (a table written with -o - to an ASCII stream)
        name = unicodedata.name(char, "")
        ascii_box = (
            "|"
            if "VERTICAL" in name and "HORIZONTAL" not in name
            else "-"
            if "HORIZONTAL" in name and "VERTICAL" not in name
            else "+"
        )
        return ascii_box, error.start + 1
    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    return (plain if plain.strip() else char.encode("ascii", "backslashreplace").decode("ascii")), error.start + 1


def _tolerant_streams() -> Callable[[], None]:
    """Let stdout and stderr write any text in any locale (see ``_ascii_fallback``); returns the undo."""
    import codecs
    import contextlib

    codecs.register_error("lenasched-ascii", _ascii_fallback)
    undo: list[tuple[Any, str]] = []
    for stream in (sys.stdout, sys.stderr):
        errors = getattr(stream, "errors", None)
        if errors in ("strict", "surrogateescape", "backslashreplace") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="lenasched-ascii")
            except (OSError, ValueError):
                continue
            undo.append((stream, errors))

    def restore() -> None:
        for stream, errors in undo:
            # a closed or failed stream keeps the handler: nothing more is written to it
            with contextlib.suppress(OSError, ValueError):
                stream.reconfigure(errors=errors)

    return restore


def _silence_stdout() -> None:
    """After a write to stdout failed, point it at /dev/null so the interpreter's last flush cannot fail again."""
    import contextlib
    import os

    try:
        fd = sys.stdout.fileno()
    except (OSError, ValueError, AttributeError):
        return
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
