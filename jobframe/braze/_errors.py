"""The Braze exception hierarchy, and which exit code each failure ends a job with.

Every class says *how* a call failed, so a job (or the run that ends with it) can decide without
parsing messages:

* ``BrazeBadRequestError`` (400), ``BrazeNotFoundError`` (404) and other unexpected 4xx are plain
  failures (exit 1): running the job again sends the same bad request.
* ``BrazeAuthError`` (401) and ``BrazePermissionError`` (403) are configuration errors (exit 78):
  the key, the instance URL or the key's permissions are wrong, and only a config change helps.
* ``BrazeRateLimitedError``, ``BrazeServerError``, ``BrazeTransportError`` and
  ``BrazeDuplicatePossibleError`` are :class:`~jobframe.errors.RetryableError` (exit 75).

No exception ever holds the API key: errors are built from status, endpoint and Braze's body only,
and that body is scrubbed of the key before it is stored (see ``exchange``).

A failed batched call also carries its :class:`~jobframe.braze._delivery.DeliveryReport`
(``delivery``): its summary ends the message and its fields join the ``job.finished`` line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from jobframe.errors import ConfigurationError, JobframeError, RetryableError, UsageError
from jobframe.exit_codes import ExitCode

if TYPE_CHECKING:
    from jobframe.braze._delivery import DeliveryReport

__all__ = [
    "BrazeAuthError",
    "BrazeBadRequestError",
    "BrazeDuplicatePossibleError",
    "BrazeError",
    "BrazeHTTPError",
    "BrazeInputError",
    "BrazeInputUsageError",
    "BrazeLedgerError",
    "BrazeNotFoundError",
    "BrazePermissionError",
    "BrazeRateLimitedError",
    "BrazeServerDuplicatePossibleError",
    "BrazeServerError",
    "BrazeTransportDuplicatePossibleError",
    "BrazeTransportError",
]


class BrazeError(JobframeError):
    """Base class of every error the Braze clients raise.

    ``endpoint`` is the API path (``/users/track``). ``batch_index`` is set when the call was one
    batch of a larger input; ``partial_result`` then holds what the delivered batches achieved and
    ``delivery`` says, batch by batch, what was delivered, unknown, failed or never sent.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED

    def __init__(self, message: str, *, endpoint: str, attempts: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.attempts = attempts
        self.batch_index: int | None = None
        self.partial_result: Any = None
        self.delivery: DeliveryReport | None = None

    def __str__(self) -> str:
        where = f" (batch {self.batch_index})" if self.batch_index is not None else ""
        report = f" [{self.delivery.summary()}]" if self.delivery is not None else ""
        return f"{self.endpoint}{where}: {self.message}{report}"

    def log_fields(self) -> dict[str, Any]:
        """Fields for the log line that reports this error (see ``jobframe.logs.ErrorFields``)."""
        return {"delivery": self.delivery.as_dict()} if self.delivery is not None else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class BrazeHTTPError(BrazeError):
    """Braze answered with an error status; ``braze_message``/``errors`` are from its JSON body."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        status: int,
        braze_message: str | None = None,
        errors: list[Any] | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message, endpoint=endpoint, attempts=attempts)
        self.status = status
        self.braze_message = braze_message
        self.errors = errors or []


class BrazeBadRequestError(BrazeHTTPError):
    """400 (or another unexpected 4xx): the request itself is wrong; repeating it cannot help."""


class BrazeAuthError(BrazeHTTPError, ConfigurationError):
    """401: the key is invalid or belongs to another instance (``base_url``). Exit 78."""

    exit_code = ExitCode.CONFIG


class BrazePermissionError(BrazeHTTPError, ConfigurationError):
    """403: the key lacks this endpoint's permission, or the plan does not include it. Exit 78."""

    exit_code = ExitCode.CONFIG


class BrazeNotFoundError(BrazeHTTPError):
    """404: the URL does not exist (wrong path or instance)."""


class BrazeRateLimitedError(BrazeHTTPError, RetryableError):
    """Rate limited and the reset is further away than the allowed wait (or attempts ran out)."""

    exit_code = ExitCode.RETRYABLE


class BrazeServerError(BrazeHTTPError, RetryableError):
    """5xx from Braze after the allowed retries (only for requests that are safe to repeat)."""

    exit_code = ExitCode.RETRYABLE


class BrazeTransportError(BrazeError, RetryableError):
    """No usable HTTP response: connection refused/reset, timeout, protocol error."""

    exit_code = ExitCode.RETRYABLE


class BrazeDuplicatePossibleError(BrazeError, RetryableError):
    """A send, trigger or ``/users/track`` call may or may not have taken effect.

    Braze has no idempotency key, so after a 5xx or a read timeout nobody knows whether the push
    went out. The client does not repeat such a request unless the caller opted in
    (``retry_unsafe``); the job ends with exit 75 and the operator or the retry policy decides
    whether a possible duplicate is acceptable. Catch this base class to handle both variants.
    """

    exit_code = ExitCode.RETRYABLE


class BrazeServerDuplicatePossibleError(BrazeServerError, BrazeDuplicatePossibleError):
    """A 5xx answered a request that is unsafe to repeat."""


class BrazeTransportDuplicatePossibleError(BrazeTransportError, BrazeDuplicatePossibleError):
    """A timeout or dropped connection after an unsafe request may have reached Braze."""


class BrazeLedgerError(BrazeError, RetryableError):
    """The run ledger could not record a batch as started, so the batch was not sent (and no
    further batch is) — or could not record how answered batches ended: a retry resumes once the
    ledger is reachable again, and lists the batches it cannot know about as ambiguous."""

    exit_code = ExitCode.RETRYABLE


class BrazeInputError(BrazeError):
    """The caller's input raised after a bulk call had taken batches from it (exit 1): those on
    the wire were answered, no further one was sent, and ``delivery`` says which. The input's own
    error is ``__cause__``; its message ends this one's. An input that fails before its first
    batch raises its own error: nothing was sent."""

    @classmethod
    def of(cls, cause: Exception, *, endpoint: str) -> BrazeInputError:
        """The error for ``cause``: a :class:`~jobframe.errors.UsageError` (a malformed line of an
        input file named on the command line) keeps its exit code, 2."""
        kind = BrazeInputUsageError if isinstance(cause, UsageError) else cls
        return kind(f"the input failed, nothing more was sent: {cause}", endpoint=endpoint)


class BrazeInputUsageError(BrazeInputError, UsageError):
    """:class:`BrazeInputError` whose cause is a usage error, such as a line of an input file that
    became malformed after the counting pass had checked it (exit 2, like the same line found then)."""

    exit_code = ExitCode.USAGE
