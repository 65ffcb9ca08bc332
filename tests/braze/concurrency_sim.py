"""A deterministic, virtual-time model of the async client's loop, to study the concurrency tuner.

The real benchmark (benchmarks/braze_throttles.py) runs on a shared machine whose noise is as
large as the effects being looked for. This model replays the same decisions
(:class:`jobframe.braze._concurrency.Concurrency`, the real code) against a clock nobody else
moves:

* the **client** is one event loop (one CPU): sending a request costs ``send_cpu`` seconds of it
  after the exchange stamped the send time (building and writing the JSON), reading an answer
  costs ``recv_cpu`` before the latency is stamped; an answer that arrives while the loop is busy
  waits its turn — event-loop lag, measured as latency, exactly as in the real client;
* the **server** has ``workers`` desks (``0``: unbounded, a pure network latency) each taking
  ``latency`` seconds (times ``1 ± jitter``, seeded) per request; more requests only queue;
* ``stalls``: every ``stall_every`` seconds the client's process is descheduled for
  ``stall`` seconds (a loaded machine): every answer that arrives meanwhile is read late;
* ``reject_above``: a server that answers 429 at once to a request arriving while that many are
  inside (a concurrency-limited backend); the exchange waits ``RETRY_PAUSE`` and sends the batch
  again in the same slot, and the call reports ``failed`` when it ends, as the client does;
* ``rate``: an evenly spent rate limit (requests per second) the client's limiter waits for.

``simulate`` returns the answers per second over the steady state and a trace of the tuner.

    PYTHONPATH=. python -m tests.braze.concurrency_sim        # the matrix, tuner vs fixed levels
    PYTHONPATH=. python -m tests.braze.concurrency_sim --trace 0.05 8 0.001
"""

from __future__ import annotations

import argparse
import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from jobframe.braze._concurrency import Concurrency

ENDPOINT = "/users/track"
RETRY_PAUSE = 0.05  # after a 429 the exchange waits (the limiter's pause) and sends the batch again


class Tuner(Protocol):
    def can_start(self, endpoint: str) -> bool: ...
    def started(self, endpoint: str) -> None: ...
    def wait_began(self, endpoint: str) -> None: ...
    def wait_ended(self, endpoint: str) -> None: ...
    def finished(
        self, endpoint: str, latency: float | None, *, failed: bool = ..., waited: float = ...
    ) -> None: ...


@dataclass
class Fixed:
    """Concurrency fixed at one level: what the tuner is compared with."""

    level: int
    in_flight: int = 0

    def can_start(self, endpoint: str) -> bool:
        return self.in_flight < self.level

    def started(self, endpoint: str) -> None:
        self.in_flight += 1

    def wait_began(self, endpoint: str) -> None:
        pass

    def wait_ended(self, endpoint: str) -> None:
        pass

    def finished(
        self, endpoint: str, latency: float | None, *, failed: bool = False, waited: float = 0.0
    ) -> None:
        self.in_flight -= 1


@dataclass(frozen=True)
class Scenario:
    latency: float = 0.05
    workers: int = 0  # 0: unbounded (pure latency)
    send_cpu: float = 0.0005
    recv_cpu: float = 0.0005
    jitter: float = 0.1
    stall: float = 0.0
    stall_every: float = 0.1
    reject_above: int | None = None
    rate: float | None = None
    seed: int = 1


@dataclass
class Point:
    """One answer as the tuner saw it."""

    at: float
    latency: float
    failed: bool
    limit: int
    in_flight: int


@dataclass
class Result:
    throughput: float  # answers per second over the steady state
    elapsed: float  # virtual seconds for all requests
    rejected: int
    peak: int
    trace: list[Point] = field(default_factory=list)

    def limits(self, share: float = 0.2) -> list[int]:
        """The limit at each answer after the first ``share`` of them (the ramp)."""
        return [p.limit for p in self.trace[int(len(self.trace) * share) :]]


def simulate(
    scenario: Scenario,
    tuner: Tuner | None = None,
    *,
    requests: int = 2000,
    ceiling: int = 16,
    warm_up: float = 0.2,
    limit_of: Callable[[], int] | None = None,
) -> Result:
    """Run ``requests`` batches of one bulk call through ``tuner`` (the real one by default)."""
    conc: Tuner = tuner if tuner is not None else Concurrency(ceiling)
    if limit_of is None and isinstance(conc, Concurrency):
        endpoint_limit = conc.of(ENDPOINT)

        def limit_of() -> int:
            return endpoint_limit.limit

    rng = random.Random(scenario.seed)
    events: list[tuple[float, int, Callable[[float], None]]] = []
    seq = 0
    loop_free = 0.0
    state = {"left": requests, "in_server": 0, "in_flight": 0, "peak": 0, "rejected": 0}
    next_slot = 0.0  # the rate limiter's: when the next request may go
    queue: list[Callable[[float], None]] = []
    done_at: list[float] = []
    trace: list[Point] = []

    def at(when: float, action: Callable[[float], None]) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (when, seq, action))

    def on_loop(ready: float, cost: float) -> float:
        """Run ``cost`` seconds of the client's loop, first free at or after ``ready``."""
        nonlocal loop_free
        start = max(ready, loop_free)
        if scenario.stall > 0:  # a descheduled process runs nothing until its stall ends
            phase = start % scenario.stall_every
            if phase < scenario.stall:
                start += scenario.stall - phase
        loop_free = start + cost
        return loop_free

    def refill(now: float) -> None:
        while state["left"] > 0 and conc.can_start(ENDPOINT):
            state["left"] -= 1
            conc.started(ENDPOINT)
            state["in_flight"] += 1
            state["peak"] = max(state["peak"], state["in_flight"])
            at(now, lambda t: attempt(t, 0.0, False))

    def attempt(ready: float, waited: float, failed: bool) -> None:
        nonlocal next_slot
        sent_at = on_loop(ready, 0.0)
        if scenario.rate is not None:
            wait = next_slot - sent_at
            if wait > 0:
                pause(sent_at, wait, waited, failed)
                return
            next_slot = max(next_slot, sent_at) + 1.0 / scenario.rate
        arrives = on_loop(sent_at, scenario.send_cpu)
        at(arrives, lambda t: serve(t, sent_at, waited, failed))

    def pause(now: float, wait: float, waited: float, failed: bool) -> None:
        """The limiter holds the request back (its turn, or the pause after a 429)."""
        conc.wait_began(ENDPOINT)

        def woken(t: float) -> None:
            conc.wait_ended(ENDPOINT)
            attempt(t, waited + wait, failed)

        at(now + wait, woken)

    def serve(now: float, sent_at: float, waited: float, failed: bool) -> None:
        if scenario.reject_above is not None and state["in_server"] >= scenario.reject_above:
            state["rejected"] += 1  # answered at once; the exchange waits, then tries again

            def rejected(t: float) -> None:
                pause(on_loop(t, scenario.recv_cpu), RETRY_PAUSE, waited, True)

            at(now + 0.001, rejected)
            return
        state["in_server"] += 1
        work = scenario.latency * (1 + scenario.jitter * (2 * rng.random() - 1))

        def begin(t: float) -> None:
            at(t + work, lambda t2: leave(t2, sent_at, waited, failed))

        if scenario.workers and state["in_server"] > scenario.workers:
            queue.append(begin)
        else:
            begin(now)

    def leave(now: float, sent_at: float, waited: float, failed: bool) -> None:
        state["in_server"] -= 1
        if queue:
            queue.pop(0)(now)
        read = on_loop(now, scenario.recv_cpu)

        def settle(t: float) -> None:  # the call is over: its slot is given back, the tuner told
            state["in_flight"] -= 1
            conc.finished(ENDPOINT, t - sent_at, failed=failed, waited=waited)
            done_at.append(t)
            trace.append(Point(t, t - sent_at, failed, limit_of() if limit_of else 0, state["in_flight"]))
            refill(t)

        at(read, settle)

    refill(0.0)
    while events:
        when, _, action = heapq.heappop(events)
        action(when)
    end = done_at[-1] if done_at else 0.0
    steady = done_at[int(len(done_at) * warm_up) :]  # the ramp left out
    span = steady[-1] - steady[0] if len(steady) > 1 else 0.0
    throughput = (len(steady) - 1) / span if span > 0 else 0.0
    return Result(throughput, end, state["rejected"], state["peak"], trace)


def best_fixed(scenario: Scenario, *, requests: int = 2000, ceiling: int = 16) -> tuple[int, float]:
    """The fixed level (1..ceiling) with the highest steady throughput, and that throughput."""
    runs = {n: simulate(scenario, Fixed(n), requests=requests).throughput for n in range(1, ceiling + 1)}
    level = max(runs, key=lambda n: runs[n])
    return level, runs[level]


MATRIX = [
    Scenario(latency=latency, workers=workers, send_cpu=cpu, recv_cpu=cpu, stall=stall)
    for latency in (0.0, 0.005, 0.05)
    for workers in (0, 4, 8)
    for cpu in (0.0002, 0.001)
    for stall in (0.0, 0.015)
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--trace", nargs=3, type=float, metavar=("LATENCY", "WORKERS", "CPU"))
    parser.add_argument("--stall", type=float, default=0.0)
    args = parser.parse_args()
    if args.trace:
        latency, workers, cpu = args.trace
        scenario = Scenario(
            latency=latency, workers=int(workers), send_cpu=cpu, recv_cpu=cpu, stall=args.stall
        )
        result = simulate(scenario, requests=args.requests)
        for p in result.trace:
            print(
                f"{p.at:8.4f} latency {p.latency * 1000:7.2f} ms  limit {p.limit:3d}"
                f"  in flight {p.in_flight:3d}"
            )
        print(f"throughput {result.throughput:.1f}/s, best fixed {best_fixed(scenario)}")
        return
    print("latency workers cpu   stall | tuner /s  whole s | best fixed  /s  whole s | ratio steady whole")
    for scenario in MATRIX:
        tuned = simulate(scenario, requests=args.requests)
        level, _ = best_fixed(scenario, requests=args.requests)
        fixed = simulate(scenario, Fixed(level), requests=args.requests)
        fixed16 = simulate(scenario, Fixed(16), requests=args.requests)
        print(
            f"{scenario.latency * 1000:5.0f}ms {scenario.workers:5d} {scenario.send_cpu * 1000:4.1f}ms "
            f"{scenario.stall * 1000:3.0f}ms | {tuned.throughput:8.1f} {tuned.elapsed:7.3f} | "
            f"{level:3d} {fixed.throughput:8.1f} {fixed.elapsed:7.3f} | "
            f"{fixed.throughput / tuned.throughput:5.2f} {tuned.elapsed / fixed.elapsed:5.2f} "
            f"fixed16 {fixed16.throughput / tuned.throughput:5.2f} {tuned.elapsed / fixed16.elapsed:5.2f} "
            f"median limit {sorted(tuned.limits())[len(tuned.limits()) // 2] if tuned.limits() else 0}"
        )


if __name__ == "__main__":
    main()
