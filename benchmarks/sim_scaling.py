"""Benchmark: the simulation, old vs new and N vs 10 N, from paired interleaved runs in one process.

Two ratios, each from ``--reps`` pairs run alternately (A, B, A, B, ...) in this one process, so
drift in the machine's speed hits both sides alike; the ratio is the median of the per-pair ratios:

1. **old / new**: the previous vectorised run (``lenasched/design/simulation/core.py`` and ``streams.py`` at
   git ``--old-ref``, default ``HEAD``) against the working tree's, both through the same
   ``lenasched.simulate`` call (same protocol, patients, horizon and event rate); the old modules are
   swapped in for their runs only.
2. **scaling**: the current package at ``--patients`` and at 10 x ``--patients``; a ratio near 10
   is linear scaling.

Run:  python benchmarks/sim_scaling.py [--protocol badoux-2011] [--patients 100000] [--old-patients 100000] [--cpu]
``--cpu`` times in CPU seconds (``time.process_time``), steadier than wall time on a shared machine.
``--event-prob -1`` uses the protocol's own event model. No timed tests: this prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import lenasched

ROOT = Path(__file__).resolve().parent.parent


_SWAPPED = ("lenasched.design.simulation.streams", "lenasched.design.simulation.core")


def _old_modules(ref: str) -> dict[str, ModuleType] | None:
    """The simulation's core and streams modules as they are at git ``ref``, loaded under their own names."""
    loaded: dict[str, ModuleType] = {}
    for name in _SWAPPED:
        path = name.replace(".", "/") + ".py"
        try:
            source = subprocess.run(
                ["git", "show", f"{ref}:{path}"], cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        except (OSError, subprocess.CalledProcessError):
            return None
        module = ModuleType(name + "_old")
        module.__package__ = "lenasched.design.simulation"
        sys.modules[module.__name__] = module  # dataclasses look their module up
        exec(compile(source, f"{ref}:{path}", "exec"), module.__dict__)
        loaded[name] = module
    return loaded


@contextmanager
def _swapped(modules: dict[str, ModuleType]) -> Iterator[None]:
    """``simulate`` imports its core at call time: point those imports at ``modules`` meanwhile."""
    saved = {name: sys.modules[name] for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        sys.modules.update(saved)


def _paired(
    a: Callable[[], Any], b: Callable[[], Any], reps: int, clock: Callable[[], float]
) -> tuple[list[float], list[float]]:
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(reps):
        for work, out in ((a, ta), (b, tb)):
            t0 = clock()
            work()
            out.append(clock() - t0)
    return ta, tb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="badoux-2011")
    parser.add_argument("--days", type=int, default=728)
    parser.add_argument("--event-prob", type=float, default=0.2, help="per cycle; -1: the protocol's own model")
    parser.add_argument("--patients", type=int, default=100_000, help="scaling: N and 10 N")
    parser.add_argument("--old-patients", type=int, nargs="+", default=[100_000], help="old vs new: patients")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--old-ref", default="HEAD", help="git revision of the old core (default HEAD)")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument(
        "--cpu", action="store_true", help="time in CPU seconds (time.process_time): steadier on a shared machine"
    )
    args = parser.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    unit = "s CPU" if args.cpu else "s"

    import numpy

    protocol = lenasched.get_protocol(args.protocol)
    print(f"python {platform.python_version()}, numpy {numpy.__version__}, {platform.machine()}; one core")
    model = "its own event model" if args.event_prob < 0 else f"event probability {args.event_prob} per cycle"
    print(f"{protocol.id}, {args.days} days, {model}, {args.reps} pairs")

    event_prob = None if args.event_prob < 0 else args.event_prob

    def new(n: int) -> Callable[[], Any]:
        return lambda: lenasched.simulate(protocol, patients=n, seed=1, horizon=args.days, event_prob=event_prob)

    new(100)()  # warm-up: imports, plan cache
    old = _old_modules(args.old_ref)
    if old is None:
        print(f"old vs new: skipped (no lenasched/design/simulation/core.py at git {args.old_ref})")
    else:
        for n in args.old_patients:
            run_new = new(n)

            def run_old(run: Callable[[], Any] = run_new) -> Any:
                with _swapped(old):
                    return run()

            a, b = run_old(), run_new()  # warm-up, and the two must agree
            same = (a.cumulative_mg == b.cumulative_mg).all() and (a.events == b.events).all()
            t_old, t_new = _paired(run_old, run_new, args.reps, clock)
            ratios = [o / w for o, w in zip(t_old, t_new, strict=True)]
            print(
                f"old ({args.old_ref}) vs new at {n:,} patients: old median {statistics.median(t_old):.3f} {unit}, new "
                f"median {statistics.median(t_new):.3f} {unit}; ratio old/new (median of pairs) "
                f"{statistics.median(ratios):.2f}x; per-patient results identical: {bool(same)}"
            )
    if not args.skip_scaling:
        n = args.patients
        t_small, t_big = _paired(new(n), new(10 * n), args.reps, clock)
        ratios = [b / s for s, b in zip(t_small, t_big, strict=True)]
        print(
            f"scaling: {n:,} patients median {statistics.median(t_small):.3f} {unit}, {10 * n:,} patients median "
            f"{statistics.median(t_big):.3f} {unit}; ratio (median of pairs) {statistics.median(ratios):.2f} "
            "(10 = linear)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
