"""Transports that cap requests in flight per host (httpx's pool only caps all hosts together).

A request counts as in flight from send until its response body is closed, the same as
OkHttp's ``maxRequestsPerHost``. The wrapped transport still owns every connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import httpx

__all__ = ["AsyncPerHostLimit", "PerHostLimit"]


def _host_key(request: httpx.Request) -> tuple[bytes, bytes, int | None]:
    url = request.url
    return (url.raw_scheme, url.raw_host, url.port)


class _ReleasingStream(httpx.SyncByteStream):
    def __init__(self, inner: httpx.SyncByteStream, release: threading.BoundedSemaphore) -> None:
        self._inner = inner
        self._release: threading.BoundedSemaphore | None = release

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
        self._slots: dict[tuple[bytes, bytes, int | None], threading.BoundedSemaphore] = {}

    def _slot(self, request: httpx.Request) -> threading.BoundedSemaphore:
        key = _host_key(request)
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = threading.BoundedSemaphore(self._per_host)
            return slot

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        slot = self._slot(request)
        slot.acquire()
        try:
            response = self._inner.handle_request(request)
        except BaseException:
            slot.release()
            raise
        assert isinstance(response.stream, httpx.SyncByteStream)
        response.stream = _ReleasingStream(response.stream, slot)
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncPerHostLimit(httpx.AsyncBaseTransport):
    """Wrap an async transport so at most ``per_host`` requests run against one host at once."""

    def __init__(self, inner: httpx.AsyncBaseTransport, per_host: int) -> None:
        self._inner = inner
        self._per_host = per_host
        self._slots: dict[tuple[bytes, bytes, int | None], asyncio.Semaphore] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        slot = self._slots.setdefault(_host_key(request), asyncio.Semaphore(self._per_host))
        await slot.acquire()
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            slot.release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _AsyncReleasingStream(response.stream, slot)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
