"""A kernel timer behind the supervisor's clock, for when the supervisor cannot run at all.

The supervisor is a Python thread: it needs the GIL to act on a due timer. C code that holds the
GIL and never gives it up — a regular expression that backtracks for ever, and its like — starves
it, so the deadline passed unnoticed and only the platform's SIGKILL ended the job. Such code
still checks for signals (``re`` does, every few thousand steps). So a POSIX timer
(``timer_create``, ``CLOCK_MONOTONIC``, the same clock as :func:`time.monotonic`) sends the
supervisor's wake-up signal to the main thread a moment after each due time: it runs
jobframe's handler for it, whose Python code lets the GIL go, the supervisor acts and wakes the
main thread again, and the signal check in the C code raises the cancellation. The timer repeats
until the supervisor has run and re-armed it. When the supervisor is on time, the signal never
comes, and when it is only late, finds nothing to do. Linux only (glibc, musl); elsewhere, or
when the timer cannot be made, there is no backstop and nothing else changes.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any

__all__ = ["SLACK_S", "Backstop"]

SLACK_S = 0.05
"""How long after a due time the kernel timer fires — the supervisor, when it can run, is first —
and then again every so long until the supervisor re-arms it: one wake-up may end before the
supervisor asked for the GIL, and the C code takes it back."""

_CLOCK_MONOTONIC = 1
_SIGEV_THREAD_ID = 4
_TIMER_ABSTIME = 1


class Backstop:
    """One POSIX timer that sends ``signum`` to thread ``thread`` (a native id, like
    :func:`threading.get_native_id`'s) at the time last :meth:`arm`-ed."""

    def __init__(self, signum: int, thread: int | None) -> None:
        self._signum, self._thread = signum, thread
        self._lock = threading.Lock()
        self._api: Any = None
        self._timer: Any = None
        self._armed: float | None = None
        self._closed = sys.platform != "linux" or thread is None

    def arm(self, when: float | None) -> None:
        """Fire at monotonic time ``when`` + :data:`SLACK_S` (``None``: never); any thread."""
        with self._lock:
            if when == self._armed or self._closed:
                return
            if self._timer is None and not self._create():
                return
            self._armed = when
            ctypes, libc = self._api
            at = 0.0 if when is None else when + SLACK_S  # zero disarms
            every = 0 if when is None else int(SLACK_S * 1e9)
            spec = (ctypes.c_long * 4)(0, every, int(at), int(at % 1 * 1e9))  # it_interval, it_value
            if libc.timer_settime(self._timer, _TIMER_ABSTIME, spec, None) != 0:
                self._close()

    def close(self) -> None:
        """Delete the timer, for good (a forked child has none: POSIX timers are not inherited)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        self._closed = True
        timer, self._timer = self._timer, None
        if timer is not None:
            with contextlib.suppress(Exception):
                self._api[1].timer_delete(timer)

    def _create(self) -> bool:
        try:
            import ctypes  # noqa: PLC0415 - only for a run with a timer that matters

            # PyDLL: the calls keep the GIL; a CDLL call lets it go, and C code holding it in the
            # main thread would take it back and starve this thread half-way through its work
            libc = ctypes.PyDLL(None, use_errno=True)
            if not hasattr(libc, "timer_create"):  # glibc before 2.34: librt
                libc = ctypes.PyDLL("librt.so.1", use_errno=True)
            # struct sigevent (64 bytes): sigval (a pointer's size), signo, notify, then the tid
            at = ctypes.sizeof(ctypes.c_void_p) // ctypes.sizeof(ctypes.c_int)  # 2; 1 on 32-bit
            event = (ctypes.c_int * 16)()
            event[at], event[at + 1], event[at + 2] = self._signum, _SIGEV_THREAD_ID, self._thread or 0
            timer = ctypes.c_void_p()
            if libc.timer_create(_CLOCK_MONOTONIC, event, ctypes.byref(timer)) != 0:
                raise OSError(ctypes.get_errno(), "timer_create")
        except (ImportError, OSError, AttributeError):
            self._closed = True
            return False
        self._api, self._timer = (ctypes, libc), timer
        return True
