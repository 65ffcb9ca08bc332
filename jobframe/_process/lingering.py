"""What is still alive after teardown: non-daemon threads and descendant processes.

Reported as ``process.lingering`` (thread name, target, stack; each descendant's pid, parent and
command line) and given ``--exit-grace`` seconds to finish; then the process ends anyway — the
interpreter's own shutdown would join those threads and wait as long as they like — and every
descendant still running is ended (:func:`~jobframe._process.descendants.end_descendants`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Collection, Mapping

from jobframe._process.descendants import Descendant, descendants, wait_exited
from jobframe._value import Value
from jobframe.logs import get_logger
from jobframe.stacks import describe_thread, is_running

__all__ = ["Lingering", "find_lingering", "report", "wait_for_lingering"]

_log = get_logger("jobframe.exit_guard")


class Lingering(Value):
    __slots__ = ("threads", "children")  # noqa: RUF023 - the constructor's order
    threads: list[threading.Thread]
    children: list[Descendant]

    def __init__(self, threads: list[threading.Thread], children: list[Descendant]) -> None:
        object.__setattr__(self, "threads", threads)
        object.__setattr__(self, "children", children)

    def __bool__(self) -> bool:
        return bool(self.threads or self.children)


def find_lingering(exclude_pids: Collection[int] = ()) -> Lingering:
    """Running non-daemon threads (but the main one and the caller) and live descendants (but
    ``exclude_pids``: helpers that end by themselves, see :mod:`jobframe._process.exit_hooks`)."""
    skip = {threading.main_thread(), threading.current_thread()}
    frames = sys._current_frames()
    threads = [t for t in threading.enumerate() if t not in skip and not t.daemon and is_running(t, frames)]
    children = [c for c in descendants() if c.pid not in exclude_pids]
    return Lingering(threads=threads, children=children)


def report(lingering: Lingering, names: Mapping[int, str] | None = None) -> None:
    """One ``process.lingering`` line; a child in ``names`` (multiprocessing's: pid → ``Process``
    name) is named by it too, since a forked child's command line is its parent's."""
    names = names or {}
    children = []
    for c in lingering.children:
        child: dict[str, object] = {"pid": c.pid, "ppid": c.ppid, "cmdline": c.cmdline}
        if c.pid in names:
            child["multiprocessing"] = names[c.pid]
        children.append(child)
    _log.warning(
        "process.lingering", threads=[describe_thread(t) for t in lingering.threads], children=children
    )


STOPPED_POLL_S = 0.02
"""How often a thread that says it stopped but still runs is looked at (``join()`` returns at once)."""


def _wait_thread(thread: threading.Thread, deadline: float) -> None:
    thread.join(max(deadline - time.monotonic(), 0))
    while is_running(thread) and time.monotonic() < deadline:
        time.sleep(STOPPED_POLL_S)  # nothing to wait on: its tstate lock was released already


def wait_for_lingering(lingering: Lingering, grace: float, exclude_pids: Collection[int] = ()) -> Lingering:
    """Give lingering threads and descendants up to ``grace`` seconds in total; return what is left."""
    deadline = time.monotonic() + grace
    for thread in lingering.threads:
        _wait_thread(thread, deadline)
    wait_exited([c.pid for c in lingering.children], max(deadline - time.monotonic(), 0))
    return find_lingering(exclude_pids)
