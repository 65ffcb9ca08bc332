"""The network module: a reusable container that provides configured HTTP clients as resources."""

from __future__ import annotations

from dependency_injector import containers, providers

from jobframe.http.clients import async_client, sync_client
from jobframe.http.settings import HttpSettings

__all__ = ["NetworkModule"]


class NetworkModule(containers.DeclarativeContainer):
    """Provides one sync and one async ``httpx`` client built from ``settings``.

    Both are ``Resource`` providers: the client is created on first use and closed by jobframe's
    teardown after the job, whether the job used it or not is irrelevant (unused ones never open).
    """

    settings = providers.Dependency(instance_of=HttpSettings)
    client = providers.Resource(sync_client, settings=settings)
    async_client = providers.Resource(async_client, settings=settings)
