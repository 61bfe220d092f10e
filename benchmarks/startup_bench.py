"""Start-up cost of the command line (a script, not a test).

``python benchmarks/startup_bench.py [PAIRS] [--no-bytecode]``

Runs, interleaved and in pairs, the import floor of the core dependencies
(``python -c "import pydantic, yaml, dateutil"``) and
``lenasched calendar badoux-2011 --start 2026-12-01 --cycles 6 --format csv``, each in a fresh
interpreter, and reports the median of the per-pair ratios (target <= 1.5x) of

- **wall** time (what a user waits; the pass/fail figure),
- **CPU** time (user + system of the child alone: steadier than wall time on a busy machine),
- **peak RSS** (the child's maximum resident set size; target <= 1.5x).

Pairing and alternating the order cancels most of the drift of a busy machine.

Both sides run with byte-code: an installed package has ``.pyc`` files, and so have the floor's
dependencies, but a source checkout run under ``PYTHONDONTWRITEBYTECODE=1`` would recompile every
lenasched module on every run and measure the compiler. The children write their byte-code to a
private temporary folder (``PYTHONPYCACHEPREFIX``), never into the checkout. ``--no-bytecode``
measures that compiling case instead. lenasched's cache (``lenasched.model.cache``: the validated bundled
protocol, the label's facts) is a private temporary folder too, filled by the warm-up runs: the
figures are the warm runs a user makes after the first; the first (cold) run is shown apart.

It then lists the modules that cost the csv run most (``python -X importtime``, self time, one run).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
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


def _environment(work: Path, bytecode: bool) -> dict[str, str]:
    env = dict(os.environ, LENASCHED_CACHE_DIR=str(work / "lenasched-cache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of one run of ``argv``."""
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, argv)
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)  # bytes on macOS, KiB on Linux
    return wall, usage.ru_utime + usage.ru_stime, rss


Sample = tuple[float, float, float]


def _paired(cli: list[str], env: dict[str, str], pairs: int) -> tuple[list[Sample], list[Sample]]:
    for _ in range(WARMUP):
        _run(FLOOR, env)
        _run(cli, env)
    floors: list[Sample] = []
    clis: list[Sample] = []
    for i in range(pairs):
        if i % 2:
            c, f = _run(cli, env), _run(FLOOR, env)
        else:
            f, c = _run(FLOOR, env), _run(cli, env)
        floors.append(f)
        clis.append(c)
    return floors, clis


def _importtime(cli: list[str], env: dict[str, str], top: int = 20) -> list[tuple[int, int, str]]:
    env = dict(env, PYTHONPROFILEIMPORTTIME="1")
    done = subprocess.run(cli, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative, name = line[len("import time:") :].split("|", 2)
        rows.append((int(self_us), int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:top]


def _ratios(floors: list[Sample], clis: list[Sample], k: int) -> tuple[float, float, float]:
    """Median and quartiles of the per-pair ratios of measure ``k`` (0 wall, 1 CPU, 2 RSS)."""
    ratios = [c[k] / f[k] for f, c in zip(floors, clis)]
    q = statistics.quantiles(ratios, n=4)
    return statistics.median(ratios), q[0], q[2]


def main(argv: list[str]) -> int:
    bytecode = "--no-bytecode" not in argv
    numbers = [a for a in argv if not a.startswith("--")]
    pairs = int(numbers[0]) if numbers else PAIRS
    cli = _cli()
    with tempfile.TemporaryDirectory(prefix="lenasched-startup-") as folder:
        env = _environment(Path(folder), bytecode)
        print(f"floor: {' '.join(FLOOR[1:])}")
        print(f"cli:   {' '.join(Path(a).name if i < 2 else a for i, a in enumerate(cli))}")
        print(
            "byte-code: "
            + ("cached in a private folder for both (as installed)" if bytecode else "none (every module compiled)")
        )
        _run(FLOOR, env)  # byte-code of both in the private folder (the cache off), so the cold run below
        _run(cli, dict(env, LENASCHED_CACHE_DIR=""))  # times a cache miss, not the compiler
        cold = _run(cli, env)
        floors, clis = _paired(cli, env, pairs)
        print(
            f"{pairs} interleaved pairs, medians: floor {statistics.median(f[0] for f in floors) * 1000:.0f} ms wall, "
            f"{statistics.median(f[1] for f in floors) * 1000:.0f} ms CPU, "
            f"{statistics.median(f[2] for f in floors) / 2**20:.1f} MiB peak RSS; "
            f"cli {statistics.median(c[0] for c in clis) * 1000:.0f} ms wall, "
            f"{statistics.median(c[1] for c in clis) * 1000:.0f} ms CPU, "
            f"{statistics.median(c[2] for c in clis) / 2**20:.1f} MiB"
        )
        print(f"first (cold-cache) cli run: {cold[0] * 1000:.0f} ms wall, {cold[1] * 1000:.0f} ms CPU")
        ratio = 0.0
        for k, name in enumerate(("wall", "CPU", "peak RSS")):
            median, low, high = _ratios(floors, clis, k)
            ratio = median if k == 0 else ratio
            print(
                f"ratio cli/floor, {name:8}: median {median:.2f}x (quartiles {low:.2f}-{high:.2f}); target <= {TARGET}x"
            )
        print("\nlargest self import times of the csv run (python -X importtime, one run):")
        print(f"{'self ms':>8} {'cum ms':>8}  module")
        for self_us, cumulative, name in _importtime(cli, env):
            print(f"{self_us / 1000:8.1f} {cumulative / 1000:8.1f}  {name.strip()}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
