"""Options and output shared by the trial-designer commands (compare, variant, simulate)."""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from lenasched.errors import VariantError
from lenasched.model.doses import format_dose
from lenasched.model.protocol import Protocol

__all__ = [
    "add_horizon_arguments",
    "add_output_arguments",
    "add_set_argument",
    "csv_text",
    "emit_renderable",
    "horizon_days",
    "json_text",
    "protocols_with_variants",
]

SET_HELP = (
    "what-if override [ID:]DRUG[@PHASE].FIELD=VALUE, e.g. chen-2011:lenalidomide.start=5, or "
    "PHASE.FIELD=VALUE for cycle_length_days / cycles; repeat for more. Drug fields: dose, start, step, "
    "cap, sequence, every_days, first_step_day, every_cycles, first_step_cycle, days, cycles, "
    "first_cycle_start_day, dose_levels, route"
)


def _horizon(text: str) -> int:
    from lenasched.model.horizon import parse_horizon

    try:
        return parse_horizon(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _horizon_in_days(text: str) -> int:
    """``--days N``: a whole number of days, checked like ``--horizon Nd`` while the arguments are parsed."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days")
    return _horizon(f"{text.strip()}d")


def add_horizon_arguments(parser: argparse.ArgumentParser, default_days: int) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--horizon",
        type=_horizon,
        metavar="N[d|w]",
        help=f"how far to look from day 1, in days or weeks: 168d, 24w (default {default_days} days)",
    )
    group.add_argument("--days", type=_horizon_in_days, metavar="N", help="the horizon in days (same as --horizon Nd)")


def horizon_days(args: argparse.Namespace, default_days: int) -> int:
    """The horizon of ``--days``/``--horizon`` (both checked when parsed), or ``default_days``.

    With a ``--start``, the horizon must also end on a date lenasched writes (``dayspec.LATEST_DATE``).
    """
    from lenasched.model.dayspec import check_date_span

    days = int(args.days) if args.days is not None else int(args.horizon) if args.horizon is not None else default_days
    if getattr(args, "start", None) is not None:
        check_date_span(args.start, 0, days - 1, f"a horizon of {days} days")
    return days


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", default=[], dest="overrides", metavar="OVERRIDE", help=SET_HELP)


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    from lenasched.cli.options import add_output_argument

    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    add_output_argument(parser, "write to this file (atomically; - for standard output) instead of the terminal")


def protocols_with_variants(names: Sequence[str], overrides: Sequence[str]) -> list[Protocol]:
    """Resolve ``names``; each protocol named by an override gets its variant right after it."""
    from lenasched import __version__
    from lenasched.cli.options import resolve_protocol
    from lenasched.design.variants import apply_overrides, overrides_for, parse_override

    protocols = [resolve_protocol(name) for name in names]
    ids = [p.id for p in protocols]
    for i, protocol_id in enumerate(ids):
        if protocol_id in ids[:i]:
            raise VariantError(protocol_id, "this protocol is named twice; name it once and use --set for a variant")
    parsed = [parse_override(text) for text in overrides]
    for override in parsed:
        if override.protocol_id is None and len(protocols) > 1:
            raise VariantError(override.text, "several protocols are given: say which one, as ID:drug.field=value")
        if override.protocol_id is not None and not any(override.aims_at(i) for i in ids):
            raise VariantError(override.text, f"{override.protocol_id!r} is not among the protocols given", choices=ids)
    out: list[Protocol] = []
    for protocol in protocols:
        out.append(protocol)
        mine = overrides_for(protocol, parsed, only_one=len(protocols) == 1)
        if mine:
            out.append(apply_overrides(protocol, mine, version=__version__))
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_dose(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def json_text(data: Any) -> str:
    """JSON with doses as exact decimal strings; ``None`` stays ``null``."""
    return json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n"


def csv_text(rows: Sequence[dict[str, Any]], *, missing: dict[str, str] | None = None) -> str:
    """CSV of dict rows (columns from the first row); ``missing`` gives per-column text for ``None``."""
    from lenasched.formats.cells import text_cell

    buffer = io.StringIO()
    if not rows:
        return ""
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(rows[0])
    writer.writerow(columns)
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column)
            if value is None:
                cells.append(text_cell((missing or {}).get(column, "")))
            elif isinstance(value, str):  # text (a title, a setting) cannot start a formula: see formats/cells
                cells.append(text_cell(value))
            else:  # numbers stay numbers: a study day -3 is not text to neutralise
                cells.append(format_dose(value) if isinstance(value, Decimal) else str(value))
        writer.writerow(cells)
    return buffer.getvalue()


def emit_renderable(renderable: Any, output: str | None) -> None:
    """Print a rich renderable, or write its plain text to ``output`` (``-``: that text to stdout)."""
    from rich.console import Console

    if output:
        from lenasched.cli.options import emit

        console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
        console.print(renderable)
        emit(console.export_text(), output)
    else:
        Console().print(renderable)
