"""Stress the signal guarantee: SIGTERM at random points of real jobframe runs.

Each trial starts ``python -m jobframe`` on the lifecycle test app (a job holding five sync
resources, or four async ones), waits for ``job.started``, sleeps a random 0-0.4 s — before,
during or after resource init — and sends SIGTERM. Every trial must exit 143 within 1 s with every
opened resource closed. Prints a summary table; exits 1 on any violation.

    PYTHONPATH=. python benchmarks/stress_signals.py --trials 60 --workers 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from lifecycle.jobproc import Trial, signal_trial  # noqa: E402

LATENCY_BOUND_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=60, help="trials per job (default 60)")
    parser.add_argument("--workers", type=int, default=3, help="trials run concurrently (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--jobs", nargs="+", default=["Holder", "AsyncHolder"], help="jobs to stress")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"seed {seed}; {args.trials} SIGTERM trials per job; {args.workers} concurrent")

    failures: list[str] = []
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(prefix="stress-signals-") as tmp:
        for job in args.jobs:
            workdir = Path(tmp) / job
            workdir.mkdir()
            delays = [rng.uniform(0.0, 0.4) for _ in range(args.trials)]
            with ThreadPoolExecutor(args.workers) as pool:
                futures = [pool.submit(signal_trial, workdir, i, d, job=job) for i, d in enumerate(delays)]
                trials: list[Trial] = [f.result() for f in futures]
            codes = Counter(t.code for t in trials)
            closed = sum(1 for t in trials if not t.still_open)
            during_init = sum(1 for t in trials if len(t.opened) < max(len(x.opened) for x in trials))
            latencies = sorted(t.latency for t in trials)
            for t in trials:
                problems = []
                if t.code != 143:
                    problems.append(f"exit {t.code}")
                if t.still_open:
                    problems.append(f"left open {t.still_open}")
                if t.latency >= LATENCY_BOUND_S:
                    problems.append(f"latency {t.latency:.3f}s")
                if problems:
                    failures.append(f"{job} delay {t.delay:.3f}s: {', '.join(problems)}\n{t.output}")
            rows.append(
                (
                    job,
                    str(len(trials)),
                    ", ".join(f"{code}x{n}" for code, n in sorted(codes.items())),
                    f"{closed}/{len(trials)}",
                    str(during_init),
                    f"{statistics.median(latencies) * 1000:.1f}",
                    f"{latencies[-1] * 1000:.1f}",
                )
            )

    header = ("job", "trials", "exit codes", "all closed", "hit init", "median ms", "max ms")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print("latency: SIGTERM sent -> process reaped; 'hit init': signal landed before every resource opened")
    if failures:
        print(f"\n{len(failures)} VIOLATIONS:")
        for failure in failures:
            print(failure[:4000])
        return 1
    print("OK: every trial exited 143 within 1 s with every opened resource closed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
