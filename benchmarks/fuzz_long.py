"""The long fuzz run (a script, not a test): ``python benchmarks/fuzz_long.py [--cases 10000]``.

Draws ``--cases`` cases (default 10,000) from the CI fuzz tests' own strategies
(``tests/fuzz_strategies.py``: mutated protocol files through every command that reads them, "what
validate accepts, calendar expands", command lines with extreme options and events files, random and
mutated documents straight into the loader) and runs each one **in a child process of its own**, forked
from a parent that has already imported everything (so a case costs milliseconds, not an interpreter
start-up):

- the child runs the case in-process (``main(argv)`` with stdout and stderr captured, or the loader)
  under ``RLIMIT_AS`` (1 GiB of address space when the parent's own is well under that; otherwise the
  parent's plus 1 GiB, and the report says which), so a runaway allocation is a ``MemoryError``, not a
  swapped-out machine;
- the parent kills a child that has not finished after ``--timeout`` seconds (default 5): a **hang**;
- the child's peak resident memory is the kernel's ``ru_maxrss`` of that child alone (``os.wait4``); it
  includes the pages shared with the parent, so it over-states what the case itself needed: above
  ``--memory-gib`` (default 1) it is a **memory failure**, as is a ``MemoryError``;
- a **traceback** is an exception escaping the case, or ``Traceback`` / ``internal error`` on stderr;
  other broken promises (an exit status other than 0, 1 or 2; exit 1 without exactly one ``error:`` line
  last; an unlocated loader error; validate accepting what calendar refuses) are **contract failures**.

Prints the counts (cases, tracebacks, hangs, memory failures, contract failures, crashes) and the
slowest case; each failure's case goes to ``--report`` (JSON) to reproduce it. A case killed as a hang
is run once more, alone, after the others (a busy machine can push a 1 s case past the limit); the
report says whether it hung again. Exit status 0 when nothing failed (a hang that did not recur alone
is reported but not counted against the run), else 1.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LENASCHED_CACHE_DIR", tempfile.mkdtemp(prefix="lenasched-fuzz-cache-"))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # numpy's BLAS threads would each reserve address space

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.fuzz_strategies import Case, any_case, case_problems, run_cli  # noqa: E402

GIB = 1024**3
KINDS = ("traceback", "hang", "memory", "contract", "crash")


@dataclass
class Outcome:
    index: int
    status: str  # ok, or one of KINDS
    seconds: float
    maxrss_bytes: int
    problems: list[str] = field(default_factory=list)


def draw_cases(count: int, first_seed: int, chunk: int = 500) -> list[Case]:
    """``count`` distinct cases from ``any_case()``, drawn by hypothesis (no shrinking, no database).

    In runs of ``chunk`` examples, each with its own seed: hypothesis slows down as one run grows (it
    keeps every choice sequence it has tried), and separate runs keep the drawing time linear.
    """
    cases: dict[Case, None] = {}  # insertion-ordered set: the same case twice is run once
    stalled = 0
    for run in range(10 * (count // chunk + 1)):
        before = len(cases)

        @settings(
            max_examples=chunk,
            database=None,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @seed(first_seed + run)
        @given(any_case())
        def collect(case: Case) -> None:
            cases[case] = None

        collect()
        stalled = stalled + 1 if len(cases) == before else 0
        if len(cases) >= count or stalled == 3:
            break
    return list(cases)[:count]


def warm_up() -> None:
    """Import in the parent what the commands import lazily, so each forked case starts warm."""
    start = ["--start", "2027-01-04", "--cycles", "1"]
    for fmt in ("table", "csv", "json", "html", "ics", "fhir", "nonmem", "sdtm-ex"):
        run_cli(["calendar", "badoux-2011", *start, "--format", fmt, "--bsa", "1.9"])
    for argv in (
        ["dispense", "badoux-2011", *start],
        ["compare", "badoux-2011", "chen-2011", "--days", "84", "--format", "csv"],
        ["variant", "badoux-2011", "--set", "lenalidomide.start=10"],
        ["advise", "label-mm-rd", "--start", "2027-01-04", "--lab", "2027-01-10:plt=25"],
        ["simulate", "badoux-2011", "--patients", "20"],
        ["show", "james-2014-lr"],
        ["validate", str(ROOT / "protocols" / "chen-2011.yaml")],
    ):
        run_cli(argv)


def vm_bytes() -> int:
    """This process's address space (``VmSize``), or 0 where /proc does not say."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def classify(problems: list[str]) -> str:
    if not problems:
        return "ok"
    text = "\n".join(problems)
    if "MemoryError" in text:
        return "memory"
    if text.startswith(("traceback", "internal error")) or "\ntraceback" in text or "\ninternal error" in text:
        return "traceback"
    return "contract"


def child(case: Case, workdir: Path, write_fd: int, as_limit: int) -> None:
    """Runs in the forked child: the case under the address-space limit; the result as JSON on ``write_fd``."""
    status, problems = "ok", []
    began = time.perf_counter()
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        problems = case_problems(case, workdir)
        status = classify(problems)
    except MemoryError:
        status, problems = "memory", ["MemoryError escaped"]
    except BaseException:
        status, problems = "traceback", [traceback.format_exc()[-4000:]]
    finally:
        elapsed = time.perf_counter() - began
        payload = json.dumps({"status": status, "seconds": elapsed, "problems": problems})[:60_000].encode()
        with contextlib.suppress(BaseException):
            os.write(write_fd, payload)
        os._exit(0)


@dataclass
class Running:
    index: int
    began: float
    read_fd: int
    workdir: Path
    chunks: list[bytes] = field(default_factory=list)


def run_all(cases: list[Case], jobs: int, timeout: float, memory_bytes: int, as_limit: int) -> list[Outcome]:
    outcomes: list[Outcome] = []
    pending = collections.deque(range(len(cases)))
    running: dict[int, Running] = {}
    scratch = Path(tempfile.mkdtemp(prefix="lenasched-fuzz-"))
    done_count = 0
    last_print = time.monotonic()
    try:
        while pending or running:
            while pending and len(running) < jobs:
                index = pending.popleft()
                workdir = scratch / str(index)
                workdir.mkdir()
                read_fd, write_fd = os.pipe()
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    os.close(read_fd)
                    child(cases[index], workdir, write_fd, as_limit)
                os.close(write_fd)
                running[pid] = Running(index, time.monotonic(), read_fd, workdir)
            fds = {r.read_fd: r for r in running.values()}
            ready, _, _ = select.select(list(fds), [], [], 0.05)
            for fd in ready:
                data = os.read(fd, 65536)
                if data:
                    fds[fd].chunks.append(data)
            now = time.monotonic()
            for pid, job in list(running.items()):
                if now - job.began > timeout:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                    _, _, usage = os.wait4(pid, 0)
                    outcome = Outcome(job.index, "hang", now - job.began, usage.ru_maxrss * 1024, ["killed"])
                else:
                    waited, status, usage = os.wait4(pid, os.WNOHANG)
                    if waited == 0:
                        continue
                    while True:  # the rest of what the child wrote before it exited
                        data = os.read(job.read_fd, 65536)
                        if not data:
                            break
                        job.chunks.append(data)
                    outcome = finished(job, status, usage.ru_maxrss * 1024, memory_bytes)
                os.close(job.read_fd)
                shutil.rmtree(job.workdir, ignore_errors=True)
                del running[pid]
                outcomes.append(outcome)
                done_count += 1
            if time.monotonic() - last_print > 30:
                last_print = time.monotonic()
                bad = collections.Counter(o.status for o in outcomes if o.status != "ok")
                print(f"  {done_count:,}/{len(cases):,} cases run; {dict(bad) or 'no failures'}", flush=True)
    finally:
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)
    return sorted(outcomes, key=lambda o: o.index)


def finished(job: Running, status: int, maxrss: int, memory_bytes: int) -> Outcome:
    raw = b"".join(job.chunks)
    if os.WIFSIGNALED(status) or not raw:
        why = f"killed by signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit {status}, no result"
        return Outcome(job.index, "crash", time.monotonic() - job.began, maxrss, [why])
    result = json.loads(raw)
    kind = result["status"]
    if kind == "ok" and maxrss > memory_bytes:
        kind = "memory"
        result["problems"] = [f"peak RSS {maxrss / 2**20:.0f} MiB"]
    return Outcome(job.index, kind, result["seconds"], maxrss, result["problems"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=20_261_101)
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds before a case is a hang")
    parser.add_argument("--memory-gib", type=float, default=1.0)
    parser.add_argument("--report", type=Path, help="write the failing cases here (JSON)")
    args = parser.parse_args(argv)
    if not hasattr(os, "fork"):
        parser.error("needs os.fork (Linux or macOS)")

    began = time.monotonic()
    cases = draw_cases(args.cases, args.seed)
    kinds = collections.Counter(c.kind if c.kind != "cli" else c.argv[0] for c in cases)
    print(f"drew {len(cases):,} cases in {time.monotonic() - began:.0f} s: {dict(sorted(kinds.items()))}", flush=True)
    warm_up()
    memory_bytes = int(args.memory_gib * GIB)
    vm = vm_bytes()
    as_limit = memory_bytes if vm < memory_bytes * 3 // 4 else vm + memory_bytes
    print(
        f"parent address space {vm / 2**20:.0f} MiB; each case runs under RLIMIT_AS {as_limit / 2**20:.0f} MiB"
        + ("" if as_limit == memory_bytes else " (the parent's plus the budget)")
        + f", killed after {args.timeout:g} s; {args.jobs} at a time",
        flush=True,
    )
    ran = time.monotonic()
    outcomes = run_all(cases, args.jobs, args.timeout, memory_bytes, as_limit)
    # A case killed as a hang while the machine was busy runs once more, alone: a real hang hangs again.
    hangs = [o for o in outcomes if o.status == "hang"]
    again = {o.index: o for o in run_all([cases[h.index] for h in hangs], 1, args.timeout, memory_bytes, as_limit)}
    alone = [again[i] for i in range(len(hangs))]
    for hang, rerun in zip(hangs, alone):
        hang.problems.append(f"alone: {rerun.status} in {rerun.seconds:.2f} s")
    counts = collections.Counter(o.status for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    biggest = max(outcomes, key=lambda o: o.maxrss_bytes)
    print(f"cases:              {len(outcomes):,} (run in {time.monotonic() - ran:.0f} s)")
    print(f"tracebacks:         {counts['traceback']}")
    print(
        f"hangs (> {args.timeout:g} s):     {counts['hang']}"
        + (f" ({sum(r.status == 'hang' for r in alone)} again when re-run alone)" if hangs else "")
    )
    print(f"memory (> {args.memory_gib:g} GiB):  {counts['memory']}")
    print(f"contract failures:  {counts['contract']}")
    print(f"crashes:            {counts['crash']}")
    print(f"slowest case:       {slowest.seconds:.2f} s  {describe(cases[slowest.index])}")
    print(f"largest peak RSS:   {biggest.maxrss_bytes / 2**20:.0f} MiB  {describe(cases[biggest.index])}")
    failures = [o for o in outcomes if o.status != "ok"]
    real = [o for o in failures if o.status != "hang"] + [h for h, r in zip(hangs, alone) if r.status == "hang"]
    for outcome in failures[:20]:
        print(f"\n[{outcome.status}] {describe(cases[outcome.index])}\n  " + "\n  ".join(outcome.problems)[:3000])
    if args.report:
        args.report.write_text(
            json.dumps([{**asdict(o), "case": asdict(cases[o.index])} for o in failures], indent=2, ensure_ascii=False)
        )
    return 0 if not real and len(outcomes) == len(cases) else 1


def describe(case: Case) -> str:
    if case.kind == "loader":
        return f"loader: {len(case.text)} characters of YAML"
    if case.kind == "accepted":
        return "validate, then calendar, of a mutated protocol"
    return "lenasched " + " ".join(case.argv)


if __name__ == "__main__":
    sys.exit(main())
