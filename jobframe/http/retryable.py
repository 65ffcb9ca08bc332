"""Transport failures of jobframe's HTTP clients are retryable (exit 75), as Braze's are.

A refused connection, a timeout or a connection dropped mid-exchange says nothing about the job's
code: the same run a minute later will likely succeed. So the clients :func:`~jobframe.http.sync_client`
and :func:`~jobframe.http.async_client` build raise, for every ``httpx.TransportError``, an error of
a class that is *both* the original httpx class and :class:`~jobframe.RetryableError`: code that
catches ``httpx.ConnectError`` still catches it, and a job that lets it escape exits 75.

Opting out: ``retry_transport_errors: false`` in the client's settings (the plain httpx errors,
exit 1), or catch the error in the job and raise what it means there.
"""

from __future__ import annotations

import httpx

from jobframe.errors import RetryableError

__all__ = ["AsyncRetryableTransport", "RetryableTransport", "retryable"]


_TWINS: dict[type[httpx.TransportError], type[httpx.TransportError]] = {}


def _twin(cls: type[httpx.TransportError]) -> type[httpx.TransportError]:
    """``cls`` and :class:`RetryableError` in one class, named like ``cls`` (made once per class)."""
    twin = _TWINS.get(cls)
    if twin is None:
        namespace = {"__module__": __name__, "__qualname__": cls.__qualname__}
        twin = _TWINS.setdefault(cls, type(cls.__name__, (cls, RetryableError), namespace))
    return twin


def retryable(error: httpx.TransportError, request: httpx.Request) -> httpx.TransportError:
    """``error`` as its retryable twin (the original is its ``__cause__``)."""
    if isinstance(error, RetryableError):
        return error
    twin = _twin(type(error))(str(error), request=request)
    twin.__cause__ = error
    return twin


class RetryableTransport(httpx.BaseTransport):
    """Wrap a sync transport so its transport failures are retryable (module docstring)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._inner.handle_request(request)
        except httpx.TransportError as error:
            raise retryable(error, request) from error

    def close(self) -> None:
        self._inner.close()


class AsyncRetryableTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`RetryableTransport`."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.TransportError as error:
            raise retryable(error, request) from error

    async def aclose(self) -> None:
        await self._inner.aclose()
