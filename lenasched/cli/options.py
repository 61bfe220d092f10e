"""What the commands share: argument types, the patient and protocol options, output and the audit notes.

Commands import these; nothing here imports a command, so the command line has no import cycle."""

from __future__ import annotations

import argparse
import contextvars
import sys
from collections.abc import Sequence
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from lenasched.errors import LenaschedError

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


def parse_date(text: str) -> date:
    from lenasched.model.dayspec import EARLIEST_DATE, LATEST_DATE

    try:
        if len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit():
            value = date.fromisoformat(text)  # the common YYYY-MM-DD, without importing dateutil's parser
        else:
            from dateutil.parser import isoparse

            value = (
                isoparse(text).date()
                if "T" in text
                else isoparse(text[:10]).date()
                if len(text) == 10
                else _bad_date(text)
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


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def parse_clock(text: str) -> time:
    import re

    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day; write it as HH:MM, e.g. 08:00")
    return time(int(match[1]), int(match[2]))


def whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be " + ("0 or more" if minimum == 0 else f"at least {minimum}")
        )
    return value


def positive_int(text: str) -> int:
    return whole_number(text, 1)


def patient_from_args(args: argparse.Namespace) -> Any:
    if args.bsa is None and args.height is None and args.weight is None:
        return None
    if args.height is not None and args.weight is None:
        raise UsageError("--height needs --weight to compute a BSA")
    if args.bsa is not None and args.height is not None:
        raise UsageError("give either --bsa or --height/--weight, not both")
    from lenasched.model.patient import Patient

    # Patient refuses bad or implausible values itself, as a LenaschedError naming the value and range.
    return Patient(
        bsa_m2=args.bsa,
        height_cm=args.height,
        weight_kg=args.weight,
        bsa_formula=args.bsa_formula,
        allow_implausible=frozenset(args.allow_implausible),
    )


def resolve_protocol(name: str, *, plain: bool = False) -> Any:
    """``registry.resolve`` for a name typed on the command line; a former id also gets a note on stderr.

    ``plain``: a bundled protocol in its compiled plain form (``lenasched.model.compiled``), for
    commands that only expand it, so their start-up imports no pydantic.
    """
    from lenasched.model.registry import alias_note, resolve, resolve_compiled

    protocol = resolve_compiled(name) if plain else resolve(name)
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


# --force of the running command, set by main(): every command's output goes through emit, also
# those that hand it only the --output path, so each honours --force without threading it through.
_FORCE: contextvars.ContextVar[bool] = contextvars.ContextVar("lenasched_force", default=False)


def calendar_from_args(args: argparse.Namespace, protocol: Any, cycles: int | None, until: Any, **extra: Any) -> Any:
    """The calendar the patient options describe (events, lab results, renal function, market).

    One reading of those options for ``calendar``, ``dispense`` and the web app; ``extra`` goes to
    ``expand`` as is (the patient's body size, or the dispensing drug filter).
    """
    from lenasched.cli._events import events_from_args, labs_from_args
    from lenasched.cli._pharmacy import renal_function
    from lenasched.engine import expand

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


def emit(text: str | bytes, output: str | None) -> None:
    """``text`` to the file ``output`` (atomically, see lenasched.atomic) or, without one or for ``-``, stdout."""
    if output and output != "-":
        from lenasched.atomic import write_atomic

        for stale in write_atomic(output, text, force=_FORCE.get()):
            print(f"note: removed stale temporary file {stale} from an interrupted run", file=sys.stderr)
    elif isinstance(text, bytes):  # exact bytes (CRLF of iCalendar), untouched by newline translation
        sys.stdout.flush()
        sys.stdout.buffer.write(text)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(text)


def say_audit(calendar: Any) -> None:
    """Every audit entry as a note on stderr, for outputs with no place for it (CSV, exports, dispensing).

    A row's ``modified_by`` shows what changed it; an event that changed nothing (a hold after the
    calendar's end, a companion's hold when only lenalidomide is dispensed) would otherwise go unsaid.
    """
    for entry in calendar.modifications:
        drug = f" {entry.drug}" if entry.drug else ""
        print(f"note: audit {entry.date.isoformat()}{drug}: {entry.event}: {entry.effect}", file=sys.stderr)


def csv_rows(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """CSV with a header; lists joined with "; ", None empty, text cells safe from spreadsheet formulas."""
    import csv
    import io

    from lenasched.formats.cells import text_cell

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


def print_renderable(renderable: Any, output: str | None) -> None:
    """A rich renderable to the terminal, or its plain text (at 160 columns) to ``output``."""
    from rich.console import Console

    if output and output != "-":
        import io

        console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
        console.print(renderable)
        emit(console.export_text(), output)
    else:
        Console().print(renderable)
