"""A job's outcome decides its exit code here, in :func:`exit_code`, and nowhere else.

An error's class names its code (:class:`~jobframe.JobframeError`), a signal or the deadline names
theirs (:meth:`ExitCode.for_signal`, :attr:`ExitCode.DEADLINE`) when it cancels the job; this
function picks between them. The errors that travel with an outcome live here too.
"""

from __future__ import annotations

import asyncio

from jobframe.errors import JobframeError, JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.summary import shown

__all__ = ["ENDINGS", "EXITS", "EscapedExit", "as_error", "exit_code"]

EXITS = (SystemExit, KeyboardInterrupt)
"""The job ending itself: 0 / 1 / 130 wherever they are raised, as from ``execute``."""

ENDINGS = (*EXITS, JobInterrupted, asyncio.CancelledError, GeneratorExit)
"""The exceptions that say how the job ends rather than what failed: they pass through the
run's handling untouched. Any other ``BaseException`` (a library's own) is a failure like an error."""


def exit_code(exc: BaseException | None, reason: JobInterrupted | None = None) -> ExitCode:
    """The exit code for a job's outcome: an interruption wins, then the error's class; a run
    refused before it started (bad input, bad wiring) goes by its error the same way."""
    if reason is not None:
        return reason.exit_code
    if exc is None:
        return ExitCode.SUCCEEDED
    if isinstance(exc, JobInterrupted | JobframeError):
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.SIGINT
    return ExitCode.FAILED


class EscapedExit(Exception):  # noqa: N818 - it carries an exit, it is not an error of its own
    """A ``BaseException`` that is not a cancellation, raised inside an asyncio task, carried as an
    ordinary error.

    asyncio lets ``SystemExit``/``KeyboardInterrupt`` tear straight through the event loop, which
    would skip the job's teardown; inside a job they mean "this job ended". A library's own
    ``BaseException`` is kept in its task, but dependency-injector's callbacks drop it, so a build
    awaiting an async resource's init would wait forever: raised while the job is built, it is
    carried too. Each travels like any error and is unwrapped by :func:`as_error` when the
    outcome is decided.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {shown(original, str)}")
        self.original = original


def as_error(exc: BaseException | None) -> BaseException | None:
    """The error an outcome stands for: an escaped exit unwrapped, and ``sys.exit(0)`` — a job
    that ended itself successfully — no error at all, for the exit code and for teardown."""
    if isinstance(exc, EscapedExit):
        exc = exc.original
    return None if isinstance(exc, SystemExit) and _is_success(exc.code) else exc


def _is_success(code: object) -> bool:
    """Python's own rule for ``sys.exit(code)``: ``None`` or an ``int`` 0 (``False`` too) exits 0;
    anything else — ``0.0``, ``Decimal(0)``, a string — is printed and exits 1, however equal to 0."""
    return code is None or (isinstance(code, int) and code == 0)
