"""Per-host request slots are always given back, and waiting for one is bounded.

Transports that hand back a body they already read (``httpx.MockTransport``, mocks, in-process
fakes) used to keep their slot forever: the 17th request of a client then waited without end.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from jobframe.http import HttpSettings, PoolLimits, Timeouts, async_client, sync_client

REQUESTS = 1_000  # far past every slot and pool limit below


def _settings(per_host: int, pool: float = 5.0) -> HttpSettings:
    return HttpSettings(
        base_url="http://service.invalid",
        limits=PoolLimits(max_requests=per_host, max_requests_per_host=per_host),
        timeouts=Timeouts(pool=pool),
    )


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"path": request.url.path})  # content=: read before the client sees it


@pytest.mark.parametrize("per_host", [1, 4, 16])
def test_sync_slots_come_back_for_bodies_read_in_advance(per_host: int) -> None:
    with sync_client(_settings(per_host), transport=httpx.MockTransport(_answer)) as client:
        answers = [client.get(f"/r{i}").json()["path"] for i in range(REQUESTS)]
    assert answers == [f"/r{i}" for i in range(REQUESTS)]


@pytest.mark.parametrize("per_host", [1, 4, 16])
def test_async_slots_come_back_for_bodies_read_in_advance(per_host: int) -> None:
    async def run() -> list[str]:
        async with async_client(_settings(per_host), transport=httpx.MockTransport(_answer)) as client:
            responses = await asyncio.gather(*(client.get(f"/r{i}") for i in range(REQUESTS)))
        return [r.json()["path"] for r in responses]

    assert asyncio.run(run()) == [f"/r{i}" for i in range(REQUESTS)]


class _Streamed(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Streams every body: the slot is held until the caller closes the response."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"x"), request=request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"x"), request=request)


def test_sync_wait_for_a_slot_ends_in_pool_timeout() -> None:
    with sync_client(_settings(2, pool=0.2), transport=_Streamed()) as client:
        held = [client.send(client.build_request("GET", "/a"), stream=True) for _ in range(2)]
        started = time.monotonic()
        with pytest.raises(httpx.PoolTimeout):
            client.get("/b")
        assert 0.15 < time.monotonic() - started < 5  # the pool timeout, not forever
        held[0].close()
        assert client.get("/c").status_code == 200  # a closed body gives its slot back
        held[1].close()


def test_async_wait_for_a_slot_ends_in_pool_timeout() -> None:
    async def run() -> None:
        async with async_client(_settings(2, pool=0.2), transport=_Streamed()) as client:
            held = [await client.send(client.build_request("GET", "/a"), stream=True) for _ in range(2)]
            started = time.monotonic()
            with pytest.raises(httpx.PoolTimeout):
                await client.get("/b")
            assert 0.15 < time.monotonic() - started < 5
            await held[0].aclose()
            assert (await client.get("/c")).status_code == 200
            await held[1].aclose()

    asyncio.run(run())


def test_a_null_per_host_limit_adds_no_cap_of_its_own() -> None:
    # A client of one host (the Braze clients) is bounded by its pool; no second cap may hold it.
    settings = HttpSettings(
        base_url="http://service.invalid",
        limits=PoolLimits(max_requests=2, max_requests_per_host=None),
        timeouts=Timeouts(pool=0.2),
    )
    with sync_client(settings, transport=_Streamed()) as client:
        held = [client.send(client.build_request("GET", "/a"), stream=True) for _ in range(5)]
        assert [r.status_code for r in held] == [200] * 5  # no PoolTimeout from a per-host slot
        for response in held:
            response.close()

    async def run() -> list[int]:
        async with async_client(settings, transport=_Streamed()) as client:
            held = [await client.send(client.build_request("GET", "/a"), stream=True) for _ in range(5)]
            for response in held:
                await response.aclose()
            return [r.status_code for r in held]

    assert asyncio.run(run()) == [200] * 5
