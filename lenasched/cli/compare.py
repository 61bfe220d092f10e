"""``lenasched compare``: protocols side by side, as a table, CSV or JSON, and optionally a plot."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register", "run"]


def register(sub: Any) -> None:
    from lenasched.cli._designer import add_horizon_arguments, add_output_arguments, add_set_argument
    from lenasched.cli.options import parse_date
    from lenasched.design.compare import CUMULATIVE_DAYS, DEFAULT_HORIZON_DAYS

    parser = sub.add_parser(
        "compare",
        help="protocols side by side: doses, cumulative mg, dose intensity, cycles, outcomes; --plot",
        description="Put bundled or own protocols side by side over a horizon: starting dose, cap, the day "
        f"the cap is first given, cumulative lenalidomide mg at days {', '.join(map(str, CUMULATIVE_DAYS))} "
        "and at the horizon, mean dose intensity (mg/week), dosing and rest days, cycles, capsules, "
        "clinic/infusion days and the reported outcomes (NR = not reported, never 0), with each protocol's "
        "setting. In CSV, numeric columns hold numbers only: text goes in separate *_text columns. A protocol named "
        "in --set gets a what-if variant column next to it.",
    )
    parser.add_argument("protocols", nargs="+", metavar="PROTOCOL", help="bundled ids or paths to YAML files")
    add_horizon_arguments(parser, DEFAULT_HORIZON_DAYS)
    parser.add_argument(
        "--start", type=parse_date, help="date of day 1 (matters only for month-based repeat schedules)"
    )
    add_set_argument(parser)
    add_output_arguments(parser)
    parser.add_argument(
        "--plot",
        metavar="FILE",
        help="also draw daily and cumulative dose to FILE (.png, .svg or .pdf; needs lenasched[plot])",
    )


def run(args: argparse.Namespace) -> int:
    from lenasched.cli._designer import (
        csv_text,
        emit_renderable,
        horizon_days,
        json_text,
        protocols_with_variants,
    )
    from lenasched.design.compare import DEFAULT_HORIZON_DAYS, compare

    protocols = protocols_with_variants(args.protocols, args.overrides)
    result = compare(protocols, horizon=horizon_days(args, DEFAULT_HORIZON_DAYS), start=args.start)
    if args.plot:
        from lenasched.design.plot import comparison_series, save_plot

        for stale in save_plot(comparison_series(result), args.plot, force=getattr(args, "force", False)):
            print(f"note: removed stale temporary file {stale} from an interrupted run", file=sys.stderr)
        print(f"plot written to {args.plot}", file=sys.stderr)
    if args.format == "csv":  # numeric columns hold numbers only; text (and NR) in *_text columns
        _write(csv_text(result.to_csv_rows()), args.output)
    elif args.format == "json":
        data = {
            "horizon_days": result.horizon_days,
            "start": result.start.isoformat(),
            "drug": result.drug,
            "protocols": result.to_rows(),
            "notes": result.notes(),
        }
        _write(json_text(data), args.output)
    else:
        from lenasched.render.compare import render_comparison

        emit_renderable(render_comparison(result), args.output)
    return 0


def _write(text: str, output: str | None) -> None:
    from lenasched.cli.options import emit

    emit(text, output)
