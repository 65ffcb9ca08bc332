"""Close resources a test opened itself by calling providers outside any run.

A run leaves its container as good as new (the runner undoes its instrumentation after
teardown); this covers the rest, at the end of each test.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from typing import Any

from dependency_injector import containers, providers

from jobframe.app.graph import iter_providers

__all__ = ["release_resources"]


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
