"""Client-side rate limiting from Braze's ``X-RateLimit-*`` headers, without I/O.

Braze publishes the budget on every response (``Limit``, ``Remaining``, ``Reset`` in epoch
seconds) and answers 429 once it is spent. Waiting for a 429 wastes a round trip and, with many
requests in flight, produces a burst of them; so the limiter keeps a local estimate per endpoint:

* every request that is let through takes one unit of ``remaining`` at once (before its answer);
* an answer can only *lower* the estimate within a window (answers arrive out of order), and a
  new window (a later ``Reset``) starts from ``Remaining`` minus the requests still in flight;
* until the first answer for an endpoint arrives, only one request is in flight (it learns the
  budget; a cold start with many requests at once could overrun a small limit);
* below ``slow_down_below`` of the limit, requests are spaced evenly until the reset; at zero,
  everyone waits for the reset.

It never sleeps: :meth:`RateLimiter.acquire` returns how long to wait and the caller (sync or
async shell) sleeps and asks again. The same object is shared by all concurrent calls of a client.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass

from jobframe.braze.settings import RateLimitSettings

__all__ = ["RESET_MARGIN", "RateLimitInfo", "RateLimiter", "backoff_delay", "parse_rate_limit"]

_EPOCH_THRESHOLD = 1_000_000_000.0  # smaller Reset values are read as "seconds from now"
_EPSILON = 0.001  # waits shorter than this are not worth a sleep
RESET_MARGIN = 0.002  # a reset counts as passed this long after the announced time (rounding, clock skew)
_PROBE_WAIT = 0.005  # how often a request queued behind the first one looks again


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """The three headers, each ``None`` when absent or unparsable; ``reset`` is epoch seconds."""

    limit: int | None
    remaining: int | None
    reset: float | None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    """Read the headers case-insensitively (HTTP/2 sends them lower-case)."""
    lower = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-ratelimit-")}
    limit = _number(lower.get("x-ratelimit-limit"))
    remaining = _number(lower.get("x-ratelimit-remaining"))
    reset = _number(lower.get("x-ratelimit-reset"))
    if reset is not None and reset < _EPOCH_THRESHOLD:
        reset = now + reset
    return RateLimitInfo(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset=reset,
    )


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, never above ``cap``.

    ``attempt`` is the number of attempts made so far (1 after the first failure). The fixed half
    keeps retries from hammering the server; the random half spreads concurrent retriers.
    """
    ceiling = min(cap, base * (2.0 ** (attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(slots=True)
class _Window:
    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None
    in_flight: int = 0
    next_slot: float = 0.0
    probed: bool = False
    passed_reset: float = 0.0


class RateLimiter:
    """Per-endpoint budget shared by every call of one client (thread-safe, I/O-free)."""

    def __init__(self, settings: RateLimitSettings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def _window(self, endpoint: str) -> _Window:
        window = self._windows.get(endpoint)
        if window is None:
            window = self._windows[endpoint] = _Window()
        return window

    def acquire(self, endpoint: str, now: float) -> float:
        """Seconds to wait before asking again, or ``0.0``: the request may go now (and is counted).

        A positive answer reserves nothing; the caller sleeps and calls again, so waiters that
        wake together are let through one by one.
        """
        with self._lock:
            w = self._window(endpoint)
            if not w.probed and w.in_flight:
                # Nothing is known about this endpoint's budget yet: one request learns it first,
                # otherwise a cold start with N requests in flight can overrun a small limit.
                return _PROBE_WAIT
            if w.reset is not None and now >= w.reset + RESET_MARGIN:
                # The window has passed: assume a full budget until an answer says otherwise.
                w.remaining = None if w.limit is None else max(w.limit - w.in_flight, 0)
                w.passed_reset, w.reset = w.reset, None
            if w.remaining is not None and w.remaining <= 0:
                # Spent: wait for the reset, or (new window, no answer yet) for an answer to say when.
                return _PROBE_WAIT if w.reset is None else max(w.reset + RESET_MARGIN - now, _EPSILON)
            low = (
                w.limit is not None
                and w.remaining is not None
                and w.remaining < w.limit * self._settings.slow_down_below
            )
            if low and w.reset is not None and w.remaining:
                if now + _EPSILON < w.next_slot:
                    return w.next_slot - now
                w.next_slot = now + (w.reset - now) / w.remaining
            if w.remaining is not None:
                w.remaining -= 1
            w.in_flight += 1
            return 0.0

    def release(
        self, endpoint: str, headers: Mapping[str, str] | None, now: float, *, rate_limited: bool = False
    ) -> RateLimitInfo:
        """Account for a finished request (answered or failed) and learn from its headers."""
        info = parse_rate_limit(headers or {}, now)
        with self._lock:
            w = self._window(endpoint)
            w.in_flight = max(w.in_flight - 1, 0)
            w.probed = True
            if info.limit is not None:
                w.limit = info.limit
            if (
                info.reset is not None
                and info.remaining is not None
                and info.reset > w.passed_reset + _EPSILON
            ):
                if w.reset is None or info.reset > w.reset + _EPSILON:
                    w.reset = info.reset
                    w.remaining = max(info.remaining - w.in_flight, 0)
                elif info.reset >= w.reset - _EPSILON:
                    w.remaining = info.remaining if w.remaining is None else min(w.remaining, info.remaining)
                # else: a late answer from an older window; it says nothing about this one.
            # (answers from a window already passed are ignored for the same reason)
            if rate_limited and w.reset is not None and w.reset > now:
                w.remaining = 0
        return info
