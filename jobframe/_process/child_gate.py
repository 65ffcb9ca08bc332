"""Once the process ends its descendants, none of its threads starts a new one.

Ending every descendant (:func:`~jobframe._process.descendants.end_descendants`) is a scan of
``/proc`` followed by signals; a thread of the job that starts a child after the last scan leaves
that child running when the process is gone. The standard library has such a thread: a
``multiprocessing`` pool's worker handler replaces every worker that dies — the ones its own exit
hook terminates and the ones jobframe ends. A pool whose finalizer never ran (a cancellation that
landed inside ``Pool()``, after its workers and worker handler started) keeps it running to the
very end, and its fresh workers outlived the process.

So, before the descendants are ended:

- :func:`stop_pool_handlers` tells every pool's worker handler to stop (the state its own
  ``terminate()`` sets first), so a dying worker is no longer replaced — for every start method;
- :meth:`ChildGate.close` shuts the gate: a thread that then calls ``os.fork()`` (an
  ``os.register_at_fork`` hook), ``fork_exec`` (``subprocess``, multiprocessing's ``spawn`` and its
  fork server) or ``os.posix_spawn`` waits there until ``os._exit`` ends it. The hooks and the
  launchers' wrappers are put in place when the CLI starts (:meth:`ChildGate.watch`), so ``close``
  also waits for a child being started at that moment: it exists, and the scan finds it. Only the
  thread that closed the gate may still start one.

A process started by C code that calls ``fork()`` itself (no Python hook runs) is not held back.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from typing import Any

__all__ = ["ChildGate", "gate", "stop_pool_handlers"]

_LAUNCHERS = (
    ("_posixsubprocess", "fork_exec"),  # multiprocessing's spawn and fork server
    ("subprocess", "_fork_exec"),  # subprocess's own reference to it, taken at import
    ("os", "posix_spawn"),
    ("os", "posix_spawnp"),
)
"""What starts a process without running the at-fork hooks, by module and attribute."""


def _wait_for_exit() -> None:
    """Block this thread until the process ends (``os._exit``); a signal handler's exception
    cannot get it past the gate."""
    while True:
        with contextlib.suppress(BaseException):
            threading.Event().wait()


class ChildGate:
    """Open until the exit ends the descendants; then no thread but the closer starts a child."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self._closer: int | None = None
        self._forking = 0
        self._registered = False

    @property
    def closed(self) -> bool:
        return self._closer is not None

    def watch(self) -> None:
        """Register the at-fork hooks and wrap the launchers, once (``os.register_at_fork`` cannot
        be undone); a launcher imported later (``subprocess``) is wrapped when it is loaded here."""
        if not self._registered and hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=self._before, after_in_parent=self._after_in_parent, after_in_child=self._reset
            )
            self._registered = True
        import subprocess  # noqa: F401, PLC0415 - loaded now, so its launcher is wrapped too

        for module, name in _LAUNCHERS:
            owner = sys.modules.get(module)
            launcher = getattr(owner, name, None)
            if launcher is not None and not getattr(launcher, "_jobframe_gate", False):
                setattr(owner, name, self._guarded(launcher))

    def close(self, timeout: float) -> None:
        """Shut the gate, then wait up to ``timeout`` for children being started right now."""
        with self._cond:
            self._closer = threading.get_ident()
            self._cond.wait_for(lambda: self._forking == 0, timeout=max(timeout, 0.0))

    def _guarded(self, launcher: Any) -> Any:
        @functools.wraps(launcher)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self._before()
            try:
                return launcher(*args, **kwargs)
            finally:
                self._after_in_parent()

        guarded._jobframe_gate = True  # type: ignore[attr-defined]
        return guarded

    # -- the at-fork hooks (the forking thread, holding the GIL) --------------------------------

    def _before(self) -> None:
        """Count a child being started — or, once the gate is shut, wait here for the exit."""
        with self._cond:
            if self._closer in (None, threading.get_ident()):
                self._forking += 1
                return
        _wait_for_exit()

    def _after_in_parent(self) -> None:
        with self._cond:
            self._forking = max(self._forking - 1, 0)
            self._cond.notify_all()

    def _reset(self) -> None:
        """In the child: a new process, with the gate open (its lock may have been held by
        another thread of the parent at the fork, so it gets a new one)."""
        self._cond = threading.Condition(threading.RLock())
        self._closer = None
        self._forking = 0


gate = ChildGate()
"""The process's one gate (its at-fork hooks cannot be unregistered)."""


def stop_pool_handlers() -> int:
    """Tell every ``multiprocessing`` pool's worker handler thread to stop replacing workers;
    returns how many were told. The handler checks this state whenever it wakes (a worker died, the
    pool changed) and then ends without starting another worker."""
    pool = sys.modules.get("multiprocessing.pool")
    if pool is None:
        return 0
    handle_workers = getattr(getattr(pool.Pool, "_handle_workers", None), "__func__", None)
    told = 0
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        if handle_workers is not None and getattr(target, "__func__", None) is handle_workers:
            thread._state = pool.TERMINATE  # type: ignore[attr-defined]
            told += 1
    return told
