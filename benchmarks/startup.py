"""Startup cost of jobframe: a trivial job run end to end vs. a bare import of its dependencies.

Both commands run alternately in one process, so machine noise hits them alike; the result is
the ratio of medians (target <= 1.15).

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = 1.15

COMMANDS = {
    "bare import of the four dependencies": [
        sys.executable,
        "-c",
        "import dependency_injector.containers, dependency_injector.providers,"
        " httpx, pydantic_settings, structlog",
    ],
    "jobframe running a trivial job": [
        sys.executable,
        "-m",
        "jobframe",
        "--app",
        "trivial_app:Container",
        "--job-name",
        "Noop",
    ],
}


def _time(cmd: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])}
    started = time.perf_counter()
    subprocess.run(cmd, cwd=HERE, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():  # warm the page cache once
        _time(cmd)
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            samples[name].append(_time(cmd))
    base_name, job_name = list(COMMANDS)
    base, job = statistics.median(samples[base_name]), statistics.median(samples[job_name])
    print(f"runs: {args.runs} each, interleaved; python {sys.version.split()[0]}")
    for name, values in samples.items():
        print(
            f"  {name:<40} median {statistics.median(values) * 1000:7.1f} ms   "
            f"min {min(values) * 1000:7.1f} ms"
        )
    ratio = job / base
    verdict = "OK" if ratio <= TARGET else "OVER TARGET"
    print(f"ratio jobframe / bare import: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
