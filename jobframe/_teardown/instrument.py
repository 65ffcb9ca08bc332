"""Route a container's resources through a registry, so jobframe — not dependency-injector — closes them.

Every ``Resource`` provider of the container (``ContextLocalResource`` too; nested modules, inline
providers and overrides included) is wrapped so that entering the resource records it with the
order it was *actually* entered in; Singletons are recorded too, so the safety net can find a
closeable object nobody registered. Whatever closes a resource then — jobframe's teardown, or
dependency-injector's own ``shutdown()`` called by a test — closes it through the registry that
recorded it, once.

A container is instrumented once, however many registries record from it: :func:`attach` pushes a
registry (a test's, then each run's on top) and :func:`detach` pops it; the last one out undoes the
wrapping, so the container is as good as new (tests run the same container again).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from dependency_injector import containers, providers

from jobframe._app.graph import walk
from jobframe._app.provided import TRACKED
from jobframe.errors import JobInterrupted

__all__ = ["Entry", "Instrumentation", "Recorder", "attach", "detach", "refresh"]

_MARK = TRACKED
"""The mark of jobframe's tracking wrapper; the wiring check reads it too (``_app.provided``)."""


@dataclass
class Entry:
    """One resource: its context manager, and how far opening and closing it got."""

    name: str
    manager: Any
    is_async: bool
    provider: Any = None
    value: Any = None
    entered: bool = False
    claimed: bool = False  # someone started closing it (the main thread, or the supervisor)
    claimed_at: float | None = None  # when (``time.monotonic()``): a stuck close's real wait
    closed: bool = False
    outcome: str = ""  # "closed", "failed" or "abandoned" once teardown dealt with it
    entering: asyncio.Task[Any] | None = None  # async: the task running ``__aenter__`` right now
    entering_sync: bool = False  # sync: ``__enter__`` is running (a generator mid-init cannot be closed)


class Recorder(Protocol):
    """Where entries and held objects go: a :class:`~jobframe._teardown.registry.ResourceRegistry`."""

    def add(self, name: str, manager: Any, *, is_async: bool, provider: Any = None) -> Entry: ...

    def hold(self, name: str, obj: Any, provider: Any = None) -> None: ...

    def exit_entry(self, entry: Entry, exc_info: tuple[Any, Any, Any]) -> None:
        """Close ``entry`` now (dependency-injector's shutdown asked), unless already closed."""

    async def aexit_entry(self, entry: Entry, exc_info: tuple[Any, Any, Any]) -> None:
        """The async twin of :meth:`exit_entry`."""


class _Tracked:
    """What a tracked Resource provider returns: a context manager that records its entry.

    dependency-injector enters it. The registry closes the real resource — in order, with the
    job's error — and when dependency-injector's own shutdown exits it, that goes through the
    registry too, so a resource is closed once, the same way, whoever asks. The entry is recorded
    as entered *before* the real enter returns, so an interrupt landing right after ``__enter__``
    cannot lose an open resource.
    """

    def __init__(self, recorder: Recorder, name: str, obj: Any, provider: Any) -> None:
        self._recorder, self._name, self._obj, self._provider = recorder, name, obj, provider
        self._entry: Entry | None = None


class _TrackedSync(_Tracked):
    def __enter__(self) -> Any:
        entry = self._entry = self._recorder.add(
            self._name, self._obj, is_async=False, provider=self._provider
        )
        entry.entered = entry.entering_sync = True
        enter = self._obj.__enter__
        try:
            entry.value = enter()
        except BaseException as exc:
            entry.entered = _acquired_anyway(self._obj, enter, exc)
            raise
        finally:
            entry.entering_sync = False
        return entry.value

    def __exit__(self, *exc_info: Any) -> None:
        if self._entry is not None:
            self._recorder.exit_entry(self._entry, exc_info)


def _acquired_anyway(manager: Any, enter: Any, exc: BaseException) -> bool:
    """Whether ``manager`` holds its resource although its ``__enter__`` raised ``exc``.

    A signal's exception (:class:`JobInterrupted`) lands wherever the main thread is: once a
    ``contextmanager`` generator has yielded — inside contextlib's ``__enter__``, after ``next()`` —
    or in the caller's frame right after a C ``__enter__`` returned. The resource is then open and
    must be exited; an ``__enter__`` that raised by itself acquired nothing.
    """
    generator = getattr(manager, "gen", None)
    if inspect.isgenerator(generator):  # contextlib's: whether the generator stopped at its yield
        return inspect.getgeneratorstate(generator) == inspect.GEN_SUSPENDED
    if not isinstance(exc, JobInterrupted) or hasattr(getattr(enter, "__func__", enter), "__code__"):
        return False  # a Python __enter__ returns to no check for signals in this frame
    raised_in = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    return raised_in is not None and raised_in.tb_frame.f_code in _handler_codes()


def _handler_codes() -> set[Any]:
    """The code of every Python signal handler installed now (jobframe's among them)."""
    codes = set()
    for signum in signal.valid_signals():
        with contextlib.suppress(ValueError, OSError):
            handler = signal.getsignal(signum)
            code = getattr(getattr(handler, "__func__", handler), "__code__", None)
            if code is not None:
                codes.add(code)
    return codes


class _TrackedAsync(_Tracked):
    async def __aenter__(self) -> Any:
        entry = self._entry = self._recorder.add(
            self._name, self._obj, is_async=True, provider=self._provider
        )
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

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._entry is not None:
            await self._recorder.aexit_entry(self._entry, exc_info)


def _wrap(recorder: Recorder, name: str, obj: Any, provider: Any) -> Any:
    if hasattr(obj, "__enter__") and hasattr(obj, "__exit__"):
        return _TrackedSync(recorder, name, obj, provider)
    if hasattr(obj, "__aenter__") and hasattr(obj, "__aexit__"):
        return _TrackedAsync(recorder, name, obj, provider)
    # A plain value (a function resource without shutdown): nothing to exit, but record it so
    # the safety net can close it if it turns out to be closeable.
    recorder.hold(name, obj, provider)
    return obj


@dataclass
class Instrumentation:
    """The wrapping of one container's providers, recording into the newest attached recorder."""

    container: containers.Container
    recorders: list[Recorder] = field(default_factory=list)
    replaced: list[tuple[Any, Any]] = field(default_factory=list)

    @property
    def recorder(self) -> Recorder:
        return self.recorders[-1]

    def apply(self) -> None:
        """Route every Resource (and record every Singleton) through the current recorder.

        Idempotent: providers added since (a test's overrides) are wrapped, the others kept.
        """
        for node in walk(self.container):
            if isinstance(node.provider, providers.BaseResource):  # ContextLocalResource too
                self._track_resource(node.path, node.provider)
            elif isinstance(node.provider, providers.BaseSingleton):
                self._track_singleton(node.path, node.provider)

    def _replace(self, provider: Any, original: Any, tracked: Callable[..., Any]) -> None:
        functools.update_wrapper(tracked, original, updated=())
        setattr(tracked, _MARK, True)
        provider.set_provides(tracked)
        self.replaced.append((provider, original))

    def _track_resource(self, name: str, provider: providers.BaseResource[Any]) -> None:
        original = provider.provides
        if original is None or getattr(original, _MARK, False) or provider.initialized:
            return

        async def await_then_track(recorder: Recorder, awaitable: Any) -> Any:
            return _wrap(recorder, name, await awaitable, provider)

        def tracked(*args: Any, **kwargs: Any) -> Any:
            recorder = self.recorder
            obj = original(*args, **kwargs)
            if inspect.isawaitable(obj):
                return await_then_track(recorder, obj)
            return _wrap(recorder, name, obj, provider)

        self._replace(provider, original, tracked)

    def _track_singleton(self, name: str, provider: providers.BaseSingleton[Any]) -> None:
        original = provider.provides
        if getattr(original, _MARK, False) or not callable(original):
            return

        def tracked(*args: Any, **kwargs: Any) -> Any:
            obj = original(*args, **kwargs)
            self.recorder.hold(name, obj)
            return obj

        self._replace(provider, original, tracked)

    def reset(self, opened: list[Any]) -> list[Any]:
        """Forget that the ``opened`` Resource providers were initialised (the registry already
        closed them), and every Singleton's instance; returns what dependency-injector gave back
        to await."""
        pending: list[Any] = []
        for provider in {id(p): p for p in opened}.values():
            if provider.initialized:
                with contextlib.suppress(Exception):
                    pending.append(provider.shutdown())
        for provider, _ in self.replaced:
            if isinstance(provider, providers.BaseSingleton):
                provider.reset()
        return [p for p in pending if inspect.isawaitable(p)]

    def undo(self) -> None:
        """Put every original ``provides`` back."""
        for provider, original in reversed(self.replaced):
            provider.set_provides(original)
        self.replaced.clear()


_ATTACHED: dict[int, Instrumentation] = {}
"""Instrumented containers by ``id``; an entry holds its container, so the id stays its own."""


def attach(container: containers.Container, recorder: Recorder) -> Instrumentation:
    """Record ``container``'s resources into ``recorder`` from now on (until :func:`detach`)."""
    instrumentation = _ATTACHED.get(id(container))
    if instrumentation is None:
        instrumentation = _ATTACHED[id(container)] = Instrumentation(container)
    instrumentation.recorders.append(recorder)
    instrumentation.apply()
    return instrumentation


def detach(container: containers.Container, recorder: Recorder, opened: list[Any]) -> list[Any]:
    """Stop recording into ``recorder``; reset the Resource providers it ``opened`` so the next run
    opens them afresh. The last recorder out undoes the instrumentation. Returns awaitables to await."""
    instrumentation = _ATTACHED.get(id(container))
    if instrumentation is None or recorder not in instrumentation.recorders:
        return []
    instrumentation.recorders.remove(recorder)
    pending = instrumentation.reset(opened)
    if not instrumentation.recorders:
        instrumentation.undo()
        del _ATTACHED[id(container)]
    return pending


def refresh(container: containers.Container) -> None:
    """Wrap providers added to an attached ``container`` since (overrides), so they are recorded too."""
    instrumentation = _ATTACHED.get(id(container))
    if instrumentation is not None:
        instrumentation.apply()
