"""An async run's event loop as its interrupts reach it: :class:`LoopBinding`.

A cancellation cancels the job's task and wakes the driver inside the loop — from a signal
handler, so by ``call_soon_threadsafe`` and an event the loop sets when it gets control back.
Whether it did is how a loop blocked by the job is told apart (``loop.blocked``); the driver's own
task running is never the job blocking it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["LoopBinding"]


class LoopBinding:
    """The loop, the job's task, and what else a cancellation has to reach in an async run."""

    def __init__(self) -> None:
        self.is_async = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[Any] | None = None
        self._on_cancel: Callable[[], None] | None = None
        self._driver: asyncio.Task[Any] | None = None
        self._returned = threading.Event()
        self.escaped_error: BaseException | None = None
        """The first exception that escaped the loop itself (not a task): see ``Interrupts.escaped``."""

    def bind(
        self,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any],
        on_cancel: Callable[[], None],
        driver: asyncio.Task[Any] | None,
    ) -> None:
        self.is_async = True
        self._loop, self._task, self._on_cancel, self._driver = loop, task, on_cancel, driver

    def cancel(self) -> bool:
        """Cancel the job's task and call ``on_cancel``; ``False`` if nothing is bound yet."""
        if self._task is None or self._loop is None:
            return False
        self._returned.clear()
        self._task.cancel()
        if self._on_cancel is not None:
            self._on_cancel()
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._returned.set)
        return True

    def cancel_bound(self) -> None:
        """A cancellation that came before :meth:`bind`, applied now."""
        if self._task is not None:
            self._task.cancel()
        if self._on_cancel is not None:
            self._on_cancel()

    def cancel_task(self) -> None:
        """Cancel the job's task alone (something escaped the loop, meaning nothing more)."""
        if self._task is not None:
            self._task.cancel()

    @property
    def returned(self) -> bool:
        """Whether the loop got control back since the last :meth:`cancel`."""
        return self._returned.is_set()

    def owns(self, task: asyncio.Task[Any] | None) -> bool:
        """Whether ``task`` is the job's own task or jobframe's driver (not a task the job started)."""
        return task is not None and task in (self._task, self._driver)

    def driver_running(self) -> bool:
        """Whether the loop is running jobframe's own driver task, not the job's code."""
        return self._driver is not None and asyncio.current_task(self._loop) is self._driver
