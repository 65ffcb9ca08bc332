"""Transports that cap requests in flight per host (httpx's pool only caps all hosts together).

A request counts as in flight from send until its response body is closed, the same as
OkHttp's ``maxRequestsPerHost``. The wrapped transport still owns every connection.

Two promises hold whatever the wrapped transport does:

* a slot is always given back: when the response body is closed, or at once when the wrapped
  transport returns a body it already read (``httpx.Response(content=...)``, as mocks and fakes
  do), since httpx never closes such a body again;
* waiting for a slot is bounded by the client's pool timeout and ends in ``httpx.PoolTimeout``,
  like waiting for a pooled connection does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

__all__ = ["AsyncPerHostLimit", "PerHostLimit"]

HostKey = tuple[bytes, bytes, int | None]


def _host_key(request: httpx.Request) -> HostKey:
    url = request.url
    return (url.raw_scheme, url.raw_host, url.port)


def _pool_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    value = timeouts.get("pool")
    return float(value) if value is not None else None


def _slot_timeout(request: httpx.Request) -> httpx.PoolTimeout:
    return httpx.PoolTimeout("timed out waiting for a per-host request slot", request=request)


def _hand_over(response: httpx.Response, slot: threading.Semaphore | asyncio.Semaphore, wrap: Any) -> None:
    """Tie the slot to the response body: given back when the body is closed, or at once when the
    body was loaded before the client saw it (nobody would ever close that stream again)."""
    if response.is_closed or hasattr(response, "_content"):
        slot.release()
    else:
        response.stream = wrap(response.stream, slot)


class _ReleasingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, release: threading.Semaphore) -> None:
        self._inner = inner
        self._release: threading.Semaphore | None = release

    def __iter__(self) -> Iterator[bytes]:
        yield from self._inner

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if self._release is not None:
                self._release.release()
                self._release = None


class _AsyncReleasingStream(httpx.AsyncByteStream):
    def __init__(self, inner: httpx.AsyncByteStream, release: asyncio.Semaphore) -> None:
        self._inner = inner
        self._release: asyncio.Semaphore | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._release is not None:
                self._release.release()
                self._release = None


class PerHostLimit(httpx.BaseTransport):
    """Wrap a sync transport so at most ``per_host`` requests run against one host at once."""

    def __init__(self, inner: httpx.BaseTransport, per_host: int) -> None:
        self._inner = inner
        self._per_host = per_host
        self._lock = threading.Lock()
        self._slots: dict[HostKey, threading.BoundedSemaphore] = {}

    def _slot(self, request: httpx.Request) -> threading.BoundedSemaphore:
        key = _host_key(request)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = threading.BoundedSemaphore(self._per_host)
            return slot

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        slot = self._slot(request)
        if not slot.acquire(timeout=_pool_timeout(request)):
            raise _slot_timeout(request)
        try:
            response = self._inner.handle_request(request)
        except BaseException:
            slot.release()
            raise
        _hand_over(response, slot, _ReleasingStream)
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncPerHostLimit(httpx.AsyncBaseTransport):
    """Wrap an async transport so at most ``per_host`` requests run against one host at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, per_host: int) -> None:
        self._inner = inner
        self._per_host = per_host
        self._slots: dict[HostKey, asyncio.Semaphore] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        slot = self._slots.setdefault(_host_key(request), asyncio.Semaphore(self._per_host))
        try:
            await asyncio.wait_for(slot.acquire(), _pool_timeout(request))
        except TimeoutError:
            raise _slot_timeout(request) from None
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            slot.release()
            raise
        _hand_over(response, slot, _AsyncReleasingStream)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
