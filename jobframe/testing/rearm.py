"""Leave a container as a fresh one after a run, so the same test can run a job again.

The runner instruments a container for one run: every ``Resource`` and ``Singleton`` provider gets
a recording wrapper bound to that run's registry, and initialised resources stay marked
initialised after the registry closed them. The CLI never runs twice per process, but a test may
("a second run sends nothing"): without this, run two would reuse closed clients and record its
resources into run one's registry. :func:`rearmed` snapshots what the providers provide before the
run and puts it back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Iterator
from typing import Any

from dependency_injector import containers, providers

from jobframe.teardown import iter_providers

__all__ = ["rearmed", "release_resources"]


@contextlib.contextmanager
def rearmed(container: containers.Container) -> Iterator[None]:
    """Around one run: afterwards, resources are uninitialised, wrappers removed, singletons reset."""
    saved: list[tuple[Any, Any]] = [
        (provider, provider.provides)
        for _, provider in iter_providers(container)
        if isinstance(provider, providers.Resource | providers.BaseSingleton)
    ]
    try:
        yield
    finally:
        for provider, _ in saved:
            if isinstance(provider, providers.Resource) and provider.initialized:
                _forget(provider)
        for provider, provides in saved:
            if provider.provides is not provides:
                provider.set_provides(provides)
        container.reset_singletons()


def release_resources(container: containers.Container) -> None:
    """Shut down every initialised resource of ``container`` (e.g. opened by a test directly)."""
    for _, provider in iter_providers(container):
        if isinstance(provider, providers.Resource) and provider.initialized:
            _forget(provider)


def _forget(provider: providers.Resource[Any]) -> None:
    # After a run the registry already closed the real resource, so this only exits its recording
    # wrapper (a no-op) and clears the "initialised" state; a resource opened outside any run is
    # really closed here.
    with contextlib.suppress(Exception):
        pending = provider.shutdown()
        if inspect.isawaitable(pending):
            asyncio.run(_wait(pending))


async def _wait(awaitable: Any) -> None:
    await awaitable
