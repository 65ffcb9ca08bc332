"""Every process the job started, however deep, found and ended: none outlives jobframe.

A job's ``bash -c "sleep 600; ..."`` is two processes; when bash is terminated its ``sleep`` would
be re-parented to init and forgotten. jobframe therefore makes itself a *child subreaper*
(``prctl(PR_SET_CHILD_SUBREAPER)``, what ``tini -s`` does): orphans of its descendants are
re-parented to jobframe instead, so they stay findable under ``/proc`` and are ended too.
Linux only; elsewhere the functions find nothing and do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import time
from pathlib import Path

from jobframe._value import Value

__all__ = [
    "Descendant",
    "become_subreaper",
    "descendants",
    "end_descendants",
    "end_processes",
    "reap",
    "wait_exited",
]

_PR_SET_CHILD_SUBREAPER = 36


class Descendant(Value):
    __slots__ = ("pid", "ppid", "cmdline")  # noqa: RUF023 - the constructor's order
    pid: int
    ppid: int
    cmdline: str

    def __init__(self, pid: int, ppid: int, cmdline: str) -> None:
        object.__setattr__(self, "pid", pid)
        object.__setattr__(self, "ppid", ppid)
        object.__setattr__(self, "cmdline", cmdline)


def become_subreaper() -> bool:
    """Ask the kernel to re-parent orphaned descendants to this process; ``True`` if it did."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def reap() -> None:
    """Collect exited children (and orphans re-parented to us), so they do not count as alive."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError, ValueError):
            found.extend(int(p) for p in children.read_text().split())
    return found


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part) or "?"


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def descendants(root: int | None = None) -> list[Descendant]:
    """Live descendants of ``root`` (this process), parents before their children."""
    reap()
    root = os.getpid() if root is None else root
    found: list[Descendant] = []
    queue = [root]
    seen = {root}
    while queue:
        parent = queue.pop(0)
        for pid in _children(parent):
            if pid in seen:
                continue
            seen.add(pid)
            queue.append(pid)
            if not _is_zombie(pid):
                found.append(Descendant(pid=pid, ppid=parent, cmdline=_cmdline(pid)))
    return found


def wait_exited(pids: list[int], timeout: float) -> None:
    """Wait until every pid has exited or ``timeout`` passed, without polling (pidfds)."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except (OSError, AttributeError):
            continue
        try:
            select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))
        finally:
            os.close(fd)
        reap()


KILL_WAIT_S = 1.0
"""How long a SIGKILLed descendant is waited for (it cannot refuse; this is the kernel's time)."""


def _signal_all(procs: list[Descendant], sig: int) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, sig)


def end_processes(procs: list[Descendant], grace: float) -> None:
    """SIGTERM ``procs``, SIGKILL those still alive after ``grace`` and wait until they are gone."""
    _signal_all(procs, signal.SIGTERM)
    wait_exited([p.pid for p in procs], grace)
    alive = {d.pid for d in descendants()}
    left = [p for p in procs if p.pid in alive]
    _signal_all(left, signal.SIGKILL)
    wait_exited([p.pid for p in left], KILL_WAIT_S)


def end_descendants(grace: float = 0.5, rounds: int = 5) -> list[Descendant]:
    """SIGTERM every descendant, SIGKILL what is left after ``grace`` and wait until it is gone;
    repeat for orphans that were re-parented to us meanwhile. Returns the descendants ended."""
    ended: list[Descendant] = []
    for _ in range(rounds):
        alive = descendants()
        if not alive:
            break
        ended.extend(alive)
        _signal_all(alive, signal.SIGTERM)
        wait_exited([p.pid for p in alive], grace)
        left = descendants()
        _signal_all(left, signal.SIGKILL)
        wait_exited([p.pid for p in left], KILL_WAIT_S)
    reap()
    return ended
