"""Wirings that are almost right, as a user writes them from dependency-injector's own docs.

Each ``*`` container below holds one fault that a run would hit while building its job — a
``Selector`` whose setting names no choice, a sync job reaching an async resource, an
``@inject`` marker naming no provider, a ``Configuration`` nobody loads — and the ``Good*``
containers hold correct apps of the same shapes that must check clean and run. The tests run
each through ``--check`` and through a run, on real processes (``tests/app/test_wiring.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject
from pydantic import BaseModel, Field

import jobframe
from jobframe.http import HttpSettings, NetworkModule
from tests.app.apps.quotes import _opened


class StoreSettings(BaseModel):
    kind: str = "memory"
    http: HttpSettings = Field(default_factory=HttpSettings)


class AlmostSettings(jobframe.Settings):
    store: StoreSettings = Field(default_factory=StoreSettings)


class Store:
    def __init__(self, where: str) -> None:
        self.where = where

    def count(self) -> int:
        return len(self.where)


def open_store() -> Iterator[Store]:
    _opened("store")
    yield Store("disk")


class RemoteStore(Store):
    def __init__(self, http: httpx.Client) -> None:
        super().__init__(str(http.base_url))


async def open_async_store() -> AsyncIterator[Store]:
    _opened("async_store")
    yield Store("async")


class CountItems:
    """Count the store's items."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def execute(self) -> int:
        return self._store.count()


class CountItemsAsync:
    """Count the store's items, asynchronously."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def execute(self) -> int:
        return self._store.count()


class _Base(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AlmostSettings)
    run = providers.Dependency(instance_of=jobframe.RunContext)


# -- Selector: the choice is a setting, known before the run ------------------------------------


class SelectorChoice(_Base):
    """A Selector on ``store.kind``: ``memory`` or ``disk``; the ``typo`` profile says ``dsk``.
    The ``disk`` branch reaches a network module, whose base URL only production sets."""

    network = providers.Container(NetworkModule, settings=_Base.settings.provided.store.http)
    store = providers.Selector(
        _Base.settings.provided.store.kind,
        memory=providers.Factory(Store, where="memory"),
        disk=providers.Resource(open_store),
        remote=providers.Factory(RemoteStore, http=network.client),
    )
    count_items = providers.Factory(CountItems, store=store)


# -- async resources reached by a sync execute() -------------------------------------------------


class SyncJobAsyncResource(_Base):
    store = providers.Resource(open_async_store)
    count_items = providers.Factory(CountItems, store=store)


async def _make_store() -> Store:
    return Store("made")


class SyncJobCoroutine(_Base):
    store = providers.Coroutine(_make_store)
    count_items = providers.Factory(CountItems, store=store)


class GoodAsyncJobAsyncResource(_Base):
    store = providers.Resource(open_async_store)
    count_items_async = providers.Factory(CountItemsAsync, store=store)


class GoodAsyncJobSyncResource(_Base):
    store = providers.Resource(open_store)
    count_items_async = providers.Factory(CountItemsAsync, store=store)


# -- @inject markers -----------------------------------------------------------------------------


class CountInjected:
    """Count the store's items; the store is injected by wiring."""

    @inject
    def __init__(self, store: Store = Provide["stor"]) -> None:
        self._store = store

    def execute(self) -> int:
        return self._store.count()


class CountInjectedWell:
    """Count the store's items; the store is injected by wiring, correctly."""

    @inject
    def __init__(self, store: Store = Provide["store"]) -> None:
        self._store = store

    def execute(self) -> int:
        return self._store.count()


class InjectTypo(_Base):
    wiring_config = containers.WiringConfiguration(modules=[__name__])
    store = providers.Resource(open_store)
    count_injected = providers.Factory(CountInjected)


class InjectNotWired(_Base):
    """The marker names a provider, but the module is never wired: nothing fills it."""

    store = providers.Resource(open_store)
    count_injected_well = providers.Factory(CountInjectedWell)


class InjectUnfilled(_Base):
    """Wired well, but what the marker names is a Dependency nothing fills."""

    wiring_config = containers.WiringConfiguration(modules=[__name__])
    store = providers.Dependency(instance_of=Store)
    count_injected_well = providers.Factory(CountInjectedWell)


class GoodInjected(_Base):
    wiring_config = containers.WiringConfiguration(modules=[__name__])
    store = providers.Resource(open_store)
    count_injected_well = providers.Factory(CountInjectedWell)


# -- providers.Configuration: jobframe loads Settings, never a Configuration ---------------------


class StrictConfiguration(_Base):
    config = providers.Configuration(strict=True)
    store = providers.Singleton(Store, where=config.store.where)
    count_items = providers.Factory(CountItems, store=store)


class UnloadedConfiguration(_Base):
    """Not strict: an undefined option is None, handed to a ``where: str``."""

    config = providers.Configuration()
    store = providers.Singleton(Store, where=config.store.where)
    count_items = providers.Factory(CountItems, store=store)


class GoodConfiguration(_Base):
    """A Configuration with its values declared: defined options are fine."""

    config = providers.Configuration(default={"store": {"where": "configured"}}, strict=True)
    store = providers.Singleton(Store, where=config.store.where)
    count_items = providers.Factory(CountItems, store=store)


# -- parameters, for --check --job-name --------------------------------------------------------


class SizeParams(BaseModel):
    size: int


class Resize:
    """Resize the store."""

    def execute(self, params: SizeParams) -> int:
        return params.size


class WithParams(_Base):
    resize = providers.Factory(Resize)
    count_items = providers.Factory(CountItems, store=providers.Factory(Store, where="x"))


# -- names that differ only in case -------------------------------------------------------------


class CountItemS:
    """Count the items again, under a name that differs only in case."""

    def execute(self) -> int:
        return 0


class CaseOnly(_Base):
    count_items = providers.Factory(CountItems, store=providers.Factory(Store, where="x"))
    count_items_again = providers.Factory(CountItemS)


# -- a container that cannot even be created ---------------------------------------------------


class BrokenCreation(_Base):
    """dependency-injector loads a Configuration's ``yaml_files`` when the container is created."""

    config = providers.Configuration(yaml_files=[Path(__file__).parent / "absent.yml"], strict=True)
    count_items = providers.Factory(CountItems, store=providers.Factory(Store, where=config.where))
