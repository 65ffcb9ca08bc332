"""Signals and the deadline timer, turned into cancellation of the running job.

SIGTERM (143), SIGINT (130) and the deadline (124, delivered as SIGALRM by ``setitimer``) all
mean the same thing while the job runs: stop it at the next Python instruction (sync jobs get
:class:`JobInterrupted` raised in the main thread; async jobs have their task cancelled), then
let teardown close what it opened. During teardown a further signal ends the process at once.
Installing a handler is also what makes SIGTERM work when jobframe is PID 1 in a container: the
kernel drops signals that PID 1 does not handle.
"""

from __future__ import annotations

import asyncio
import enum
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from jobframe.closing import TeardownTimeout
from jobframe.errors import JobInterrupted
from jobframe.exit_codes import ExitCode
from jobframe.logs import flush_logging, get_logger

__all__ = ["Interrupts", "Phase", "exit_now"]

_log = get_logger("jobframe.interrupts")

_SIGNAL_CODES = {signal.SIGTERM: ExitCode.SIGTERM, signal.SIGINT: ExitCode.SIGINT}


def exit_now(code: int) -> None:
    """Flush the logs and end the process immediately, whatever threads or handlers remain."""
    flush_logging()
    os._exit(int(code))


class Phase(enum.Enum):
    RUNNING = "running"
    TEARDOWN = "teardown"


class Interrupts:
    """Install handlers for one run and decide what each signal means in the current phase."""

    def __init__(self, *, hard_exit: Callable[[int], None] = exit_now) -> None:
        self.phase = Phase.RUNNING
        self.reason: JobInterrupted | None = None
        self._hard_exit = hard_exit
        self._previous: dict[int, Any] = {}
        self._cancel: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._alarm: str | None = None  # "deadline" or "teardown"
        self.signals_received = 0

    @property
    def enabled(self) -> bool:
        """Signal handlers can only be installed from the main thread (pytest-xdist workers, etc.)."""
        return threading.current_thread() is threading.main_thread()

    # -- installation ------------------------------------------------------------------------

    def install(self) -> None:
        """Sync mode: handlers raise :class:`JobInterrupted` in the main thread."""
        if not self.enabled:
            return
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
            self._previous[sig] = signal.signal(sig, self._on_signal)

    def install_async(self, loop: asyncio.AbstractEventLoop, cancel: Callable[[], None]) -> None:
        """Async mode: handlers run in the loop and cancel the job's task through ``cancel``."""
        if not self.enabled:
            return
        self._loop, self._cancel = loop, cancel
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
            self._previous.setdefault(sig, signal.getsignal(sig))
            loop.add_signal_handler(sig, self._on_signal, sig, None)

    def restore(self) -> None:
        """Disarm the timer and put back the handlers that were there before the run."""
        if not self._previous:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        if self._loop is not None and not self._loop.is_closed():
            for sig in self._previous:
                self._loop.remove_signal_handler(sig)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
        self._loop = None

    # -- timers --------------------------------------------------------------------------------

    def arm_deadline(self, seconds: float) -> None:
        """Cancel the job ``seconds`` from now (already past: at once)."""
        self._arm("deadline", seconds)

    def disarm(self) -> None:
        if self._previous:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self._alarm = None

    def job_done(self) -> None:
        """From now on a signal no longer cancels: the first is noted, a repeat ends the process."""
        self.phase = Phase.TEARDOWN

    def arm_teardown(self, timeout: float) -> None:
        """Raise :class:`TeardownTimeout` in the close running ``timeout`` seconds from now.

        In async mode the loop's SIGALRM handler would only run once a blocking close returned,
        so for teardown SIGALRM goes back to a plain handler that raises in the main thread.
        """
        self.phase = Phase.TEARDOWN
        if self._loop is not None and self._previous:
            self._loop.remove_signal_handler(signal.SIGALRM)
            signal.signal(signal.SIGALRM, self._on_signal)
        self._arm("teardown", timeout)

    def _arm(self, purpose: str, seconds: float) -> None:
        if not self._previous:  # no handler of ours for SIGALRM: its default action would kill us
            return
        self._alarm = purpose
        signal.setitimer(signal.ITIMER_REAL, max(seconds, 1e-3))

    # -- the handler -------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGALRM:
            self._on_alarm()
            return
        self.signals_received += 1
        code = _SIGNAL_CODES.get(signal.Signals(signum), ExitCode.SIGTERM)
        name = signal.Signals(signum).name
        _log.warning("signal.received", signal=name, phase=self.phase.value, exit_code=int(code))
        if self.phase is Phase.RUNNING and self.reason is None:
            self._interrupt(JobInterrupted(name, code))
        elif self.reason is not None or self.signals_received > 1:
            # A repeated signal: the operator (or Argo) insists. Flush and go now.
            _log.warning(
                "process.exit", exit_code=int(self.reason.exit_code if self.reason else code), forced=True
            )
            self._hard_exit(int(self.reason.exit_code if self.reason else code))

    def _on_alarm(self) -> None:
        purpose, self._alarm = self._alarm, None
        if purpose == "deadline" and self.phase is Phase.RUNNING and self.reason is None:
            _log.warning("deadline.reached", action="cancelling job")
            self._interrupt(JobInterrupted("deadline", ExitCode.DEADLINE))
        elif purpose == "teardown" and self.phase is Phase.TEARDOWN:
            raise TeardownTimeout()

    def _interrupt(self, reason: JobInterrupted) -> None:
        self.reason = reason
        if self._cancel is not None:
            self._cancel()
        else:
            raise reason
