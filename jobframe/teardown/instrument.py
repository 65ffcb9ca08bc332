"""Route a container's resources through a registry, so jobframe — not dependency-injector — closes them.

Every ``Resource`` provider of the container (nested modules, inline providers and overrides
included) is wrapped so that entering the resource records it with the order it was *actually*
entered in; Singletons are recorded too, so the safety net can find a closeable object nobody
registered. :func:`forget` undoes it, so a container can run again (tests do).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dependency_injector import containers, providers

from jobframe.app.graph import iter_providers

__all__ = ["Entry", "Instrumentation", "Recorder"]

_MARK = "__jobframe_tracked__"


@dataclass
class Entry:
    """One resource: its context manager, and how far opening and closing it got."""

    name: str
    manager: Any
    is_async: bool
    value: Any = None
    entered: bool = False
    claimed: bool = False  # someone started closing it (the main thread, or the supervisor)
    closed: bool = False
    outcome: str = ""  # "closed", "failed" or "abandoned" once teardown dealt with it
    entering: asyncio.Task[Any] | None = None  # async: the task running ``__aenter__`` right now


class Recorder(Protocol):
    """Where entries and held objects go: a :class:`~jobframe.teardown.registry.ResourceRegistry`."""

    def add(self, name: str, manager: Any, *, is_async: bool) -> Entry: ...

    def hold(self, name: str, obj: Any) -> None: ...


class _Tracked:
    """What a tracked Resource provider returns: a context manager that records its entry.

    dependency-injector enters it; jobframe exits it. Its own exit does nothing because the
    registry, not dependency-injector, closes the real resource (in order, with the job's error).
    The entry is recorded as entered *before* the real enter returns, so an interrupt landing
    right after ``__enter__`` cannot lose an open resource.
    """

    def __init__(self, recorder: Recorder, name: str, obj: Any) -> None:
        self._recorder, self._name, self._obj = recorder, name, obj


class _TrackedSync(_Tracked):
    def __enter__(self) -> Any:
        entry = self._recorder.add(self._name, self._obj, is_async=False)
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
        entry = self._recorder.add(self._name, self._obj, is_async=True)
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


def _wrap(recorder: Recorder, name: str, obj: Any) -> Any:
    if hasattr(obj, "__enter__") and hasattr(obj, "__exit__"):
        return _TrackedSync(recorder, name, obj)
    if hasattr(obj, "__aenter__") and hasattr(obj, "__aexit__"):
        return _TrackedAsync(recorder, name, obj)
    # A plain value (a function resource without shutdown): nothing to exit, but record it so
    # the safety net can close it if it turns out to be closeable.
    recorder.hold(name, obj)
    return obj


@dataclass
class Instrumentation:
    """The wrapping of one container's providers, recording into one recorder."""

    recorder: Recorder
    replaced: list[tuple[Any, Any]] = field(default_factory=list)

    def apply(self, container: containers.Container) -> None:
        """Route every Resource (and record every Singleton) of ``container`` through the recorder."""
        for name, provider in iter_providers(container):
            if isinstance(provider, providers.Resource):
                self._track_resource(name, provider)
            elif isinstance(provider, providers.BaseSingleton):
                self._track_singleton(name, provider)

    def _replace(self, provider: Any, original: Any, tracked: Callable[..., Any]) -> None:
        functools.update_wrapper(tracked, original, updated=())
        setattr(tracked, _MARK, True)
        provider.set_provides(tracked)
        self.replaced.append((provider, original))

    def _track_resource(self, name: str, provider: providers.Resource[Any]) -> None:
        original = provider.provides
        if original is None or getattr(original, _MARK, False) or provider.initialized:
            return
        recorder = self.recorder

        async def await_then_track(awaitable: Any) -> Any:
            return _wrap(recorder, name, await awaitable)

        def tracked(*args: Any, **kwargs: Any) -> Any:
            obj = original(*args, **kwargs)
            return await_then_track(obj) if inspect.isawaitable(obj) else _wrap(recorder, name, obj)

        self._replace(provider, original, tracked)

    def _track_singleton(self, name: str, provider: providers.BaseSingleton[Any]) -> None:
        original = provider.provides
        if getattr(original, _MARK, False) or not callable(original):
            return
        recorder = self.recorder

        def tracked(*args: Any, **kwargs: Any) -> Any:
            obj = original(*args, **kwargs)
            recorder.hold(name, obj)
            return obj

        self._replace(provider, original, tracked)

    def forget(self) -> list[Any]:
        """Undo :meth:`apply` after teardown: the container is as good as new for another run.

        Returns what dependency-injector's own shutdown of the (already closed) resources gave
        back to await; the tracked exits are no-ops, so this only clears their "initialised" state.
        """
        pending: list[Any] = []
        for provider, original in reversed(self.replaced):
            if isinstance(provider, providers.Resource):
                if provider.initialized:
                    with contextlib.suppress(Exception):
                        pending.append(provider.shutdown())
            else:
                provider.reset()
            provider.set_provides(original)
        self.replaced.clear()
        return [p for p in pending if inspect.isawaitable(p)]
