"""The interpreter's exit hooks, run before jobframe ends the process — bounded, and named when not done.

jobframe ends the process with ``os._exit`` so that nothing can keep a finished job alive; that
alone would skip every exit hook a library registered: OpenTelemetry's provider shutdown (the last
spans), sentry's flush, kafka-python's close, ``logging.shutdown``, multiprocessing's cleanup. So
they are run here, the way the interpreter would, each stage in a daemon thread waited for at most
until the stage's deadline:

1. :func:`run_thread_hooks` — the ``threading`` exit hooks (``concurrent.futures`` registers its
   ``_python_exit`` there: an idle ``ThreadPoolExecutor`` nobody shut down ends at once instead of
   costing the whole ``--exit-grace``);
2. :func:`run_atexit_hooks` — ``atexit``'s hooks (``atexit._run_exitfuncs``), then the helper
   processes multiprocessing started (its resource tracker and fork server; loky's resource
   tracker, joblib's too), which would otherwise end only when this process does — they are told
   to stop the way they expect (their pipe closed).

A hook that raises is logged ``exit.hook_failed`` (by name, with the error); one still running at
the deadline is abandoned and logged ``exit.hook_timeout`` with its name and the real wait — never
dropped silently. The process ends anyway.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import functools
import logging
import sys
import threading
import time
from collections.abc import Callable, Collection
from types import CodeType, FrameType
from typing import Any, TextIO

from jobframe.logs import get_logger

__all__ = [
    "HOOKS_MIN_S",
    "ended_by_hooks",
    "joined_at_exit",
    "multiprocessing_names",
    "report_failure",
    "run_atexit_hooks",
    "run_thread_hooks",
]

_log = get_logger("jobframe.exit_guard")

HOOKS_MIN_S = 0.5
"""The ``atexit`` hooks get at least this long, even when lingering threads used up ``--exit-grace``."""


def _name(func: Any) -> str:
    module = getattr(func, "__module__", None) or "?"
    return f"{module}.{getattr(func, '__qualname__', None) or repr(func)}"


def _frame_name(frame: FrameType) -> str:
    return f"{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_qualname}"


class _Stage:
    """One stage's hooks, run in a daemon thread; knows which hook is running."""

    def __init__(self, stage: str, body: Callable[[_Stage], None]) -> None:
        self.stage, self._body = stage, body
        self.current: str | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._run,),
            name=f"jobframe-{stage}-hooks",
            daemon=True,
        )

    def _run(self) -> None:
        try:
            self._body(self)
        finally:
            self.done.set()

    def call(self, hook: Callable[[], Any], name: str | None = None) -> None:
        self.current = name or _name(hook)
        try:
            hook()
        except Exception as exc:  # noqa: BLE001 - named, and the next hook still runs
            _failed(self.stage, self.current, exc)
        finally:
            self.current = None

    def wait(self, deadline: float) -> bool:
        started = time.monotonic()
        self.thread.start()
        if self.done.wait(max(deadline - started, 0.0)):
            return True
        _log.error(
            "exit.hook_timeout",
            stage=self.stage,
            hook=self.current or self._running_hook() or "unknown (native code)",
            waited_s=round(time.monotonic() - started, 3),
            action="abandoned; later hooks of this stage did not run",
        )
        return False

    def _running_hook(self) -> str | None:
        """The hook ``atexit`` (C code) is inside: the frame it called, found on the thread's stack."""
        frame = sys._current_frames().get(self.thread.ident or -1)
        runner: CodeType = _run_exitfuncs.__code__
        inner: FrameType | None = None
        while frame is not None:
            if frame.f_back is not None and frame.f_back.f_code is runner:
                if frame.f_code is _call_scrubbed.__code__ and inner is not None:
                    return _frame_name(inner)  # the error reporter's hook, not its wrapper
                return _frame_name(frame)
            frame, inner = frame.f_back, frame
        return None


def _failed(stage: str, hook: str, exc: BaseException) -> None:
    _log.error("exit.hook_failed", stage=stage, hook=hook, error_type=type(exc).__name__, exc_info=exc)


def run_thread_hooks(deadline: float) -> bool:
    """``threading``'s exit hooks, newest first (as ``threading._shutdown`` runs them); ``True``
    when they all returned by ``deadline``."""
    hooks = list(getattr(threading, "_threading_atexits", []))
    if not hooks:
        return True

    def body(stage: _Stage) -> None:
        for hook in reversed(hooks):
            stage.call(hook)

    return _Stage("threading", body).wait(deadline)


def _run_exitfuncs(stage: _Stage) -> None:
    """Runs ``atexit``'s hooks; its frame is how :meth:`_Stage._running_hook` finds the hook."""
    previous = sys.unraisablehook

    def unraisable(info: Any) -> None:
        if "atexit" in (info.err_msg or ""):
            _failed(stage.stage, _name(info.object), info.exc_value)
        else:
            previous(info)

    sys.unraisablehook = unraisable
    # logging.shutdown is left to the end: jobframe flushes every handler itself, on the main
    # thread, with the last line (logs.flush_logging). Run here, in a thread that may be abandoned,
    # it could keep a handler's lock held forever (waiting for logging's module lock while a pool
    # thread forks), and the last line would wait for that lock.
    atexit.unregister(logging.shutdown)
    try:
        atexit._run_exitfuncs()
    finally:
        sys.unraisablehook = previous
    _stop_multiprocessing_helpers(stage)


_HELPERS = (
    ("multiprocessing.resource_tracker", "_resource_tracker"),
    ("multiprocessing.forkserver", "_forkserver"),
    # loky's (joblib's default backend) resource tracker, a subclass of multiprocessing's with the
    # same ``_stop``: it ignores SIGTERM and ends when its pipe is closed, as plain Python's exit does
    ("loky.backend.resource_tracker", "_resource_tracker"),
    ("joblib.externals.loky.backend.resource_tracker", "_resource_tracker"),  # joblib's own copy
)


def _helpers() -> list[Any]:
    """multiprocessing's resource tracker and fork server, and loky's resource tracker, if this
    process started them."""
    found = []
    for module, attr in _HELPERS:
        helper = getattr(sys.modules.get(module), attr, None)
        if helper is not None and hasattr(helper, "_stop"):
            found.append(helper)
    return found


def ended_by_hooks() -> set[int]:
    """Processes :func:`run_atexit_hooks` ends, so they are not lingering: multiprocessing's helper
    processes and its daemonic children (a pool's workers), which its own exit hook terminates."""
    pids = set()
    for helper in _helpers():
        pid = getattr(helper, "_pid", None) or getattr(helper, "_forkserver_pid", None)
        if isinstance(pid, int):
            pids.add(pid)
    process = sys.modules.get("multiprocessing.process")
    if process is not None:
        pids.update(child.pid for child in process.active_children() if child.daemon and child.pid)
    return pids


def _multiprocessing_children() -> list[Any]:
    """The ``Process`` objects multiprocessing tracks in this process (and its exit hook joins)."""
    process = sys.modules.get("multiprocessing.process")
    return list(getattr(process, "_children", ()))


def multiprocessing_names() -> dict[int, str]:
    """Each child multiprocessing started, by pid: its ``Process`` name, which a report names it by
    (a forked child's command line is its parent's)."""
    return {child.pid: child.name for child in _multiprocessing_children() if child.pid}


def joined_at_exit(pids: Collection[int]) -> set[int]:
    """Those of ``pids`` multiprocessing's exit hook would join — its non-daemon children — with no
    timeout: one still running would hang the hook until the ``atexit`` stage is abandoned (named a
    second time, as ``exit.hook_timeout``, and the hooks after it never run), and a spawned one
    keeps the resource tracker's pipe open, so the tracker never stops either."""
    return {child.pid for child in _multiprocessing_children() if child.pid in pids and not child.daemon}


def _stop_multiprocessing_helpers(stage: _Stage) -> None:
    for helper in _helpers():
        # closes its pipe: it cleans up (leaked semaphores...) and exits
        stage.call(functools.partial(_stop_helper, helper), name=_name(helper._stop))


def _stop_helper(helper: Any) -> None:
    """``helper._stop()``, where what is already gone is no failure (the interpreter never calls
    ``_stop``, so it never meets either):

    - the helper process itself (``ChildProcessError`` from its ``waitpid``): a SIGTERM to the whole
      group ended the fork server (it does not ignore SIGTERM), and the exit guard reaped it while
      it looked for lingering children — it stopped;
    - the fork server's socket: it lives in multiprocessing's temp dir, which that module's own
      ``atexit`` hook (run just before) removed. By then the server was told to stop and waited
      for (``_forkserver_pid`` cleared); only the unlink found nothing.
    """
    try:
        helper._stop()
    except ChildProcessError:
        pass
    except FileNotFoundError:
        if getattr(helper, "_forkserver_pid", None) is not None:
            raise


class _Scrubbing:
    """A text stream that writes what it is given to ``stream`` with secrets masked, a line at a
    time (a secret split over two ``write`` calls of one line is still masked)."""

    def __init__(self, stream: TextIO, scrub: Callable[[str], str]) -> None:
        self._stream, self._scrub, self._pending = stream, scrub, ""

    def write(self, text: str) -> int:
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        if lines:
            self._stream.write(self._scrub("\n".join(lines) + "\n"))
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write(self._scrub(self._pending))
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, isatty, fileno…: the real stream's
        return getattr(self._stream, name)


def _call_scrubbed(hook: Callable[..., Any], scrub: Callable[[str], str], *args: Any) -> None:
    """``hook(*args)`` with whatever it prints on stderr or stdout scrubbed — the hook Python's own
    one (sentry-sdk's chains to it) prints the failure's message, which may hold a secret."""
    err, out = _Scrubbing(sys.stderr, scrub), _Scrubbing(sys.stdout, scrub)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            hook(*args)
    finally:
        err.flush()
        out.flush()


def report_failure(failure: BaseException | None, scrub: Callable[[str], str] | None = None) -> None:
    """Hands the job's failure to the ``sys.excepthook`` an error reporter installed (sentry-sdk,
    Rollbar, Bugsnag), first among the ``atexit`` hooks — as the interpreter hands it an uncaught
    exception before running them, so the reporter's own flush sends it. jobframe catches the
    job's exception, which never reached the hook: a failing job was invisible to its reporter.
    Python's own hook is not called: it would print what ``job.finished`` logged. Bounded and
    named like any exit hook.

    What the hook prints (sentry-sdk's calls the hook it replaced, Python's own, which prints the
    traceback and the message) passes ``scrub`` — the run's redaction — so a secret in the
    failure's message is masked there as in ``job.finished``. The hook itself gets the real
    exception: what a reporter sends to its service is the user's choice, as in plain Python."""
    hook = sys.excepthook
    if failure is None or hook is sys.__excepthook__ or not callable(hook):  # None: nobody to tell
        return
    args = (type(failure), failure, failure.__traceback__)
    if scrub is None:
        atexit.register(hook, *args)  # LIFO: runs first
        return
    # named as the hook itself when it fails (exit.hook_failed) or hangs (exit.hook_timeout)
    call = functools.update_wrapper(functools.partial(_call_scrubbed, hook, scrub, *args), hook)
    atexit.register(call)  # LIFO: runs first


def run_atexit_hooks(deadline: float) -> bool:
    """``atexit``'s hooks (then multiprocessing's helper processes), bounded by ``deadline``."""
    if atexit._ncallbacks() == 0 and not _helpers():
        return True
    return _Stage("atexit", _run_exitfuncs).wait(deadline)
