"""What a signal or the deadline means in each phase of a run: one table, no side effects.

The platform may signal more than once (Kubernetes, Argo's emissary and container runtimes all
can), and a job's life is already bounded once it is cancelled — by the cancel grace and the
teardown budget — so a repeated SIGTERM never cuts teardown short. Only a second SIGINT, a person
at a terminal insisting, ends the process at once.
"""

from __future__ import annotations

import enum
import signal

__all__ = ["Action", "Event", "Phase", "react"]


class Phase(enum.Enum):
    RUNNING = "running"
    """The job runs (its resources are being opened, or it executes)."""
    CANCELLING = "cancelling"
    """The job was told to stop and has not stopped yet."""
    TEARDOWN = "teardown"
    """The job is over; its resources are being closed."""


class Event(enum.Enum):
    SIGTERM = "SIGTERM"
    SIGINT = "SIGINT"
    DEADLINE = "deadline"

    @classmethod
    def of_signal(cls, signum: int) -> Event:
        return cls.SIGINT if signum == signal.SIGINT else cls.SIGTERM


class Action(enum.Enum):
    CANCEL = "cancel"
    """Stop the job: ``JobInterrupted`` in sync code, the task cancelled in async code."""
    NOTE = "note"
    """Log it and carry on: the run is already ending within its bounds."""
    FORCE_EXIT = "force_exit"
    """End the process now, teardown or not."""


def react(phase: Phase, event: Event, *, earlier_sigints: int = 0) -> Action:
    """What to do about ``event`` in ``phase``; ``earlier_sigints`` counts SIGINTs already seen.

    A second SIGINT forces the exit in every phase: while the job still runs, it is one that
    arrived before the first was answered (inside a handler of the job's own, called first)."""
    if event is Event.SIGINT and earlier_sigints > 0:
        return Action.FORCE_EXIT
    if phase is Phase.RUNNING:
        return Action.CANCEL
    return Action.NOTE
