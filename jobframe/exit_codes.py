"""The exit-code contract: every code the process can end with means exactly one thing.

Argo's ``retryStrategy.expression`` and operators read these numbers, so they are an API: adding a
meaning is a breaking change, reusing one is a bug.
"""

from __future__ import annotations

import enum

__all__ = ["ExitCode"]


class ExitCode(enum.IntEnum):
    """Process exit codes of ``jobframe``; see the README's table."""

    SUCCEEDED = 0
    """The job ran and returned."""
    FAILED = 1
    """The job raised an error that is not known to be transient: retrying will likely fail again."""
    USAGE = 2
    """The command line was wrong: unknown job, bad ``--param``, bad ``--app``, bad option — or the
    input file it names is malformed (``jobframe.inputs.InputError``: ``file:line``)."""
    RETRYABLE = 75
    """A transient failure (EX_TEMPFAIL): the same run may succeed later; safe for a retry policy."""
    CONFIG = 78
    """Settings or wiring are invalid (EX_CONFIG): nothing ran; fix the configuration."""
    DEADLINE = 124
    """The deadline (``--timeout``, ``--deadline``, ``ARGO_DEADLINE``) was reached; the job was cancelled."""
    SIGINT = 130
    """Interrupted by SIGINT (128 + 2); the job was cancelled and torn down."""
    SIGTERM = 143
    """Terminated by SIGTERM (128 + 15); the job was cancelled and torn down."""

    @classmethod
    def for_signal(cls, signum: int) -> ExitCode:
        """The code a run ended by SIGTERM or SIGINT exits with: ``128 + signal``, the shell's way."""
        return cls(128 + signum)

    @property
    def status(self) -> str:
        """The ``status`` field of ``job.finished`` for this code."""
        return _STATUS[self]


_STATUS = {
    ExitCode.SUCCEEDED: "succeeded",
    ExitCode.FAILED: "failed",
    ExitCode.USAGE: "failed",
    ExitCode.RETRYABLE: "failed",
    ExitCode.CONFIG: "failed",
    ExitCode.DEADLINE: "deadline_exceeded",
    ExitCode.SIGINT: "interrupted",
    ExitCode.SIGTERM: "terminated",
}
