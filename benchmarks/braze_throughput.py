"""Braze ``/users/track`` throughput at the settings a user gets, vs a naive sequential httpx loop.

Measured side by side in one run, for two configurations nobody tuned: the shipped defaults
(``BrazeSettings(base_url=..., api_key=...)``) and the shipped ``production`` profile
(``config/production.yaml``, only its ``base_url`` pointed at the fake):

1. ratio to a naive loop (one request at a time, what peer clients do) with the fake answering
   after 50 ms (internet latency) and at once (local CPU only), advertising Braze's real limit
   (3,000 requests / 3 s) in ``X-RateLimit-*`` headers;
2. when the limit binds (20 requests / 3 s, windows resetting at exact times): the share of the
   advertised rate achieved over whole windows, and the 429s received;
3. peak RSS (``ru_maxrss`` of a fresh process) streaming 100,000 vs 1,000,000 objects.

The fake runs as a separate process (``python -m jobframe.braze.fake``), except in (2), where
the arrival time of every request is read from an in-process fake on a loopback socket.

    PYTHONPATH=. python benchmarks/braze_throughput.py            # ~3 minutes
    PYTHONPATH=. python benchmarks/braze_throughput.py --quick    # smaller inputs, a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
KEY = "bench-key"
BRAZE_LIMIT = "/users/track=3000/3"
BINDING = (20, 3.0)


def profile(name: str, url: str) -> dict[str, Any]:
    """Braze settings as a user gets them: class defaults, or a shipped profile (base_url replaced)."""
    values: dict[str, Any] = {}
    if name != "defaults":
        for file in ("default.yaml", f"{name}.yaml"):
            path = REPO / "config" / file
            if path.is_file():
                values.update((yaml.safe_load(path.read_text()) or {}).get("braze") or {})
    return {**values, "base_url": url, "api_key": KEY}


@contextmanager
def fake_process(delay: float, rate: str) -> Iterator[tuple[str, dict[str, int]]]:
    """The fake in its own process; yields its URL and a dict filled with its counters at the end."""
    cmd = [
        sys.executable,
        "-m",
        "jobframe.braze.fake",
        "--port=0",
        f"--delay={delay}",
        f"--rate-limit={rate}",
        f"--api-key={KEY}",
        "--no-store",
        "--record-limit=0",
        "--aligned-windows",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert proc.stdout is not None
    counters: dict[str, int] = {}
    try:
        yield proc.stdout.readline().strip(), counters
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        counters.update({k: int(v) for k, v in (p.split("=", 1) for p in err.split() if "=" in p)})


def objects(n: int) -> Iterator[dict[str, object]]:
    for i in range(n):
        yield {"external_id": f"user-{i}", "plan": "gold", "score": i % 100}


async def run_client(settings: dict[str, Any], n: int) -> float:
    from jobframe.braze import AsyncBrazeClient, BrazeSettings  # noqa: PLC0415

    start = time.perf_counter()
    async with AsyncBrazeClient.from_settings(BrazeSettings.model_validate(settings)) as client:
        result = await client.track_users(attributes=objects(n))
    assert result.attributes_processed == n, result
    return time.perf_counter() - start


def run_naive(url: str, n: int) -> float:
    """One request at a time, no rate-limit handling."""
    start = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as client:
        batch: list[dict[str, object]] = []
        for obj in objects(n):
            batch.append(obj)
            if len(batch) == 75:
                client.post("/users/track", json={"attributes": batch}).raise_for_status()
                batch = []
        if batch:
            client.post("/users/track", json={"attributes": batch}).raise_for_status()
    return time.perf_counter() - start


def binding_limit(name: str, requests: int) -> tuple[float, int]:
    """Share of the advertised rate used over whole windows, and 429s, when 20 / 3 s binds."""
    from jobframe.braze.fake import FakeBraze, FakeBrazeServer  # noqa: PLC0415

    limit, seconds = BINDING
    app = FakeBraze(api_key=KEY, store_users=False, record_limit=None, aligned_windows=True)
    app.set_rate_limit("/users/track", limit, seconds)
    with FakeBrazeServer(app) as server:
        asyncio.run(run_client(profile(name, server.url), 75 * requests))
    answered = [r.at for r in app.requests_to("/users/track")]
    windows = Counter(math.floor(at / seconds) for at in answered)
    inner = sorted(windows)[1:-1]  # whole windows only: the first and last are partly outside the run
    used = sum(windows[w] for w in inner) - app.counters.rate_limited
    return used / (limit * len(inner)), app.counters.rate_limited


def rss_child(name: str, url: str, n: int) -> None:
    asyncio.run(run_client(profile(name, url), n))
    print(json.dumps({"maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def measure_rss(name: str, n: int) -> int:
    with fake_process(0.0, BRAZE_LIMIT) as (url, _):
        cmd = [sys.executable, __file__, "--rss-child", str(n), "--url", url, "--profile", name]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=REPO)
    return int(json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--naive-objects", type=int, default=3_000, help="naive loop at 50 ms (extrapolated)")
    parser.add_argument("--binding-requests", type=int, default=100, help="requests when 20 / 3 s binds")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rss-child", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--profile", default="defaults", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.profile, args.url, args.rss_child)
        return
    sizes = (100_000, 1_000_000)
    if args.quick:
        args.objects, args.naive_objects, args.binding_requests, sizes = 5_000, 1_500, 50, (10_000, 100_000)
    names = ("defaults", "production")
    n = args.objects
    print(
        f"/users/track, {n} objects in batches of 75, advertised limit {BRAZE_LIMIT}; "
        f"python {sys.version.split()[0]}"
    )
    for delay in (0.05, 0.0):
        naive_n = args.naive_objects if delay else n
        with fake_process(delay, BRAZE_LIMIT) as (url, _):
            t_naive = run_naive(url, naive_n) * n / naive_n
        note = f" (measured {naive_n} objects, extrapolated)" if naive_n != n else ""
        print(f"\n-- fake latency {delay * 1000:.0f} ms: naive loop {t_naive:6.2f} s{note}")
        for name in names:
            with fake_process(delay, BRAZE_LIMIT) as (url, counters):
                t = asyncio.run(run_client(profile(name, url), n))
            print(
                f"   {name:<10} {t:6.2f} s  {n / t:8.0f} obj/s  {t_naive / t:5.1f}x the naive loop  "
                f"429s: {counters.get('rate_limited', -1)}"
            )
    limit, seconds = BINDING
    print(
        f"\n-- limit binds: {limit} requests / {seconds:.0f} s, exact resets, "
        f"{args.binding_requests} requests"
    )
    for name in names:
        share, limited = binding_limit(name, args.binding_requests)
        print(f"   {name:<10} {share * 100:5.1f}% of the advertised rate over whole windows, 429s: {limited}")
    print("\n-- peak RSS, streaming from a generator (fake latency 0 ms)")
    for name in names:
        small, large = (measure_rss(name, size) for size in sizes)
        print(
            f"   {name:<10} {sizes[0]} objects {small / 1024:6.1f} MiB, {sizes[1]} objects "
            f"{large / 1024:6.1f} MiB ({(large / small - 1) * 100:+.1f}%)"
        )


if __name__ == "__main__":
    main()
