"""Own the closing of everything a run opened.

dependency-injector's ``shutdown_resources()`` stops at the first failing close, ignores order
through Factories, never passes the job's exception, and never closes Singletons. So jobframe
instruments the container before a run (:mod:`jobframe._teardown.instrument`) and this registry
closes what was entered, newest first, each close in its own ``try`` and bounded in time, passing
the job's exception to ``__exit__``; then the safety net (:mod:`jobframe._teardown.safety_net`).

Closing is done by the main thread (sync or inside the job's event loop) or — when the main thread
is stuck in job code that ignores its cancellation, or in a close blocked in C code — by the
supervisor thread, which takes over the closes nobody has started (:meth:`ResourceRegistry.take_over`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from dependency_injector import containers

from jobframe._teardown.closing import (
    TeardownTimeout,
    TeardownTimer,
    abounded,
    abounded_in_thread,
    bounded,
    bounded_in_thread,
    exc_info_of,
    limit_until,
    run_sync,
)
from jobframe._teardown.instrument import Entry, attach, detach
from jobframe._teardown.safety_net import Unmanaged, find_unmanaged, report_unmanaged
from jobframe.errors import JobInterrupted
from jobframe.logs import get_logger

__all__ = ["ResourceRegistry"]

_log = get_logger("jobframe.teardown")

_NOT_A_CLOSE_FAILURE = (TeardownTimeout, JobInterrupted, asyncio.CancelledError)
"""What may come out of a close and is not the close's own failure: the run's clock or its
cancellation, handled by the caller. Any other ``BaseException`` a close raises —
``KeyboardInterrupt``, ``SystemExit(3)``, a library's own — is that close failing: named by
``resource.close_failed`` and the next close still runs (escaping, it skipped the other closes and,
out of an async job's loop, ended the process as an escaped exit: 1, whatever the job's code)."""

SyncBound = Callable[[Callable[[], Any], float | None], bool]


@dataclass
class ResourceRegistry:
    """Records resources as they are entered during one run and closes them all, newest first."""

    entries: list[Entry] = field(default_factory=list)
    held: list[tuple[str, Any]] = field(default_factory=list)
    closed_names: list[str] = field(default_factory=list)
    failed_names: list[str] = field(default_factory=list)
    unmanaged_names: list[str] = field(default_factory=list)
    taken_over: bool = False
    _container: containers.Container | None = None
    _held_providers: list[Any] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _net_claimed: dict[int, tuple[str, float | None]] = field(default_factory=dict)
    """Objects the safety net took on, by id: their name and when their close started (``None``
    once it returned or was given up)."""

    # -- recording (the Recorder protocol) ---------------------------------------------------

    def add(self, name: str, manager: Any, *, is_async: bool, provider: Any = None) -> Entry:
        entry = Entry(name=name, manager=manager, is_async=is_async, provider=provider)
        with self._lock:
            self.entries.append(entry)
        return entry

    def hold(self, name: str, obj: Any, provider: Any = None) -> None:
        with self._lock:
            self.held.append((name, obj))
            if provider is not None:
                self._held_providers.append(provider)

    def exit_entry(self, entry: Entry, exc_info: tuple[Any, Any, Any]) -> None:
        """dependency-injector's shutdown exits a resource: close it here, once, and record it."""
        if self._claim(entry):
            self._close_one(entry, exc_info)

    async def aexit_entry(self, entry: Entry, exc_info: tuple[Any, Any, Any]) -> None:
        if self._claim(entry):
            started = time.monotonic()
            result: bool | Exception = True
            try:
                await _exit_call(entry, exc_info)
            except Exception as exc:  # noqa: BLE001 - recorded like any failing close
                result = exc
            self._record(entry, started, None, result)

    def _close_one(self, entry: Entry, exc_info: tuple[Any, Any, Any]) -> None:
        started = time.monotonic()
        result: bool | Exception = True
        try:
            _exit_sync(entry, exc_info)
        except Exception as exc:  # noqa: BLE001 - recorded like any failing close
            result = exc
        self._record(entry, started, None, result)

    @property
    def opened_names(self) -> list[str]:
        return [e.name for e in self.entries if e.entered]

    # -- instrumentation -----------------------------------------------------------------------

    def instrument(self, container: containers.Container) -> None:
        """Record every Resource (and Singleton) ``container`` provides from now on, until released."""
        self._container = container
        attach(container, self)

    def _forget(self) -> list[Any]:
        container, self._container = self._container, None
        if container is None:
            return []
        opened = [e.provider for e in self.entries if e.provider is not None] + self._held_providers
        return detach(container, self, opened)

    def release(self) -> None:
        """Undo :meth:`instrument` (sync mode): the container is as good as new for another run."""
        for awaitable in self._forget():
            with contextlib.suppress(BaseException):
                run_sync(awaitable)

    async def arelease(self) -> None:
        """Undo :meth:`instrument` inside the job's event loop."""
        for awaitable in self._forget():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await awaitable

    # -- outcomes ------------------------------------------------------------------------------

    def _claim_next(self) -> Entry | None:
        """The newest entered resource nobody has started closing; claimed for the caller."""
        with self._lock:
            for entry in reversed(self.entries):
                if entry.entered and not entry.claimed:
                    entry.claimed, entry.claimed_at = True, time.monotonic()
                    return entry
        return None

    def _claim(self, entry: Entry) -> bool:
        with self._lock:
            if entry.claimed or not entry.entered:
                return False
            entry.claimed, entry.claimed_at = True, time.monotonic()
            return True

    def _settle(self, entry: Entry, outcome: str) -> bool:
        with self._lock:
            if entry.closed:
                return False
            entry.closed, entry.outcome = True, outcome
            (self.closed_names if outcome == "closed" else self.failed_names).append(entry.name)
            return True

    def _record(
        self, entry: Entry, started: float, limit: float | None, result: bool | BaseException
    ) -> None:
        if isinstance(result, BaseException):
            if self._settle(entry, "failed"):
                _log.error(
                    "resource.close_failed",
                    resource=entry.name,
                    error_type=type(result).__name__,
                    exc_info=result,
                )
        elif result:
            if self._settle(entry, "closed"):
                _log.info(
                    "resource.closed", resource=entry.name, duration_s=round(time.monotonic() - started, 6)
                )
        elif self._settle(entry, "abandoned"):
            _abandoned(entry.name, time.monotonic() - started)  # the real wait, not the limit

    # -- closing -------------------------------------------------------------------------------

    def close_all(
        self, exc: BaseException | None, *, budget: float | None = None, timer: TeardownTimer | None = None
    ) -> None:
        """Close every entered resource, newest first, each in its own ``try``; then the safety net.

        ``exc`` (the job's error) reaches each ``__exit__``. With a ``budget`` and a ``timer``, a
        close that hangs is abandoned when the budget is spent, and every later one (safety net
        included) still gets :data:`~jobframe._teardown.closing.MIN_CLOSE_S`.
        """
        self._close_with(lambda call, limit: bounded(call, limit, timer), exc, budget)

    def take_over(self, exc: BaseException | None, *, budget: float | None) -> None:
        """Close, from another thread, what the stuck main thread has not: the close it is stuck in
        is abandoned, every one nobody started is run in a thread of its own and waited for."""
        with self._lock:
            self.taken_over = True
            stuck = [e for e in self.entries if e.claimed and not e.closed]
            # still inside __enter__ in the stuck thread: closing it from here would run its
            # generator twice at once ("generator already executing"); it is abandoned instead
            entering = [e for e in self.entries if e.entering_sync and not e.claimed]
            for entry in entering:
                entry.claimed, entry.claimed_at = True, time.monotonic()
        for entry in stuck:  # the real wait: since its close started
            self._record(entry, entry.claimed_at or time.monotonic(), None, False)
        for entry in entering:
            self._record(entry, time.monotonic(), None, False)
        for key, name, started in self._net_in_flight():  # never called again while it runs
            _abandoned(name, time.monotonic() - started)
            self._net_claimed[key] = (name, None)
        self._close_with(bounded_in_thread, exc, budget)

    def _close_with(self, run: SyncBound, exc: BaseException | None, budget: float | None) -> None:
        exc_info = exc_info_of(exc)
        ends = None if budget is None else time.monotonic() + budget
        taking_over = self.taken_over
        while (entry := self._claim_next()) is not None:
            if self.taken_over and not taking_over:
                return  # the supervisor took over while this (main) thread was stuck
            started = time.monotonic()
            limit = limit_until(ends, started)
            result: bool | BaseException
            try:
                result = run(lambda entry=entry: _exit_sync(entry, exc_info), limit)  # type: ignore[misc]
            except _NOT_A_CLOSE_FAILURE:
                raise
            except BaseException as close_exc:  # noqa: BLE001 - one failing close must not stop the others
                result = close_exc
            self._record(entry, started, limit, result)
        for item in self._unmanaged():
            if item.close is not None:
                started = time.monotonic()
                in_place = item.same_thread and not taking_over
                limit = limit_until(ends, started)
                call = functools.partial(_close_now, item)
                try:
                    if not (run(call, limit) if in_place else bounded_in_thread(call, limit)):
                        _abandoned(item.name, time.monotonic() - started)
                except Exception as close_exc:  # noqa: BLE001 - reported, and the net goes on
                    _close_failed(item.name, close_exc)
                self._net_done(item)
            self._report(item)

    async def aclose_all(
        self, exc: BaseException | None, *, budget: float | None = None, timer: TeardownTimer | None = None
    ) -> None:
        """The async twin of :meth:`close_all`, run inside the job's event loop."""
        exc_info = exc_info_of(exc)
        ends = None if budget is None else time.monotonic() + budget
        await self._settle_entering(limit_until(ends, time.monotonic()))
        while (entry := self._claim_next()) is not None:
            if self.taken_over:
                return
            started = time.monotonic()
            limit = limit_until(ends, started)
            result: bool | BaseException
            try:
                result = await abounded(lambda entry=entry: _exit_call(entry, exc_info), limit, timer)  # type: ignore[misc]
            except _NOT_A_CLOSE_FAILURE:
                raise
            except BaseException as close_exc:  # noqa: BLE001 - as in close_all
                result = close_exc
            self._record(entry, started, limit, result)
        for item in self._unmanaged():
            if item.close is not None:
                started = time.monotonic()
                limit = limit_until(ends, started)
                try:
                    if inspect.iscoroutinefunction(item.close) or item.same_thread:
                        returned = await abounded(item.close, limit, timer)
                    else:  # a sync close may block in C: where it can be abandoned at the budget
                        returned = await abounded_in_thread(item.close, limit)
                    if not returned:
                        _abandoned(item.name, time.monotonic() - started)
                except Exception as close_exc:  # noqa: BLE001
                    _close_failed(item.name, close_exc)
                self._net_done(item)
            self._report(item)

    async def _settle_entering(self, limit: float | None) -> None:
        """Cancel resource inits still in flight (the job was cancelled mid-init) and wait for them.

        Afterwards every entry is either entered (its ``__aenter__`` completed: close it) or not
        (the cancellation reached it inside ``__aenter__``, which cleaned up after itself).
        """
        current = asyncio.current_task()
        entering = [e.entering for e in self.entries if e.entering is not None and e.entering is not current]
        for task in entering:
            task.cancel()
        if entering:
            await asyncio.wait(entering, timeout=limit)
        for entry in self.entries:
            if entry.entering is not None and entry.entering is not current and not entry.entering.done():
                entry.claimed = True
                self._record(entry, time.monotonic(), limit, False)  # never finished entering

    # -- the safety net ------------------------------------------------------------------------

    def _unmanaged(self) -> list[Unmanaged]:
        """What the net has still to deal with, each claimed for the caller: an object whose close
        another thread started (still running, maybe stuck in C) is never closed again."""
        with self._lock:
            closed_values = [
                (e.name, e.value) for e in self.entries if e.outcome == "closed" and e.value is not e.manager
            ]
            found = []
            for item in find_unmanaged(list(self.held), closed_values):
                if id(item.obj) not in self._net_claimed:
                    self._net_claimed[id(item.obj)] = (item.name, time.monotonic())
                    found.append(item)
            return found

    def _net_done(self, item: Unmanaged) -> None:
        with self._lock:
            if self._net_claimed[id(item.obj)][1] is None:
                return  # the supervisor already reported it abandoned
            self._net_claimed[id(item.obj)] = (item.name, None)

    def _net_in_flight(self) -> list[tuple[int, str, float]]:
        """Safety-net closes started and not returned: (key, name, when started)."""
        with self._lock:
            return [(key, name, at) for key, (name, at) in self._net_claimed.items() if at is not None]

    def _report(self, item: Unmanaged) -> None:
        self.unmanaged_names.append(item.name)
        report_unmanaged(item)


def _abandoned(name: str, waited: float) -> None:
    _log.error("teardown.timeout", resource=name, waited_s=round(waited, 3), action="abandoned")


def _close_failed(name: str, exc: Exception) -> None:
    _log.error("resource.close_failed", resource=name, error_type=type(exc).__name__, exc_info=exc)


def _close_now(item: Unmanaged) -> None:
    assert item.close is not None
    run_sync(item.close())


def _exit_sync(entry: Entry, exc_info: tuple[Any, Any, Any]) -> None:
    run_sync(_exit_call(entry, exc_info))


def _exit_call(entry: Entry, exc_info: tuple[Any, Any, Any]) -> Any | Awaitable[Any]:
    """Exit ``entry``: a sync exit runs now, an async one is returned to await."""
    if entry.is_async:
        return entry.manager.__aexit__(*exc_info)
    return entry.manager.__exit__(*exc_info)
