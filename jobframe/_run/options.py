"""What a run is asked to do (:class:`RunOptions`) and what came of it (:class:`RunResult`).

Plain data shared by the CLI, the run and the testing toolkit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn, Protocol

from jobframe.deadline import Budget
from jobframe.exit_codes import ExitCode
from jobframe.observe.observer import Observer
from jobframe.shard import Shard

__all__ = ["ProcessControl", "RunOptions", "RunResult"]


class ProcessControl(Protocol):
    """How a run ends the process when it cannot return: the CLI's, never a test's.

    A run returns its result normally; it calls these only when the job leaves no other way out —
    a second SIGINT, or a job that ignores its cancellation and is abandoned.
    """

    def record_outcome(self, code: int, failure: BaseException | None = None) -> None:
        """The job's exit code, the moment it is known (a later signal ends the process with it),
        and the exception that made it fail, if it failed."""

    def keep_deadline(self, at: float | None) -> None:
        """The run's deadline (``time.monotonic()`` scale), if any: the exit guard's waits end by then."""

    def exit_now(self, code: int, **fields: Any) -> None:
        """Log ``process.exit`` (last) and end the process at once."""

    def finish(self, code: int, finished_at: float) -> NoReturn:
        """The exit guard, then ``process.exit`` and the end of the process."""


@dataclass(frozen=True)
class RunOptions:
    """How one run is bounded and where it reports; the CLI's flags, as data."""

    timeout: float | None = None
    timeout_origin: datetime | None = None
    """What ``timeout`` counts from (default: now). The CLI passes the process's start time."""
    deadline: datetime | None = None
    argo_deadline: datetime | None = None
    deadline_margin: float = 10.0
    shutdown_timeout: float = 5.0
    cancel_grace: float = 2.0
    output: Path | None = None
    progress_file: Path | None = None
    handle_signals: bool = True
    """Install signal handlers and keep the schedule (deadline, cancel grace, teardown bounds).
    Needs the main thread; the testing toolkit runs without them unless a test asks."""
    run_id: str | None = None
    run_key: str | None = None
    """What a run ledger records this run under (``--run-key``); without one nothing is recorded."""
    fresh_run: bool = False
    resend_ambiguous: bool = False
    retry_number: int = 0
    """``--retry-number``: 0 on a first attempt; a retry finding no record of ``run_key`` refuses."""
    new_run: bool = False
    """``--new-run``: start ``run_key`` though an unfinished earlier key sent the same input."""
    registered: bool = False
    """``--registered``: ``run_key`` was registered before any attempt; a ledger without it refuses."""
    shard: Shard | None = None
    """``--shard INDEX/COUNT``: the part of the input this run processes (shardable jobs only)."""
    observer: Observer | None = None
    """The run's :class:`~jobframe.observe.Observer` (the CLI's, with its tracer); a new one by default."""
    process: ProcessControl | None = None
    """Set by the CLI only: lets the run end the process when it cannot return (see
    :class:`ProcessControl`). Without it a forced exit raises ``KeyboardInterrupt`` instead."""

    @property
    def budget(self) -> Budget:
        return Budget(
            deadline_margin=self.deadline_margin,
            shutdown_timeout=self.shutdown_timeout,
            cancel_grace=self.cancel_grace,
        )


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
