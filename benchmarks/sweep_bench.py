"""Benchmark: ``lenasched sweep`` on Dask (a local cluster of 2 worker processes) against the local run.

One grid (default: badoux-2011, 3 starting doses x 3 escalation intervals = 9 variants, 200,000 patients
each) is planned once, then run on both backends in **paired, interleaved** repetitions in this one
process (the order inside a pair alternates, so drift in machine load falls on both alike). Every run's
CSV must be byte-identical to the first local one.

Printed:
  * the cluster's start-up (LocalCluster + Client + the workers' version check) and shut-down, apart;
  * each pair's local and Dask times, and their ratio Dask / local;
  * the medians, the median ratio, and the Dask **overhead**: the Dask time minus the ideal time on
    the workers (local time / workers), in total and per work unit;
  * the fixed cost of one Dask round trip: a one-unit sweep of 1 patient on each backend;
  * CPU seconds of each run over all its processes (this one, and the Dask workers): on a machine other
    work also loads, the wall-clock ratio moves with that load, the CPU overhead much less.

Run:  python benchmarks/sweep_bench.py  [--patients 200000] [--reps 3] [--workers 2] [--block-size 50000]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from typing import Any

import lenasched
from lenasched.design.simulation.sweep import DaskRunner, SweepPlan, plan_sweep

GRID = ["lenalidomide.start=5,10,15", "lenalidomide.every_days=7,14,28"]


def _cpu(runner: Any) -> float:
    """CPU seconds used so far by this process (the client, and the local cluster's scheduler thread)
    and, with a Dask runner, by its worker processes."""
    own = time.process_time()
    if runner is None:
        return own
    return own + float(sum(runner.client.run(time.process_time).values()))


def _timed(plan: SweepPlan, runner: Any = None) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds of one run, and its CSV."""
    c0, t0 = _cpu(runner), time.perf_counter()
    csv = plan.run(runner).to_csv()
    wall = time.perf_counter() - t0
    return wall, _cpu(runner) - c0, csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="badoux-2011")
    parser.add_argument("--set", action="append", dest="grid", help="grid option (default: the 3 x 3 grid above)")
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=3, help="paired repetitions (local, Dask)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block-size", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from importlib.metadata import version

    import numpy

    protocol = lenasched.resolve(args.protocol)
    grid = args.grid or GRID
    t0 = time.perf_counter()
    plan = plan_sweep(protocol, grid, patients=args.patients, seed=args.seed, block_size=args.block_size)
    planning = time.perf_counter() - t0
    units = len(plan.units())
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(
        f"python {platform.python_version()}, numpy {numpy.__version__}, dask {version('dask')}, "
        f"{platform.machine()}, {os.cpu_count()} CPU(s) visible"
        + (f", load average {load[0]:.1f} at start" if load else "")
    )
    print(
        f"grid: {protocol.id} {' x '.join(grid)} = {len(plan.variants)} variants x {args.patients:,} patients, "
        f"{units} work units of {min(args.block_size, args.patients):,}; planned (validated) in {planning:.2f} s"
    )
    tiny = plan_sweep(protocol, [grid[0].split(",")[0]], patients=1, seed=args.seed)

    t0 = time.perf_counter()
    runner = DaskRunner(workers=args.workers).__enter__()
    startup = time.perf_counter() - t0
    try:
        print(f"dask: {runner.describe()}; start-up {startup:.2f} s")
        # warm-up: imports and plans in the workers and here (not timed)
        reference = plan.run().to_csv()
        if plan.run(runner).to_csv() != reference:
            print("FAIL: the Dask table differs from the local one")
            return 1
        pairs: list[tuple[float, float]] = []
        cpu_pairs: list[tuple[float, float]] = []
        for rep in range(args.reps):
            order = ("local", "dask") if rep % 2 == 0 else ("dask", "local")
            times: dict[str, tuple[float, float]] = {}
            for backend in order:
                wall, cpu, csv = _timed(plan, runner if backend == "dask" else None)
                if csv != reference:
                    print(f"FAIL: the {backend} table of repetition {rep + 1} differs")
                    return 1
                times[backend] = (wall, cpu)
            (local_wall, local_cpu), (dask_wall, dask_cpu) = times["local"], times["dask"]
            pairs.append((local_wall, dask_wall))
            cpu_pairs.append((local_cpu, dask_cpu))
            print(
                f"  pair {rep + 1} ({' then '.join(order)}): local {local_wall:.2f} s (cpu {local_cpu:.2f} s), "
                f"dask {dask_wall:.2f} s (cpu {dask_cpu:.2f} s), ratio dask/local {dask_wall / local_wall:.3f}"
            )
        tiny_local = statistics.median(_timed(tiny)[0] for _ in range(5))
        tiny_dask = statistics.median(_timed(tiny, runner)[0] for _ in range(5))
    finally:
        t0 = time.perf_counter()
        runner.close()
        shutdown = time.perf_counter() - t0

    local = statistics.median(p[0] for p in pairs)
    on_dask = statistics.median(p[1] for p in pairs)
    ratio = statistics.median(p[1] / p[0] for p in pairs)
    overhead = statistics.median(p[1] - p[0] / args.workers for p in pairs)
    print("tables: byte-identical on both backends in every run")
    print(f"median local {local:.2f} s, median dask {on_dask:.2f} s ({args.workers} workers)")
    print(f"median ratio dask/local: {ratio:.3f} (speed-up {1 / ratio:.2f}x; ideal {1 / args.workers:.3f})")
    print(
        f"dask overhead beyond the ideal local/{args.workers}: {overhead:.2f} s per sweep "
        f"({overhead / units * 1000:.0f} ms per work unit)"
    )
    print(
        f"one-unit round trip (1 patient): local {tiny_local * 1000:.0f} ms, dask {tiny_dask * 1000:.0f} ms "
        f"({(tiny_dask - tiny_local) * 1000:+.0f} ms)"
    )
    cpu_overhead = statistics.median(d - lo for lo, d in cpu_pairs)
    cpu_ratio = statistics.median(d / lo for lo, d in cpu_pairs)
    print(
        f"cpu (all processes): median ratio dask/local {cpu_ratio:.3f}; overhead {cpu_overhead:.2f} cpu-s per sweep "
        f"({cpu_overhead / units * 1000:.0f} ms per work unit)"
    )
    print(f"cluster start-up {startup:.2f} s and shut-down {shutdown:.2f} s (not in the times above)")
    return 0


if __name__ == "__main__":  # the cluster's worker processes are spawned: this guard is needed
    sys.exit(main())
