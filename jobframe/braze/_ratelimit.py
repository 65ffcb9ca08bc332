"""Client-side rate limiting from Braze's ``X-RateLimit-*`` and ``Retry-After`` headers, without I/O.

Braze publishes the budget on every response (``Limit``, ``Remaining``, ``Reset`` in epoch
seconds) and answers 429 once it is spent. Waiting for a 429 wastes a round trip and, with many
requests in flight, produces a burst of them; so the limiter keeps a local estimate per endpoint:

* every request let through takes one unit of ``remaining`` at once (before its answer);
* an answer can only *lower* the estimate within a window (answers arrive out of order), and a
  new window (a later ``Reset``) starts from ``Remaining`` minus the requests still in flight;
* what is left of a window is spent evenly until its reset: requests are spaced
  ``(reset - now) / remaining`` apart, with a burst of a tenth of the limit tolerated, so a
  binding limit is used to the end of every window instead of in a burst followed by a wait, and
  a short job on a long window (250,000 requests an hour) is not slowed to the hourly average;
* a 429 pauses the whole endpoint, not only the request that got it: until ``Retry-After``
  (seconds or an HTTP date) when given, until ``Reset`` when advertised, otherwise for one shared
  exponential backoff — 429s of requests sent before the pause began do not lengthen it.

It never sleeps: :meth:`RateLimiter.acquire` returns how long to wait and the caller (sync or
async shell) sleeps and asks again. The same object is shared by all concurrent calls of a client.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping

from jobframe._value import Value

__all__ = [
    "RESET_MARGIN",
    "RateLimiter",
    "backoff_delay",
    "parse_rate_limit",
    "parse_retry_after",
]

_EPOCH_THRESHOLD = 1_000_000_000.0  # smaller Reset values are read as "seconds from now"
_EPSILON = 0.001  # waits shorter than this are not worth a sleep
RESET_MARGIN = 0.002  # a reset counts as passed this long after the announced time (rounding, clock skew)
_UNKNOWN_RESET_WAIT = 0.005  # budget spent in a new window whose reset no answer has told yet
BURST_SHARE = 0.1
"""Share of a window's limit that may go at once before even spacing applies: a short job on a long
window (250,000 an hour) is not slowed to the hourly average; a binding limit is still spread."""


def _burst(limit: int | None) -> int:
    return max(1, int((limit or 0) * BURST_SHARE))


class RateLimitInfo(Value):
    """The rate-limit headers of one answer, each ``None`` when absent or unparsable.

    ``reset`` is epoch seconds; ``retry_after`` is seconds from the answer.
    """

    __slots__ = ("limit", "remaining", "reset", "retry_after")
    limit: int | None
    remaining: int | None
    reset: float | None
    retry_after: float | None

    def __init__(
        self, limit: int | None, remaining: int | None, reset: float | None, retry_after: float | None = None
    ) -> None:
        object.__setattr__(self, "limit", limit)
        object.__setattr__(self, "remaining", remaining)
        object.__setattr__(self, "reset", reset)
        object.__setattr__(self, "retry_after", retry_after)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delay-seconds or an HTTP date; never negative."""
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415 - rare; keeps startup lean

        try:
            seconds = parsedate_to_datetime(value.strip()).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(seconds, 0.0)


def parse_rate_limit(headers: Mapping[str, str], now: float) -> RateLimitInfo:
    """Read the headers case-insensitively (HTTP/2 sends them lower-case)."""
    lower = {k.lower(): v for k, v in headers.items()}
    limit = _number(lower.get("x-ratelimit-limit"))
    remaining = _number(lower.get("x-ratelimit-remaining"))
    reset = _number(lower.get("x-ratelimit-reset"))
    if reset is not None and reset < _EPOCH_THRESHOLD:
        reset = now + reset
    return RateLimitInfo(
        limit=int(limit) if limit is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset=reset,
        retry_after=parse_retry_after(lower.get("retry-after"), now),
    )


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random, never above ``cap``.

    ``attempt`` is the number of failures so far (1 after the first). The fixed half keeps
    retries from hammering the server; the random half spreads concurrent retriers.
    """
    ceiling = min(cap, base * (2.0 ** (attempt - 1)))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


class _Window:
    """What the limiter knows of one endpoint's window, all of it starting unknown."""

    __slots__ = (
        "in_flight",
        "limit",
        "next_slot",
        "passed_reset",
        "pause_began",
        "paused_until",
        "period",
        "remaining",
        "reset",
        "strikes",
    )

    def __init__(self) -> None:
        self.limit: int | None = None
        self.remaining: int | None = None
        self.reset: float | None = None
        self.in_flight = 0
        self.next_slot = 0.0
        self.passed_reset = 0.0
        self.period: float | None = None
        self.paused_until = 0.0
        self.pause_began = -math.inf
        self.strikes = 0

    def next_reset(self) -> float | None:
        """The known reset, or the one expected after a passed window (``period`` after it)."""
        if self.reset is not None:
            return self.reset
        if self.period is not None and self.passed_reset:
            return self.passed_reset + self.period
        return None


class RateLimiter:
    """Per-endpoint budget shared by every call of one client (thread-safe, I/O-free).

    ``backoff_base``/``backoff_cap`` size the shared pause after a 429 that says nothing about
    when to come back; ``rng`` jitters it.
    """

    def __init__(self, *, backoff_base: float, backoff_cap: float, rng: random.Random) -> None:
        self._base = backoff_base
        self._cap = backoff_cap
        self._rng = rng
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
            if now < w.paused_until:
                return w.paused_until - now
            if w.reset is not None and now >= w.reset + RESET_MARGIN:
                # The window has passed: assume a full budget until an answer says otherwise.
                w.remaining = None if w.limit is None else max(w.limit - w.in_flight, 0)
                w.passed_reset, w.reset = w.reset, None
            if w.remaining is not None and w.remaining <= 0:
                # Spent: wait for the reset, or (new window, no answer yet) for an answer to say when.
                if w.reset is None:
                    return _UNKNOWN_RESET_WAIT
                return max(w.reset + RESET_MARGIN - now, _EPSILON)  # never 0.0: that means "go"
            reset = w.next_reset()
            if reset is not None and w.remaining:
                # Spend what is left evenly until the reset (a generic cell rate algorithm): one
                # request per interval, a burst of up to BURST_SHARE of the limit tolerated. The
                # interval is recomputed from what is left, so a late wake-up shortens the next.
                interval = max(reset - now, 0.0) / w.remaining
                early = (_burst(w.limit) - 1) * interval
                if now + _EPSILON < w.next_slot - early:
                    return w.next_slot - early - now
                w.next_slot = max(w.next_slot, now) + interval
            if w.remaining is not None:
                w.remaining -= 1
            w.in_flight += 1
            return 0.0

    def release(
        self,
        endpoint: str,
        headers: Mapping[str, str] | None,
        now: float,
        *,
        rate_limited: bool = False,
        sent_at: float | None = None,
    ) -> RateLimitInfo:
        """Account for a finished request (answered or failed) and learn from its headers.

        ``rate_limited`` says the answer was a 429; ``sent_at`` is when that request was sent
        (a 429 for a request sent before the current pause began does not lengthen the pause).
        """
        info = parse_rate_limit(headers or {}, now)
        with self._lock:
            w = self._window(endpoint)
            w.in_flight = max(w.in_flight - 1, 0)
            if info.limit is not None:
                w.limit = info.limit
            if (
                info.reset is not None
                and info.remaining is not None
                and info.reset > w.passed_reset + _EPSILON
            ):
                if w.reset is None or info.reset > w.reset + _EPSILON:
                    previous = w.reset if w.reset is not None else w.passed_reset
                    if previous and info.reset > previous:
                        w.period = info.reset - previous
                    w.reset = info.reset
                    w.remaining = max(info.remaining - w.in_flight, 0)
                elif info.reset >= w.reset - _EPSILON:
                    w.remaining = info.remaining if w.remaining is None else min(w.remaining, info.remaining)
                # else: a late answer from an older window; it says nothing about this one.
            if rate_limited:
                self._pause(w, info, now, sent_at)
            elif headers is not None:
                w.strikes = 0
        return info

    def _pause(self, w: _Window, info: RateLimitInfo, now: float, sent_at: float | None) -> None:
        if w.reset is not None and w.reset > now:
            w.remaining = 0  # spent until the advertised reset
        if info.retry_after is not None:
            w.paused_until = max(w.paused_until, now + info.retry_after)
        elif info.reset is None and (sent_at is None or sent_at >= w.pause_began):
            # Nothing says when to come back: one backoff for everyone, longer at each new strike.
            w.strikes += 1
            w.pause_began = now
            w.paused_until = max(
                w.paused_until, now + backoff_delay(w.strikes, self._base, self._cap, self._rng)
            )

    def in_flight(self, endpoint: str) -> int:
        """Requests to ``endpoint`` let through and not yet answered or failed."""
        with self._lock:
            return self._window(endpoint).in_flight

    def wait_after(self, endpoint: str, now: float) -> float:
        """How long the next request to ``endpoint`` must wait at least (pause or spent budget)."""
        with self._lock:
            w = self._window(endpoint)
            waits = [w.paused_until - now]
            if w.remaining is not None and w.remaining <= 0 and w.reset is not None:
                waits.append(w.reset + RESET_MARGIN - now)
            return max(0.0, *waits)
