"""What each of the Braze client's throttles earns: every throttle knocked out in turn, side by side.

One request to Braze can be held back by three things: the httpx pool's connection cap (the
client's ``max_concurrency``), the adaptive per-endpoint concurrency under it
(``braze/_concurrency.py``) and the rate limiter that spends the advertised budget
(``braze/_ratelimit.py``). A fourth, ``PerHostLimit`` (jobframe.http), was measured here to earn
nothing for a client of one host and is no longer part of the Braze stack (docs/braze.md,
"Throttles"). A throttle stays only if removing it moves a row by more than 5 % — and by more
than the control, "all on" run a second time, moves — or causes 429s. Configurations, each in
one run:

    all on | all on, again (the control) | no pool cap | concurrency fixed at max_concurrency |
    no rate limiter

Scenarios, against the fake Braze (a separate process; the binding-limit row uses an in-process
fake on a loopback socket so the arrival time of every request can be read):

    track 50ms   20,000 objects to /users/track, async client, 50 ms latency
    track 0ms    the same, answered at once (CPU only)
    binding      /users/track limited to 20 requests / 3 s (exact resets)
    two calls    /users/track and /messages/send at once on one async client, 50 ms
    8 threads    one sync client shared by 8 threads, /users/track, 50 ms
    queueing     a server that works on 8 requests at once, 50 ms each: above 8 in flight the
                 latency grows (requests queue) and nothing else changes

Each row prints throughput relative to "all on" in the same round (median of ``--rounds``
interleaved rounds after one uncounted warm-up run, with the lowest and highest in brackets; the
order of the configurations turns by one each round, so none always runs first), the 429s the fake answered,
the peak number of requests inside ``httpx.Client.send`` / ``AsyncClient.send`` at once, and the
p95 of their duration (which includes waiting for a pooled connection, or in the queue).

    PYTHONPATH=. python benchmarks/braze_throttles.py              # ~5 minutes
    PYTHONPATH=. python benchmarks/braze_throttles.py --quick      # smaller inputs
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

from jobframe.braze import BrazeError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from braze_throughput import BRAZE_LIMIT, KEY, fake_process, objects

BINDING = (20, 3.0)


class SendMeter:
    """Requests inside httpx's ``send`` at once (peak) and how long each took."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.durations: list[float] = []

    def enter(self) -> float:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        return time.perf_counter()

    def leave(self, start: float) -> None:
        with self._lock:
            self.now -= 1
            self.durations.append(time.perf_counter() - start)

    @property
    def p95(self) -> float:
        if len(self.durations) < 2:
            return math.nan
        return statistics.quantiles(self.durations, n=20)[-1]

    @contextmanager
    def installed(self) -> Iterator[None]:
        sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send
        meter = self

        def send(client: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
            start = meter.enter()
            try:
                return sync_send(client, request, **kw)
            finally:
                meter.leave(start)

        async def asend(client: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
            start = meter.enter()
            try:
                return await async_send(client, request, **kw)
            finally:
                meter.leave(start)

        with (
            mock.patch.object(httpx.Client, "send", send),
            mock.patch.object(httpx.AsyncClient, "send", asend),
        ):
            yield


class TunerTrace:
    """Every answer as the concurrency tuner judged it: value, limit, best, recent, hold, cuts.

    ``--trace`` installs it on the "all on" runs: it shows whether the tuner cut (and on what),
    and how many answers it took to reach the ceiling — the evidence behind docs/braze.md's
    "Concurrency tunes itself"."""

    def __init__(self) -> None:
        self.rows: list[
            tuple[float, str, float | None, bool, float, int, float | None, float | None, int]
        ] = []
        self.start = time.perf_counter()

    @contextmanager
    def installed(self) -> Iterator[None]:
        from jobframe.braze._concurrency import AdaptiveLimit  # noqa: PLC0415

        original = AdaptiveLimit.finished
        trace = self

        def finished(
            self: AdaptiveLimit, latency: float | None, *, failed: bool = False, waited: float = 0.0
        ) -> None:
            before = self.value
            original(self, latency, failed=failed, waited=waited)
            kind = "failure" if failed and self.value < before else "latency" if self.value < before else ""
            at = time.perf_counter() - trace.start
            trace.rows.append(
                (
                    at,
                    kind,
                    latency,
                    failed,
                    self.value,
                    self.limit,
                    self.best,
                    getattr(self, "recent", None),
                    id(self),
                )
            )

        with mock.patch.object(AdaptiveLimit, "finished", finished):
            yield

    def summary(self, ceiling: int = 16) -> str:
        cuts = Counter(kind for _, kind, *_ in self.rows if kind)
        by_limit: dict[int, list[int]] = {}
        for row in self.rows:
            by_limit.setdefault(row[-1], []).append(row[5])
        reach = [
            next((i + 1 for i, lim in enumerate(lims) if lim >= ceiling), None) for lims in by_limit.values()
        ]
        below = sum(1 for row in self.rows if row[5] < ceiling)
        return (
            f"answers {len(self.rows)}, endpoints {len(by_limit)}, cuts {dict(cuts) or 0}, answers to reach "
            f"{ceiling}: {reach}, answers judged below {ceiling}: {below}"
        )

    def dump(self) -> str:
        return "\n".join(
            f"      {at:7.3f}s {'CUT ' + kind if kind else '':12} latency "
            f"{(latency or 0) * 1000:6.1f} ms value {value:5.2f} limit {limit:2d} best "
            f"{(best or 0) * 1000:6.1f} recent {(recent or 0) * 1000:6.1f}"
            for at, kind, latency, _, value, limit, best, recent, _ in self.rows
        )


def _no_pool_cap() -> Any:
    def limits(settings: Any) -> httpx.Limits:
        lim = settings.limits
        return httpx.Limits(
            max_connections=None,
            max_keepalive_connections=lim.max_idle_connections,
            keepalive_expiry=lim.idle_timeout,
        )

    return mock.patch("jobframe.http.clients._limits", limits)


def _fixed_concurrency() -> Any:
    from jobframe.braze._concurrency import AdaptiveLimit  # noqa: PLC0415

    return mock.patch.object(AdaptiveLimit, "limit", property(lambda self: self.ceiling))


def _no_rate_limiter() -> Any:
    from jobframe.braze._ratelimit import RateLimiter  # noqa: PLC0415

    stack = ExitStack()
    stack.enter_context(mock.patch.object(RateLimiter, "acquire", lambda self, endpoint, now: 0.0))
    stack.enter_context(mock.patch.object(RateLimiter, "wait_after", lambda self, endpoint, now: 0.0))
    return stack


CONFIGS: dict[str, Callable[[], Any] | None] = {
    "all on": None,
    "all on, again": None,  # the control: how far the same code moves from run to run here
    "no pool cap": _no_pool_cap,
    "fixed concurrency": _fixed_concurrency,
    "no rate limiter": _no_rate_limiter,
}


def _settings(url: str) -> Any:
    from jobframe.braze import BrazeSettings  # noqa: PLC0415

    return BrazeSettings(base_url=url, api_key=KEY)


async def _track(url: str, n: int) -> None:
    from jobframe.braze import AsyncBrazeClient  # noqa: PLC0415

    async with AsyncBrazeClient.from_settings(_settings(url)) as client:
        result = await client.track_users(attributes=objects(n))
    assert result.attributes_processed == n, result


async def _two_calls(url: str, n: int) -> None:
    from jobframe.braze import AsyncBrazeClient  # noqa: PLC0415

    async with AsyncBrazeClient.from_settings(_settings(url)) as client:
        ids = (f"user-{i}" for i in range(n))
        messages = {"apple_push": {"alert": "hello"}}
        track, send = await asyncio.gather(
            client.track_users(attributes=objects(n)), client.send_message(messages, external_user_ids=ids)
        )
    assert track.attributes_processed == n, track
    assert send.dispatch_ids, send


def _threads(url: str, n: int, threads: int = 8) -> None:
    from jobframe.braze import BrazeClient  # noqa: PLC0415

    errors: list[BaseException] = []
    with BrazeClient.from_settings(_settings(url)) as client:

        def work() -> None:
            try:
                result = client.track_users(attributes=objects(n // threads))
                assert result.attributes_processed == n // threads, result
            except BaseException as exc:  # reported below
                errors.append(exc)

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
    if errors:
        raise errors[0]


def _queueing(n: int, workers: int = 8, latency: float = 0.05) -> tuple[float, int]:
    """A server that works on ``workers`` requests at once: more in flight only wait their turn."""
    from jobframe.braze.fake import FakeBraze, FakeBrazeServer  # noqa: PLC0415

    desks = threading.Semaphore(workers)

    class Queueing(FakeBraze):
        def handle(self, method: str, target: str, headers: Any, body: bytes) -> Any:
            with desks:
                time.sleep(latency)
                return super().handle(method, target, headers, body)

    app = Queueing(api_key=KEY, store_users=False, record_limit=0)
    with FakeBrazeServer(app) as server:
        start = time.perf_counter()
        asyncio.run(_track(server.url, n))
        seconds = time.perf_counter() - start
    return seconds, app.counters.rate_limited


def _over_process(delay: float, run: Callable[[str], None]) -> tuple[float, int]:
    with fake_process(delay, BRAZE_LIMIT) as (url, counters):
        start = time.perf_counter()
        run(url)
        seconds = time.perf_counter() - start
    return seconds, counters.get("rate_limited", -1)


def _binding(requests: int) -> tuple[float, int]:
    """Seconds per request when 20 / 3 s binds (lower is better), and 429s."""
    from jobframe.braze.fake import FakeBraze, FakeBrazeServer  # noqa: PLC0415

    limit, seconds = BINDING
    app = FakeBraze(api_key=KEY, store_users=False, record_limit=None, aligned_windows=True)
    app.set_rate_limit("/users/track", limit, seconds)
    with FakeBrazeServer(app) as server:
        asyncio.run(_track(server.url, 75 * requests))
    answered = [r.at for r in app.requests_to("/users/track")]
    windows = Counter(math.floor(at / seconds) for at in answered)
    inner = sorted(windows)[1:-1]
    used = sum(windows[w] for w in inner) - app.counters.rate_limited
    share = used / (limit * len(inner)) if inner else math.nan
    return 1.0 / share if share else math.inf, app.counters.rate_limited


def scenarios(n: int, binding_requests: int) -> dict[str, Callable[[], tuple[float, int]]]:
    return {
        "track 50ms": lambda: _over_process(0.05, lambda url: asyncio.run(_track(url, n))),
        "track 0ms": lambda: _over_process(0.0, lambda url: asyncio.run(_track(url, n))),
        "binding": lambda: _binding(binding_requests),
        "two calls": lambda: _over_process(0.05, lambda url: asyncio.run(_two_calls(url, n // 2))),
        "8 threads": lambda: _over_process(0.05, lambda url: _threads(url, n)),
        "queueing": lambda: _queueing(n // 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20_000)
    parser.add_argument("--binding-requests", type=int, default=70)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", help="scenarios to run (default: all)")
    parser.add_argument(
        "--trace", action="store_true", help="summarise the tuner's decisions on 'all on' runs"
    )
    parser.add_argument("--dump", action="store_true", help="with --trace: every answer of the last round")
    args = parser.parse_args()
    if args.quick:
        args.objects, args.binding_requests, args.rounds = 4_000, 50, 1
    rows = scenarios(args.objects, args.binding_requests)
    if args.only:
        rows = {name: run for name, run in rows.items() if name in args.only}
    print(
        f"{args.objects} objects (queueing: half), batches of 75, advertised limit {BRAZE_LIMIT}, binding "
        f"{BINDING[0]}/{BINDING[1]:.0f} s ({args.binding_requests} requests); {args.rounds} interleaved "
        f"rounds; python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}"
    )
    print("throughput vs 'all on' (>1 faster), 429s, peak requests in httpx send, p95 send seconds")
    for scenario, run in rows.items():
        ratios: dict[str, list[float]] = {c: [] for c in CONFIGS}
        limited: dict[str, int] = dict.fromkeys(CONFIGS, 0)
        peaks: dict[str, int] = dict.fromkeys(CONFIGS, 0)
        p95s: dict[str, list[float]] = {c: [] for c in CONFIGS}
        failures: dict[str, str] = {}
        traces: list[TunerTrace] = []
        names = list(CONFIGS)
        run()  # warm-up, not counted: the first run of a process pays imports and schema builds
        for round_ in range(args.rounds):
            times: dict[str, float] = {}
            for config in names[round_ % len(names) :] + names[: round_ % len(names)]:
                knock_out = CONFIGS[config]
                meter = SendMeter()
                with ExitStack() as stack:
                    stack.enter_context(meter.installed())
                    if knock_out is not None:
                        stack.enter_context(knock_out())
                    elif args.trace and config == "all on":
                        traces.append(TunerTrace())
                        stack.enter_context(traces[-1].installed())
                    try:
                        seconds, rate_limited = run()
                    except BrazeError as exc:  # a knocked-out throttle can make the call fail
                        failures[config] = f"{type(exc).__name__}"
                        seconds, rate_limited = math.inf, 0
                times[config] = seconds
                limited[config] += max(rate_limited, 0)
                peaks[config] = max(peaks[config], meter.peak)
                p95s[config].append(meter.p95)
            for config in names:
                ratios[config].append(times["all on"] / times[config])
        print(f"\n-- {scenario} (all on: {statistics.median(p95s['all on']):.3f} s p95)")
        for config in CONFIGS:
            spread = f"({min(ratios[config]):.2f}-{max(ratios[config]):.2f})"
            print(
                f"   {config:<18} {statistics.median(ratios[config]):5.2f}x {spread:<11} "
                f"429s: {limited[config]:4d}  "
                f"peak in send: {peaks[config]:3d}  p95: {statistics.median(p95s[config]):6.3f} s"
                + (f"  FAILED: {failures[config]}" if config in failures else "")
            )
        for trace in traces:
            print(f"   tuner: {trace.summary()}")
        if traces and args.dump:
            print(traces[-1].dump())
        print(f"   load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
