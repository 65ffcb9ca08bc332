"""Make sure nothing a library left behind keeps the process alive after the job.

After teardown, non-daemon threads and child processes that are still alive are reported
(``process.lingering``: thread name, target, top of its stack; child pid and command line), given
``--exit-grace`` seconds to finish, and then the process exits anyway with ``os._exit`` — the
interpreter's own shutdown would join those threads and wait as long as they like. Children still
alive then are terminated, so none is orphaned.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from jobframe.logs import get_logger

__all__ = ["Lingering", "child_pids", "find_lingering", "report", "terminate_children", "wait_for_lingering"]

_log = get_logger("jobframe.exit_guard")


@dataclass(frozen=True)
class Lingering:
    threads: list[threading.Thread]
    children: list[int]

    def __bool__(self) -> bool:
        return bool(self.threads or self.children)


def _reap_zombies() -> None:
    """Collect exited children (as PID 1 we also inherit orphans) so they do not count as alive."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def child_pids() -> list[int]:
    """Live direct children of this process, read from ``/proc`` (Linux; empty elsewhere)."""
    _reap_zombies()
    pids: set[int] = set()
    for children in Path("/proc/self/task").glob("*/children"):
        with contextlib.suppress(OSError):
            pids.update(int(p) for p in children.read_text().split())
    return sorted(pids)


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def _target(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None) or getattr(thread, "function", None)
    if target is None:
        return f"{type(thread).__module__}.{type(thread).__qualname__}.run"
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def _stack(thread: threading.Thread, limit: int = 4) -> list[str]:
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return []
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in traceback.extract_stack(frame)[-limit:]]


def find_lingering() -> Lingering:
    """Alive non-daemon threads other than the main one, and live child processes."""
    main = threading.main_thread()
    threads = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
    return Lingering(threads=threads, children=child_pids())


def report(lingering: Lingering) -> None:
    _log.warning(
        "process.lingering",
        threads=[{"name": t.name, "target": _target(t), "stack": _stack(t)} for t in lingering.threads],
        children=[{"pid": pid, "cmdline": _cmdline(pid)} for pid in lingering.children],
    )


def _wait_child(pid: int, timeout: float) -> None:
    """Wait for a child to exit without polling: a pidfd becomes readable when it does."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return
    try:
        select.select([fd], [], [], max(timeout, 0))
    finally:
        os.close(fd)


def wait_for_lingering(lingering: Lingering, grace: float) -> Lingering:
    """Give lingering threads and children up to ``grace`` seconds in total; return what is left."""
    deadline = time.monotonic() + grace
    for thread in lingering.threads:
        thread.join(max(deadline - time.monotonic(), 0))
    for pid in lingering.children:
        _wait_child(pid, deadline - time.monotonic())
    return find_lingering()


def terminate_children(pids: list[int], grace: float = 0.5) -> None:
    """SIGTERM, then SIGKILL after ``grace``: no child outlives the job as an orphan."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for pid in pids:
        _wait_child(pid, deadline - time.monotonic())
    for pid in child_pids():
        if pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    _reap_zombies()
