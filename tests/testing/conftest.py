"""Fixtures for testing the pytest plugin the way a user meets it: in a project of their own.

``shop_project`` writes a small job package outside this repository (its own settings, container,
resources and jobs, plus a Braze module) into a pytester temp dir; each test adds a test file and
runs pytest on it in-process with the plugin loaded.
"""

from __future__ import annotations

import textwrap

import pytest

# pytester's in-process runs drop every module first imported inside them, and the next run
# imports it again as new classes, while what stays loaded (the plugin's modules) kept the old
# ones: NetworkModule then no longer matched and a file run alone failed. Loaded here, once.
import jobframe.http  # noqa: F401

pytest_plugins = ["pytester"]

# The plugin as an installed entry point would load it. "no:jobframe" keeps the entry point (once
# pyproject declares it) from registering the same module a second time under another name.
# The plugin module is already imported by this process, which pytest reports as a rewrite warning.
PLUGIN_ARGS = (
    "-p",
    "no:jobframe",
    "-p",
    "jobframe.testing.plugin",
    "-p",
    "no:cacheprovider",
    "-W",
    "ignore::pytest.PytestAssertRewriteWarning",
)

SHOP_APP = '''
"""A user's job package: settings, resources, jobs and the container exposing them."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx
from dependency_injector import containers, providers
from pydantic import BaseModel, Field, SecretStr

import jobframe
from jobframe.braze import BrazeClient, BrazeModule, BrazeSettings
from jobframe.http import HttpSettings, NetworkModule

log = jobframe.get_logger("shop")


class ShopSettings(jobframe.Settings):
    greeting: str = "hello"
    api_token: SecretStr | None = None
    braze: BrazeSettings
    prices: HttpSettings = HttpSettings(base_url="https://prices.shop.example")


class Ledger:
    """A closeable resource the jobs write to."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting
        self.lines: list[str] = []
        self.closed = False

    def write(self, line: str) -> None:
        if self.closed:
            raise RuntimeError("ledger is closed")
        self.lines.append(line)

    def close(self) -> None:
        self.closed = True


LEDGERS: list[Ledger] = []


def open_ledger(settings: ShopSettings) -> Iterator[Ledger]:
    ledger = Ledger(settings.greeting)
    LEDGERS.append(ledger)
    try:
        yield ledger
    finally:
        ledger.close()


class Formatter:
    """Built once per run (a Singleton) from the ledger's greeting."""

    def __init__(self, ledger: Ledger) -> None:
        self.greeting = ledger.greeting

    def line(self, name: str) -> str:
        return f"{self.greeting}, {name}"


class GreetParams(BaseModel):
    name: str = Field(min_length=1)
    times: int = Field(1, ge=1, le=5)


class Greet:
    """Write a greeting to the ledger."""

    def __init__(self, ledger: Ledger, formatter: Formatter, settings: ShopSettings) -> None:
        self.ledger, self.formatter, self.settings = ledger, formatter, settings

    def execute(self, params: GreetParams) -> dict[str, object]:
        for _ in range(params.times):
            self.ledger.write(self.formatter.line(params.name))
        token = self.settings.api_token.get_secret_value() if self.settings.api_token else "none"
        log.info("greeted", name=params.name, url=f"https://api.example/greet?token={token}")
        return {"lines": list(self.ledger.lines)}


class Flaky:
    """Fail in a way that a retry may fix."""

    def execute(self) -> None:
        raise jobframe.RetryableError("upstream busy")


class CountParams(BaseModel):
    n: int = 2


class AsyncCount:
    """Count, asynchronously."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    async def execute(self, params: CountParams) -> int:
        await asyncio.sleep(0)
        self.ledger.write(f"counted {params.n}")
        return params.n * 2


class NotifyParams(BaseModel):
    users: list[str]


class Notify:
    """Send a push notification through Braze."""

    def __init__(self, braze: BrazeClient) -> None:
        self.braze = braze

    def execute(self, params: NotifyParams) -> int:
        sent = self.braze.send_message({"apple_push": {"alert": "hi"}}, external_user_ids=params.users)
        return sent.recipients


STOP = threading.Event()


class LeakThread:
    """Start a worker and forget it."""

    def execute(self) -> None:
        threading.Thread(target=STOP.wait, args=(5,), name="forgotten-worker").start()


class LeakFile:
    """Open a file and never close it."""

    def execute(self) -> None:
        open(__file__)  # noqa: SIM115


class UnmanagedClient:
    """Use an HTTP client from a plain Singleton (which nobody closes)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def execute(self) -> None:
        return None


class PriceService:
    """A service on a host that is not Braze, through the network module's client."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def price(self, sku: str) -> float:
        response = self.http.get(f"/v1/prices/{sku}")
        response.raise_for_status()
        return float(response.json()["price"])


class RepriceParams(BaseModel):
    skus: list[str] = ["A-1"]


class Reprice:
    """Fetch prices (sync)."""

    def __init__(self, prices: PriceService) -> None:
        self.prices = prices

    def execute(self, params: RepriceParams) -> dict[str, float]:
        return {sku: self.prices.price(sku) for sku in params.skus}


class AsyncReprice:
    """Fetch prices (async)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def execute(self, params: RepriceParams) -> dict[str, float]:
        responses = await asyncio.gather(*(self.http.get(f"/v1/prices/{sku}") for sku in params.skus))
        return {sku: float(r.json()["price"]) for sku, r in zip(params.skus, responses)}


class CarefulReprice:
    """Fetch prices, and treat any failure as "no price" (so the job itself succeeds)."""

    def __init__(self, prices: PriceService) -> None:
        self.prices = prices

    def execute(self, params: RepriceParams) -> dict[str, float | None]:
        found: dict[str, float | None] = {}
        for sku in params.skus:
            try:
                found[sku] = self.prices.price(sku)
            except Exception:
                found[sku] = None
        return found


class UrlParams(BaseModel):
    url: str


class Fetch:
    """Fetch a URL with the standard library (no httpx, no network module)."""

    def execute(self, params: UrlParams) -> int:
        import urllib.request

        with urllib.request.urlopen(params.url, timeout=5) as response:
            return response.status


KEPT: list[object] = []


class OpenParams(BaseModel):
    kind: str
    url: str = ""


def open_thing(kind: str, url: str) -> object:
    """Open one client, socket or file the way application code does, and return it unclosed."""
    if kind == "client":
        client = httpx.Client()
        client.get(url)
        return client
    if kind == "mock_client":
        client = httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(204)))
        client.get("http://mock.invalid/")
        return client
    if kind == "unused_client":
        return httpx.AsyncClient(base_url=url)
    if kind == "socket":
        host, port = url.rsplit(":", 1)
        return socket.create_connection((host, int(port)))
    return open(__file__)  # noqa: SIM115 - the leak under test


class KeepOpen:
    """Open something and keep it in a module-level list, never closed."""

    def execute(self, params: OpenParams) -> None:
        KEPT.append(open_thing(params.kind, params.url))


class DropOpen:
    """Open something and drop it without closing it."""

    def execute(self, params: OpenParams) -> None:
        open_thing(params.kind, params.url)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=ShopSettings)
    ledger = providers.Resource(open_ledger, settings=settings)
    formatter = providers.Singleton(Formatter, ledger=ledger)
    braze = providers.Container(BrazeModule, settings=settings.provided.braze)

    greet = providers.Factory(Greet, ledger=ledger, formatter=formatter, settings=settings)
    flaky = providers.Factory(Flaky)
    async_count = providers.Factory(AsyncCount, ledger=ledger)
    notify = providers.Factory(Notify, braze=braze.client)
    leak_thread = providers.Factory(LeakThread)
    leak_file = providers.Factory(LeakFile)
    unmanaged = providers.Factory(UnmanagedClient, http=providers.Singleton(httpx.Client))

    network = providers.Container(NetworkModule, settings=settings.provided.prices)
    price_service = providers.Factory(PriceService, http=network.client)
    reprice = providers.Factory(Reprice, prices=price_service)
    async_reprice = providers.Factory(AsyncReprice, http=network.async_client)
    careful_reprice = providers.Factory(CarefulReprice, prices=price_service)
    fetch = providers.Factory(Fetch)
    keep_open = providers.Factory(KeepOpen)
    drop_open = providers.Factory(DropOpen)
'''

DEFAULT_YAML = "greeting: hello\nbraze:\n  base_url: https://rest.iad-01.braze.com\n  api_key: from-yaml\n"
TEST_YAML = "greeting: hi\nbraze:\n  base_url: fake://braze\n"


@pytest.fixture
def shop_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A user's project: package ``shop``, ``config/`` profiles and ``jobframe_app`` in pytest.ini."""
    pytester.mkpydir("shop")
    pytester.path.joinpath("shop", "app.py").write_text(textwrap.dedent(SHOP_APP))
    config = pytester.mkdir("config")
    config.joinpath("default.yaml").write_text(DEFAULT_YAML)
    config.joinpath("test.yaml").write_text(TEST_YAML)
    pytester.makeini("[pytest]\njobframe_app = shop.app:Container\n")
    pytester.syspathinsert()
    # The user's environment must not reach the tests: these would break or change every run.
    monkeypatch.setenv("GREETING", "from-the-environment")
    monkeypatch.setenv("BRAZE__BASE_URL", "https://rest.iad-02.braze.com")
    monkeypatch.setenv("JOBFRAME_ENV", "production")
    pytester.path.joinpath(".env").write_text("GREETING=from-dotenv\n")
    return pytester


LOOPBACK_SERVER = """
import http.server
import json
import threading

import pytest


class Prices(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's connection stays open between requests

    def do_GET(self):
        body = json.dumps({"price": 9.5}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def price_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Prices)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()
"""
"""A ``conftest.py`` for a user's project: ``price_server``, a loopback HTTP server (its port)."""


def run_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest on the project in-process, with the jobframe plugin as users get it."""
    return pytester.runpytest_inprocess(*PLUGIN_ARGS, *args)
