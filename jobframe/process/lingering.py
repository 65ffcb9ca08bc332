"""What is still alive after teardown: non-daemon threads and descendant processes.

Reported as ``process.lingering`` (thread name, target, stack; each descendant's pid, parent and
command line) and given ``--exit-grace`` seconds to finish; then the process ends anyway — the
interpreter's own shutdown would join those threads and wait as long as they like — and every
descendant still running is ended (:func:`~jobframe.process.descendants.end_descendants`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from jobframe.logs import get_logger
from jobframe.process.descendants import Descendant, descendants, wait_exited
from jobframe.stacks import stack_of_thread

__all__ = ["Lingering", "find_lingering", "report", "wait_for_lingering"]

_log = get_logger("jobframe.exit_guard")


@dataclass(frozen=True)
class Lingering:
    threads: list[threading.Thread]
    children: list[Descendant]

    def __bool__(self) -> bool:
        return bool(self.threads or self.children)


def find_lingering() -> Lingering:
    """Alive non-daemon threads (but the main one and the caller) and live descendants."""
    skip = {threading.main_thread(), threading.current_thread()}
    threads = [t for t in threading.enumerate() if t not in skip and not t.daemon and t.is_alive()]
    return Lingering(threads=threads, children=descendants())


def _target(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None) or getattr(thread, "function", None)
    if target is None:
        return f"{type(thread).__module__}.{type(thread).__qualname__}.run"
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def report(lingering: Lingering) -> None:
    _log.warning(
        "process.lingering",
        threads=[
            {"name": t.name, "target": _target(t), "stack": stack_of_thread(t, 4)} for t in lingering.threads
        ],
        children=[{"pid": c.pid, "ppid": c.ppid, "cmdline": c.cmdline} for c in lingering.children],
    )


def wait_for_lingering(lingering: Lingering, grace: float) -> Lingering:
    """Give lingering threads and descendants up to ``grace`` seconds in total; return what is left."""
    deadline = time.monotonic() + grace
    for thread in lingering.threads:
        thread.join(max(deadline - time.monotonic(), 0))
    wait_exited([c.pid for c in lingering.children], max(deadline - time.monotonic(), 0))
    return find_lingering()
