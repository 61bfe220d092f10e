"""Start-up cost of the command line (a script, not a test): ``python benchmarks/startup_bench.py [PAIRS]``.

Runs, interleaved and in pairs, the import floor of the core dependencies
(``python -c "import pydantic, yaml, dateutil"``) and
``lenasched calendar badoux-2011 --start 2026-12-01 --cycles 6 --format csv``, each in a fresh
interpreter, and reports the median of the per-pair ratios (target <= 1.5x). Pairing and alternating the
order cancels most of the drift of a busy machine. It then lists the modules that cost the csv run most
(``python -X importtime``, self time, one run).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

PAIRS = 21
WARMUP = 2
TARGET = 1.5

FLOOR = [sys.executable, "-c", "import pydantic, yaml, dateutil"]
ARGS = ["calendar", "badoux-2011", "--start", "2026-12-01", "--cycles", "6", "--format", "csv"]


def _cli() -> list[str]:
    """The installed console script when it sits next to this interpreter (what users run), else ``-m``."""
    script = Path(sys.executable).with_name("lenasched")
    if script.is_file():
        return [sys.executable, str(script), *ARGS]
    return [sys.executable, "-m", "lenasched", *ARGS]


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _paired(cli: list[str], pairs: int) -> tuple[list[float], list[float], list[float]]:
    for _ in range(WARMUP):
        _wall(FLOOR)
        _wall(cli)
    floors, clis, ratios = [], [], []
    for i in range(pairs):
        if i % 2:
            c, f = _wall(cli), _wall(FLOOR)
        else:
            f, c = _wall(FLOOR), _wall(cli)
        floors.append(f)
        clis.append(c)
        ratios.append(c / f)
    return floors, clis, ratios


def _importtime(cli: list[str], top: int = 20) -> list[tuple[int, int, str]]:
    env = dict(os.environ, PYTHONPROFILEIMPORTTIME="1")
    done = subprocess.run(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:") :].split("|", 2)
        rows.append((int(self_us), int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str]) -> int:
    pairs = int(argv[0]) if argv else PAIRS
    cli = _cli()
    print(f"floor: {' '.join(FLOOR[1:])}")
    print(f"cli:   {' '.join(Path(a).name if i < 2 else a for i, a in enumerate(cli))}")
    floors, clis, ratios = _paired(cli, pairs)
    ratio = statistics.median(ratios)
    q = statistics.quantiles(ratios, n=4)
    print(
        f"{pairs} interleaved pairs: floor median {statistics.median(floors) * 1000:.0f} ms, "
        f"cli median {statistics.median(clis) * 1000:.0f} ms"
    )
    print(f"ratio cli/floor: median {ratio:.2f}x (quartiles {q[0]:.2f}-{q[2]:.2f}); target <= {TARGET}x")
    print("\nlargest self import times of the csv run (python -X importtime, one run):")
    print(f"{'self ms':>8} {'cum ms':>8}  module")
    for self_us, cumulative, name in _importtime(cli):
        print(f"{self_us / 1000:8.1f} {cumulative / 1000:8.1f}  {name.strip()}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
