"""A forked child is not the run: it keeps none of jobframe's signal machinery and runs no teardown.

``os.fork()`` copies the whole process — jobframe's SIGTERM/SIGINT handlers, the timer signal's
handler, the guarded ``signal.signal`` and the interpreter's signal wakeup fd, which is a pipe
*shared* with the parent. Left alone, a ``multiprocessing`` worker that its pool SIGTERMs runs
jobframe's handler (a ``JobInterrupted`` traceback in the worker) and writes the signal's byte into
the parent's pipe, where the supervisor takes it for a SIGTERM to the run: a job that succeeded
would end 143.

So an ``os.register_at_fork`` hook gives the child what plain Python would have had:

- before the fork, the forking thread blocks SIGTERM, SIGINT and the timer signal, so no signal
  reaches the child before its hook ran (it stays pending and is delivered right after, to the
  restored handler), and none interrupts the other at-fork hooks (``logging``'s, ...), whose
  exceptions the interpreter would swallow;
- in the child, every run forgets its supervisor's pipes (the wakeup fd is reset, the child's copies
  closed) and marks itself not installed; ``signal.signal`` is the real one again; each of
  jobframe's handlers is replaced — by the handler job code asked for through jobframe (it would have
  had it without jobframe), else the one from before the run if it is not jobframe's, else Python's
  default (``SIG_DFL`` for SIGTERM, ``default_int_handler`` for SIGINT);
- then the signals are unblocked, in parent and child. In the parent that runs the handler of a
  signal that came meanwhile; what it raises (the job's cancellation) would be swallowed by the
  interpreter, so the run raises it again once the fork is over.

Everything in the child goes through the real ``signal`` functions and ``os``: no lock another
thread of the parent may have held at the fork, no logging. A child that returns into jobframe (a
bare ``os.fork()`` whose child falls off the end of the job) is ended at once with ``os._exit``, by
:func:`leave_if_forked`: the run, its outcome and its teardown are the parent's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Collection
from typing import Any

from jobframe._run.supervisor import WAKE_SIGNAL

__all__ = ["DEFAULT_HANDLERS", "ForkHooks", "hooks", "is_jobframes", "leave_if_forked"]

DEFAULT_HANDLERS: dict[int, Any] = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
"""What a fresh interpreter has for the signals jobframe takes over."""

_BLOCKED = frozenset({int(signal.SIGTERM), int(signal.SIGINT), WAKE_SIGNAL})
"""SIGTERM, SIGINT and the run's timer signal (``supervisor.WAKE_SIGNAL``), blocked around a fork."""
_real_signal = signal.signal  # taken at import, before any run guards the module attribute


def is_jobframes(handler: Any) -> bool:
    """Whether ``handler`` is one of jobframe's own (a function or bound method defined in it)."""
    module = getattr(handler, "__module__", None) or ""
    return module == "jobframe" or module.startswith("jobframe.")


class ForkHooks:
    """The process's at-fork hooks: registered once, told about each run that installs handlers.

    ``forget`` callbacks run in the child, in the order given, before the generic reset.
    """

    def __init__(self) -> None:
        self._forgets: dict[int, Callable[[], None]] = {}
        self._redelivers: dict[int, Callable[[BaseException], None]] = {}
        self._masks: dict[int, set[int]] = {}
        self._registered = False
        self._fds: set[int] = set()

    def watch(
        self,
        key: int,
        forget: Callable[[], None],
        redeliver: Callable[[BaseException], None],
        fds: tuple[int, ...] = (),
    ) -> None:
        """Call ``forget`` in a forked child (until :meth:`unwatch`); ``fds`` are jobframe's own.

        ``redeliver`` gets what a signal handler raised inside these hooks, where the interpreter
        would swallow it (it prints exceptions from at-fork hooks and goes on): the run raises it
        again in the main thread once the fork is over.
        """
        if not self._registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=self._before,
                after_in_parent=self._after_in_parent,
                after_in_child=self._after_in_child,
            )
            self._registered = True
        self._forgets[key] = forget
        self._redelivers[key] = redeliver
        self._fds.update(fds)

    def unwatch(self, key: int, fds: tuple[int, ...] = ()) -> None:
        self._forgets.pop(key, None)
        self._redelivers.pop(key, None)
        self._fds.difference_update(fds)

    # -- the hooks -------------------------------------------------------------------------------

    def _mask(self, how: int, signals: Collection[int]) -> set[int]:
        """``pthread_sigmask`` — which runs pending handlers: what one raises is redelivered."""
        while True:
            try:
                return {int(s) for s in signal.pthread_sigmask(how, signals)}
            except (OSError, ValueError):
                return set()
            except BaseException as exc:  # noqa: BLE001 - a handler's JobInterrupted, see watch()
                for redeliver in list(self._redelivers.values()):
                    with contextlib.suppress(BaseException):
                        redeliver(exc)
                if how != signal.SIG_BLOCK:
                    return set()  # the change was made before the handler ran

    def _before(self) -> None:
        was = self._mask(signal.SIG_BLOCK, ())
        newly = set(_BLOCKED - was)
        self._masks[threading.get_ident()] = newly
        self._mask(signal.SIG_BLOCK, newly)

    def _unblock(self) -> None:
        newly = self._masks.pop(threading.get_ident(), set())
        if newly:
            self._mask(signal.SIG_UNBLOCK, newly)

    def _after_in_parent(self) -> None:
        self._unblock()

    def _after_in_child(self) -> None:
        try:
            with contextlib.suppress(OSError, ValueError):
                previous = signal.set_wakeup_fd(-1)
                if previous != -1 and previous not in self._fds:
                    signal.set_wakeup_fd(previous)  # not jobframe's (the job's own event loop): keep it
            self._fds.clear()
            forgets, self._forgets = list(self._forgets.values()), {}
            for forget in forgets:
                with contextlib.suppress(Exception):
                    forget()
            signal.signal = _real_signal
            for sig, default in DEFAULT_HANDLERS.items():
                with contextlib.suppress(OSError, ValueError):
                    if is_jobframes(signal.getsignal(sig)):
                        _real_signal(sig, default)
        finally:
            self._unblock()


hooks = ForkHooks()
"""The one set of at-fork hooks (``os.register_at_fork`` cannot be undone, so there is one)."""


def leave_if_forked(owner_pid: int, error: BaseException | None) -> None:
    """In a forked child that came back into jobframe, end the child now: no ``job.finished``, no
    teardown (the resources are the parent's), no ``process.exit``."""
    if os.getpid() != owner_pid:
        os._exit(0 if error is None else 1)
