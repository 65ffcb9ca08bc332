"""Startup cost of jobframe: jobs run end to end vs. a bare import of their dependencies.

Measured: the trivial app's no-op job, and the default app's ``SomeJob`` (the ``local`` profile:
it lists campaigns and sends a push on the in-process fake Braze, so the Braze client, its
models and the fake are loaded like a real Braze job loads them). All commands run alternately,
so machine noise hits them alike; each result is the ratio of medians to the bare import
(target <= 1.15 for both).

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

REPO = HERE.parent

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
    "jobframe running SomeJob (default app)": [sys.executable, "-m", "jobframe", "--job-name", "SomeJob"],
}
CWD = {"jobframe running SomeJob (default app)": REPO}


def _time(name: str, cmd: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), str(HERE)])}
    started = time.perf_counter()
    subprocess.run(cmd, cwd=CWD.get(name, HERE), env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for name, cmd in COMMANDS.items():  # warm the page cache once
        _time(name, cmd)
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            samples[name].append(_time(name, cmd))
    base_name, *job_names = list(COMMANDS)
    base = statistics.median(samples[base_name])
    print(f"runs: {args.runs} each, interleaved; python {sys.version.split()[0]}")
    for name, values in samples.items():
        print(
            f"  {name:<40} median {statistics.median(values) * 1000:7.1f} ms   "
            f"min {min(values) * 1000:7.1f} ms"
        )
    worst = 0.0
    for name in job_names:
        ratio = statistics.median(samples[name]) / base
        worst = max(worst, ratio)
        verdict = "OK" if ratio <= TARGET else "OVER TARGET"
        print(f"ratio {name} / bare import: {ratio:.2f}x (target <= {TARGET}x) {verdict}")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
