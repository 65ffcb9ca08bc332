"""jobframe owns SIGTERM and SIGINT while a run lasts, whatever job code does about them.

Job code (or a library) calling ``signal.signal`` for them does not replace jobframe's handler:
its handler is kept to be called first when the signal arrives (``signal.handler_replaced`` says
so, naming it and where it was installed), then jobframe's decides. Code that reaches the original
function another way — a reference taken before the run — and really replaces the handler is
still found: the supervisor checks the handlers while the job runs, and sees every delivery on the
interpreter's signal wakeup fd, so a signal that reached the job's handler is not lost either.

``faulthandler.register`` for them is the same wish at the C level — its handler takes the place of
the interpreter's, dumps the stacks and, without ``chain=True``, calls nothing else, so no Python
handler and no wakeup fd ever hears the signal. Through the module attribute it is registered
chained (the stacks, then jobframe's handler); a handler put in the interpreter's place another way
(a reference taken before the run, C code) is found by the supervisor's check of what the kernel
calls (``sigaction``) and the interpreter's put back.
"""

from __future__ import annotations

import faulthandler
import functools
import platform
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from jobframe._run.forks import DEFAULT_HANDLERS, is_jobframes
from jobframe.logs import get_logger
from jobframe.stacks import stack_of

__all__ = ["WATCHED", "SignalGuard", "c_handler", "fault_register", "install_handler"]

_log = get_logger("jobframe.interrupts")

WATCHED = (signal.SIGTERM, signal.SIGINT)
install_handler = signal.signal
"""The real ``signal.signal``; while a run lasts the module attribute is the guarded one."""

fault_register = faulthandler.register
"""The real ``faulthandler.register``; while a run lasts the module attribute is the guarded one."""

Handler = Callable[[int, FrameType | None], Any]

_OUTSIDE_PYTHON = "a handler outside Python (faulthandler, C code)"


def _name(handler: Any) -> str:
    if handler in (signal.SIG_DFL, signal.SIG_IGN) or handler is None:
        return str(getattr(handler, "name", handler))
    module = getattr(handler, "__module__", None) or "?"
    return f"{module}.{getattr(handler, '__qualname__', repr(handler))}"


class SignalGuard:
    """Holds SIGTERM and SIGINT for ``handler`` (jobframe's) from :meth:`take` to :meth:`give_back`."""

    def __init__(
        self,
        handler: Handler,
        *,
        ours: Callable[[BaseException], bool] = lambda _: False,
        reference: int | None = None,
    ) -> None:
        self._handler = handler
        self._reference = reference
        """A signal whose handler is the interpreter's while the run lasts (the supervisor's
        wake-up): what the kernel calls for it is what it must call for SIGTERM and SIGINT."""
        self._ours = ours
        """Whether an exception came from ``handler`` itself, run nested inside a job's handler."""
        self._previous: dict[int, Any] = {}
        self._chained: dict[int, Handler] = {}
        self._reported: set[tuple[int, str]] = set()
        self._fault_chained: dict[int, int | None] = {}
        """What the kernel calls for a signal faulthandler was registered for, chained, by the guard."""
        self._held = False

    def take(self) -> None:
        """Install jobframe's handler for both signals and guard ``signal.signal`` (main thread)."""
        for sig in WATCHED:
            self._previous[sig] = install_handler(sig, self._handler)
        signal.signal = self._guarded
        faulthandler.register = self._guarded_fault_register
        self._held = True

    def give_back(self) -> None:
        """Put back ``signal.signal`` and the handlers that were there before the run."""
        if not self._held:
            return
        self._held = False
        if signal.signal == self._guarded:
            signal.signal = install_handler
        if faulthandler.register == self._guarded_fault_register:
            faulthandler.register = fault_register
        for sig, handler in self._previous.items():
            install_handler(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def for_child(self) -> dict[int, Any]:
        """The handlers a forked child gets instead of jobframe's: the one job code asked for (it
        would have had it without jobframe), else the one from before the run unless it was
        jobframe's, else Python's default. The guard is dropped; no lock, no logging."""
        self._held = False
        wanted: dict[int, Any] = {}
        for sig in WATCHED:
            before = self._previous.get(sig)
            if sig in self._chained:
                wanted[sig] = self._chained[sig]
            elif before is not None and not is_jobframes(before):
                wanted[sig] = before
            else:
                wanted[sig] = DEFAULT_HANDLERS[sig]
        return wanted

    def call_chained(self, signum: int, frame: FrameType | None) -> None:
        """A handler job code asked for runs first, as it expected to; what it raises is noted
        (a ``SystemExit`` from it does not decide the outcome: jobframe does). What jobframe's own
        handler raised, run for a signal that arrived while the job's handler ran (a second
        signal's cancellation, a forced exit), goes through: it is not the job's handler's."""
        chained = self._chained.get(signum)
        if chained is None:
            return
        try:
            chained(signum, frame)
        except BaseException as exc:  # see the docstring
            if self._ours(exc):
                raise
            _log.warning(
                "signal.chained_handler_raised", handler=_name(chained), error_type=type(exc).__name__
            )

    def _guarded(self, signalnum: Any, handler: Any) -> Any:
        """``signal.signal`` while the run lasts: SIGTERM/SIGINT handlers are chained, not installed."""
        if (
            not (self._held and signalnum in WATCHED)
            or threading.current_thread() is not threading.main_thread()
        ):
            return install_handler(signalnum, handler)
        previous = self._chained.get(signalnum, self._previous.get(signalnum))
        if callable(handler) and handler is not signal.default_int_handler:
            self._chained[signalnum] = handler
        else:
            self._chained.pop(signalnum, None)  # SIG_IGN / SIG_DFL: jobframe's handler still answers
        self._report(signalnum, _name(handler), stack_of(sys._getframe(1), 3), "stays")
        return previous

    def _guarded_fault_register(
        self, signum: int, file: Any = None, all_threads: bool = True, chain: bool = False
    ) -> None:
        """``faulthandler.register`` while the run lasts: for SIGTERM/SIGINT always chained, so the
        stacks are dumped as the job asked and jobframe's handler still answers the signal."""
        if not (self._held and signum in WATCHED):
            fault_register(signum, file, all_threads, chain)
            return
        fault_register(signum, file, all_threads, True)
        self._fault_chained[signum] = c_handler(signum)
        self._report(
            signum,
            "faulthandler.register",
            stack_of(sys._getframe(1), 3),
            "stays (after faulthandler's stack dump)",
        )

    def put_back(self) -> None:
        """Main thread: reinstall jobframe's handler wherever something replaced it, keeping the
        replacement to call first."""
        for sig in WATCHED:
            current = signal.getsignal(sig)
            if current is not self._handler:
                if callable(current) and current is not signal.default_int_handler:
                    self._chained[sig] = current
                install_handler(sig, self._handler)
            elif self._outside_python(sig):
                install_handler(sig, self._handler)  # the interpreter's C handler again
                self._report(sig, _OUTSIDE_PYTHON, [], "restored")

    def replaced(self) -> bool:
        """Any thread: whether something replaced jobframe's handler (warned about once each)."""
        found = False
        for sig in WATCHED:
            current = signal.getsignal(sig)
            if current is not self._handler:
                found = True
                self._report(sig, _name(current), [], "restored")
            elif self._outside_python(sig):
                found = True  # reported by put_back, once the interpreter's handler is back
        return found

    def _outside_python(self, sig: int) -> bool:
        """Whether the kernel calls something else than the interpreter's handler for ``sig``."""
        if self._reference is None:
            return False
        ours, current = c_handler(self._reference), c_handler(sig)
        expected = (ours, self._fault_chained.get(sig))
        return ours is not None and current is not None and current not in expected

    def _report(self, sig: int, name: str, where: list[str], done: str) -> None:
        key = (int(sig), name)
        if key in self._reported:
            return
        self._reported.add(key)
        _log.warning(
            "signal.handler_replaced",
            signal=signal.Signals(sig).name,
            handler=key[1],
            where=where,
            action=f"jobframe's handler {done}; the job's is called first when the signal arrives",
        )


def c_handler(signum: int) -> int | None:
    """The address of the function the kernel calls for ``signum`` (libc's ``sigaction``), or
    ``None`` where it cannot be read. Every signal the interpreter handles has the same one."""
    sigaction = _sigaction()
    if sigaction is None:
        return None
    import ctypes  # noqa: PLC0415 - only when a run lasts long enough to be checked

    found = ctypes.create_string_buffer(_SIGACTION_BYTES)
    if sigaction(signum, None, found) != 0:
        return None
    return ctypes.c_void_p.from_buffer(found).value or 0


_SIGACTION_BYTES = 512
"""More than any libc's ``struct sigaction``; its handler is the first field (not on MIPS)."""


@functools.cache
def _sigaction() -> Any:
    if sys.platform != "linux" or platform.machine().startswith("mips"):
        return None
    try:
        import ctypes  # noqa: PLC0415 - see c_handler

        function = ctypes.PyDLL(None, use_errno=True).sigaction  # keeps the GIL: see _run/backstop.py
    except (ImportError, OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    function.restype = ctypes.c_int
    return function
