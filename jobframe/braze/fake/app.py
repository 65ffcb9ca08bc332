"""The fake Braze application: state, rules and failure injection, independent of any transport.

One :class:`FakeBraze` object answers requests given as (method, target, headers, body) and can be
exposed in-process (:mod:`.transport`) or on a loopback socket (:mod:`.server`). It follows
the contract in ``braze-api.md``: Bearer key check (401), per-request limits with Braze's 400
messages, per-endpoint rate limits with ``X-RateLimit-*`` headers and 429, and programmable
faults (5xx, slow answers, non-JSON bodies) so tests can provoke every path of the clients.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from jobframe._value import Value
from jobframe.braze.fake import routes

if TYPE_CHECKING:
    from jobframe.braze.fake.transport import FakeTransport

__all__ = ["FakeBraze", "FakeResponse", "RecordedRequest"]

DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {
    "/users/track": (3000, 3.0),
    "/users/export/ids": (2500, 60.0),
    "/sends/id/create": (100, 86400.0),
    "*": (250_000, 3600.0),
}


class RecordedRequest(Value):
    """One request as the fake saw it; the ``Authorization`` value is masked."""

    __slots__ = ("method", "path", "query", "json", "headers", "at")  # noqa: RUF023 - the constructor's order
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self, method: str, path: str, query: dict[str, str], json: Any, headers: dict[str, str], at: float
    ) -> None:
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "query", query)
        object.__setattr__(self, "json", json)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "at", at)


class FakeResponse(Value):
    """An answer plus the time to wait before sending it (simulated latency)."""

    __slots__ = ("status", "headers", "body", "delay")  # noqa: RUF023 - the constructor's order
    status: int
    headers: dict[str, str]
    body: bytes
    delay: float

    def __init__(self, status: int, headers: dict[str, str], body: bytes, delay: float = 0.0) -> None:
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "body", body)
        object.__setattr__(self, "delay", delay)


class _Fault:
    """A planned answer for one path, given ``times`` more times."""

    __slots__ = ("body", "content_type", "delay", "headers", "rate_limit_headers", "status", "times")

    def __init__(  # noqa: PLR0917 - the fake's own call sites
        self,
        status: int,
        body: bytes,
        content_type: str,
        delay: float,
        times: int,
        rate_limit_headers: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.delay = delay
        self.times = times
        self.rate_limit_headers = rate_limit_headers
        self.headers = {} if headers is None else headers


class _Window:
    """One rate-limit window: its limit and length, when it opened, how much of it is used."""

    __slots__ = ("limit", "seconds", "start", "used")

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.start = -math.inf
        self.used = 0


class _Counters:
    """What the fake answered: requests, rate-limited ones, requests per path."""

    __slots__ = ("by_path", "rate_limited", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0
        self.by_path: dict[str, int] = {}


class FakeBraze:
    """Stateful fake of the Braze REST API (thread-safe; one instance per test or server).

    Rate-limit windows open with the first request after the previous window ended, or, with
    ``aligned_windows``, at multiples of their length since the epoch.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        delay: float = 0.0,
        rate_limits: Mapping[str, tuple[int, float]] | None = None,
        record_limit: int | None = 10_000,
        store_users: bool = True,
        aligned_windows: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.api_key = api_key
        self.delay = delay
        self.store_users = store_users
        self.aligned_windows = aligned_windows
        self.track_per_array = 75
        self.track_per_request: int | None = None
        self.recipients_per_request = 50
        self.requests: deque[RecordedRequest] = deque(maxlen=record_limit)
        self.users: dict[str, dict[str, Any]] = {}
        self.campaigns: list[dict[str, Any]] = []
        self.paused_canvases: set[str] = set()
        self.send_ids: dict[str, set[str]] = {}
        self.counters = _Counters()
        self._clock = clock
        self._lock = threading.RLock()
        self._faults: dict[str, deque[_Fault]] = {}
        self._windows: dict[str, _Window] = {}
        self._limits = dict(DEFAULT_RATE_LIMITS)
        self._limits.update(rate_limits or {})

    # -- programming the fake -------------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        *,
        status: int = 500,
        times: int = 1,
        body: Any = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
        delay: float = 0.0,
        rate_limit_headers: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` requests to ``path`` with ``status`` (JSON ``body`` or ``raw`` bytes).

        ``rate_limit_headers=False`` leaves out ``X-RateLimit-*`` (e.g. a 429 without them);
        ``headers`` adds others (``{"Retry-After": "1"}``). ``delay`` holds the answer back.
        """
        payload = (
            raw if raw is not None else json.dumps(body or {"message": "Internal Server Error"}).encode()
        )
        with self._lock:
            self._faults.setdefault(path, deque()).append(
                _Fault(status, payload, content_type, delay, times, rate_limit_headers, dict(headers or {}))
            )

    def slow_next(self, path: str, seconds: float, *, times: int = 1) -> None:
        """Delay the next ``times`` answers of ``path`` by ``seconds`` (then answer normally)."""
        with self._lock:
            self._faults.setdefault(path, deque()).append(_Fault(0, b"", "", seconds, times))

    def set_rate_limit(self, path: str, limit: int, seconds: float) -> None:
        """Allow ``limit`` requests per ``seconds`` window on ``path`` (``"*"``: every other path)."""
        with self._lock:
            self._limits[path] = (limit, seconds)
            self._windows.pop(path, None)

    def seed_campaigns(self, count: int, *, archived: int = 0) -> list[str]:
        """Create ``count`` campaigns (the last ``archived`` of them archived); returns their ids."""
        with self._lock:
            self.campaigns = [routes.campaign(i, archived=i >= count - archived) for i in range(count)]
            return [c["id"] for c in self.campaigns]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Recorded requests to ``path``, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- answering ------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        """Answer one request. ``target`` is the path with its query string."""
        url = urlsplit(target)
        path = url.path.rstrip("/") or "/"
        query = dict(parse_qsl(url.query))
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            payload = json.loads(body) if body else None
        except ValueError:
            payload = None
        with self._lock:
            self.counters.requests += 1
            self.counters.by_path[path] = self.counters.by_path.get(path, 0) + 1
            self.requests.append(
                RecordedRequest(method, path, query, payload, _masked(headers), self._clock())
            )
            if not self._authorized(lower.get("authorization")):
                return _json(401, {"message": "Invalid API key"}, {}, self.delay)
            rl_headers, allowed = self._count(path)
            if not allowed:
                self.counters.rate_limited += 1
                return _json(429, {"message": "Too Many Requests"}, rl_headers, self.delay)
            fault = self._take_fault(path)
            if fault is not None and fault.status:
                head = {
                    "Content-Type": fault.content_type,
                    **(rl_headers if fault.rate_limit_headers else {}),
                    **fault.headers,
                }
                return FakeResponse(fault.status, head, fault.body, self.delay + fault.delay)
            status, answer = routes.route(self, method, path, query, payload)
            delay = self.delay + (fault.delay if fault else 0.0)
            if isinstance(answer, bytes):
                return FakeResponse(status, {"Content-Type": "text/html", **rl_headers}, answer, delay)
            return _json(status, answer, rl_headers, delay)

    def _authorized(self, value: str | None) -> bool:
        if self.api_key is None:
            return True
        return value == f"Bearer {self.api_key}"

    def _count(self, path: str) -> tuple[dict[str, str], bool]:
        key = path if path in self._limits else "*"
        limit, seconds = self._limits[key]
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = _Window(limit, seconds)
        now = self._clock()
        if now >= window.start + window.seconds:
            # A window opens with the first request after the last one ended, or (aligned) at the
            # last multiple of its length since the epoch: resets at exact, predictable times.
            start = math.floor(now / seconds) * seconds if self.aligned_windows else now
            window.start, window.used = start, 0
        allowed = window.used < window.limit
        if allowed:
            window.used += 1
        reset = window.start + window.seconds
        shown = (
            str(math.ceil(reset))
            if seconds >= 1 and float(seconds).is_integer()
            else f"{math.ceil(reset * 1000) / 1000:.3f}"
        )
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - window.used, 0)),
            "X-RateLimit-Reset": shown,
        }, allowed

    def _take_fault(self, path: str) -> _Fault | None:
        queue = self._faults.get(path)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.popleft()
        return fault

    def transport(self) -> FakeTransport:
        """An httpx transport (sync and async) answering from this fake in-process."""
        from jobframe.braze.fake.transport import FakeTransport  # noqa: PLC0415 - avoids an import cycle

        return FakeTransport(self)


def _masked(headers: Mapping[str, str]) -> dict[str, str]:
    out = {name.lower(): value for name, value in headers.items()}
    if "authorization" in out:
        scheme, _, rest = out["authorization"].partition(" ")
        out["authorization"] = f"{scheme} ***" if rest else "***"
    return out


def _json(status: int, payload: Any, headers: dict[str, str], delay: float) -> FakeResponse:
    return FakeResponse(
        status, {"Content-Type": "application/json", **headers}, json.dumps(payload).encode(), delay
    )
