"""Core performance figures (a script, not a test): run ``python benchmarks/calendar_bench.py``.

(a) Wall time of ``lenasched calendar badoux-2011 --cycles 6 --format csv`` against the import floor of
    the core dependencies (``python -c "import pydantic, yaml, dateutil"``); target <= 1.5x.
(b) Median in-process time to expand a 2-year calendar of each bundled protocol; target <= 5 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal

import lenasched

RUNS = 15


def _wall(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    floor = _wall([sys.executable, "-c", "import pydantic, yaml, dateutil"])
    cli = _wall(
        [
            sys.executable,
            "-m",
            "lenasched",
            "calendar",
            "badoux-2011",
            "--start",
            "2026-12-01",
            "--cycles",
            "6",
            "--format",
            "csv",
        ]
    )
    ratio = cli / floor
    print(
        f"(a) import floor {floor * 1000:.0f} ms; calendar csv {cli * 1000:.0f} ms; ratio {ratio:.2f} (target <= 1.5)"
    )

    start = date(2026, 12, 1)
    until = start + timedelta(days=730)
    patient = lenasched.Patient(bsa_m2=Decimal("1.9"), weight_kg=Decimal("70"))
    worst = 0.0
    for pid in lenasched.bundled_ids():
        protocol = lenasched.get_protocol(pid)
        samples = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            lenasched.expand(protocol, start, until=until, patient=patient)
            samples.append(time.perf_counter() - t0)
        median = statistics.median(samples) * 1000
        worst = max(worst, median)
        print(f"(b) {pid:<28} 2-year expansion median {median:6.2f} ms")
    print(f"(b) slowest median {worst:.2f} ms (target <= 5 ms)")
    return 0 if ratio <= 1.5 and worst <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
