"""The Braze clients of two checkouts side by side: wall-time ratios against the fake, and CPU.

For a change that must not change speed (a refactor): each round runs the same work on the code
of ``--before`` (a checkout) and of ``--after`` (default: this one), and on ``--before`` a second
time as the control — the ratio the same code gets against itself is how far a row may move
here by chance. The order turns every round. Every run is a fresh process with the checkout on
``PYTHONPATH``; the fake Braze is a fresh process per run too.

    wall: track 50ms (async, 50 ms fake latency), 8 threads (one sync client, 8 threads, 50 ms),
          track 0ms (async, no latency: CPU only)
    cpu:  CPU seconds of the client process for one bulk call over the in-process fake (sync
          and async)

Each timed call follows a small warm-up call in the same process.

    PYTHONPATH=. python benchmarks/braze_compare.py --before ../before-checkout    # ~5 minutes

Ratios > 1: faster (less time) than before.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from braze_throughput import BRAZE_LIMIT, fake_process

HERE = Path(__file__).resolve().parent.parent

WALL = r"""
import asyncio, sys, time
sys.path.insert(0, sys.argv[1])
import braze_throttles as b
url, scenario, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
def run(k):
    b._threads(url, k) if scenario == "8 threads" else asyncio.run(b._track(url, k))
run(600)  # warm-up (75 objects a thread): imports and schema builds are not what is compared
start = time.perf_counter()
run(n)
print(time.perf_counter() - start)
"""

CPU = r"""
import asyncio, sys, time
from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
from jobframe.braze.fake import FakeBraze
kind, n = sys.argv[1], int(sys.argv[2])
objs = [{"external_id": f"u{i}", "plan": "gold"} for i in range(n)]
settings = BrazeSettings(base_url="http://fake.invalid", api_key="k")
fake = FakeBraze(api_key="k", store_users=False, record_limit=0)
def once():
    if kind == "sync":
        with BrazeClient.from_settings(settings, transport=fake.transport()) as client:
            client.track_users(attributes=objs)
        return
    async def run():
        async with AsyncBrazeClient.from_settings(settings, transport=fake.transport()) as client:
            await client.track_users(attributes=objs)
    asyncio.run(run())
once()
start = time.process_time()
once()
print(time.process_time() - start)
"""


def _run(tree: Path, code: str, *args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _compare(trees: dict[str, Path], rounds: int, measure: Callable[[Path], float]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in trees}
    names = list(trees)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(measure(trees[name]))
    return times


def _print(label: str, times: dict[str, list[float]]) -> None:
    print(f"-- {label}: before median {statistics.median(times['before']):.3f} s")
    for name in ("before, again", "after"):
        ratios = [b / a for a, b in zip(times[name], times["before"], strict=True)]
        every = " ".join(f"{x:.2f}" for x in ratios)
        print(
            f"   {name:<14} {statistics.median(ratios):.3f}x ({min(ratios):.2f}-{max(ratios):.2f})  {every}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the code before")
    parser.add_argument("--after", type=Path, default=HERE, help="a checkout of the code after (this one)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--cpu-objects", type=int, default=30_000)
    args = parser.parse_args()
    before, after = args.before.resolve(), args.after.resolve()
    trees = {"before": before, "before, again": before, "after": after}
    print(
        f"before {before}, after {after}; {args.rounds} rounds; {args.objects} objects; "
        f"python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}"
    )
    for scenario in ("track 50ms", "8 threads", "track 0ms"):
        delay = 0.0 if scenario == "track 0ms" else 0.05

        def wall(tree: Path, scenario: str = scenario, delay: float = delay) -> float:
            with fake_process(delay, BRAZE_LIMIT) as (url, _):
                return _run(tree, WALL, str(tree / "benchmarks"), url, scenario, str(args.objects))

        _print(f"wall, {scenario}", _compare(trees, args.rounds, wall))
    for kind in ("sync", "async"):

        def cpu(tree: Path, kind: str = kind) -> float:
            return _run(tree, CPU, kind, str(args.cpu_objects))

        _print(f"cpu, {kind}, {args.cpu_objects} objects in-process", _compare(trees, args.rounds, cpu))
    print(f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
