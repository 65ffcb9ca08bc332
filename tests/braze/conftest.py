"""Fixtures: a loopback fake Braze server per test, and settings/clients pointed at it.

Retry backoff is shrunk to milliseconds so failure-path tests stay fast; nothing here sleeps to
synchronise, waits are driven by the fake's (short) rate-limit windows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobframe.braze import BrazeClient, BrazeSettings
from jobframe.braze.fake import FakeBraze, FakeBrazeServer

CANARY = "canary-3f9c2e7d1b"
FAST_RETRY = {"max_attempts": 3, "backoff_base": 0.001, "backoff_cap": 0.005}


def make_settings(base_url: str, **overrides: Any) -> BrazeSettings:
    """Settings with the canary key and millisecond backoff."""
    values: dict[str, Any] = {"base_url": base_url, "api_key": CANARY, "retry": FAST_RETRY}
    values.update(overrides)
    return BrazeSettings.model_validate(values)


@pytest.fixture
def server() -> Iterator[FakeBrazeServer]:
    with FakeBrazeServer(api_key=CANARY) as srv:
        yield srv


@pytest.fixture
def fake(server: FakeBrazeServer) -> FakeBraze:
    return server.app


@pytest.fixture
def settings(server: FakeBrazeServer) -> BrazeSettings:
    return make_settings(server.url)


@pytest.fixture
def client(settings: BrazeSettings) -> Iterator[BrazeClient]:
    with BrazeClient.from_settings(settings) as c:
        yield c
