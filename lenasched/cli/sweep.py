"""``lenasched sweep``: a grid of what-if variants x simulated patients, one table out (CSV or Parquet)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["register", "run"]

GRID_HELP = (
    "a grid axis [ID:]DRUG[@PHASE].FIELD=V1,V2,... (or PHASE.FIELD=...); repeat for more axes, each "
    "variant is one combination. Values are separated by ',' or '|' ('|' only for sequence, dose_levels, "
    "days and a drug's cycles, whose values hold commas: lenalidomide.days=1-21|1-28); a numeric field also "
    "takes START:STOP[:STEP] (inclusive), e.g. lenalidomide.every_days=7:28:7. One value is a fixed override"
)

EPILOG = """\
Variants are numbered in the order of nested loops over the --set options as given: the first
varies slowest, the last fastest. Every grid point is validated as `lenasched variant` would
(cap, windows, escalation steps...) before anything runs, and the same patients (same --seed) are
simulated on every variant (common random numbers); the event model is the one of
`lenasched simulate` (see its --help and docs/simulation.md), with the rates of the original trial.

The work runs in units of (variant, block of patients): in this process with numpy by default, or
with --dask on a local Dask cluster (--workers processes) or an existing one (--scheduler ADDRESS;
its workers need the same lenasched and numpy versions). The table is the same, byte for byte, on
every backend and for every --block-size. See docs/sweep.md.
"""


def register(sub: Any) -> None:
    from lenasched.cli._designer import add_horizon_arguments
    from lenasched.cli.options import add_output_argument, positive_int
    from lenasched.cli.simulate import _count, add_event_model_arguments
    from lenasched.design.simulation import DEFAULT_HORIZON_DAYS

    parser = sub.add_parser(
        "sweep",
        help="a grid of what-if variants (--set PATH=V1,V2,...) x simulated patients, one table (CSV/Parquet)",
        description="Simulate every combination of the --set values as a what-if variant of the protocol, "
        "on the same virtual patients, and write one row per variant: the values set, then the delivered "
        "dose, relative dose intensity, time to target, capsules, clinic visits, events and share stopped, "
        "each with its 95% Monte Carlo interval.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("protocol", help="bundled id or path to a YAML file")
    parser.add_argument(
        "--set", action="append", default=[], dest="overrides", metavar="PATH=V1,V2,...", help=GRID_HELP
    )
    parser.add_argument(
        "--patients", type=positive_int, default=10_000, help="virtual patients per variant (default 10000)"
    )
    parser.add_argument("--seed", type=_count, default=0, help="random seed (default 0); same seed, same numbers")
    add_horizon_arguments(parser, DEFAULT_HORIZON_DAYS)
    add_event_model_arguments(
        parser,
        event_help="reported rate(s) to use, as in `lenasched simulate`",
        rate_help="per-cycle probability of one event kind (a rule id or a reported field); repeatable",
    )
    parser.add_argument(
        "--block-size",
        type=positive_int,
        metavar="N",
        help="patients per work unit (default 50000); the table does not depend on it",
    )
    backend = parser.add_argument_group("backend (default: this process, numpy)")
    backend.add_argument(
        "--dask", action="store_true", help="run the work units on Dask (pip install 'lenasched[dask]')"
    )
    backend.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --dask)",
    )
    backend.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="worker processes of the local Dask cluster (default: the CPUs available)",
    )
    parser.add_argument(
        "--format",
        choices=("csv", "parquet"),
        help="csv (default) or parquet (pip install 'lenasched[parquet]'); by default from the --output extension",
    )
    add_output_argument(parser, "write the table to this file (atomically; - for standard output)")


def output_format(args: argparse.Namespace) -> str:
    """``--format``, else ``parquet`` for an ``.parquet``/``.pq`` output, else ``csv``."""
    if args.format:
        return str(args.format)
    if args.output and args.output != "-" and Path(args.output).suffix.lower() in (".parquet", ".pq"):
        return "parquet"
    return "csv"


def run(args: argparse.Namespace) -> int:
    from lenasched import __version__
    from lenasched.cli._designer import horizon_days
    from lenasched.cli.options import UsageError, emit, resolve_protocol
    from lenasched.design.simulation import DEFAULT_HORIZON_DAYS
    from lenasched.design.simulation.sweep import DEFAULT_BLOCK, DaskRunner, plan_sweep
    from lenasched.errors import MissingDependencyError

    use_dask = args.dask or args.scheduler is not None
    if args.workers is not None and not use_dask:
        raise UsageError("--workers sizes the local Dask cluster: give --dask too")
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("--workers is for the local Dask cluster; a --scheduler has the workers started on it")
    if use_dask:  # refuse before the work, not after it
        import importlib.util

        from lenasched.design.simulation.sweep import check_address

        if importlib.util.find_spec("dask") is None or importlib.util.find_spec("distributed") is None:
            raise MissingDependencyError("lenasched sweep --dask", "dask[distributed]", "dask")
        if args.scheduler is not None:
            check_address(args.scheduler)
    fmt = output_format(args)
    if fmt == "parquet" and args.output in (None, "-") and sys.stdout.isatty():
        raise UsageError("Parquet is binary: write it to a file with --output FILE.parquet")
    if fmt == "parquet":
        import importlib

        try:
            importlib.import_module("pyarrow")
        except ImportError:
            raise MissingDependencyError("Parquet output", "pyarrow", "parquet") from None
    began = time.perf_counter()
    protocol = resolve_protocol(args.protocol)
    plan = plan_sweep(
        protocol,
        args.overrides,
        patients=args.patients,
        seed=args.seed,
        horizon=horizon_days(args, DEFAULT_HORIZON_DAYS),
        event_prob=args.event_prob,
        events=args.event,
        rates=dict(args.rate),
        recovery_days=args.recovery_days,
        over_cycles=args.over_cycles,
        dose_levels=args.dose_levels,
        block_size=args.block_size or DEFAULT_BLOCK,
        version=__version__,
    )
    units = len(plan.variants) * plan.blocks
    shape = " x ".join(f"{axis.name} {len(axis.values)}" for axis in plan.axes)
    say = f"sweep: {_count_of(len(plan.variants), 'variant')} ({shape}) x {_count_of(plan.patients, 'patient')}, "
    say += f"{_count_of(units, 'work unit')} of up to {min(plan.block_size, plan.patients):,} patients"
    print(say, file=sys.stderr)
    for line in plan.parameters():
        print(f"sweep: parameter {line}", file=sys.stderr)
    if use_dask:
        started = time.perf_counter()
        with DaskRunner(scheduler=args.scheduler, workers=args.workers) as runner:
            backend = runner.describe()
            ready = time.perf_counter() - started
            print(f"sweep: backend {backend}, ready in {ready:.1f} s", file=sys.stderr)
            table = plan.run(runner)
    else:
        backend = "local (numpy, this process)"
        table = plan.run()
    data: str | bytes = table.to_parquet() if fmt == "parquet" else table.to_csv()
    emit(data, args.output)
    where = f" to {args.output}" if args.output not in (None, "-") else ""
    elapsed = time.perf_counter() - began
    print(
        f"sweep: {_count_of(len(table.rows), 'row')} ({fmt}){where}; backend {backend}; {elapsed:.1f} s",
        file=sys.stderr,
    )
    return 0


def _count_of(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
