"""Exit latency: from the ``job.finished`` log line to the end of the process.

The clock starts when the ``job.finished`` line is read from the child's stdout pipe and stops when
the child is reaped. Three cases, several runs each, medians side by side:

(a) a clean job under jobframe (five resources to close, nothing left behind);
(b) a job that leaks a non-daemon ``threading.Timer(60)`` under jobframe (``--exit-grace``);
(c) the same leaking work written naively, without jobframe: a plain script that logs
    ``job.finished`` and returns — the interpreter then waits for the timer. It is killed after
    ``--naive-limit`` seconds and reported as "killed";
(d) an idle ``ThreadPoolExecutor`` held by a Singleton (one task ran, never shut down), jobframe;
(e) the same in a plain script, which the interpreter ends through ``concurrent.futures``' exit hook.

Targets: (a) median <= 50 ms, (b) median <= exit-grace + 100 ms, (d) median <= 100 ms (not the exit
grace). Exits 1 if a target is missed.

    PYTHONPATH=. python benchmarks/exit_latency.py --runs 7 --exit-grace 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from lifecycle.jobproc import JobProcess, running  # noqa: E402

NAIVE = """
import json, threading, time
def work():
    timer = threading.Timer(60, lambda: None)  # what a library might leave behind
    timer.start()
    return "done"
result = work()
print(json.dumps({"event": "job.finished", "status": "succeeded", "result": result}), flush=True)
"""

NAIVE_EXECUTOR = """
import json
from concurrent.futures import ThreadPoolExecutor
executor = ThreadPoolExecutor(2)  # what a Singleton holds
executor.submit(pow, 3, 2).result()
print(json.dumps({"event": "job.finished", "status": "succeeded"}), flush=True)
"""


def _latency(proc: JobProcess, limit: float) -> float | None:
    """Seconds from reading job.finished to the exit; ``None`` if killed after ``limit`` seconds."""
    finished = proc.wait_for("job.finished", timeout=30)
    deadline = finished.at + limit
    while proc.exited_at is None and time.monotonic() < deadline:
        time.sleep(0.01)  # polling only bounds the naive case; the exit time itself is measured exactly
    if proc.exited_at is None:
        proc.kill()
        return None
    return proc.exited_at - finished.at


def measure(case: str, runs: int, exit_grace: float, naive_limit: float) -> list[float | None]:
    results: list[float | None] = []
    for _ in range(runs):
        if case == "clean":
            ctx = running("Holder", params={"seconds": 0})
        elif case == "leak":
            ctx = running("LeakTimer", "--exit-grace", str(exit_grace))
        elif case == "executor":
            params = {"shape": "executor"}
            ctx = running(
                "StdlibJob", "--exit-grace", str(exit_grace), params=params, app="hostile:Container"
            )
        elif case == "naive-executor":
            ctx = running("naive", cmd=[sys.executable, "-c", NAIVE_EXECUTOR])
        else:
            ctx = running("naive", cmd=[sys.executable, "-c", NAIVE])
        with ctx as proc:
            results.append(_latency(proc, naive_limit if case.startswith("naive") else 30.0))
    return results


def _fmt(value: float | None) -> str:
    return "killed" if value is None else f"{value * 1000:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per case (default 7)")
    parser.add_argument("--exit-grace", type=float, default=1.0, help="jobframe --exit-grace (default 1)")
    parser.add_argument("--naive-limit", type=float, default=3.0, help="kill the naive script after (s)")
    args = parser.parse_args()

    cases = [
        ("(a) clean job, jobframe", "clean", 0.050),
        (
            f"(b) leaked 60 s timer, jobframe --exit-grace {args.exit_grace:g}",
            "leak",
            args.exit_grace + 0.100,
        ),
        ("(c) leaked 60 s timer, naive script", "naive", None),
        (f"(d) idle executor Singleton, jobframe --exit-grace {args.exit_grace:g}", "executor", 0.100),
        ("(e) idle executor, plain script", "naive-executor", None),
    ]
    rows = []
    ok = True
    for label, case, target in cases:
        values = measure(case, args.runs, args.exit_grace, args.naive_limit)
        done = sorted(v for v in values if v is not None)
        killed = len(values) - len(done)
        if killed > len(values) // 2:
            median = "killed"
        else:
            median = _fmt(statistics.median([*done, *[float("inf")] * killed]))
        verdict = ""
        if target is not None:
            met = killed == 0 and statistics.median(done) <= target
            ok = ok and met
            verdict = f"{'ok' if met else 'MISSED'} (target <= {target * 1000:.0f} ms)"
        elif killed:
            verdict = f"killed after {args.naive_limit:g} s in {killed}/{len(values)} runs"
        rows.append(
            (label, median, _fmt(done[0]) if done else "killed", _fmt(done[-1]) if done else "-", verdict)
        )

    header = ("case", "median ms", "min ms", "max ms", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"exit latency = job.finished read from the pipe -> process reaped; {args.runs} runs per case")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
