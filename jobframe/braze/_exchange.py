"""The sans-I/O core of one Braze request: what to send, how long to wait, when to give up.

An :class:`Exchange` never touches a socket or a clock it was not given. The sync and async
clients drive it with the same loop, doing only the I/O each action asks for::

    action = exchange.start()
    while action is not Done/Fail:
        Wait  -> sleep(action.seconds);           reply = None
        Send  -> reply = Answer(status, headers, body), or a TransportFailure (no answer)
        action = exchange.advance(reply)

so retry safety, rate limiting and error mapping exist once. A retry library (tenacity, stamina)
does not fit here: those wrap and *call* a function and sleep themselves, while this core must
hand the sleep to a sync or an async caller and decide per failure kind (see docs/braze.md).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from jobframe._value import Value
from jobframe.braze._errors import (
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
from jobframe.braze._ratelimit import RateLimiter, backoff_delay
from jobframe.braze._settings import RateLimitSettings, RetrySettings
from jobframe.logs import Redact, library_logger

if TYPE_CHECKING:
    from jobframe.braze._operations import Endpoint

__all__ = [
    "Action",
    "Answer",
    "Call",
    "Done",
    "Exchange",
    "ExchangeContext",
    "Fail",
    "NotSentError",
    "Send",
    "TransportFailure",
    "Wait",
]

T = TypeVar("T")
logger = library_logger("jobframe.braze")

_STATUS_ERRORS: dict[int, type[BrazeHTTPError]] = {
    400: BrazeBadRequestError,
    401: BrazeAuthError,
    403: BrazePermissionError,
    404: BrazeNotFoundError,
}
_UNSAFE_HINT = "duplicate possible: Braze may have acted on it; not retried (opt in with retry_unsafe)"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to make: endpoint, body or query, how to parse success, retry opt-in.

    A batch of a larger input also carries its ``batch_index``, its object count (``size``) and
    ``items``: for each input array, the ``[start, stop)`` slice of the caller's input it holds.
    """

    endpoint: Endpoint
    parse: Callable[[Any], T]
    json: Any = None
    params: Mapping[str, Any] | None = None
    retry_unsafe: bool = False
    batch_index: int | None = None
    size: int = 0
    items: Mapping[str, tuple[int, int]] = field(default_factory=dict)


class Wait(Value):
    """Sleep this long, then call :meth:`Exchange.advance` with ``None``."""

    __slots__ = ("seconds",)
    seconds: float

    def __init__(self, seconds: float) -> None:
        object.__setattr__(self, "seconds", seconds)


class Send(Value):
    """Send this request, then report the outcome to :meth:`Exchange.advance`."""

    __slots__ = ("method", "path", "json", "params")  # noqa: RUF023 - the constructor's order
    method: str
    path: str
    json: Any
    params: Mapping[str, Any] | None

    def __init__(self, method: str, path: str, json: Any, params: Mapping[str, Any] | None) -> None:
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "json", json)
        object.__setattr__(self, "params", params)


class Answer(Value):
    """An HTTP response as the core needs it."""

    __slots__ = ("status", "headers", "content")  # noqa: RUF023 - the constructor's order
    status: int
    headers: Mapping[str, str]
    content: bytes

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "headers", headers)
        object.__setattr__(self, "content", content)


class TransportFailure(Value):
    """A request that got no HTTP answer, as the core needs it (the shells build it from the HTTP
    library's error): what went wrong, and whether the request may have reached Braze.

    ``sent`` is false only when the request provably never left (connect failure, pool timeout):
    then a repeat is safe for every endpoint. A read timeout, a reset or closed connection, a
    write error may all have reached Braze.
    """

    __slots__ = ("kind", "message", "sent")
    kind: str
    message: str
    sent: bool

    def __init__(self, kind: str, message: str, sent: bool) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "message", message)
        object.__setattr__(self, "sent", sent)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class Done(Value, Generic[T]):
    """The call succeeded with ``value``."""

    __slots__ = ("value",)
    value: T

    def __init__(self, value: T) -> None:
        object.__setattr__(self, "value", value)


class Fail(Value):
    """The call failed for good: raise ``error``.

    ``ambiguous`` is true when Braze may have acted on one of its attempts (a 5xx or a timeout
    after the request was written): the outcome is unknown, not merely failed.
    """

    __slots__ = ("error", "ambiguous")  # noqa: RUF023 - the constructor's order
    error: BrazeError
    ambiguous: bool

    def __init__(self, error: BrazeError, ambiguous: bool = False) -> None:
        object.__setattr__(self, "error", error)
        object.__setattr__(self, "ambiguous", ambiguous)


Action = Wait | Send | Done[T] | Fail


class NotSentError(BrazeError):
    """A batch that was not sent because its call stopped (an earlier batch failed)."""


@dataclass(frozen=True, slots=True)
class ExchangeContext:
    """What every exchange of one client shares: policies, the limiter, the redactor, clock, rng."""

    retry: RetrySettings
    rate_limit: RateLimitSettings
    limiter: RateLimiter
    redact: Redact
    clock: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)


def _body(content: bytes) -> tuple[Any, str | None]:
    """The decoded JSON body (or ``None``) and, for non-JSON bodies, a short text excerpt."""
    try:
        return json.loads(content) if content else None, None
    except ValueError:
        return None, content[:200].decode("utf-8", "replace").strip() or None


def _never_stopped() -> bool:
    return False


class Exchange(Generic[T]):
    """State machine for one request with its retries. Not reusable; create one per call.

    ``stopped`` is asked before every attempt: once it says yes (another batch of the same call
    failed) nothing more is sent and the call ends in :class:`NotSentError`.
    """

    def __init__(
        self, call: Call[T], ctx: ExchangeContext, *, stopped: Callable[[], bool] = _never_stopped
    ) -> None:
        self._call = call
        self._ctx = ctx
        self._stopped = stopped
        self._attempts = 0
        self._sent_at = 0.0
        self.latency: float | None = None
        """Seconds from send to answer of the last answered attempt."""
        self.waited = 0.0
        """Seconds the rate limiter held this call back, all attempts together."""
        self.congested = False
        """An attempt was answered 429 or 5xx, or failed in transport."""
        self.ambiguous = False
        """Braze may have acted on an attempt (5xx or timeout after the request was written)."""

    @property
    def attempts(self) -> int:
        """Requests sent so far."""
        return self._attempts

    @property
    def size(self) -> int:
        """Objects in this call (a batch's size; 0 for a call that is not batched)."""
        return self._call.size

    @property
    def _path(self) -> str:
        return self._call.endpoint.path

    def start(self) -> Action[T]:
        """The first action: wait for the rate limiter, or send."""
        return self.resume()

    def advance(self, reply: Answer | TransportFailure | None) -> Action[T]:
        """The next action after the last one: ``None`` after a :class:`Wait`, the response (or
        the :class:`TransportFailure`) after a :class:`Send`."""
        if isinstance(reply, Answer):
            return self.receive(reply.status, reply.headers, reply.content)
        if isinstance(reply, TransportFailure):
            return self.fail(reply)
        return self.resume()

    def resume(self) -> Action[T]:
        """Ask the limiter, then send (or stop, when the call was stopped meanwhile)."""
        if self._stopped():
            why = "not sent: an earlier batch of this call failed"
            return self._fail(NotSentError(why, endpoint=self._path, attempts=self._attempts))
        now = self._ctx.clock()
        delay = self._ctx.limiter.acquire(self._path, now)
        if delay > 0:
            if delay > self._ctx.rate_limit.max_wait:
                why = f"next request allowed in {delay:.1f}s, beyond rate_limit.max_wait"
                return self._fail(self._rate_limited(429, None, None, why))
            self.waited += delay
            return Wait(delay)
        self._attempts += 1
        self._sent_at = now
        call = self._call
        return Send(call.endpoint.method, self._path, call.json, call.params)

    def sent(self, headers: Mapping[str, str]) -> None:
        """Log the request as built by the shell (headers masked; no body: it holds user data)."""
        # pragma: no mutate start
        logger.debug(
            "braze.request",
            method=self._call.endpoint.method,
            endpoint=self._path,
            attempt=self._attempts,
            headers=self._ctx.redact.scrub(dict(headers)),
            items=self._call.size,
        )
        # pragma: no mutate end

    def receive(self, status: int, headers: Mapping[str, str], content: bytes) -> Action[T]:
        """Interpret an HTTP response."""
        now = self._ctx.clock()
        self.latency = now - self._sent_at
        info = self._ctx.limiter.release(
            self._path, headers, now, rate_limited=status == 429, sent_at=self._sent_at
        )
        # pragma: no mutate start
        logger.debug(
            "braze.response",
            endpoint=self._path,
            status=status,
            attempt=self._attempts,
            elapsed_ms=round(self.latency * 1000, 1),
            rate_limit_remaining=info.remaining,
            rate_limit_reset=info.reset,
        )
        # pragma: no mutate end
        body, text = _body(content)
        if 200 <= status < 300:
            try:
                return Done(self._call.parse(body if isinstance(body, dict) else {}))
            except ValidationError as exc:
                detail = f"unexpected success body ({exc.error_count()} validation errors)"
                # Braze answered 2xx: it applied the request, whatever the body says
                error = BrazeError(detail, endpoint=self._path, attempts=self._attempts)
                return Fail(error, ambiguous=True)
        message, errors = self._message(body, text)
        if status == 429:
            return self._on_429(now, message, errors)
        if status >= 500:
            return self._on_server_error(status, message, errors, info.retry_after)
        cls = _STATUS_ERRORS.get(status, BrazeBadRequestError)
        return self._fail(self._http_error(cls, status, message, errors, f"HTTP {status}: {message}"))

    def fail(self, error: TransportFailure) -> Action[T]:
        """Interpret a transport failure (no HTTP answer to the request just sent)."""
        self._ctx.limiter.release(self._path, None, self._ctx.clock())
        self.congested = True
        detail = self._ctx.redact.scrub(str(error))
        reached = error.sent
        if reached and not self._repeatable:
            # pragma: no mutate start
            logger.warning("braze.duplicate_possible", endpoint=self._path, reason=detail)
            # pragma: no mutate end
            self.ambiguous = True
            return self._fail(
                BrazeTransportDuplicatePossibleError(
                    f"{detail}; {_UNSAFE_HINT}", endpoint=self._path, attempts=self._attempts
                )
            )
        self.ambiguous = self.ambiguous or (reached and not self._call.endpoint.repeatable)
        if self._attempts < self._ctx.retry.max_attempts:
            return self._backoff(detail, None)  # pragma: no mutate (the reason is only logged)
        give_up = f"{detail} (gave up after {self._attempts} attempts)"
        return self._fail(BrazeTransportError(give_up, endpoint=self._path, attempts=self._attempts))

    @property
    def _repeatable(self) -> bool:
        return self._call.endpoint.repeatable or self._call.retry_unsafe

    def _fail(self, error: BrazeError) -> Fail:
        return Fail(error, ambiguous=self.ambiguous)

    def _message(self, body: Any, text: str | None) -> tuple[str, list[Any]]:
        scrub = self._ctx.redact.scrub
        if isinstance(body, dict):
            errors = body.get("errors")
            message = body.get("message")
            return (
                scrub(str(message)) if message is not None else "no message",
                scrub(errors) if isinstance(errors, list) else [],
            )
        return (f"non-JSON body: {scrub(text)!r}" if text else "empty body"), []

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

    def _on_429(self, now: float, message: str, errors: list[Any]) -> Action[T]:
        self.congested = True
        if self._attempts >= self._ctx.retry.max_attempts:
            return self._fail(
                self._rate_limited(429, message, errors, f"gave up after {self._attempts} attempts")
            )
        wait = self._ctx.limiter.wait_after(self._path, now)
        if wait > self._ctx.rate_limit.max_wait:
            why = f"must wait {wait:.1f}s, beyond rate_limit.max_wait={self._ctx.rate_limit.max_wait}s"
            return self._fail(self._rate_limited(429, message, errors, why))
        # pragma: no mutate start
        logger.info("braze.rate_limited", endpoint=self._path, wait_s=round(wait, 3), attempt=self._attempts)
        # pragma: no mutate end
        return self.resume()

    def _on_server_error(
        self, status: int, message: str, errors: list[Any], retry_after: float | None
    ) -> Action[T]:
        self.congested = True
        text = f"HTTP {status}: {message}"
        if not self._call.endpoint.repeatable:
            self.ambiguous = True
        if not self._repeatable:
            # pragma: no mutate start
            logger.warning("braze.duplicate_possible", endpoint=self._path, status=status)
            # pragma: no mutate end
            return self._fail(
                self._http_error(
                    BrazeServerDuplicatePossibleError, status, message, errors, f"{text}; {_UNSAFE_HINT}"
                )
            )
        if retry_after is not None and retry_after > self._ctx.rate_limit.max_wait:
            why = f"{text} (Retry-After {retry_after:.1f}s is beyond rate_limit.max_wait)"
            return self._fail(self._http_error(BrazeServerError, status, message, errors, why))
        if self._attempts < self._ctx.retry.max_attempts:
            return self._backoff(text, retry_after)  # pragma: no mutate (the reason is only logged)
        give_up = f"{text} (gave up after {self._attempts} attempts)"
        return self._fail(self._http_error(BrazeServerError, status, message, errors, give_up))

    def _backoff(self, reason: str, retry_after: float | None) -> Action[T]:
        retry = self._ctx.retry
        delay = backoff_delay(self._attempts, retry.backoff_base, retry.backoff_cap, self._ctx.rng)
        if retry_after is not None:
            delay = max(delay, retry_after)
        # pragma: no mutate start
        logger.warning(
            "braze.retry", endpoint=self._path, reason=reason, attempt=self._attempts, delay_s=round(delay, 3)
        )
        # pragma: no mutate end
        return Wait(delay)
