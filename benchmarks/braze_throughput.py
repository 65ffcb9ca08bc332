"""Throughput of ``/users/track``: AsyncBrazeClient vs a naive sequential httpx loop (vs braze-client).

Runs the fake Braze as a separate process on loopback (``python -m jobframe.braze.fake``) with a
per-request delay that stands in for internet latency (50 ms, and 0 for pure local CPU), advertising
Braze's real ``/users/track`` limit (3,000 requests per 3 s) in ``X-RateLimit-*`` headers.

    PYTHONPATH=. /tmp/venv/bin/python benchmarks/braze_throughput.py            # everything
    PYTHONPATH=. /tmp/venv/bin/python benchmarks/braze_throughput.py --quick    # smaller inputs

Peak RSS is measured in a fresh subprocess per input size (``ru_maxrss``), for 100,000 and
1,000,000 objects streamed from a generator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import structlog

REPO = Path(__file__).resolve().parent.parent
KEY = "bench-key"
RATE = "/users/track=3000/3"


@contextmanager
def fake_server(delay: float) -> Iterator[tuple[str, dict[str, int]]]:
    """Start the fake; yields its URL and a dict filled with its counters when it stops."""
    cmd = [
        sys.executable,
        "-m",
        "jobframe.braze.fake",
        "--port",
        "0",
        "--delay",
        str(delay),
        "--rate-limit",
        RATE,
        "--api-key",
        KEY,
        "--no-store",
        "--record-limit",
        "0",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    counters: dict[str, int] = {}
    try:
        yield proc.stdout.readline().strip(), counters
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        for part in err.split():
            if "=" in part:
                k, v = part.split("=", 1)
                counters[k] = int(v)


def objects(n: int) -> Iterator[dict[str, object]]:
    for i in range(n):
        yield {"external_id": f"user-{i}", "plan": "gold", "score": i % 100}


async def run_async(url: str, n: int, concurrency: int) -> float:
    from jobframe.braze import AsyncBrazeClient, BrazeSettings  # noqa: PLC0415

    limits = {
        "max_requests": concurrency,
        "max_requests_per_host": concurrency,
        "max_idle_connections": concurrency,
    }
    settings = BrazeSettings(base_url=url, api_key=KEY, max_concurrency=concurrency, limits=limits)
    start = time.perf_counter()
    async with AsyncBrazeClient.from_settings(settings) as client:
        result = await client.track_users(attributes=objects(n))
    assert result.attributes_processed == n, result
    return time.perf_counter() - start


def run_naive(url: str, n: int) -> tuple[float, int]:
    """What peers do: one request at a time, no rate-limit handling. Returns (seconds, 429s)."""
    limited = 0
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        batch: list[dict[str, object]] = []
        for obj in objects(n):
            batch.append(obj)
            if len(batch) == 75:
                limited += client.post("/users/track", json={"attributes": batch}).status_code == 429
                batch = []
        if batch:
            limited += client.post("/users/track", json={"attributes": batch}).status_code == 429
    return time.perf_counter() - start, limited


def run_braze_client(url: str, n: int) -> float | str:
    try:
        from braze.client import BrazeClient as PeerClient  # type: ignore[import-not-found]  # noqa: PLC0415
    except Exception as exc:
        return f"skipped ({type(exc).__name__}: {str(exc)[:80]})"
    peer = PeerClient(api_key=KEY, api_url=url)
    start = time.perf_counter()
    batch: list[dict[str, object]] = []
    for obj in objects(n):
        batch.append(obj)
        if len(batch) == 75:
            peer.user_track(attributes=batch, events=[], purchases=[])
            batch = []
    if batch:
        peer.user_track(attributes=batch, events=[], purchases=[])
    return time.perf_counter() - start


def rss_child(url: str, n: int, concurrency: int) -> None:
    asyncio.run(run_async(url, n, concurrency))
    print(json.dumps({"objects": n, "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def measure_rss(n: int, concurrency: int) -> int:
    with fake_server(0.0) as (url, _):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--rss-child",
                str(n),
                "--url",
                url,
                "--concurrency",
                str(concurrency),
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
    return int(json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"])


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(20))  # INFO, as in production
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument(
        "--naive-slow-objects",
        type=int,
        default=15_000,
        help="objects for the naive loop at 50 ms (extrapolated to --objects)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rss-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.url, args.rss_child, args.concurrency)
        return
    if args.quick:
        args.objects, args.naive_slow_objects = 20_000, 3_000

    n = args.objects
    print(f"objects={n} batch=75 requests={-(-n // 75)} concurrency={args.concurrency} limit={RATE}")
    for delay in (0.05, 0.0):
        with fake_server(delay) as (url, counters):
            t_async = asyncio.run(run_async(url, n, args.concurrency))
        naive_n = args.naive_slow_objects if delay else n
        with fake_server(delay) as (url, _):
            t_naive_raw, naive_429 = run_naive(url, naive_n)
        t_naive = t_naive_raw * n / naive_n
        label = f" (measured {naive_n} objects in {t_naive_raw:.1f}s, extrapolated)" if naive_n != n else ""
        with fake_server(delay) as (url, _):
            peer = run_braze_client(url, naive_n)
        print(f"\n-- fake delay {delay * 1000:.0f} ms per request")
        print(
            f"AsyncBrazeClient  {t_async:8.2f} s  {n / t_async:9.0f} obj/s  429s received: "
            f"{counters.get('rate_limited', -1)}"
        )
        print(
            f"naive httpx loop  {t_naive:8.2f} s  {n / t_naive:9.0f} obj/s  429s received: {naive_429}{label}"
        )
        if isinstance(peer, str):
            print(f"braze-client      {peer}")
        else:
            print(f"braze-client      {peer * n / naive_n:8.2f} s (extrapolated from {naive_n})")
        print(f"speed-up vs naive: {t_naive / t_async:.1f}x")

    small, large = 100_000, 1_000_000
    if args.quick:
        small, large = 10_000, 100_000
    rss_small, rss_large = measure_rss(small, args.concurrency), measure_rss(large, args.concurrency)
    print(
        f"\npeak RSS: {small} objects {rss_small / 1024:.1f} MiB, {large} objects {rss_large / 1024:.1f} MiB "
        f"(+{(rss_large / rss_small - 1) * 100:.1f}%)"
    )


if __name__ == "__main__":
    main()
