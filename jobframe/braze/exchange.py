"""The sans-I/O core of one Braze request: what to send, how long to wait, when to give up.

An :class:`Exchange` never touches a socket or a clock it was not given. The sync and async
clients drive it with the same loop::

    action = exchange.start()
    while True:
        Wait  -> sleep(action.seconds);       action = exchange.resume()
        Send  -> response = http.request(..); action = exchange.receive(status, headers, body)
                 (on an httpx.TransportError:  action = exchange.fail(error))
        Done  -> return action.value
        Fail  -> raise action.error

so retry safety, rate limiting and error mapping exist once. A retry library (tenacity, stamina)
does not fit here: those wrap and *call* a function and sleep themselves, while this core must
hand the sleep to a sync or an async caller and decide per failure kind (see docs/braze.md).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import structlog
from pydantic import ValidationError

from jobframe.braze.endpoints import Endpoint
from jobframe.braze.errors import (
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeError,
    BrazeHTTPError,
    BrazeNotFoundError,
    BrazePermissionError,
    BrazeRateLimitedError,
    BrazeServerDuplicatePossibleError,
    BrazeServerError,
    BrazeTransportDuplicatePossibleError,
    BrazeTransportError,
)
from jobframe.braze.ratelimit import RESET_MARGIN, RateLimiter, backoff_delay
from jobframe.braze.redact import Redactor
from jobframe.braze.settings import RateLimitSettings, RetrySettings

__all__ = ["Action", "Call", "Done", "Exchange", "ExchangeContext", "Fail", "Send", "Wait", "never_sent"]

T = TypeVar("T")
logger = structlog.get_logger("jobframe.braze")

_STATUS_ERRORS: dict[int, type[BrazeHTTPError]] = {
    400: BrazeBadRequestError,
    401: BrazeAuthError,
    403: BrazePermissionError,
    404: BrazeNotFoundError,
}
_UNSAFE_HINT = "duplicate possible: Braze may have acted on it; not retried (opt in with retry_unsafe)"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to make: endpoint, body or query, how to parse success, retry opt-in."""

    endpoint: Endpoint
    parse: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, Any] | None = None
    retry_unsafe: bool = False
    batch_index: int | None = None
    size: int = 0


@dataclass(frozen=True, slots=True)
class Wait:
    """Sleep this long, then call :meth:`Exchange.resume`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Send:
    """Send this request, then report the outcome to :meth:`Exchange.receive` or ``fail``."""

    method: str
    path: str
    json: Any
    params: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class Done(Generic[T]):
    """The call succeeded with ``value``."""

    value: T


@dataclass(frozen=True, slots=True)
class Fail:
    """The call failed for good: raise ``error``."""

    error: BrazeError


Action = Wait | Send | Done[T] | Fail


@dataclass(frozen=True, slots=True)
class ExchangeContext:
    """What every exchange of one client shares: policies, the limiter, the redactor, clock, rng."""

    retry: RetrySettings
    rate_limit: RateLimitSettings
    limiter: RateLimiter
    redactor: Redactor
    clock: Callable[[], float] = time.time
    rng: random.Random = random.Random()  # noqa: RUF009 - one shared generator is intended


def never_sent(error: Exception) -> bool:
    """True when the request provably did not reach Braze (safe to repeat for every endpoint).

    Connect failures and a pool timeout happen before a byte is written. Everything else (read
    timeout, reset or closed connection, write error) may have reached Braze.
    """
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _body(content: bytes) -> tuple[Any, str | None]:
    """The decoded JSON body (or ``None``) and, for non-JSON bodies, a short text excerpt."""
    try:
        return json.loads(content) if content else None, None
    except ValueError:
        return None, content[:200].decode("utf-8", "replace").strip() or None


class Exchange(Generic[T]):
    """State machine for one request with its retries. Not reusable; create one per call."""

    def __init__(self, call: Call[T], ctx: ExchangeContext) -> None:
        self._call = call
        self._ctx = ctx
        self._attempts = 0
        self._sent_at = 0.0

    @property
    def attempts(self) -> int:
        """Requests sent so far."""
        return self._attempts

    @property
    def _path(self) -> str:
        return self._call.endpoint.path

    def start(self) -> Action[T]:
        """The first action: wait for the rate limiter, or send."""
        return self.resume()

    def resume(self) -> Action[T]:
        """After a :class:`Wait`: ask the limiter again, then send."""
        now = self._ctx.clock()
        delay = self._ctx.limiter.acquire(self._path, now)
        if delay > 0:
            if delay > self._ctx.rate_limit.max_wait:
                return Fail(self._rate_limited(429, None, None, f"budget spent; reset in {delay:.1f}s"))
            return Wait(delay)
        self._attempts += 1
        self._sent_at = now
        call = self._call
        return Send(call.endpoint.method, self._path, call.json, call.params)

    def sent(self, headers: Mapping[str, str]) -> None:
        """Log the request as built by the shell (headers masked; no body: it holds user data)."""
        logger.debug(
            "braze.request",
            method=self._call.endpoint.method,
            endpoint=self._path,
            attempt=self._attempts,
            headers=self._ctx.redactor.headers(headers),
            items=self._call.size,
        )

    def receive(self, status: int, headers: Mapping[str, str], content: bytes) -> Action[T]:
        """Interpret an HTTP response."""
        now = self._ctx.clock()
        info = self._ctx.limiter.release(self._path, headers, now, rate_limited=status == 429)
        logger.debug(
            "braze.response",
            endpoint=self._path,
            status=status,
            attempt=self._attempts,
            elapsed_ms=round((now - self._sent_at) * 1000, 1),
            rate_limit_remaining=info.remaining,
            rate_limit_reset=info.reset,
        )
        body, text = _body(content)
        if 200 <= status < 300:
            try:
                return Done(self._call.parse(body if isinstance(body, dict) else {}))
            except ValidationError as exc:
                detail = f"unexpected success body ({exc.error_count()} validation errors)"
                return Fail(BrazeError(detail, endpoint=self._path, attempts=self._attempts))
        message, errors = self._message(body, text)
        if status == 429:
            return self._on_429(info.reset, now, message, errors)
        if status >= 500:
            return self._on_server_error(status, message, errors)
        cls = _STATUS_ERRORS.get(status, BrazeBadRequestError)
        return Fail(self._http_error(cls, status, message, errors, f"HTTP {status}: {message}"))

    def fail(self, error: Exception) -> Action[T]:
        """Interpret a transport failure (an ``httpx.TransportError`` raised while sending)."""
        self._ctx.limiter.release(self._path, None, self._ctx.clock())
        detail = self._ctx.redactor.text(f"{type(error).__name__}: {error}")
        if never_sent(error) or self._repeatable:
            if self._attempts < self._ctx.retry.max_attempts:
                return self._backoff(detail)
            return Fail(
                BrazeTransportError(
                    f"{detail} (gave up after {self._attempts} attempts)",
                    endpoint=self._path,
                    attempts=self._attempts,
                )
            )
        logger.warning("braze.duplicate_possible", endpoint=self._path, reason=detail)
        return Fail(
            BrazeTransportDuplicatePossibleError(
                f"{detail}; {_UNSAFE_HINT}", endpoint=self._path, attempts=self._attempts
            )
        )

    @property
    def _repeatable(self) -> bool:
        return self._call.endpoint.repeatable or self._call.retry_unsafe

    def _message(self, body: Any, text: str | None) -> tuple[str, list[Any]]:
        redact = self._ctx.redactor
        if isinstance(body, dict):
            errors = body.get("errors")
            message = body.get("message")
            return (
                redact.text(str(message)) if message is not None else "no message",
                redact.json(errors) if isinstance(errors, list) else [],
            )
        return (f"non-JSON body: {redact.text(text)!r}" if text else "empty body"), []

    def _http_error(
        self, cls: type[BrazeHTTPError], status: int, message: str, errors: list[Any], text: str
    ) -> BrazeHTTPError:
        return cls(
            text,
            endpoint=self._path,
            status=status,
            braze_message=message,
            errors=errors,
            attempts=self._attempts,
        )

    def _rate_limited(
        self, status: int, message: str | None, errors: list[Any] | None, why: str
    ) -> BrazeError:
        return self._http_error(
            BrazeRateLimitedError, status, message or why, errors or [], f"rate limited: {why}"
        )

    def _on_429(self, reset: float | None, now: float, message: str, errors: list[Any]) -> Action[T]:
        if self._attempts >= self._ctx.retry.max_attempts:
            return Fail(self._rate_limited(429, message, errors, f"gave up after {self._attempts} attempts"))
        if reset is None:
            return self._backoff("HTTP 429 without X-RateLimit-Reset")
        wait = max(reset - now, 0.0) + RESET_MARGIN
        if wait > self._ctx.rate_limit.max_wait:
            why = f"reset in {wait:.1f}s exceeds rate_limit.max_wait={self._ctx.rate_limit.max_wait}s"
            return Fail(self._rate_limited(429, message, errors, why))
        logger.info("braze.rate_limited", endpoint=self._path, wait_s=round(wait, 3), attempt=self._attempts)
        return Wait(wait) if wait > 0 else self.resume()

    def _on_server_error(self, status: int, message: str, errors: list[Any]) -> Action[T]:
        text = f"HTTP {status}: {message}"
        if not self._repeatable:
            logger.warning("braze.duplicate_possible", endpoint=self._path, status=status)
            return Fail(
                self._http_error(
                    BrazeServerDuplicatePossibleError, status, message, errors, f"{text}; {_UNSAFE_HINT}"
                )
            )
        if self._attempts < self._ctx.retry.max_attempts:
            return self._backoff(text)
        return Fail(
            self._http_error(
                BrazeServerError, status, message, errors, f"{text} (gave up after {self._attempts} attempts)"
            )
        )

    def _backoff(self, reason: str) -> Wait:
        retry = self._ctx.retry
        delay = backoff_delay(self._attempts, retry.backoff_base, retry.backoff_cap, self._ctx.rng)
        logger.warning(
            "braze.retry", endpoint=self._path, reason=reason, attempt=self._attempts, delay_s=round(delay, 3)
        )
        return Wait(delay)
