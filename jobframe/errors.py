"""Exceptions that map to an exit code.

Jobs and clients raise these to say *how* something failed; a run turns the class into the
documented exit code (in one place: ``jobframe._run.outcome``), so no code path picks numbers itself.
"""

from __future__ import annotations

from typing import ClassVar

from jobframe.exit_codes import ExitCode

__all__ = [
    "ConfigurationError",
    "DeadlinePassedError",
    "JobInterrupted",
    "JobframeError",
    "RetryableError",
    "UsageError",
]


class JobframeError(Exception):
    """Base class: an error whose class decides the process exit code."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILED


class UsageError(JobframeError):
    """The command line asked for something that does not exist or does not parse (exit 2)."""

    exit_code = ExitCode.USAGE


class ConfigurationError(JobframeError):
    """Settings or container wiring are invalid (exit 78). Messages never contain secret values."""

    exit_code = ExitCode.CONFIG


class DeadlinePassedError(JobframeError):
    """The deadline had already passed before the job could start (exit 124): nothing was run."""

    exit_code = ExitCode.DEADLINE


class RetryableError(JobframeError):
    """A transient failure: the operation may succeed if the job runs again (exit 75).

    Raise it (or a subclass) from a job or a client when a retry is the right response, e.g. a
    rate limit that outlasted the allowed wait or a connection that could not be established.
    """

    exit_code = ExitCode.RETRYABLE


class JobInterrupted(BaseException):
    """Raised inside a running sync job when a signal or the deadline cancels it.

    It derives from ``BaseException`` so that a job's ``except Exception`` cannot swallow it.
    """

    def __init__(self, reason: str, exit_code: ExitCode) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_code = exit_code
