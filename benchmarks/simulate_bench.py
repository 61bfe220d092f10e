"""Benchmark (issue 15): simulate time in units of one single-patient ``expand``, peak memory, scaling.

Three figures, printed (nothing is asserted; the targets are printed next to them):

1. **Expand-equivalents**: the time of ``lenasched.simulate`` for ``--patients`` (default 10**6)
   patients x ``--days`` (default 728, two years) of ``--protocol`` (default badoux-2011, its own
   event model unless ``--event-prob``), divided by the mean time of one single-patient
   ``lenasched.expand`` of the same protocol and horizon. The expand time is measured (mean of
   ``--expand-calls`` calls) right before and right after each simulate run, so each ratio is a
   paired one, taken while the machine is as busy as it was during that run; the printed ratio is
   the median over ``--reps`` such pairs. Wall-clock and CPU time (``time.process_time``, less
   sensitive to other processes on a shared machine) are both given. Target: <= 500.
2. **Peak memory** (resident set size: ``VmHWM`` of ``/proc/self/status``, else ``ru_maxrss``)
   of a fresh Python process that imports lenasched and simulates ``--patients`` patients; the
   same process's peak after the imports (and a 100-patient warm-up) is printed for reference.
   Target: <= 200 MiB at 10**6.
3. **Scaling**: the time at 10**5, 10**6 and 10**7 patients (``--sizes``), each in its own process
   (so one run's memory does not weigh on the next), with the ratio between successive sizes
   (10 = linear) and the time per million patients.

Run:  python benchmarks/simulate_bench.py [--reps 3] [--sizes 100000 1000000 10000000] [--event-prob 0.2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from typing import Any

import lenasched

START = date(2026, 1, 5)

_CHILD = """
import json, resource, sys, time

def peak_kib():
    # VmHWM: this process's own high-water mark (ru_maxrss also counts the parent's, inherited at fork)
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

import lenasched
protocol = lenasched.get_protocol({protocol!r})
lenasched.simulate(protocol, patients=100, seed=1, horizon={days}, event_prob={event_prob!r})  # imports, plan cache
imported = peak_kib()
wall, cpu = time.perf_counter(), time.process_time()
lenasched.simulate(protocol, patients={patients}, seed=1, horizon={days}, event_prob={event_prob!r})
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({{"wall": wall, "cpu": cpu, "imported_kib": imported, "peak_kib": peak_kib()}}))
"""


def _child(protocol: str, patients: int, days: int, event_prob: float | None) -> dict[str, Any]:
    """One simulate run in a fresh process: its times and peak resident size (KiB, Linux ru_maxrss)."""
    code = _CHILD.format(protocol=protocol, patients=patients, days=days, event_prob=event_prob)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _expand_time(protocol: lenasched.Protocol, days: int, calls: int) -> tuple[float, float]:
    """Mean wall and CPU seconds of one single-patient ``expand`` over ``days`` days."""
    until = START + timedelta(days=days - 1)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        lenasched.expand(protocol, START, until=until)
    return (time.perf_counter() - wall) / calls, (time.process_time() - cpu) / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", default="badoux-2011")
    parser.add_argument("--days", type=int, default=728)
    parser.add_argument("--patients", type=int, default=1_000_000, help="patients of figures 1 and 2")
    parser.add_argument("--event-prob", type=float, default=None, help="generic model; default: the protocol's own")
    parser.add_argument("--reps", type=int, default=3, help="paired runs of figure 1")
    parser.add_argument("--expand-calls", type=int, default=200, help="expand calls timed before and after each run")
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000, 10_000_000], help="figure 3")
    args = parser.parse_args(argv)

    import numpy

    protocol = lenasched.get_protocol(args.protocol)
    model = "its own event model" if args.event_prob is None else f"event probability {args.event_prob} per cycle"
    print(
        f"python {platform.python_version()}, numpy {numpy.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPU(s) visible, load average {os.getloadavg()[0]:.1f}; single-threaded code"
    )
    print(f"{protocol.id}, {args.days} days, {model}")

    def simulate(patients: int) -> None:
        lenasched.simulate(protocol, patients=patients, seed=1, horizon=args.days, event_prob=args.event_prob)

    simulate(1000)  # warm-up: imports, plan cache
    _expand_time(protocol, args.days, 20)
    walls, cpus, wall_ratios, cpu_ratios = [], [], [], []
    for _ in range(args.reps):
        before = _expand_time(protocol, args.days, args.expand_calls)
        wall, cpu = time.perf_counter(), time.process_time()
        simulate(args.patients)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        after = _expand_time(protocol, args.days, args.expand_calls)
        walls.append(wall)
        cpus.append(cpu)
        wall_ratios.append(wall / ((before[0] + after[0]) / 2))
        cpu_ratios.append(cpu / ((before[1] + after[1]) / 2))
    wall_ratio, cpu_ratio = statistics.median(wall_ratios), statistics.median(cpu_ratios)
    print(
        f"1. simulate {args.patients:,} patients: median {statistics.median(walls):.2f} s wall "
        f"({statistics.median(cpus):.2f} s CPU) = {wall_ratio:.0f} single-patient expand calls "
        f"({cpu_ratio:.0f} in CPU time); median of {args.reps} paired runs "
        f"(each: {', '.join(f'{r:.0f}' for r in wall_ratios)}); target <= 500"
    )
    child = _child(args.protocol, args.patients, args.days, args.event_prob)
    peak, imported = child["peak_kib"] / 1024, child["imported_kib"] / 1024
    print(
        f"2. peak resident memory at {args.patients:,} patients: {peak:.0f} MiB "
        f"(the process after imports: {imported:.0f} MiB); target <= 200 MiB"
    )
    previous: tuple[int, float] | None = None
    for size in args.sizes:
        run = _child(args.protocol, size, args.days, args.event_prob)
        line = (
            f"3. {size:>12,} patients: {run['wall']:7.2f} s wall, {run['cpu']:7.2f} s CPU, "
            f"{run['cpu'] / size * 1e6:.2f} s CPU per million, peak {run['peak_kib'] / 1024:.0f} MiB"
        )
        if previous is not None:
            line += f"; x{run['cpu'] / previous[1]:.2f} CPU for x{size / previous[0]:g} patients"
        print(line)
        previous = (size, run["cpu"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
