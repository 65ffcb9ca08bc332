"""The end of the process: once, with ``process.exit`` as the very last line, whatever is running.

:class:`ProcessExit` is the CLI's :class:`~jobframe._run.ProcessControl`. After a run it runs the
standard library's thread exit hooks (idle executors end), reports and bounds what is still alive
(:mod:`jobframe._process.lingering`), runs the ``atexit`` hooks libraries registered (their flushes;
:mod:`jobframe._process.exit_hooks`), shuts the gate no thread then starts a child through
(:mod:`jobframe._process.child_gate`), ends every descendant, logs ``process.exit`` and calls
``os._exit`` — so no thread or hook a library left behind can keep a finished job alive, and none
is skipped silently either. Worst case after teardown: ``--exit-grace`` for the report
(``before_exit``), the thread hooks and lingering threads together, then at least
:data:`~jobframe._process.exit_hooks.HOOKS_MIN_S` for the ``atexit`` hooks and
:data:`DESCENDANT_GRACE_S` for ending descendants. A signal at any moment outside a run ends the
process at once, with the job's code once it is known, and still with ``process.exit`` last.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, NoReturn

from jobframe._process.child_gate import gate, stop_pool_handlers
from jobframe._process.descendants import end_descendants, end_processes
from jobframe._process.exit_hooks import (
    HOOKS_MIN_S,
    ended_by_hooks,
    joined_at_exit,
    multiprocessing_names,
    report_failure,
    run_atexit_hooks,
    run_thread_hooks,
)
from jobframe._process.exit_line import EXIT_EVENT, exit_line
from jobframe._process.lingering import find_lingering, report, wait_for_lingering
from jobframe.exit_codes import ExitCode
from jobframe.logs import flush_logging, get_logger, hold_handler, reclaim_logging

__all__ = ["ProcessExit"]

_log = get_logger("jobframe")

DESCENDANT_GRACE_S = 0.5
"""Descendants still running get this long after their SIGTERM, then SIGKILL."""
MIN_STEP_S = 0.05
"""The least each exit step (the ``atexit`` hooks, ending descendants) gets, even at the deadline."""
EXIT_RESERVE_S = 0.2
"""With a deadline, the exit guard's waits end this long before it: room for the last steps."""


def _end_descendants(grace: float, rounds: int = 5) -> None:
    """No thread starts another child from now on (:mod:`jobframe._process.child_gate`); then
    every descendant is ended."""
    stop_pool_handlers()
    gate.close(timeout=grace)
    end_descendants(grace=grace, rounds=rounds)


class ProcessExit:
    """Ends the process exactly once; the CLI's handlers outside a run."""

    def __init__(self, exit_grace: float = 2.0, scrub: Callable[[str], str] | None = None) -> None:
        self.exit_grace = exit_grace
        self.scrub = scrub
        """The run's redaction, for what an error reporter's hook prints (:func:`report_failure`)."""
        self.code: int | None = None
        self.failure: BaseException | None = None
        self.finished_at: float | None = None
        self.deadline: float | None = None
        self._lock = threading.RLock()
        self._exiting = False
        self.before_exit: Callable[[int, float], None] | None = None
        """Called after teardown with the exit code and the seconds left of the exit grace: the
        run's metrics push and trace flush (:func:`jobframe.observe.report.report_run`), which
        share the grace with everything after them, so a hanging gateway adds nothing to the
        worst case (:meth:`jobframe.deadline.Budget.stop_grace`)."""

    def install(self) -> None:
        """SIGTERM/SIGINT outside a run: before it, ``128 + signal`` (phase ``startup``); after
        it, the job's own code (phase ``exiting``)."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        gate.watch()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.code is None:
            self.exit_now(ExitCode.for_signal(signum), signal=name, phase="startup")
        else:
            self.exit_now(self.code, signal=name, phase="exiting")

    def keep_deadline(self, at: float | None) -> None:
        """The run's deadline: lingering threads and processes are waited for until then at most
        (the exit grace is cut short), and the ``atexit`` hooks get at most until then too."""
        self.deadline = None if at is None else at - EXIT_RESERVE_S

    def _by_deadline(self, seconds: float) -> float:
        """``seconds`` from now, cut short at the deadline — but never below :data:`MIN_STEP_S`."""
        now = time.monotonic()
        return now + max(min(seconds, (self.deadline or math.inf) - now), MIN_STEP_S)

    def _grace(self, seconds: float) -> float:
        """:meth:`_by_deadline` as a duration."""
        return self._by_deadline(seconds) - time.monotonic()

    def record_outcome(self, code: int, failure: BaseException | None = None) -> None:
        """The job's exit code, known once it finished: a later signal ends the process with it;
        and what made it fail, for an error reporter's ``sys.excepthook`` (:func:`report_failure`)."""
        self.code, self.failure = int(code), failure

    def finish(self, code: int, finished_at: float) -> NoReturn:
        """Report and bound whatever is still alive, end every descendant, then exit with ``code``."""
        self.code, self.finished_at = int(code), finished_at
        if threading.current_thread() is threading.main_thread():
            self.install()
        grace_ends = min(time.monotonic() + self.exit_grace, self.deadline or math.inf)
        if self.before_exit is not None:
            self.before_exit(self.code, max(grace_ends - time.monotonic(), 0.0))
        run_thread_hooks(grace_ends)  # idle executors end now, not after the grace
        own = ended_by_hooks()
        lingering = find_lingering(own)
        if lingering:
            report(lingering, multiprocessing_names())
            lingering = wait_for_lingering(lingering, max(grace_ends - time.monotonic(), 0.0), own)
        joined = joined_at_exit({child.pid for child in lingering.children})
        if joined:  # named lingering already; ended now, as multiprocessing's exit hook would wait for ever
            end_processes([c for c in lingering.children if c.pid in joined], self._grace(DESCENDANT_GRACE_S))
        hooks_end = max(grace_ends, time.monotonic() + HOOKS_MIN_S)
        stop_pool_handlers()  # a worker multiprocessing's exit hook terminates is not replaced
        report_failure(self.failure, self.scrub)
        run_atexit_hooks(self._by_deadline(hooks_end - time.monotonic()))
        _end_descendants(self._grace(DESCENDANT_GRACE_S))
        self._final(
            self.code,
            exit_latency_s=round(time.monotonic() - finished_at, 6),
            abandoned_threads=[t.name for t in lingering.threads],
        )

    def exit_now(self, code: int, **fields: Any) -> None:
        """End the process at once (a signal outside a run, a forced exit), ``process.exit`` last.

        Returns only when it interrupted this very thread's own final line, which then ends the
        process itself.
        """
        with self._lock:
            if self._exiting:
                return
            _end_descendants(grace=0.05, rounds=3)
            skipped = atexit._ncallbacks()
            if skipped:  # at once means no flush: said, not silent
                fields.setdefault("atexit_hooks_skipped", skipped)
            if self.finished_at is not None:
                fields.setdefault("exit_latency_s", round(time.monotonic() - self.finished_at, 6))
            self._final(int(code), **fields)

    def _final(self, code: int, **fields: Any) -> NoReturn:
        """Log ``process.exit`` and ``os._exit`` while holding every log handler's lock, so no
        other thread can write a line after it."""
        with self._lock:
            self._exiting = True
            reclaim_logging()  # an exit hook may have configured logging too: this line is written
            for handler in logging.getLogger().handlers:
                hold_handler(handler)  # held to the end: os._exit releases nothing
            level, line = exit_line(code, **fields)
            getattr(_log, level)(EXIT_EVENT, **line)
            flush_logging()
            os._exit(code)
