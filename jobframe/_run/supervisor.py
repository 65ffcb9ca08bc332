"""The run's clock and watchman: a daemon thread that keeps time for the run and sees every signal.

Timers do not use ``setitimer``/``SIGALRM``: a job or library calling ``signal.alarm`` (a common
way to time out a call) would silently disarm them. Instead this thread waits for the earliest
due time and then either acts itself (when the main thread may be stuck: abandoning a job that
ignores its cancellation) or wakes the main thread with :data:`WAKE_SIGNAL`, whose handler runs
at the main thread's next Python instruction — even inside ``time.sleep`` or a blocked event loop.

The same thread reads the interpreter's signal wakeup fd, which receives one byte per signal
delivered to *any* Python-level handler. That is how a SIGTERM that reached a handler some job code
installed over jobframe's is still noticed.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import select
import signal
import threading
import time
from collections.abc import Callable

from jobframe._run.backstop import Backstop
from jobframe._run.timers import CloseTimer, Timer

__all__ = ["WAKE_SIGNAL", "Supervisor", "TimerName"]

TimerName = Timer | CloseTimer
"""What a timer is keyed by: one of the run's timers, or the timer of one close."""

WAKE_SIGNAL: int = int(getattr(signal, "SIGRTMIN", signal.SIGUSR2)) + 2
"""The signal this thread sends the main thread to run a timer's action there (Linux: SIGRTMIN+2)."""


def _pipe() -> tuple[int, int]:
    read, write = os.pipe()
    for fd in (read, write):
        os.set_blocking(fd, False)
        os.set_inheritable(fd, False)
    return read, write


class Supervisor:
    """Timers (:mod:`jobframe._run.timers`), fired in this thread; and a watch on signal delivery.

    ``on_due(name)`` runs in the supervisor thread when a timer is due. ``on_signal(signum)`` runs
    (under :attr:`signals_lock`) in this thread for each byte read from the wakeup fd. Only this
    thread reads it: the main thread could be interrupted — by the very handler the byte is
    about — between reading a byte and accounting for it. It asks with :meth:`sync` instead.
    """

    def __init__(self, on_due: Callable[[TimerName], None], on_signal: Callable[[int], None]) -> None:
        self._on_due = on_due
        self._on_signal = on_signal
        self._timers: dict[TimerName, float] = {}
        self._lock = threading.RLock()
        """Reentrant: a signal handler in the main thread sets and cancels timers, and it may run
        while the main thread is inside :meth:`at` or :meth:`cancel` holding this very lock."""
        self.signals_lock = threading.Lock()
        self._control_r, self._control_w = _pipe()
        self.wakeup_r, self.wakeup_w = _pipe()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._synced = threading.Condition()
        self._requested = 0
        self._served = 0
        self._backstop: Backstop | None = None
        """Wakes the main thread when a due timer finds this thread starved of the GIL; only while
        the thread runs (its signal's handler is installed by then, and until :meth:`stop`)."""

    # -- lifetime ------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread in a copy of the caller's context (so its log lines carry job and run_id)."""
        context = contextvars.copy_context()
        self._backstop = Backstop(WAKE_SIGNAL, threading.main_thread().native_id)
        self._thread = threading.Thread(
            target=context.run, args=(self._loop,), name="jobframe-supervisor", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._timers.clear()
        if self._backstop is not None:
            self._backstop.close()  # before the run's handler for its signal goes
        with self._synced:
            self._synced.notify_all()
        self._poke()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            with contextlib.suppress(RuntimeError):  # never started: it sees _stopped first thing
                thread.join(1.0)
        if thread is None or not thread.is_alive():  # never close a descriptor it may still select on
            self.close_fds()

    @property
    def fds(self) -> tuple[int, ...]:
        """Its pipes' descriptors (the wakeup fd among them)."""
        return (self._control_r, self._control_w, self.wakeup_r, self.wakeup_w)

    def close_fds(self) -> None:
        """Close the pipes, without a lock: also what a forked child does with its copies."""
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)

    @property
    def is_current(self) -> bool:
        return self._thread is threading.current_thread()

    # -- timers --------------------------------------------------------------------------------

    def at(self, name: TimerName, when: float) -> None:
        """Fire ``name`` at monotonic time ``when`` (replacing an earlier timer of that name)."""
        with self._lock:
            if self._stopped:
                return
            self._timers[name] = when
        self._poke()

    def after(self, name: TimerName, seconds: float) -> None:
        self.at(name, time.monotonic() + max(seconds, 0.0))

    def cancel(self, *names: TimerName) -> None:
        with self._lock:
            for name in names:
                self._timers.pop(name, None)

    def _poke(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._control_w, b"\0")

    def _due(self) -> tuple[list[TimerName], float | None]:
        """Pop the timers that are due; return them and the seconds until the next one (and arm
        the backstop; the periodic handler check needs none)."""
        now = time.monotonic()
        with self._lock:
            due = sorted(
                ((when, name) for name, when in self._timers.items() if when <= now), key=lambda due: due[0]
            )
            for _, name in due:
                del self._timers[name]
            upcoming = min(self._timers.values(), default=None)
            # the backstop stays armed for a due timer the main thread acts on until this thread
            # has woken it (the next call), and is then armed for the next one that acts
            acting = [when for when, name in due if name.on_main_thread]
            acting += [when for name, when in self._timers.items() if name is not Timer.CHECK_HANDLERS]
            stopped = self._stopped
        if self._backstop is not None:
            self._backstop.arm(None if stopped else min(acting, default=None))
        wait = None if upcoming is None else max(upcoming - now, 0.0)
        return ([] if stopped else [name for _, name in due]), wait

    # -- signals -------------------------------------------------------------------------------

    def sync(self, timeout: float = 1.0) -> None:
        """Return once every signal delivered before this call has been handled (``on_signal``).

        For the main thread, before it decides an outcome or puts its handlers back.
        """
        thread = self._thread
        if thread is None or not thread.is_alive() or thread is threading.current_thread():
            self._drain()
            return
        with self._synced:
            self._requested += 1
            wanted = self._requested
        self._poke()
        with self._synced:
            self._synced.wait_for(lambda: self._served >= wanted or self._stopped, timeout)

    def _drain(self) -> None:
        with self.signals_lock:
            try:
                data = os.read(self.wakeup_r, 512)
            except (BlockingIOError, OSError):
                return
            for signum in data:
                self._on_signal(signum)

    # -- the thread ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            due, wait = self._due()
            if self._stopped:
                return
            for name in due:
                self._on_due(name)
            if due:
                continue
            try:
                ready, _, _ = select.select([self._control_r, self.wakeup_r], [], [], wait)
            except (OSError, ValueError):  # descriptors closed by stop()
                return
            if self._control_r in ready:
                with contextlib.suppress(OSError):
                    os.read(self._control_r, 4096)
            # After consuming the pokes: a request made since has poked again, so none is lost;
            # every signal delivered before a request seen here is in the pipe already.
            with self._synced:
                asked = self._requested
            self._drain()
            with self._synced:
                self._served = asked
                self._synced.notify_all()
