"""Where code is: a frame, a thread or a task as the few ``file:line in function`` lines a user can act on.

jobframe's own frames and the event loop's are left out when there is anything else to show: a
user reading ``loop.blocked`` or ``job.cancel_ignored`` needs the line of *their* code.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["describe_thread", "is_running", "stack_of", "stack_of_task", "stack_of_thread", "thread_target"]

LIMIT = 6

_INTERNAL = (str(Path(asyncio.__file__).parent), str(Path(__file__).parent), str(Path(threading.__file__)))


def _lines(summary: traceback.StackSummary, limit: int, *, own_code: bool) -> list[str]:
    frames = list(summary)
    if own_code:
        theirs = [f for f in frames if not f.filename.startswith(_INTERNAL)]
        frames = theirs or frames
    return [f"{f.filename}:{f.lineno} in {f.name}" for f in frames[-limit:]]


def stack_of(frame: FrameType | None, limit: int = LIMIT, *, own_code: bool = True) -> list[str]:
    """The innermost ``limit`` frames ending at ``frame``, outermost first."""
    if frame is None:
        return []
    return _lines(traceback.extract_stack(frame), limit, own_code=own_code)


def stack_of_thread(
    thread: threading.Thread | int | None, limit: int = LIMIT, *, own_code: bool = True
) -> list[str]:
    """Where a running thread is now (by thread or ident)."""
    ident = thread.ident if isinstance(thread, threading.Thread) else thread
    return stack_of(sys._current_frames().get(ident or -1), limit, own_code=own_code)


def is_running(thread: threading.Thread, frames: dict[int, Any] | None = None) -> bool:
    """Whether ``thread`` really runs: alive, or still executing Python code whatever it says.

    ``is_alive()`` alone is not enough: on CPython 3.11 a ``join()`` interrupted by an exception
    (a ``ThreadPoolExecutor.shutdown(wait=True)`` cut short by the teardown timer) marks the
    thread it was joining as stopped while it still runs; its frames still show it.
    """
    if thread.is_alive():
        return True
    frames = sys._current_frames() if frames is None else frames
    return thread.ident is not None and thread.ident in frames


def thread_target(thread: threading.Thread) -> str:
    """``module.function`` the thread runs: its target, else its class's ``run``."""
    target = getattr(thread, "_target", None) or getattr(thread, "function", None)
    if target is None:
        return f"{type(thread).__module__}.{type(thread).__qualname__}.run"
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"


def describe_thread(thread: threading.Thread, limit: int = 4, *, own_code: bool = True) -> dict[str, Any]:
    """A thread as ``process.lingering`` and the test helpers' leak reports show it: enough to
    find who started it and where it is now (``name``, ``target``, ``stack``)."""
    return {
        "name": thread.name,
        "target": thread_target(thread),
        "stack": stack_of_thread(thread, limit, own_code=own_code),
    }


def stack_of_task(task: asyncio.Task[Any], limit: int = LIMIT) -> list[str]:
    """Where a suspended task waits: its chain of awaits down to the innermost, outermost first.

    ``Task.get_stack()`` shows only the outermost coroutine's frame; the await it is parked on is
    found by following ``cr_await`` (and ``gi_yieldfrom`` for generator-based awaitables).
    """
    frames: list[tuple[FrameType, int]] = []
    awaitable: Any = task.get_coro()
    while awaitable is not None:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:
            break
        frames.append((frame, frame.f_lineno))
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "gi_yieldfrom", None)
    return _lines(traceback.StackSummary.extract(iter(frames)), limit, own_code=True)
