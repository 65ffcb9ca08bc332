"""The safety net's table names real classes: each :data:`KNOWN` entry is checked against the library
itself when it is installed (the zoo extra installs them all), so a renamed or moved class — which
would silently turn "ended" into "only named" — fails here, not in a user's pod.

Skipped per library when it is not installed; the table below must cover every entry of KNOWN.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from jobframe._teardown.safety_net import KNOWN

# KNOWN's qualified name -> where users get the class: "module:attribute".
PUBLIC = {
    "concurrent.futures.thread.ThreadPoolExecutor": "concurrent.futures:ThreadPoolExecutor",
    "concurrent.futures.process.ProcessPoolExecutor": "concurrent.futures:ProcessPoolExecutor",
    "opentelemetry.sdk.trace.TracerProvider": "opentelemetry.sdk.trace:TracerProvider",
    "opentelemetry.sdk.metrics._internal.MeterProvider": "opentelemetry.sdk.metrics:MeterProvider",
    "opentelemetry.sdk._logs._internal.LoggerProvider": "opentelemetry.sdk._logs:LoggerProvider",
    "sqlalchemy.engine.base.Engine": "sqlalchemy:Engine",
    "sqlalchemy.ext.asyncio.engine.AsyncEngine": "sqlalchemy.ext.asyncio:AsyncEngine",
    "apscheduler.schedulers.base.BaseScheduler": "apscheduler.schedulers.background:BackgroundScheduler",
    "grpc._server._Server": "grpc:server",
    "grpc.aio._server.Server": "grpc.aio._server:Server",
    "cimpl.Producer": "confluent_kafka:Producer",
    "redis.client.Redis": "redis:Redis",
    "redis.asyncio.client.Redis": "redis.asyncio:Redis",
    "sqlite3.Connection": "sqlite3:Connection",
}


def _public(name: str) -> Any:
    module, _, attr = PUBLIC[name].partition(":")
    try:
        imported = importlib.import_module(module)
    except ImportError as exc:  # not installed, or an optional part of it missing (greenlet)
        pytest.skip(f"{module} cannot be imported here: {exc}")
    return getattr(imported, attr)


def _server_class() -> type:
    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    grpc = importlib.import_module("grpc")
    with ThreadPoolExecutor(1) as pool:
        server = grpc.server(pool)  # grpc._server._Server is private: made by grpc.server()
        return type(server)


def test_every_known_type_has_a_public_way_to_it() -> None:
    assert sorted(PUBLIC) == sorted(KNOWN)


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_a_known_name_is_the_installed_librarys_class(name: str) -> None:
    found = _public(name)
    cls = _server_class() if name == "grpc._server._Server" else found
    assert isinstance(cls, type), f"{PUBLIC[name]} is {cls!r}, not a class"
    qualified = [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__]
    assert name in qualified, f"{PUBLIC[name]} is {qualified[0]}; its bases: {qualified[1:]}"
    known = KNOWN[name]
    if known.method is not None:  # the method the table calls exists on the real class
        assert callable(getattr(cls, known.method, None)), f"{qualified[0]} has no {known.method}()"
    if known.running_attr is not None:
        assert hasattr(cls, known.running_attr), f"{qualified[0]} has no {known.running_attr}"
