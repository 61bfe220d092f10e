"""Benchmark: the simulation, old vs new and N vs 10 N, from paired interleaved runs in one process.

Two ratios, each from ``--reps`` pairs run alternately (A, B, A, B, ...) in this one process, so
drift in the machine's speed hits both sides alike; the ratio is the median of the per-pair ratios:

1. **old / new**: the previous implementation (``lenasched/simulation.py`` at git ``HEAD``, or
   ``--old FILE``) against the current package, same protocol, patients, horizon and event rate.
2. **scaling**: the current package at ``--patients`` and at 10 x ``--patients``; a ratio near 10
   is linear scaling.

Run:  python benchmarks/sim_scaling.py [--protocol badoux-2011] [--patients 100000] [--old-patients 10000]
No timed tests: this prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import lenasched

ROOT = Path(__file__).resolve().parent.parent


def _old_module(path: str | None) -> ModuleType | None:
    if path is not None:
        source = Path(path).read_text(encoding="utf-8")
    else:
        try:
            source = subprocess.run(
                ["git", "show", "HEAD:lenasched/simulation.py"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
    spec = importlib.util.spec_from_loader("lenasched._simulation_old", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "lenasched"
    sys.modules[spec.name] = module
    exec(compile(source, "simulation_old.py", "exec"), module.__dict__)
    return module


def _paired(a: Callable[[], Any], b: Callable[[], Any], reps: int) -> tuple[list[float], list[float]]:
    ta, tb = [], []
    for _ in range(reps):
        for work, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            work()
            out.append(time.perf_counter() - t0)
    return ta, tb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="badoux-2011")
    parser.add_argument("--days", type=int, default=728)
    parser.add_argument("--event-prob", type=float, default=0.2)
    parser.add_argument("--patients", type=int, default=100_000, help="scaling: N and 10 N")
    parser.add_argument("--old-patients", type=int, default=10_000, help="old vs new: patients")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--old", help="the old simulation.py (default: git HEAD's)")
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args(argv)

    import numpy

    protocol = lenasched.get_protocol(args.protocol)
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, {platform.machine()}; one core")
    print(f"{protocol.id}, {args.days} days, event probability {args.event_prob} per cycle, {args.reps} pairs")

    def new(n: int) -> Callable[[], Any]:
        return lambda: lenasched.simulate(protocol, patients=n, seed=1, horizon=args.days, event_prob=args.event_prob)

    new(100)()  # warm-up: imports, plan cache
    old = _old_module(args.old)
    if old is None:
        print("old vs new: skipped (no git HEAD version found; give --old FILE)")
    else:
        n = args.old_patients

        def run_old() -> Any:
            return old.simulate(protocol, patients=n, seed=1, horizon=args.days, event_prob=args.event_prob)

        run_old()
        t_old, t_new = _paired(run_old, new(n), args.reps)
        ratios = [o / w for o, w in zip(t_old, t_new, strict=True)]
        print(
            f"old vs new at {n:,} patients: old median {statistics.median(t_old):.3f} s, new median "
            f"{statistics.median(t_new):.3f} s; ratio old/new (median of pairs) {statistics.median(ratios):.2f}x"
        )
    if not args.skip_scaling:
        n = args.patients
        t_small, t_big = _paired(new(n), new(10 * n), args.reps)
        ratios = [b / s for s, b in zip(t_small, t_big, strict=True)]
        print(
            f"scaling: {n:,} patients median {statistics.median(t_small):.3f} s, {10 * n:,} patients median "
            f"{statistics.median(t_big):.3f} s; ratio (median of pairs) {statistics.median(ratios):.2f} "
            "(10 = linear)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
