"""What a run installs in the process while it lasts, and puts back: :class:`Handlers`.

jobframe's SIGTERM/SIGINT handlers (through :mod:`jobframe._run.signal_guard`), the handler of the
supervisor's wake-up signal, the signal wakeup fd the supervisor reads, ``sys.unraisablehook`` and
the at-fork hooks (:mod:`jobframe._run.forks`) go in together, with the supervisor thread
(:mod:`jobframe._run.supervisor`), and come out together — in a forked child too, where they are
the parent's. What a signal or a timer *means* is :class:`~jobframe._run.interrupts.Interrupts`'s
business; this is only the wiring, and the two ways it reaches the main thread: a timer's action
queued and the main thread woken (:meth:`Handlers.wake_main`), and a cancellation swallowed where
it was raised delivered again (:meth:`Handlers.redeliver`).
"""

from __future__ import annotations

import collections
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from jobframe._run.forks import hooks as fork_hooks
from jobframe._run.signal_guard import SignalGuard, install_handler
from jobframe._run.supervisor import WAKE_SIGNAL, Supervisor, TimerName
from jobframe._run.timers import Timer
from jobframe.errors import JobInterrupted

__all__ = ["REDELIVER_AFTER_S", "Handlers"]

REDELIVER_AFTER_S = 0.01
"""A cancellation swallowed where it was raised (a destructor, an at-fork hook) is raised again this
much later, when the main thread has left that code."""

SignalHandler = Callable[[int, FrameType | None], None]


class Handlers:
    """One run's handlers, hooks and supervisor thread, installed and put back as one.

    ``on_signal`` is the run's handler, for SIGTERM, SIGINT and the wake-up signal alike;
    ``ours`` tells an exception it raised, nested in a job's handler, from that handler's own.
    """

    def __init__(self, on_signal: SignalHandler, *, ours: Callable[[BaseException], bool]) -> None:
        self._on_signal = on_signal
        self.guard = SignalGuard(on_signal, ours=ours, reference=WAKE_SIGNAL)
        self.installed = False
        self.supervisor: Supervisor | None = None
        self._previous_wake: Any = None
        self._previous_wakeup = -1
        self._previous_unraisable: Callable[[Any], Any] = sys.unraisablehook
        self._wake_lock = threading.Lock()
        self._main_ident = threading.main_thread().ident
        self._due: collections.deque[TimerName] = collections.deque()
        self._swallowed: BaseException | None = None

    def install(
        self, on_due: Callable[[TimerName], None], on_delivered: Callable[[int], None]
    ) -> Supervisor | None:
        """Install everything and start the supervisor (``on_due``, ``on_delivered``: see
        :class:`Supervisor`); only the main thread can, else nothing is and ``None`` is returned."""
        if threading.current_thread() is not threading.main_thread():
            return None
        supervisor = self.supervisor = Supervisor(on_due, on_delivered)
        self._previous_wake = install_handler(WAKE_SIGNAL, self._on_signal)
        self.guard.take()
        self._previous_wakeup = signal.set_wakeup_fd(supervisor.wakeup_w, warn_on_full_buffer=False)
        self.installed = True
        self._previous_unraisable = sys.unraisablehook
        sys.unraisablehook = self._on_unraisable
        fork_hooks.watch(id(self), self._forget_in_child, self.redeliver, supervisor.fds)
        supervisor.start()
        return supervisor

    def restore(self) -> None:
        """Stop the supervisor and put back what was there before the run."""
        if not self.installed:
            return
        assert self.supervisor is not None
        fork_hooks.unwatch(id(self), self.supervisor.fds)
        self.supervisor.stop()
        if sys.unraisablehook == self._on_unraisable:
            sys.unraisablehook = self._previous_unraisable
        with self._wake_lock:  # no wake-up signal is sent once the handler may be gone
            self.installed = False
        signal.set_wakeup_fd(self._previous_wakeup)
        self.guard.give_back()
        install_handler(
            WAKE_SIGNAL, self._previous_wake if self._previous_wake is not None else signal.SIG_DFL
        )

    def _forget_in_child(self) -> None:
        """In a forked child (see :mod:`jobframe._run.forks`): this run is the parent's. No locks,
        no logging, only the real ``signal`` functions: another thread may have held anything."""
        self.installed = False
        supervisor, self.supervisor = self.supervisor, None
        if sys.unraisablehook == self._on_unraisable:
            sys.unraisablehook = self._previous_unraisable
        for sig, handler in self.guard.for_child().items():
            install_handler(sig, handler)
        install_handler(
            WAKE_SIGNAL, self._previous_wake if self._previous_wake is not None else signal.SIG_DFL
        )
        if supervisor is not None:
            supervisor.close_fds()  # the child's copies; the wakeup fd was reset first

    # -- reaching the main thread ----------------------------------------------------------------

    def wake_main(self, name: TimerName) -> None:
        """Queue timer action ``name`` and wake the main thread to run it at its next instruction."""
        with self._wake_lock:
            if not self.installed or self._main_ident is None:
                return
            self._due.append(name)
            signal.pthread_kill(self._main_ident, WAKE_SIGNAL)

    def due(self) -> Iterator[TimerName]:
        """Main thread, woken: the queued timer actions, each taken off as it is run (one that
        raises leaves the rest queued)."""
        while self._due:
            yield self._due.popleft()

    def _on_unraisable(self, info: Any) -> None:
        """The cancellation raised where the interpreter swallows exceptions — a destructor, an
        at-fork hook (``os.fork()`` runs them), a weakref callback — is raised again, not lost."""
        if isinstance(info.exc_value, JobInterrupted) and self.installed:
            self.redeliver(info.exc_value)
        else:
            self._previous_unraisable(info)

    def redeliver(self, exc: BaseException) -> None:
        """Raise ``exc`` (swallowed where it was raised) again in the main thread, by the
        supervisor's wake-up a moment later (out of the swallowing code), while the job still runs.
        A cancellation raised here too — this also runs where exceptions are swallowed — is kept."""
        while isinstance(exc, JobInterrupted) and self.supervisor is not None:
            try:
                self._swallowed = exc
                self.supervisor.after(Timer.REDELIVER, REDELIVER_AFTER_S)
                return
            except JobInterrupted as again:
                exc = again

    def take_swallowed(self) -> BaseException | None:
        """The cancellation to raise again (:attr:`Timer.REDELIVER`), once."""
        swallowed, self._swallowed = self._swallowed, None
        return swallowed
