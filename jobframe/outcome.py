"""What a run is asked to do (:class:`RunOptions`) and what came of it (:class:`RunResult`).

Plain data shared by the runner, the lifecycle, the CLI and the testing toolkit, plus the one
function that turns an outcome into an exit code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jobframe.errors import JobframeError, JobInterrupted
from jobframe.exit_codes import ExitCode

__all__ = ["EscapedExit", "RunOptions", "RunResult", "as_error", "exit_code_for"]


@dataclass(frozen=True)
class RunOptions:
    """How one run is bounded and where it reports; the CLI's flags, as data."""

    timeout: float | None = None
    deadline: datetime | None = None
    argo_deadline: datetime | None = None
    deadline_margin: float = 10.0
    shutdown_timeout: float = 5.0
    output: Path | None = None
    progress_file: Path | None = None
    handle_signals: bool = True
    run_id: str | None = None
    on_finished: Callable[[ExitCode], None] | None = None
    """Called with the exit code the moment the job's outcome is known, before teardown: the
    CLI uses it so that a signal arriving after the run still ends the process with that code."""


@dataclass
class RunResult:
    """What happened: the exit code and everything a caller (or a test) may want to inspect."""

    job: str
    run_id: str
    exit_code: ExitCode
    started: bool
    result: Any = None
    error: BaseException | None = None
    duration_s: float = 0.0
    finished_at: float = field(default_factory=time.monotonic)
    resources_opened: list[str] = field(default_factory=list)
    resources_closed: list[str] = field(default_factory=list)
    resources_failed: list[str] = field(default_factory=list)
    resources_unmanaged: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.exit_code.status

    @property
    def succeeded(self) -> bool:
        return self.exit_code is ExitCode.SUCCEEDED


def exit_code_for(exc: BaseException | None, reason: JobInterrupted | None = None) -> ExitCode:
    """The one exit code for a job's outcome: an interruption wins, then the error's class."""
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
    """``SystemExit``/``KeyboardInterrupt`` raised inside an asyncio task, carried as an ordinary error.

    asyncio lets those two tear straight through the event loop, which would skip the job's
    teardown; inside a job they mean "this job ended", so they travel like any error and are
    unwrapped by :func:`as_error` when the outcome is decided.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def as_error(exc: BaseException | None) -> BaseException | None:
    """The error an outcome stands for: an escaped exit unwrapped, and ``sys.exit(0)`` — a job
    that ended itself successfully — no error at all, for the exit code and for teardown."""
    if isinstance(exc, EscapedExit):
        exc = exc.original
    return None if isinstance(exc, SystemExit) and exc.code in (0, None) else exc
