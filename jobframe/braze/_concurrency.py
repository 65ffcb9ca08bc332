"""Self-tuning concurrency: how many requests to keep in flight per endpoint, without I/O.

A fixed ``max_concurrency`` is wrong somewhere: too low, a 50 ms round trip leaves the client
idle; too high, a loaded server (or the job's own CPU) only queues the extra requests and the
rate limit answers 429. So each endpoint gets a limit that finds its level, the way TCP's
congestion window does:

* it starts at 1 — the first request of an endpoint goes alone and learns the budget and the
  latency (an endpoint that rejects the key is asked once, not once per slot);
* it grows while the limit is what holds requests back, on each answer that itself shows no
  queueing (so one slow answer only skips a step): by ``SLOW_START_GAIN`` per answer at
  first (four times as many each round trip: the default ceiling of 16 is two round trips after
  the probe), by about one per round trip after the first cut;
* it shrinks by half on a 429 or a failure; when latency rises well above the best seen
  (requests are queueing somewhere) it shrinks in proportion, to the level whose latency would
  be back at the threshold (Little's law: same throughput, less queue), by a tenth at least and
  by half at most;
* the best latency is the lowest seen, except that a request alone in flight at a limit of 1
  queues behind nothing of ours: its latency is the baseline, lower or higher (a network that
  became slower is learnt once the cuts reach 1). It never drifts up on its own: a drifting best
  let a client whose own CPU is the bottleneck creep back to the ceiling over a long job;
* after a cut, the answers to requests sent before it say nothing about the new level: they are
  not judged (nor averaged into the recent latency) until every one of them is in;
* it never grows while the rate limiter makes a request of the endpoint wait (more in flight
  cannot help), and never goes above ``ceiling`` (``max_concurrency``) or below 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AdaptiveLimit", "Concurrency"]

TOLERANCE = 1.5  # latency above this multiple of the best seen (plus SLACK) means queueing
SLACK = 0.002  # seconds: jitter that small is noise, not queueing (matters at sub-ms latencies)
SMOOTHING = 0.2  # weight of the newest answer in the recent latency
WAIT_SHARE = 0.5  # a request the rate limiter held back longer than this share of its latency
SLOW_START_GAIN = 3.0  # added per answer in slow start: the limit quadruples every round trip
LATENCY_CUT = 0.9  # the mildest cut on a latency rise
FAILURE_CUT = 0.5  # the cut on a 429 or failure, and the deepest on a latency rise


@dataclass
class AdaptiveLimit:
    """The in-flight limit of one endpoint."""

    ceiling: int
    value: float = 1.0
    in_flight: int = 0
    waiting: int = 0
    """Requests of this endpoint the rate limiter (or a back-off) holds back right now."""
    best: float | None = None
    recent: float | None = None
    slow_start: bool = True
    hold: int = 0
    """Answers still due to requests sent before the last cut."""

    @property
    def limit(self) -> int:
        """Requests allowed in flight now: at least 1, at most ``ceiling``."""
        return max(1, min(self.ceiling, int(self.value)))

    def can_start(self) -> bool:
        return self.in_flight < self.limit

    def started(self) -> None:
        self.in_flight += 1

    def wait_began(self) -> None:
        self.waiting += 1

    def wait_ended(self) -> None:
        self.waiting = max(self.waiting - 1, 0)

    def finished(self, latency: float | None, *, failed: bool = False, waited: float = 0.0) -> None:
        """One request is over: ``latency`` from send to answer (``None``: never answered).

        ``failed`` covers 429s, 5xx and transport errors; ``waited`` is how long the rate limiter
        held the request back — when that is a good share of its latency, the budget, not
        concurrency, was what limited it.
        """
        busy = self.in_flight >= self.limit
        alone = self.in_flight == 1 and self.limit == 1
        self.in_flight = max(self.in_flight - 1, 0)
        if latency is not None:
            self.best = latency if self.best is None or alone else min(latency, self.best)
        if self.hold > 0:
            self.hold -= 1  # sent before the last cut: it has been answered for already
            return
        if failed:
            self._cut(FAILURE_CUT)
            return
        if latency is None:
            return
        assert self.best is not None  # set above from this very answer at the latest
        self.recent = latency if self.recent is None else self.recent + SMOOTHING * (latency - self.recent)
        threshold = self.best * TOLERANCE + SLACK
        if self.recent > threshold:
            self._cut(max(FAILURE_CUT, min(LATENCY_CUT, threshold / self.recent)))
        elif busy and not self.waiting and latency <= threshold and waited <= latency * WAIT_SHARE:
            self.value = min(
                float(self.ceiling), self.value + (SLOW_START_GAIN if self.slow_start else 1.0 / self.value)
            )

    def _cut(self, factor: float) -> None:
        self.value = max(1.0, self.value * factor)
        self.slow_start = False
        self.hold = self.in_flight
        self.recent = None


@dataclass
class Concurrency:
    """Per-endpoint :class:`AdaptiveLimit` s under one client-wide ``ceiling``."""

    ceiling: int
    endpoints: dict[str, AdaptiveLimit] = field(default_factory=dict)
    in_flight: int = 0

    def of(self, endpoint: str) -> AdaptiveLimit:
        limit = self.endpoints.get(endpoint)
        if limit is None:
            limit = self.endpoints[endpoint] = AdaptiveLimit(self.ceiling)
        return limit

    def can_start(self, endpoint: str) -> bool:
        return self.in_flight < self.ceiling and self.of(endpoint).can_start()

    def started(self, endpoint: str) -> None:
        self.in_flight += 1
        self.of(endpoint).started()

    def wait_began(self, endpoint: str) -> None:
        self.of(endpoint).wait_began()

    def wait_ended(self, endpoint: str) -> None:
        self.of(endpoint).wait_ended()

    def finished(
        self, endpoint: str, latency: float | None, *, failed: bool = False, waited: float = 0.0
    ) -> None:
        self.in_flight = max(self.in_flight - 1, 0)
        self.of(endpoint).finished(latency, failed=failed, waited=waited)
