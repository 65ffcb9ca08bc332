"""Almost-right wirings whose fault the declarations show, each a container a user could write.

``tests/app/test_check_vs_run.py`` runs each through ``--check`` and through a real run: what the
check refuses, a run refuses with the same lines before the job starts (78); the ``Good*`` twins
check clean and run.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from dependency_injector import containers, providers, resources
from pydantic import BaseModel

import jobframe


class Extra(BaseModel):
    path: str = "/srv/extra"


class StoreSettings(BaseModel):
    path: str = "/tmp"
    extra: Extra | None = None
    label: str | None = None
    paths: dict[str, str] = {"main": "/srv/main"}
    shelves: list[Extra] = [Extra()]


class ProbeSettings(jobframe.Settings):
    store: StoreSettings = StoreSettings()


class Store:
    def __init__(self, path: str = "/tmp") -> None:
        self.path = path

    def count(self) -> int:
        return len(self.path)


class Other:
    pass


class CountItems:
    """Count the store's items."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def execute(self) -> dict[str, int]:
        return {"items": self.store.count()}


class StoreResource(resources.Resource):  # type: ignore[type-arg]
    def init(self, dsn: str) -> Store:
        return Store(dsn)


class NeedsStore(containers.DeclarativeContainer):
    store = providers.Dependency(instance_of=Store)


def blocking(function: Callable[..., Awaitable[Any]]) -> Callable[..., Any]:
    """A sync wrapper running a coroutine to completion (asgiref's ``async_to_sync`` shape)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, function(*args, **kwargs)).result()

    return run


def awaitable(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(function)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return run


async def open_store() -> Store:
    return Store("async")


def make_store() -> Store:
    return Store("sync")


def lifetime(path: str) -> Iterator[Store]:
    yield Store(path)


class _Base(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=ProbeSettings)
    run = providers.Dependency(instance_of=jobframe.RunContext)


class ResourceInitArgument(_Base):
    count_items = providers.Factory(CountItems, store=providers.Resource(StoreResource))


class GoodResourceInitArgument(_Base):
    store = providers.Resource(StoreResource, dsn=_Base.settings.provided.store.path)
    count_items = providers.Factory(CountItems, store=store)


class Circular(_Base):
    store = providers.Factory(Store)
    count_items = providers.Factory(CountItems, store=store)


Circular.store.add_kwargs(path=Circular.count_items.provided.store.path)


class WrongObject(_Base):
    count_items = providers.Factory(CountItems, store=providers.Object(Other()))


class WrongModuleDependency(_Base):
    module = providers.Container(NeedsStore, store=providers.Factory(Other))
    count_items = providers.Factory(CountItems, store=module.store)


class UnsetSection(_Base):
    store = providers.Factory(Store, path=_Base.settings.provided.store.extra.path)
    count_items = providers.Factory(CountItems, store=store)


class AsyncWrapperOverSync(_Base):
    count_items = providers.Factory(CountItems, store=providers.Factory(awaitable(make_store)))


class GoodSyncWrapperOverAsync(_Base):
    count_items = providers.Factory(CountItems, store=providers.Factory(blocking(open_store)))


class GoodResource(_Base):
    count_items = providers.Factory(
        CountItems, store=providers.Resource(lifetime, path=_Base.settings.provided.store.path)
    )


class SizedStore(Store):
    def __init__(self, size: int) -> None:
        super().__init__("x" * size)


class ConfigurationText(_Base):
    config = providers.Configuration(default={"store": {"size": "41"}})  # as a file or variable gives it
    count_items = providers.Factory(CountItems, store=providers.Factory(SizedStore, size=config.store.size))


class GoodConfigurationAsInt(_Base):
    config = providers.Configuration(default={"store": {"size": "41"}})
    count_items = providers.Factory(
        CountItems, store=providers.Factory(SizedStore, size=config.store.size.as_int())
    )


class MissingKey(_Base):
    count_items = providers.Factory(
        CountItems, store=providers.Factory(Store, path=_Base.settings.provided.store.paths["mian"])
    )


class GoodKey(_Base):
    count_items = providers.Factory(
        CountItems, store=providers.Factory(Store, path=_Base.settings.provided.store.paths["main"])
    )


class DelegatedWhereInstance(_Base):
    count_items = providers.Factory(CountItems, store=providers.DelegatedFactory(Store))


class UnsetLabel(_Base):
    count_items = providers.Factory(
        CountItems, store=providers.Factory(Store, path=_Base.settings.provided.store.label)
    )
