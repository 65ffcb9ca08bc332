"""One shell for both clients: the public methods are the planner's, with its signature and docs."""

from __future__ import annotations

import asyncio
import inspect

import pytest

from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
from jobframe.braze._operations import Planner

FAKE = BrazeSettings(base_url="fake://braze")
METHODS = [
    "send_message",
    "trigger_campaign",
    "trigger_canvas",
    "track_users",
    "export_users",
    "create_send_id",
    "campaign_data_series",
    "send_data_series",
    "campaign_details",
    "iter_campaigns",
]


@pytest.mark.parametrize("name", METHODS)
def test_both_clients_expose_every_planner_method_with_its_signature_and_doc(name: str) -> None:
    planned = inspect.signature(getattr(Planner, name))
    expected = list(planned.parameters.values())[1:]
    sync = BrazeClient.from_settings(FAKE)
    try:
        method = getattr(sync, name)
        assert list(inspect.signature(method).parameters.values()) == expected
        assert method.__doc__ == getattr(Planner, name).__doc__ == getattr(BrazeClient, name).__doc__
        assert getattr(sync, name) is method  # bound once, then cached on the client
    finally:
        sync.close()

    async def check_async() -> None:
        async with AsyncBrazeClient.from_settings(FAKE) as client:
            assert list(inspect.signature(getattr(client, name)).parameters.values()) == expected

    asyncio.run(check_async())


def test_the_async_methods_are_coroutines_or_async_iterators_and_the_sync_ones_are_not() -> None:
    async def run() -> None:
        async with AsyncBrazeClient.from_settings(FAKE) as client:
            pending = client.campaign_details("campaign-00000")
            assert inspect.iscoroutine(pending)
            assert (await pending).name == "Campaign 0"
            assert [c.id async for c in client.iter_campaigns()] == [f"campaign-0000{i}" for i in range(3)]

    asyncio.run(run())
    with BrazeClient.from_settings(FAKE) as client:
        assert client.campaign_details("campaign-00000").name == "Campaign 0"
        assert len(list(client.iter_campaigns())) == 3
