"""A sync ``execute()`` reaching something async: judged by what the provider really calls.

A decorator decides what a call gives, not the function it wraps: a sync wrapper that runs a
coroutine to completion (asgiref's ``async_to_sync``, any ``functools.wraps`` wrapper) gives a
value, an ``async def`` wrapper over a sync function gives a coroutine. The check's verdict is
compared with the provider itself, called inside a running loop: it says "async" exactly when
building the provider gives an awaitable.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from dependency_injector import containers, providers

from jobframe._app import App
from jobframe._app.check import check_container
from jobframe._teardown.registry import ResourceRegistry
from jobframe.context import RunContext
from tests.app.apps.probes import awaitable, blocking


class Store:
    def count(self) -> int:
        return 1


class Blocking:
    """``async_to_sync``'s own shape: an instance, ``__wrapped__`` the coroutine function."""

    def __init__(self, function: Callable[..., Awaitable[Any]]) -> None:
        functools.update_wrapper(self, function)
        self._function = function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._function(*args, **kwargs)).result()


class Awaitable_:  # noqa: N801 - ``sync_to_async``'s shape: an instance with an async __call__
    def __init__(self, function: Callable[..., Any]) -> None:
        functools.update_wrapper(self, function)
        self._function = function

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._function(*args, **kwargs)


async def open_store() -> Store:
    return Store()


def make_store() -> Store:
    return Store()


async def store_lifetime() -> AsyncIterator[Store]:
    yield Store()


def sync_store_lifetime() -> Iterator[Store]:
    yield Store()


@contextlib.asynccontextmanager
async def store_context() -> AsyncIterator[Store]:
    yield Store()


class AsyncSession:
    """Entered only asynchronously (``httpx.AsyncClient``'s shape)."""

    async def __aenter__(self) -> Store:
        return Store()

    async def __aexit__(self, *exc: object) -> None:
        pass


def open_session() -> AsyncSession:
    """A sync function whose result a Resource enters asynchronously: its return type says so."""
    return AsyncSession()


CALLING = (providers.Factory, providers.Singleton, providers.Callable, providers.Resource)

SHAPES: list[tuple[str, Any]] = [
    ("async def", open_store),
    ("def", make_store),
    ("sync wrapper over async def", blocking(open_store)),
    ("async wrapper over def", awaitable(make_store)),
    ("sync wrapper over a sync wrapper over async def", functools.wraps(open_store)(blocking(open_store))),
    ("async wrapper over a sync wrapper over async def", awaitable(blocking(open_store))),
    ("sync instance over async def", Blocking(open_store)),
    ("async instance over def", Awaitable_(make_store)),
    ("partial of a sync wrapper over async def", functools.partial(blocking(open_store))),
    ("partial of an async wrapper over def", functools.partial(awaitable(make_store))),
]

RESOURCE_SHAPES: list[tuple[str, Any]] = [
    ("async generator", store_lifetime),
    ("generator", sync_store_lifetime),
    ("asynccontextmanager", store_context),
    ("contextmanager over a sync wrapper", contextlib.contextmanager(sync_store_lifetime)),
    ("def returning an async context manager", open_session),
    ("async context manager class", AsyncSession),
]


class CountItems:
    def __init__(self, store: Any) -> None:
        self.store = store

    def execute(self) -> None:
        pass


def check_and_build(provider: Any, *, instrumented: bool = False) -> tuple[list[str], bool]:
    """What ``--check`` says of a sync job given ``provider``, and whether building it gives an
    awaitable (built inside a running loop, then shut down)."""
    attrs = {
        "run": providers.Dependency(instance_of=RunContext),
        "store": provider,
        "count_items": providers.Factory(CountItems, store=provider),
    }
    container_cls = type("C", (containers.DeclarativeContainer,), attrs)
    app = App.from_container(container_cls)
    container = container_cls()
    app.fill(container, None, RunContext(job="t", run_id="t"))
    registry = ResourceRegistry()
    if instrumented:  # what a test's registry leaves on a container: jobframe's tracking wrappers
        registry.instrument(container)
    try:
        found = [p for job in check_container(app, container).values() for p in job]
    finally:
        if instrumented:
            registry.release()

    async def build() -> bool:
        built = container.store()
        is_awaitable = inspect.isawaitable(built)
        if is_awaitable:
            await built
        shutdown = container.shutdown_resources()
        if inspect.isawaitable(shutdown):
            await shutdown
        return is_awaitable

    return found, asyncio.run(build())


def _cases() -> list[Any]:
    cases = [pytest.param(kind, t, id=f"{kind.__name__}-{n}") for kind in CALLING for n, t in SHAPES]
    cases += [pytest.param(providers.Resource, t, id=f"Resource-{n}") for n, t in RESOURCE_SHAPES]
    return cases


@pytest.mark.parametrize(("kind", "target"), _cases())
@pytest.mark.parametrize("instrumented", [False, True], ids=["plain", "instrumented"])
def test_async_is_what_building_the_provider_gives(kind: Any, target: Any, instrumented: bool) -> None:
    found, gives_awaitable = check_and_build(kind(target), instrumented=instrumented)
    said_async = [p for p in found if "reached by a sync execute()" in p]
    assert bool(said_async) == gives_awaitable, (found, gives_awaitable)
    assert [p for p in found if p not in said_async] == []
    if said_async:
        (line,) = said_async
        assert line.startswith("store: an async ")


def test_a_sync_wrapper_over_async_def_checks_clean_and_runs() -> None:
    """The reported gap: ``async_to_sync(open_store)`` is a sync provider; the job gets a Store."""
    found, gives_awaitable = check_and_build(providers.Factory(blocking(open_store)))
    assert (found, gives_awaitable) == ([], False)


def test_an_async_wrapper_over_def_is_named_as_async() -> None:
    found, _ = check_and_build(providers.Factory(awaitable(make_store)))
    assert found == [
        "store: an async provider (make_store), reached by a sync execute(): "
        "make execute() async, or provide a sync resource"
    ]
