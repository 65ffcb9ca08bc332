"""Fake the network module's HTTP clients: the real clients, with respx routes as their transport.

Like the fake Braze, only the transport changes: the ``client`` and ``async_client`` of every
:class:`~jobframe.http.NetworkModule` on the container are rebuilt from the module's own settings
(base URL, headers, timeouts, per-host limits) on an ``httpx.MockTransport`` that asks a
``respx.MockRouter``. Tests declare answers with respx's API (``router.get(url).respond(json=...)``)
and read what was sent (``route.calls``); a request no route matches fails at once, naming it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import respx
from dependency_injector import containers

from jobframe.http import HttpSettings, NetworkModule, async_client, sync_client
from jobframe.testing._overrides import Overrides, override_module_resources

__all__ = [
    "async_transport",
    "new_router",
    "transport",
    "use_fake_http",
]


def new_router() -> respx.MockRouter:
    """A router for one test: unmatched requests fail, unused routes do not (check ``route.called``)."""
    return respx.MockRouter(assert_all_called=False, assert_all_mocked=True)


def _streamed(response: httpx.Response) -> httpx.Response:
    """The answer as a network transport gives it: a body still to be read and closed.

    respx's responses come already read, so the client never closes their stream; the per-host
    limit frees a request's slot only when its body is closed, and would wait forever.
    """
    return httpx.Response(
        response.status_code, headers=response.headers, stream=response.stream, extensions=response.extensions
    )


def transport(router: respx.MockRouter) -> httpx.MockTransport:
    """A sync transport answered by ``router``."""
    return httpx.MockTransport(lambda request: _streamed(router.handler(request)))


def async_transport(router: respx.MockRouter) -> httpx.MockTransport:
    """An async transport answered by ``router``."""

    async def handle(request: httpx.Request) -> httpx.Response:
        return _streamed(await router.async_handler(request))

    return httpx.MockTransport(handle)


def fake_client(settings: HttpSettings, router: respx.MockRouter) -> Iterator[httpx.Client]:
    """Resource: the module's sync client, answered by ``router``; closed on teardown."""
    with sync_client(settings, transport=transport(router)) as client:
        yield client


async def fake_async_client(
    settings: HttpSettings, router: respx.MockRouter
) -> AsyncIterator[httpx.AsyncClient]:
    """Resource: the module's async client, answered by ``router``; closed on teardown."""
    async with async_client(settings, transport=async_transport(router)) as client:
        yield client


def use_fake_http(
    container: containers.Container, router: respx.MockRouter, *, module: str | None = None
) -> Overrides:
    """Point the clients of ``container``'s network modules at ``router``; returns the :class:`Overrides`.

    ``module`` names one :class:`~jobframe.http.NetworkModule` provider; by default every one found.
    """
    resources = {"client": fake_client, "async_client": fake_async_client}
    return override_module_resources(container, NetworkModule, module, resources, router=router)
