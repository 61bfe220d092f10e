"""``lenasched list``: the bundled protocols (or their reported outcomes), as a table, JSON or CSV."""

from __future__ import annotations

import argparse
from typing import Any

from lenasched.cli.options import (
    add_output_argument,
    csv_rows,
    emit,
    print_renderable,
)

__all__ = ["register", "run"]


def register(sub: Any) -> None:
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


def run(args: argparse.Namespace) -> int:
    from lenasched.model.registry import bundled_ids, get_protocol

    protocols = [get_protocol(pid) for pid in bundled_ids()]
    if args.format in ("json", "csv"):
        from lenasched.formats.describe import LIST_FIELDS, OUTCOME_LIST_FIELDS, outcomes_row, protocol_row

        rows = [outcomes_row(p) if args.outcomes else protocol_row(p) for p in protocols]
        if args.format == "json":
            import json

            text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
        else:
            text = csv_rows(rows, OUTCOME_LIST_FIELDS if args.outcomes else LIST_FIELDS)
        emit(text, args.output)
        return 0
    from lenasched.render.terminal import render_outcomes, render_protocol_list

    renderable = render_outcomes(protocols) if args.outcomes else render_protocol_list(protocols)
    print_renderable(renderable, args.output)
    return 0
