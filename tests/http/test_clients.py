"""The network module: settings reach the httpx clients, and the per-host limit really limits."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from dependency_injector import containers, providers

from jobframe.embed import App, RunOptions
from jobframe.embed import run as run_job
from jobframe.http import HttpSettings, NetworkModule, PoolLimits, Timeouts, async_client, sync_client


class _Gate:
    """Counts requests in flight on the server and holds them until released."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.in_flight = 0
        self.peak = 0
        self.release = threading.Event()

    def wait_for(self, count: int, timeout: float = 5) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.in_flight >= count, timeout=timeout)


@pytest.fixture
def gated() -> Iterator[tuple[str, _Gate]]:
    gate = _Gate()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            with gate.lock:
                gate.in_flight += 1
                gate.peak = max(gate.peak, gate.in_flight)
                gate.lock.notify_all()
            gate.release.wait(5)
            with gate.lock:
                gate.in_flight -= 1
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", gate
    finally:
        gate.release.set()
        server.shutdown()
        server.server_close()


def _settings(url: str, per_host: int) -> HttpSettings:
    return HttpSettings(base_url=url, limits=PoolLimits(max_requests=10, max_requests_per_host=per_host))


def test_settings_reach_the_client() -> None:
    settings = HttpSettings(
        base_url="http://example.invalid",
        headers={"X-Team": "growth"},
        timeouts=Timeouts(connect=1, read=2, write=3, pool=4),
    )
    with sync_client(settings) as client:
        assert str(client.base_url) == "http://example.invalid"
        assert client.headers["X-Team"] == "growth"
        assert client.timeout == httpx.Timeout(connect=1, read=2, write=3, pool=4)


def test_sync_client_caps_requests_per_host(gated: tuple[str, _Gate]) -> None:
    url, gate = gated
    with sync_client(_settings(url, per_host=2)) as client, ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(client.get, "/") for _ in range(6)]
        assert gate.wait_for(2)
        # Without the cap all six would reach the held server within milliseconds.
        assert not gate.wait_for(3, timeout=0.5)
        gate.release.set()
        assert all(f.result().status_code == 200 for f in futures)
    assert gate.peak == 2


def test_async_client_caps_requests_per_host(gated: tuple[str, _Gate]) -> None:
    url, gate = gated

    async def main() -> list[int]:
        async with async_client(_settings(url, per_host=3)) as client:
            tasks = [asyncio.create_task(client.get("/")) for _ in range(8)]
            assert await asyncio.to_thread(gate.wait_for, 3)
            assert not await asyncio.to_thread(gate.wait_for, 4, 0.5)
            gate.release.set()
            return [r.status_code for r in await asyncio.gather(*tasks)]

    assert asyncio.run(main()) == [200] * 8
    assert gate.peak == 3


class _UsesBoth:
    """Holds the network module's two clients."""

    def __init__(self, client: httpx.Client, aclient: httpx.AsyncClient) -> None:
        self.client, self.aclient = client, aclient

    async def execute(self) -> list[bool]:
        return [self.client.is_closed, self.aclient.is_closed]


def test_network_module_clients_are_resources_closed_after_the_job() -> None:
    class Main(containers.DeclarativeContainer):
        network = providers.Container(NetworkModule, settings=HttpSettings(base_url="http://example.invalid"))
        job = providers.Factory(_UsesBoth, client=network.client, aclient=network.async_client)

    container = Main()
    result = run_job(
        App.from_container(Main), "_UsesBoth", container=container, options=RunOptions(handle_signals=False)
    )
    assert result.result == [False, False], "open while the job runs"
    assert sorted(result.resources_closed) == ["network.async_client", "network.client"]
