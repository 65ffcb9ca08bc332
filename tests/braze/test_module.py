"""Wiring through BrazeModule, the fake's command line, and the limiter as a pure unit."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import structlog
from dependency_injector import containers, providers
from pydantic import ValidationError

from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeModule, BrazeSettings
from jobframe.braze._ratelimit import backoff_delay

REPO = Path(__file__).resolve().parents[2]


class _Main(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=BrazeSettings)
    braze = providers.Container(BrazeModule, settings=settings)


def test_module_provides_closeable_resources_on_the_fake() -> None:
    main = _Main(settings=BrazeSettings(base_url="fake://braze"))
    with structlog.testing.capture_logs() as logs:
        client = main.braze.client()
        assert client is main.braze.client()  # one client per container lifetime
        assert isinstance(client, BrazeClient)
        assert client.track_users(attributes=[{"external_id": "u"}]).attributes_processed == 1
        main.shutdown_resources()
    assert client.closed
    assert [e["event"] for e in logs].count("braze.fake_in_use") == 1


def test_module_async_resource() -> None:
    main = _Main(settings=BrazeSettings(base_url="fake://braze"))

    async def run() -> AsyncBrazeClient:
        client = await main.braze.async_client()
        assert isinstance(client, AsyncBrazeClient)
        assert (await client.export_users(["nobody"])).invalid_user_ids == ["nobody"]
        await main.shutdown_resources()  # type: ignore[misc]
        return client

    assert asyncio.run(run()).is_closed


def test_settings_without_key_on_real_instance_are_invalid() -> None:
    with pytest.raises(ValidationError) as info:
        BrazeSettings(base_url="https://rest.iad-03.braze.com")
    assert info.value.errors()[0]["loc"] == ("api_key",)
    assert "required when base_url is not 'fake://braze'" in str(info.value)


@pytest.mark.process
def test_fake_command_line_serves_until_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobframe.braze.fake", "--port", "0", "--campaigns", "3", "--api-key", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.get(f"{url}/campaigns/list", headers={"Authorization": "Bearer k"})
        assert answer.status_code == 200 and len(answer.json()["campaigns"]) == 3
        assert answer.headers["x-ratelimit-remaining"]
        assert httpx.get(f"{url}/campaigns/list").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


@pytest.mark.process
@pytest.mark.parametrize(
    ("args", "phrase"),
    [(["--port", "99999"], "port must be 0-65535"), (["--host", "192.0.2.1"], "cannot listen on 192.0.2.1")],
)
def test_fake_command_line_that_cannot_listen_is_one_usage_error(args: list[str], phrase: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jobframe.braze.fake", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done
    assert phrase in done.stderr and "Traceback" not in done.stderr, done.stderr


def test_backoff_is_exponential_jittered_and_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, 0.5, 4.0, rng) for n in range(1, 7)]
    assert 0.25 <= delays[0] <= 0.5 and 0.5 <= delays[1] <= 1.0 and all(d <= 4.0 for d in delays)
    assert all(2.0 <= d <= 4.0 for d in delays[3:])
