"""Self-tuning concurrency: how many requests to keep in flight per endpoint, without I/O.

A fixed ``max_concurrency`` is wrong somewhere: too low, a 50 ms round trip leaves the client
idle; too high, a loaded server (or the job's own CPU) only queues the extra requests and the
rate limit answers 429. So each endpoint gets a limit that finds its level, the way TCP's
congestion window does:

* it starts at 1 — the first request of an endpoint goes alone and learns the budget and the
  latency (an endpoint that rejects the key is asked once, not once per slot);
* it grows while the limit is what holds requests back: by one per answer at first (doubling
  every round trip), by about one per round trip after the first back-off;
* it shrinks by half on a 429 or a failure, and by a tenth when latency rises well above the
  best seen (requests are queueing somewhere), then waits one round before judging again;
* it never grows while the rate limiter is what makes requests wait (more in flight cannot
  help), and never goes above ``ceiling`` (``max_concurrency``) or below 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["AdaptiveLimit", "Concurrency"]

TOLERANCE = 1.5  # latency above this multiple of the best seen (plus SLACK) means queueing
SLACK = 0.002  # seconds: jitter that small is noise, not queueing (matters at sub-ms latencies)
DRIFT = 0.001  # the best-seen latency forgets this share per answer, so it follows a slower network
SMOOTHING = 0.2  # weight of the newest answer in the recent latency
WAIT_SHARE = 0.5  # a request the rate limiter held back longer than this share of its latency
LATENCY_CUT = 0.9
FAILURE_CUT = 0.5


@dataclass
class AdaptiveLimit:
    """The in-flight limit of one endpoint."""

    ceiling: int
    value: float = 1.0
    in_flight: int = 0
    best: float | None = None
    recent: float | None = None
    slow_start: bool = True
    hold: int = 0

    @property
    def limit(self) -> int:
        """Requests allowed in flight now: at least 1, at most ``ceiling``."""
        return max(1, min(self.ceiling, int(self.value)))

    def can_start(self) -> bool:
        return self.in_flight < self.limit

    def started(self) -> None:
        self.in_flight += 1

    def finished(self, latency: float | None, *, failed: bool = False, waited: float = 0.0) -> None:
        """One request is over: ``latency`` from send to answer (``None``: never answered).

        ``failed`` covers 429s, 5xx and transport errors; ``waited`` is how long the rate limiter
        held the request back — when that is a good share of its latency, the budget, not
        concurrency, was what limited it.
        """
        busy = self.in_flight >= self.limit
        self.in_flight = max(self.in_flight - 1, 0)
        if failed:
            self._cut(FAILURE_CUT)
            return
        if latency is None:
            return
        self.best = latency if self.best is None else min(latency, self.best * (1 + DRIFT))
        self.recent = latency if self.recent is None else self.recent + SMOOTHING * (latency - self.recent)
        if self.hold > 0:
            self.hold -= 1
        elif self.recent > self.best * TOLERANCE + SLACK:
            self._cut(LATENCY_CUT)
        elif busy and waited <= latency * WAIT_SHARE:
            self.value = min(float(self.ceiling), self.value + (1.0 if self.slow_start else 1.0 / self.value))

    def _cut(self, factor: float) -> None:
        if self.hold > 0:
            return  # already cut for this round of answers
        self.value = max(1.0, self.value * factor)
        self.slow_start = False
        self.hold = self.limit
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

    def finished(
        self, endpoint: str, latency: float | None, *, failed: bool = False, waited: float = 0.0
    ) -> None:
        self.in_flight = max(self.in_flight - 1, 0)
        self.of(endpoint).finished(latency, failed=failed, waited=waited)
