"""The names of a run's timers, of the stages the supervisor takes a run over at, and of who
claims its teardown: enums, so a misspelt one is a type error rather than a timer that never fires."""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Claimant", "CloseTimer", "Stage", "Timer"]


class Timer(enum.Enum):
    """A timer of the run's supervisor (:mod:`jobframe._run.supervisor`)."""

    DEADLINE = "deadline"
    """The schedule's cancel time: cancel the job."""
    BLOCKED = "blocked"
    """A cancelled async job's loop has not got control back: interrupt the blocking code."""
    RECLAIM = "reclaim"
    """A handler of the job's replaced jobframe's: put jobframe's back."""
    RECANCEL = "recancel"
    """In-process, a job that ignored its cancellation: interrupt it again."""
    NUDGE = "nudge"
    """A signal reached another thread: wake the main thread so its handler runs now."""
    REDELIVER = "redeliver"
    """A cancellation swallowed where it was raised: raise it again."""
    CHECK_HANDLERS = "check_handlers"
    """While the job runs, check that jobframe's handlers are still installed."""
    ABANDON = "abandon"
    """The cancel grace is over and the job has not stopped: take the run over."""
    TAKEOVER = "takeover"
    """A teardown stuck past its budget: take the run over."""

    @property
    def on_main_thread(self) -> bool:
        """Whether the timer's action runs in the main thread (woken by a signal) rather than in
        the supervisor thread."""
        return self in _MAIN_THREAD


_MAIN_THREAD = frozenset(
    {Timer.DEADLINE, Timer.BLOCKED, Timer.RECLAIM, Timer.RECANCEL, Timer.NUDGE, Timer.REDELIVER}
)


@dataclass(frozen=True)
class CloseTimer:
    """The timer bounding one close of the teardown: each close gets its own ``generation``, so a
    timer already on its way for an earlier close raises nothing into a later one."""

    generation: int
    on_main_thread = True


class Stage(enum.Enum):
    """Where the run is taken over (:meth:`jobframe._run.run.Run.take_over`)."""

    FORCE = "force"
    """A second SIGINT (main thread): the process ends now; ``job.finished`` first."""
    CANCEL = "cancel"
    """The cancelled job ignored its cancellation past the grace (supervisor thread)."""
    TEARDOWN = "teardown"
    """A close is stuck past the teardown budget (supervisor thread)."""


class Claimant(enum.Enum):
    """Who finishes the run: the main thread once the job is over, or the supervisor taking over."""

    JOB = "job"
    SUPERVISOR = "supervisor"
