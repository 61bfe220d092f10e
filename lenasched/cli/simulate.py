"""``lenasched simulate``: Monte Carlo of lenalidomide delivery with holds and dose reductions."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["HELP_MODEL", "register", "run"]

HELP_MODEL = """\
The event model (assumptions; docs/simulation.md has the details):
  * A protocol with dose_modification rules is simulated on its own rules: each interrupt rule is an
    event kind (--rate RULE=P), and what follows an event (same dose, one level lower, the starting
    dose) is the rule's resume_at / then_resume_at, through the engine that draws the calendar.
    Otherwise (or with --event-prob / --event) each event is followed by a hold and one level lower.
  * Per cycle, a patient who takes every planned dose of the cycle has a dose-limiting event
    (e.g. grade 3/4 neutropenia) with probability p. The risk is spread evenly over the cycle's
    planned dosing days, so held days carry no risk and a second event in a cycle is possible.
  * The event day's dose is taken; the drug is held for --recovery-days, then resumes one dose
    level lower (the protocol's dose_levels with its escalation steps, or --dose-levels) and never
    escalates above it again. An event at the lowest level stops the drug.
  * Missed doses are not made up; holds do not delay cycles. A delay_cycle rule that checks cycle 1 only
    (a start condition) changes no simulated dose: cycle 1 day 1 is the day treatment begins. One that
    checks every cycle is not simulated (cycles keep their dates), and the output says so.
  * Events are independent between patients and between cycles, and do not depend on the dose.
    Several reported toxicities combine as independent risks: 1 - prod(1 - p_i).
  * p comes from --event-prob, or from the protocol's reported rates (--event, default grade 3/4
    neutropenia and thrombocytopenia): a percentage of patients is read as the chance of at least
    one event over --over-cycles cycles; a rate "per cycle" ("34 (of cycles)") is used as given.
  * Only lenalidomide is simulated. The same --seed gives the same numbers, and patient i the same
    random numbers whatever --patients and whatever the design (common random numbers).
  * Every parameter is printed with its source; intervals are 95% Monte Carlo intervals.
  * --compare: the designs (several protocols, or one and its --set variant) on the same random numbers,
    with the paired differences from the first design and their 95% intervals.
  * A progress bar appears on standard error after about a second, only when it is a terminal.
"""


def _rate(text: str) -> tuple[str, tuple[float, ...]]:
    name, sep, values = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=P[,P2...], e.g. neutropenia=0.1")
    return name.strip(), _probabilities(values)


def _probabilities(text: str) -> tuple[float, ...]:
    values = []
    for part in text.split(","):
        try:
            value = Decimal(part.strip())
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a probability") from None
        if not value.is_finite() or not 0 <= value <= 1:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} must be between 0 and 1")
        values.append(float(value))
    return tuple(values)


def _levels(text: str) -> tuple[Decimal, ...]:
    values = []
    for part in text.replace(";", ",").split(","):
        try:
            value = Decimal(part.strip())
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} is not a dose") from None
        if not value.is_finite() or value <= 0:
            raise argparse.ArgumentTypeError(f"{part.strip()!r} must be a positive dose in mg")
        values.append(value)
    return tuple(values)


def _count(text: str) -> int:
    from lenasched.cli.options import whole_number

    return whole_number(text, 0)


def add_event_model_arguments(parser: argparse.ArgumentParser, *, event_help: str, rate_help: str) -> None:
    """The event model's options, shared by ``simulate`` and ``sweep`` (which build the same model)."""
    from lenasched.cli.options import positive_int
    from lenasched.design.simulation import DEFAULT_OVER_CYCLES, DEFAULT_RECOVERY_DAYS

    rate = parser.add_mutually_exclusive_group()
    rate.add_argument(
        "--event-prob",
        type=_probabilities,
        metavar="P[,P2,...]",
        help="per-cycle probability of a dose-limiting event; a list gives cycles 1, 2, ... (last repeats)",
    )
    rate.add_argument("--event", action="append", metavar="FIELD", help=event_help)
    parser.add_argument("--rate", action="append", type=_rate, default=[], metavar="KIND=P[,P2,...]", help=rate_help)
    parser.add_argument(
        "--over-cycles",
        type=positive_int,
        default=DEFAULT_OVER_CYCLES,
        help=f"cycles over which a reported %% of patients accrues (default {DEFAULT_OVER_CYCLES})",
    )
    parser.add_argument(
        "--recovery-days",
        type=_count,
        default=DEFAULT_RECOVERY_DAYS,
        help=f"days the drug is held after an event (default {DEFAULT_RECOVERY_DAYS})",
    )
    parser.add_argument("--dose-levels", type=_levels, metavar="MG,...", help="reduction ladder, e.g. 25,20,15,10,5")


def register(sub: Any) -> None:
    from lenasched.cli._designer import add_horizon_arguments, add_output_arguments, add_set_argument
    from lenasched.cli.options import positive_int
    from lenasched.design.simulation import DEFAULT_HORIZON_DAYS

    parser = sub.add_parser(
        "simulate",
        help="Monte Carlo of dose delivery: holds, reductions, stops (vectorised; needs lenasched[sim])",
        description="Simulate virtual patients on a protocol with random dose-limiting events, and report "
        "the median and interquartile range of delivered dose intensity and cumulative dose, the share "
        "of patients at the cap in each cycle, and the share stopped, with a per-cycle table.",
        epilog=HELP_MODEL,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "protocol",
        nargs="+",
        help="bundled id or path to a YAML file; with --compare, two or more designs (or one and a --set variant)",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="simulate every design on the same random numbers (patient i draws the same in each) and report "
        "each design's outputs and the paired differences from the first",
    )
    parser.add_argument("--patients", type=positive_int, default=10_000, help="virtual patients (default 10000)")
    parser.add_argument("--seed", type=_count, default=0, help="random seed (default 0); same seed, same numbers")
    add_horizon_arguments(parser, DEFAULT_HORIZON_DAYS)
    add_event_model_arguments(
        parser,
        event_help="reported rate(s) to use: neutropenia_g34_pct, thrombocytopenia_g34_pct, anemia_g34_pct, "
        "tfr_pct, tls_pct (default: the first two)",
        rate_help="per-cycle probability of one event kind: a rule id of the protocol (e.g. neutropenia) or a "
        "reported field (e.g. neutropenia_g34_pct); repeatable",
    )
    add_set_argument(parser)
    add_output_arguments(parser)
    for action in parser._actions:
        if action.dest == "format":  # also the outputs with their intervals, one row per metric
            action.choices = ("table", "csv", "json", "metrics-csv")


def run(args: argparse.Namespace) -> int:
    from lenasched import __version__
    from lenasched.cli._designer import csv_text, emit_renderable, horizon_days, json_text
    from lenasched.cli.options import resolve_protocol
    from lenasched.design.simulation import DEFAULT_HORIZON_DAYS, simulate
    from lenasched.design.variants import apply_overrides

    if args.compare:
        return _compare(args)
    if len(args.protocol) > 1:
        from lenasched.cli.options import UsageError

        raise UsageError("several protocols: add --compare to simulate them side by side")
    original = resolve_protocol(args.protocol[0])
    protocol = original
    if args.overrides:
        protocol = apply_overrides(original, args.overrides, version=__version__)
    options = _options(args, horizon_days(args, DEFAULT_HORIZON_DAYS))
    with _ProgressBar() as progress:
        result = simulate(protocol, progress=progress, outcomes_from=original, **options)
    if args.format != "table":  # the table says it itself
        for note in result.notes():
            print(f"note: {note}", file=sys.stderr)
    if args.format == "csv":
        _write(csv_text(result.to_rows()), args.output)
    elif args.format == "json":
        _write(json_text({"summary": result.summary(), "cycles": result.to_rows()}), args.output)
    elif args.format == "metrics-csv":
        _write(csv_text([m.to_row() for m in result.metrics()]), args.output)
    else:
        from lenasched.render.simulate import render_simulation

        emit_renderable(render_simulation(result), args.output)
    return 0


def _options(args: argparse.Namespace, days: int) -> dict[str, Any]:
    """The simulation's options from the command line (the same for every design of a comparison)."""
    return {
        "patients": args.patients,
        "seed": args.seed,
        "horizon": days,
        "event_prob": args.event_prob,
        "events": args.event,
        "rates": dict(args.rate),
        "recovery_days": args.recovery_days,
        "over_cycles": args.over_cycles,
        "dose_levels": args.dose_levels,
    }


def _compare(args: argparse.Namespace) -> int:
    """``--compare``: every design on common random numbers, and the paired differences from the first."""
    from lenasched.cli._designer import (
        csv_text,
        emit_renderable,
        horizon_days,
        json_text,
        protocols_with_variants,
    )
    from lenasched.cli.options import UsageError, resolve_protocol
    from lenasched.design.simulation import DEFAULT_HORIZON_DAYS, simulate_compare

    designs = protocols_with_variants(args.protocol, args.overrides)
    if len(designs) < 2:
        raise UsageError("--compare needs two designs: give another protocol, or a --set variant of this one")
    originals = {p.id: p for p in (resolve_protocol(name) for name in args.protocol)}
    # a variant (ID-variant) keeps its original trial's reported rates: it has no outcomes of its own
    outcomes = [originals.get(d.id) or originals.get(d.id.removesuffix("-variant")) or d for d in designs]
    options = _options(args, horizon_days(args, DEFAULT_HORIZON_DAYS))
    with _ProgressBar() as progress:
        comparison = simulate_compare(designs, outcomes=outcomes, progress=progress, **options)
    if args.format != "table":
        for result in comparison.results:
            for note in result.notes():
                print(f"note: {result.protocol_id}: {note}", file=sys.stderr)
    if args.format == "csv":
        _write(csv_text(comparison.to_rows()), args.output)
    elif args.format == "json":
        _write(json_text(comparison.summary()), args.output)
    elif args.format == "metrics-csv":
        rows = [{"design": r.protocol_id, **m.to_row()} for r in comparison.results for m in r.metrics()]
        _write(csv_text(rows), args.output)
    else:
        from lenasched.render.simulate import render_comparison

        emit_renderable(render_comparison(comparison), args.output)
    return 0


class _ProgressBar:
    """A progress bar on standard error for work that lasts: shown once a run has taken a second.

    Only when standard error is a terminal (pipes, files and tests see nothing); rich is imported
    only then. Yields the ``progress(done, total)`` callback (``None`` when off).
    """

    DELAY = 1.0

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None
        self.started = 0.0

    def __enter__(self) -> Any:
        import time

        if not sys.stderr.isatty():
            return None
        self.started = time.monotonic()
        return self.update

    def update(self, done: int, total: int) -> None:
        import time

        if self.bar is None:
            if time.monotonic() - self.started < self.DELAY or done >= total:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.bar = Progress(
                TextColumn("simulating"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("patients"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self.bar.start()
            self.task = self.bar.add_task("simulate", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _write(text: str, output: str | None) -> None:
    from lenasched.cli.options import emit

    emit(text, output)
