"""Build ``httpx`` clients from :class:`HttpSettings`, so every client in a job is bounded alike.

The functions return clients that are context managers; provide them with
``providers.Resource(sync_client, settings=...)`` and jobframe closes them after the job.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from jobframe.http.per_host import AsyncPerHostLimit, PerHostLimit
from jobframe.http.retryable import AsyncRetryableTransport, RetryableTransport
from jobframe.http.settings import HttpSettings

__all__ = ["async_client", "sync_client"]


def _timeout(settings: HttpSettings) -> httpx.Timeout:
    t = settings.timeouts
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def _limits(settings: HttpSettings) -> httpx.Limits:
    lim = settings.limits
    return httpx.Limits(
        max_connections=lim.max_requests,
        max_keepalive_connections=lim.max_idle_connections,
        keepalive_expiry=lim.idle_timeout,
    )


def sync_client(
    settings: HttpSettings,
    *,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> httpx.Client:
    """A sync client with the settings' base URL, headers, timeouts and pool limits.

    ``transport`` replaces the network (a fake, a recording transport); the per-host limit (unless
    ``limits.max_requests_per_host`` is null) still applies on top of it, and so does
    :mod:`~jobframe.http.retryable` (a transport failure exits 75) unless
    ``settings.retry_transport_errors`` is off.
    """
    limited = transport or httpx.HTTPTransport(limits=_limits(settings))
    if (per_host := settings.limits.max_requests_per_host) is not None:
        limited = PerHostLimit(limited, per_host)
    return httpx.Client(
        base_url=settings.base_url or "",
        headers={**settings.headers, **(headers or {})},
        timeout=_timeout(settings),
        follow_redirects=settings.follow_redirects,
        transport=RetryableTransport(limited) if settings.retry_transport_errors else limited,
    )


def async_client(
    settings: HttpSettings,
    *,
    headers: Mapping[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """The async twin of :func:`sync_client`."""
    limited = transport or httpx.AsyncHTTPTransport(limits=_limits(settings))
    if (per_host := settings.limits.max_requests_per_host) is not None:
        limited = AsyncPerHostLimit(limited, per_host)
    return httpx.AsyncClient(
        base_url=settings.base_url or "",
        headers={**settings.headers, **(headers or {})},
        timeout=_timeout(settings),
        follow_redirects=settings.follow_redirects,
        transport=AsyncRetryableTransport(limited) if settings.retry_transport_errors else limited,
    )
