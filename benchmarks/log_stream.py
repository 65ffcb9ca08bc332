"""The log's bounded writes: a log call through jobframe's JSON pipeline to a pipe a reader drains,
with :class:`jobframe._log_stream.LineHandler` (pieces of PIPE_BUF, each after a poll for room)
vs. the standard library's ``logging.StreamHandler`` (one blocking write, which on a stalled pipe
never returns), side by side in one run: interleaved rounds, the median of the per-round ratios.

    PYTHONPATH=. python benchmarks/log_stream.py --rounds 7
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import subprocess
import time
from typing import TextIO

import structlog

import jobframe.logs as logs

SIZES = {"250 B": 50, "8 KB": 8_000, "100 KB": 100_000}
CALLS = {"250 B": 20_000, "8 KB": 4_000, "100 KB": 400}


def _plain(stream: TextIO) -> logging.Handler:
    return logging.StreamHandler(stream)


def _timed(handler_class: object, padding: int, calls: int) -> float:
    """Seconds per log call, the reader (``cat``) draining the pipe all along."""
    read, write = os.pipe()
    reader = subprocess.Popen(["cat"], stdin=read, stdout=subprocess.DEVNULL)
    os.close(read)
    stream = io.TextIOWrapper(open(write, "wb"), encoding="utf-8")  # noqa: SIM115 - closed below
    logs.LineHandler = handler_class  # type: ignore[attr-defined,misc]
    logs.configure_logging("json", "INFO", stream=stream)
    log = structlog.get_logger("acme")
    started = time.perf_counter()
    for n in range(calls):
        log.info("item.sent", n=n, user_id="u-12345", padding="x" * padding)
    took = time.perf_counter() - started
    stream.close()
    reader.wait()
    return took / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    bounded = logs.LineHandler
    print("| line | StreamHandler | LineHandler | ratio (median of rounds) |")
    print("|---|---:|---:|---:|")
    for label, padding in SIZES.items():
        plain_s, bounded_s, ratios = [], [], []
        for _ in range(args.rounds):
            plain_s.append(_timed(_plain, padding, CALLS[label]))
            bounded_s.append(_timed(bounded, padding, CALLS[label]))
            ratios.append(bounded_s[-1] / plain_s[-1])
        print(
            f"| {label} | {statistics.median(plain_s) * 1e6:.1f} µs | "
            f"{statistics.median(bounded_s) * 1e6:.1f} µs | {statistics.median(ratios):.3f}x |"
        )
    logs.LineHandler = bounded  # type: ignore[misc]


if __name__ == "__main__":
    main()
