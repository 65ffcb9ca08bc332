"""The fake as an ``httpx`` transport, for the sync and the async client alike (no sockets).

Answers are streamed like a server's (``stream=``, not ``content=``): the client reads and closes
the body itself, so every resource it holds per response (connection-pool and per-host slots) is
released exactly as it is for a real socket.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from jobframe.braze.fake.app import FakeBraze, FakeResponse

__all__ = ["FakeTransport"]


def _to_httpx(answer: FakeResponse, request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        answer.status, headers=answer.headers, stream=httpx.ByteStream(answer.body), request=request
    )


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers every request from one :class:`FakeBraze`; latency is slept the sync or async way."""

    def __init__(self, app: FakeBraze) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        answer = self.app.handle(request.method, request.url.raw_path.decode(), request.headers, body)
        if answer.delay:
            time.sleep(answer.delay)
        return _to_httpx(answer, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        answer = self.app.handle(request.method, request.url.raw_path.decode(), request.headers, body)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return _to_httpx(answer, request)
