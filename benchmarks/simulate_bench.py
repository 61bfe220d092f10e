"""Benchmark: vectorised Monte Carlo (lenasched.simulate) against a naive per-patient loop.

Times, in one run:
  (a) ``lenasched.simulate`` of 10,000 patients over 2 years (730 days), and
  (b) the naive loop that a per-patient simulation would at least do: 10,000 single-patient
      expansions with ``lenasched.expand`` over the same 2 years (summing each one's mg);
then prints both times, the ratio, and peak memory measured with tracemalloc.

Targets (issue 6): (a) under 1 second on one core of a laptop-class machine, and at least 20x
faster than (b). Timings are taken without tracemalloc (it slows Python code down); peak memory is
measured in separate traced runs: the whole of (a), and the first ``--naive-traced`` expansions of
(b) (each calendar is dropped after use, so the loop's peak does not grow with the count).

Run:  python benchmarks/simulate_bench.py  [--patients 10000] [--days 730] [--naive 10000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import lenasched

# Badoux-like: 5 mg daily for 56 days, then +5 mg every 28 days to 25 mg, continuous, until progression.
PROTOCOL_YAML = """
schema_version: 1
id: bench-badoux-like
title: Benchmark protocol (5 mg daily, +5 mg every 28 days from day 57 to 25 mg, continuous)
setting: benchmark
citation: {title: benchmark}
phases:
  - name: treatment
    cycle_length_days: 28
    until_progression: true
    drugs:
      - drug: lenalidomide
        days: 1-28
        escalation: {start: 5, step: 5, cap: 25, every_days: 28, first_step_day: 57}
        dose_levels: [25, 20, 15, 10, 5, 2.5]
"""
START = date(2026, 1, 5)


def _peak_mib(work: Callable[[], Any]) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--naive", type=int, default=10_000, help="single-patient expansions in (b)")
    parser.add_argument("--naive-traced", type=int, default=200, help="expansions of (b) run under tracemalloc")
    parser.add_argument("--event-prob", type=float, default=0.2)
    parser.add_argument("--protocol", help="a bundled id or YAML file instead of the built-in Badoux-like one")
    args = parser.parse_args(argv)

    import numpy

    protocol = lenasched.resolve(args.protocol) if args.protocol else lenasched.parse_protocol(PROTOCOL_YAML)
    until = START + timedelta(days=args.days - 1)

    def vectorised() -> Any:
        return lenasched.simulate(
            protocol, patients=args.patients, seed=1, horizon=args.days, event_prob=args.event_prob, start=START
        )

    def naive(count: int) -> Decimal:
        total = Decimal(0)
        for _ in range(count):
            calendar = lenasched.expand(protocol, START, until=until)
            total += calendar.total_mg("lenalidomide")
        return total

    print(
        f"python {platform.python_version()}, numpy {numpy.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPU(s) visible; single-threaded code"
    )
    print(f"protocol {protocol.id}; horizon {args.days} days; event probability {args.event_prob} per cycle")

    vectorised()  # warm-up: imports, first expansion
    t0 = time.perf_counter()
    result = vectorised()
    time_a = time.perf_counter() - t0
    print(
        f"(a) simulate {args.patients:,} patients x {args.days} days: {time_a:.3f} s "
        f"(median cumulative {result.summary()['cumulative_mg_median']} mg)"
    )

    t0 = time.perf_counter()
    naive(args.naive)
    time_b = time.perf_counter() - t0
    print(
        f"(b) naive loop of {args.naive:,} single-patient expansions: {time_b:.3f} s "
        f"({time_b / args.naive * 1000:.2f} ms each)"
    )

    ratio = time_b / time_a
    print(f"ratio (b)/(a): {ratio:.1f}x")
    peak_a = _peak_mib(vectorised)
    peak_b = _peak_mib(lambda: naive(min(args.naive, args.naive_traced)))
    print(
        f"peak memory (tracemalloc): (a) {peak_a:.1f} MiB; (b) {peak_b:.1f} MiB "
        f"(over {min(args.naive, args.naive_traced)} expansions)"
    )
    ok_time = time_a < 1.0
    ok_ratio = ratio >= 20
    print(
        f"targets: (a) < 1 s: {'met' if ok_time else 'NOT met'}; >= 20x faster than (b): "
        f"{'met' if ok_ratio else 'NOT met'}"
    )
    return 0 if ok_time and ok_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
