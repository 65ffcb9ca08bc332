"""Bulk calls through the in-process fake, far past every pool, slot and batch limit.

The in-process fake is what the ``local`` profile and the toolkit's ``fake_braze`` use; it must
behave like a server for every resource the client holds (it once hung after 16 requests).
"""

from __future__ import annotations

import asyncio

import pytest

from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
from jobframe.braze.fake import FakeBraze

BATCHES = 1_200  # > limits.max_requests (32), > max_requests_per_host (16), > max_concurrency
PUSH = {"apple_push": {"alert": "hi"}}


def _settings(**values: object) -> BrazeSettings:
    return BrazeSettings.model_validate({"base_url": "fake://braze", **values})


def _ids(n: int) -> list[str]:
    return [f"u{i}" for i in range(n)]


@pytest.mark.parametrize("concurrency", [1, 16])
def test_async_bulk_track_and_send_complete(concurrency: int) -> None:
    fake = FakeBraze(store_users=False, record_limit=None)

    async def run() -> tuple[int, int]:
        settings = _settings(max_concurrency=concurrency)
        async with AsyncBrazeClient.from_settings(settings, transport=fake.transport()) as client:
            track = await client.track_users(attributes=({"external_id": i} for i in _ids(75 * BATCHES)))
            sent = await client.send_message(PUSH, external_user_ids=iter(_ids(50 * BATCHES)))
        return track.attributes_processed, sent.recipients

    assert asyncio.run(run()) == (75 * BATCHES, 50 * BATCHES)
    assert fake.counters.by_path == {"/users/track": BATCHES, "/messages/send": BATCHES}


def test_sync_bulk_track_and_send_complete() -> None:
    fake = FakeBraze(store_users=False, record_limit=None)
    with BrazeClient.from_settings(_settings(), transport=fake.transport()) as client:
        track = client.track_users(attributes=({"external_id": i} for i in _ids(75 * BATCHES)))
        sent = client.send_message(PUSH, external_user_ids=iter(_ids(50 * BATCHES)))
    assert (track.attributes_processed, sent.recipients) == (75 * BATCHES, 50 * BATCHES)
    assert fake.counters.by_path == {"/users/track": BATCHES, "/messages/send": BATCHES}


def test_offline_default_fake_serves_bulk_calls() -> None:
    """``base_url: fake://braze`` without a transport: the fake the ``local`` profile runs on."""
    with BrazeClient.from_settings(_settings()) as client:
        assert client.track_users(attributes=({"external_id": i} for i in _ids(75 * 300))).batches == 300

    async def run() -> int:
        async with AsyncBrazeClient.from_settings(_settings()) as client:
            return (await client.send_message(PUSH, external_user_ids=_ids(50 * 300))).batches

    assert asyncio.run(run()) == 300
