"""Stress the lifecycle promise: every hostile job shape x every event, many trials, every invariant.

The matrix and its invariants are ``tests/lifecycle/matrix.py`` (the test suite runs a sample of
it). Each trial runs ``python -m jobframe`` as Argo would (own process group, signals to the
group, ``ARGO_DEADLINE``/``--timeout`` with the platform's SIGTERM at the deadline and SIGKILL
after its grace) and checks: the documented exit code, never killed, every resource closed (or a
hanging close named by ``teardown.timeout``), JSON lines only with ``process.exit`` last, nothing
of the job's session left alive, gone within the stated bound. Prints one row per shape x event
(trials, passed, median and max seconds from the event to the exit) and exits 1 on any violation.

    PYTHONPATH=. python benchmarks/stress_lifecycle.py --trials 2 --workers 3
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from lifecycle.matrix import EVENTS, SHAPES, Trial, run_trial  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--trials", type=int, default=2, help="trials per shape x event (default 2)")
    parser.add_argument("--workers", type=int, default=3, help="trials run concurrently (default 3)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES), metavar="SHAPE")
    parser.add_argument("--events", nargs="+", default=list(EVENTS), choices=list(EVENTS), metavar="EVENT")
    parser.add_argument(
        "--markdown", action="store_true", help="print one markdown table, shapes x events (for docs/)"
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    cells = [(shape, event) for shape in args.shapes for event in args.events]
    jobs = [(shape, event, rng.randrange(1 << 30)) for shape, event in cells for _ in range(args.trials)]
    print(f"seed {seed}; {len(jobs)} trials ({len(cells)} cells x {args.trials}); {args.workers} concurrent")

    with (
        tempfile.TemporaryDirectory(prefix="stress-lifecycle-") as tmp,
        ThreadPoolExecutor(args.workers) as pool,
    ):
        futures = [pool.submit(run_trial, SHAPES[s], e, Path(tmp), n) for s, e, n in jobs]
        trials: list[Trial] = [f.result() for f in futures]

    rows = [("shape", "event", "trials", "passed", "codes", "median s", "max s")]
    for shape, event in cells:
        mine = [t for t in trials if t.shape == shape and t.event == event]
        times = [t.elapsed for t in mine]
        codes = ",".join(str(c) for c in sorted({t.exit_code for t in mine}, key=lambda c: c or 0))
        rows.append(
            (
                shape,
                event,
                str(len(mine)),
                str(sum(t.passed for t in mine)),
                codes,
                f"{statistics.median(times):.3f}",
                f"{max(times):.3f}",
            )
        )
    if args.markdown:
        _print_pivot(trials, args.shapes, args.events)
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for i, row in enumerate(rows):
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
            if i == 0:
                print("  ".join("-" * width for width in widths))

    failed = [t for t in trials if not t.passed]
    passed = len(trials) - len(failed)
    print(f"\n{passed}/{len(trials)} trials kept every invariant")
    for trial in failed:
        print(f"FAIL {trial.describe()}")
    signal_times = [
        t.elapsed for t in trials if t.shape == "sync-sleep" and t.event == "sigterm" and t.passed
    ]
    if signal_times:
        print(f"sync SIGTERM → exit, median {statistics.median(signal_times) * 1000:.1f} ms")
    return 1 if failed else 0


def _print_pivot(trials: list[Trial], shapes: list[str], events: list[str]) -> None:
    """Shapes down, events across; each cell ``passed/trials, max seconds from the event to the exit``."""
    print("| shape | " + " | ".join(events) + " |")
    print("|---|" + "---|" * len(events))
    for shape in shapes:
        cells = []
        for event in events:
            mine = [t for t in trials if t.shape == shape and t.event == event]
            worst = max((t.elapsed for t in mine), default=0.0)
            cells.append(f"{sum(t.passed for t in mine)}/{len(mine)}, {worst:.2f}")
        print(f"| {shape} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    raise SystemExit(main())
