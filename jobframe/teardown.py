"""Own the closing of everything a run opened.

dependency-injector's ``shutdown_resources()`` stops at the first failing close, ignores order
through Factories, never passes the job's exception, and never closes Singletons. So jobframe
instruments the container before a run: every ``Resource`` provider is entered through
:class:`ResourceRegistry`, which records the order in which resources were *actually* entered and
closes them in reverse, each in its own ``try``. Singletons are recorded too, so that a closeable
object nobody registered for shutdown is found and closed (``resource.unmanaged``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dependency_injector import containers, providers

from jobframe.closing import (
    TeardownTimer,
    abounded,
    bounded,
    closer_of,
    exc_info_of,
    is_closed,
    limit_until,
    run_maybe_async,
)
from jobframe.graph import iter_providers
from jobframe.logs import get_logger

__all__ = ["ResourceRegistry"]

_log = get_logger("jobframe.teardown")
_MARK = "__jobframe_tracked__"


@dataclass
class _Entry:
    """One resource: its context manager and whether ``__enter__`` completed."""

    name: str
    manager: Any
    is_async: bool
    value: Any = None
    entered: bool = False
    closed: bool = False
    outcome: str = ""  # "closed", "failed" or "abandoned" once teardown dealt with it
    entering: asyncio.Task[Any] | None = None  # async: the task running ``__aenter__`` right now


class _Tracked:
    """What a tracked Resource provider returns: a context manager that records its entry.

    dependency-injector enters it; jobframe exits it. Its own exit does nothing because the
    registry, not dependency-injector, closes the real resource (in order, with the job's error).
    The entry is recorded as entered *before* the real enter returns, so an interrupt landing
    right after ``__enter__`` cannot lose an open resource.
    """

    def __init__(self, registry: ResourceRegistry, name: str, obj: Any) -> None:
        self._registry, self._name, self._obj = registry, name, obj


class _TrackedSync(_Tracked):
    def __enter__(self) -> Any:
        entry = self._registry._add(self._name, self._obj, is_async=False)
        entry.entered = True
        try:
            entry.value = self._obj.__enter__()
        except BaseException:
            entry.entered = False
            raise
        return entry.value

    def __exit__(self, *exc_info: object) -> None:
        return None


class _TrackedAsync(_Tracked):
    async def __aenter__(self) -> Any:
        entry = self._registry._add(self._name, self._obj, is_async=True)
        entry.entered = True
        # dependency-injector enters async resources in tasks of their own (gathered), which
        # cancelling the job's task does not cancel: teardown must find and stop them.
        entry.entering = asyncio.current_task()
        try:
            entry.value = await self._obj.__aenter__()
        except BaseException:
            entry.entered = False
            raise
        finally:
            entry.entering = None
        return entry.value

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def _sync_only(obj: Any) -> bool:
    return hasattr(obj, "__enter__") and hasattr(obj, "__exit__")


@dataclass
class ResourceRegistry:
    """Records resources as they are entered during one run and closes them all, newest first."""

    entries: list[_Entry] = field(default_factory=list)
    held: list[tuple[str, Any]] = field(default_factory=list)
    closed_names: list[str] = field(default_factory=list)
    failed_names: list[str] = field(default_factory=list)
    unmanaged_names: list[str] = field(default_factory=list)
    instrumented: list[tuple[Any, Any]] = field(default_factory=list)

    def _add(self, name: str, manager: Any, *, is_async: bool) -> _Entry:
        entry = _Entry(name=name, manager=manager, is_async=is_async)
        self.entries.append(entry)
        return entry

    @property
    def opened_names(self) -> list[str]:
        return [e.name for e in self.entries if e.entered]

    # -- instrumentation ---------------------------------------------------------------------

    def instrument(self, container: containers.Container) -> None:
        """Route every Resource (and record every Singleton) of ``container`` through this registry."""
        for name, provider in iter_providers(container):
            if isinstance(provider, providers.Resource):
                self._track_resource(name, provider)
            elif isinstance(provider, providers.BaseSingleton):
                self._track_singleton(name, provider)

    def _track_resource(self, name: str, provider: providers.Resource[Any]) -> None:
        original = provider.provides
        if original is None or getattr(original, _MARK, False) or provider.initialized:
            return

        @functools.wraps(original, updated=())
        def tracked(*args: Any, **kwargs: Any) -> Any:
            obj = original(*args, **kwargs)
            if inspect.isawaitable(obj):
                return self._await_then_track(name, obj)
            return self._wrap(name, obj)

        setattr(tracked, _MARK, True)
        provider.set_provides(tracked)
        self.instrumented.append((provider, original))

    async def _await_then_track(self, name: str, awaitable: Any) -> Any:
        return self._wrap(name, await awaitable)

    def _wrap(self, name: str, obj: Any) -> Any:
        if _sync_only(obj):
            return _TrackedSync(self, name, obj)
        if hasattr(obj, "__aenter__") and hasattr(obj, "__aexit__"):
            return _TrackedAsync(self, name, obj)
        # A plain value (a function resource without shutdown): nothing to exit, but record it
        # so the safety net can close it if it turns out to be closeable.
        self.held.append((name, obj))
        return obj

    def _track_singleton(self, name: str, provider: providers.BaseSingleton[Any]) -> None:
        original = provider.provides
        if getattr(original, _MARK, False) or not callable(original):
            return

        @functools.wraps(original, updated=())
        def tracked(*args: Any, **kwargs: Any) -> Any:
            obj = original(*args, **kwargs)
            self.held.append((name, obj))
            return obj

        setattr(tracked, _MARK, True)
        provider.set_provides(tracked)
        self.instrumented.append((provider, original))

    def _forget(self) -> list[Any]:
        """Undo :meth:`instrument` after teardown: the container is as good as new for another run.

        Returns what dependency-injector's own shutdown of the (already closed) resources gave
        back; the tracked exits are no-ops, so this only clears their "initialised" state.
        """
        pending: list[Any] = []
        for provider, original in reversed(self.instrumented):
            if isinstance(provider, providers.Resource):
                if provider.initialized:
                    with contextlib.suppress(Exception):
                        pending.append(provider.shutdown())
            else:
                provider.reset()
            provider.set_provides(original)
        self.instrumented.clear()
        return [p for p in pending if inspect.isawaitable(p)]

    def release(self) -> None:
        """Sync-mode :meth:`_forget`."""
        for awaitable in self._forget():
            with contextlib.suppress(BaseException):
                run_maybe_async(awaitable)

    async def arelease(self) -> None:
        """Async-mode :meth:`_forget`, inside the job's loop."""
        for awaitable in self._forget():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await awaitable

    # -- closing -----------------------------------------------------------------------------

    def pending_names(self) -> list[str]:
        """Resources entered and not closed yet, in the order they will be closed."""
        return [e.name for e in self._pending()]

    def _pending(self) -> list[_Entry]:
        return [e for e in reversed(self.entries) if e.entered and not e.closed]

    def _closed(self, entry: _Entry, started: float) -> None:
        entry.closed, entry.outcome = True, "closed"
        self.closed_names.append(entry.name)
        _log.info("resource.closed", resource=entry.name, duration_s=round(time.monotonic() - started, 6))

    def _failed(self, entry: _Entry, exc: BaseException) -> None:
        entry.closed, entry.outcome = True, "failed"
        self.failed_names.append(entry.name)
        _log.error("resource.close_failed", resource=entry.name, error_type=type(exc).__name__, exc_info=exc)

    def _abandoned(self, entry: _Entry, limit: float) -> None:
        entry.closed, entry.outcome = True, "abandoned"
        self.failed_names.append(entry.name)
        _abandoned(entry.name, limit)

    def close_all(
        self, exc: BaseException | None, *, budget: float | None = None, timer: TeardownTimer | None = None
    ) -> None:
        """Close every entered resource, newest first, each in its own ``try``; then the safety net.

        ``exc`` (the job's error) reaches each ``__exit__``. With a ``budget`` and a ``timer``, a
        close that hangs is abandoned when the budget is spent, and every later one (safety net
        included) still gets :data:`MIN_CLOSE_S`, so one stuck close never leaves the others open.
        """
        exc_info = exc_info_of(exc)
        ends = None if budget is None else time.monotonic() + budget
        for entry in self._pending():
            started = time.monotonic()
            limit = limit_until(ends, started)
            try:
                if bounded(lambda entry=entry: _exit_sync(entry, exc_info), limit, timer):  # type: ignore[misc]
                    self._closed(entry, started)
                else:
                    self._abandoned(entry, limit or 0.0)
            except Exception as close_exc:  # noqa: BLE001 - one failing close must not stop the others
                self._failed(entry, close_exc)
        for name, obj, close in list(self._unmanaged()):
            limit = limit_until(ends, time.monotonic())
            try:
                if not bounded(lambda close=close: run_maybe_async(close()), limit, timer):  # type: ignore[misc]
                    _abandoned(name, limit or 0.0)
            except Exception as close_exc:  # noqa: BLE001 - reported, and the net goes on
                self._unmanaged_close_failed(name, close_exc)
            self._report_unmanaged(name, obj)

    async def aclose_all(
        self, exc: BaseException | None, *, budget: float | None = None, timer: TeardownTimer | None = None
    ) -> None:
        """The async twin of :meth:`close_all`, run inside the job's event loop."""
        exc_info = exc_info_of(exc)
        ends = None if budget is None else time.monotonic() + budget
        await self._settle_entering(limit_until(ends, time.monotonic()))
        for entry in self._pending():
            started = time.monotonic()
            limit = limit_until(ends, started)
            try:
                if await abounded(lambda entry=entry: _exit_call(entry, exc_info), limit, timer):  # type: ignore[misc]
                    self._closed(entry, started)
                else:
                    self._abandoned(entry, limit or 0.0)
            except Exception as close_exc:  # noqa: BLE001
                self._failed(entry, close_exc)
        for name, obj, close in list(self._unmanaged()):
            limit = limit_until(ends, time.monotonic())
            try:
                if not await abounded(close, limit, timer):
                    _abandoned(name, limit or 0.0)
            except Exception as close_exc:  # noqa: BLE001
                self._unmanaged_close_failed(name, close_exc)
            self._report_unmanaged(name, obj)

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
                self._abandoned(entry, limit or 0.0)  # never finished entering: nothing safe to exit

    # -- the safety net ----------------------------------------------------------------------

    def _unmanaged(self) -> Iterator[tuple[str, Any, Callable[[], Any]]]:
        """Closeable objects still open after teardown: Singletons, plain-function resources, and
        resource values whose own shutdown skipped them (a generator without ``try/finally``)."""
        seen: set[int] = set()
        candidates = list(self.held)
        # Not the values of failed or abandoned closes: their close() may be what hangs or fails.
        candidates += [
            (e.name, e.value) for e in self.entries if e.outcome == "closed" and e.value is not e.manager
        ]
        for name, obj in candidates:
            if id(obj) in seen or obj is None:
                continue
            seen.add(id(obj))
            close = closer_of(obj)
            state = is_closed(obj)
            if close is None or state is True:
                continue
            from_singleton = any(obj is held for _, held in self.held)
            if state is None and not from_singleton:
                continue  # cannot tell, and its resource's own shutdown already ran
            yield name, obj, close

    def _unmanaged_close_failed(self, name: str, exc: Exception) -> None:
        _log.error("resource.close_failed", resource=name, error_type=type(exc).__name__, exc_info=exc)

    def _report_unmanaged(self, name: str, obj: Any) -> None:
        self.unmanaged_names.append(name)
        _log.warning(
            "resource.unmanaged",
            provider=name,
            type=f"{type(obj).__module__}.{type(obj).__qualname__}",
            hint="provide closeable objects with providers.Resource so they are closed in order",
        )


def _abandoned(name: str, limit: float) -> None:
    _log.error("teardown.timeout", resource=name, waited_s=round(limit, 3), action="abandoned")


def _exit_sync(entry: _Entry, exc_info: tuple[Any, Any, Any]) -> None:
    if entry.is_async:
        asyncio.run(entry.manager.__aexit__(*exc_info))
    else:
        entry.manager.__exit__(*exc_info)


def _exit_call(entry: _Entry, exc_info: tuple[Any, Any, Any]) -> Any:
    """Exit ``entry`` from inside the loop: a sync exit runs now, an async one is returned to await."""
    if entry.is_async:
        return entry.manager.__aexit__(*exc_info)
    return entry.manager.__exit__(*exc_info)
