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

__all__ = ["stack_of", "stack_of_task", "stack_of_thread"]

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
