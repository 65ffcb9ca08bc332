"""The API key never leaks; closing a client leaves no connection open."""

from __future__ import annotations

import asyncio
import logging

import pytest
import structlog

from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeError, BrazeSettings
from jobframe.braze.fake import FakeBraze, FakeBrazeServer

from .conftest import CANARY, make_settings

PUSH = {"apple_push": {"alert": "hello"}}


def _provoke_errors(client: BrazeClient, fake: FakeBraze) -> list[BrazeError]:
    """Every error kind, with Braze echoing the key back in a message, as a hostile proxy might."""
    fake.fail_next("/messages/send", status=500, body={"message": f"bad key {CANARY}", "errors": [CANARY]})
    fake.fail_next("/users/track", status=400, raw=f"<p>{CANARY}</p>".encode(), content_type="text/html")
    fake.fail_next("/campaigns/details", status=503, times=5)
    fake.fail_next("/users/export/ids", status=429, times=5, rate_limit_headers=False)
    errors: list[BrazeError] = []
    calls = [
        lambda: client.send_message(PUSH, external_user_ids=["u"]),
        lambda: client.track_users(attributes=[{"external_id": "u"}]),
        lambda: client.campaign_details("c"),
        lambda: client.export_users(["u"]),
    ]
    for call in calls:
        with pytest.raises(BrazeError) as info:
            call()
        errors.append(info.value)
    return errors


def test_canary_key_in_no_exception_repr_or_log(server: FakeBrazeServer, fake: FakeBraze, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        client = BrazeClient.from_settings(make_settings(server.url))
        errors = _provoke_errors(client, fake)
        texts = [repr(client), repr(client.settings), str(client.settings.model_dump()), repr(client._ctx)]
        client.close()
    texts += [str(e) for e in errors] + [repr(e) for e in errors] + [repr(vars(e)) for e in errors]
    texts += [repr(e.__cause__) + repr(e.__context__) for e in errors]
    texts += [repr(event) for event in logs] + [caplog.text]
    requests = [e for e in logs if e["event"] == "braze.request"]
    assert requests  # debug logging really happened
    assert {e["headers"]["authorization"] for e in requests} == {"***"}
    assert [t for t in texts if CANARY in t] == []
    assert {type(e).__name__ for e in errors} == {
        "BrazeServerDuplicatePossibleError",
        "BrazeBadRequestError",
        "BrazeServerError",
        "BrazeRateLimitedError",
    }


def test_closing_sync_client_closes_its_connections(server: FakeBrazeServer) -> None:
    client = BrazeClient.from_settings(make_settings(server.url))
    client.track_users(attributes=[{"external_id": f"u{i}"} for i in range(300)])
    assert server.connection_count >= 1
    client.close()
    assert client.closed and client.is_closed
    assert server.wait_for_connections(0, timeout=5)


def test_closing_async_client_closes_all_concurrent_connections(server: FakeBrazeServer) -> None:
    server.app.delay = 0.01  # keeps requests overlapping, so several connections open

    async def run() -> None:
        async with AsyncBrazeClient.from_settings(make_settings(server.url, max_concurrency=4)) as client:
            await client.track_users(attributes=[{"external_id": f"u{i}"} for i in range(75 * 12)])
            assert server.connection_count > 1
        assert client.is_closed

    asyncio.run(run())
    assert server.wait_for_connections(0, timeout=5)
    assert 1 < server.total_connections <= 4


@pytest.mark.parametrize("key", ['quote"and\\backslash-9f3', "tab\tin-the-key-7c1d", "<html>&amp;-4e2a"])
def test_keys_that_json_escaping_changes_are_still_masked(key: str) -> None:
    """Braze's JSON body may carry the key back escaped; the message and errors are masked decoded."""
    fake = FakeBraze(api_key=key)
    fake.fail_next("/messages/send", status=400, body={"message": f"bad {key}", "errors": [{"detail": key}]})
    settings = BrazeSettings(base_url="http://braze.test", api_key=key)
    with (
        BrazeClient.from_settings(settings, transport=fake.transport()) as client,
        pytest.raises(BrazeError) as info,
    ):
        client.send_message(PUSH, external_user_ids=["u"])
    error = info.value
    texts = [str(error), repr(error), repr(vars(error))]
    assert all(key not in text for text in texts)
    assert error.errors == [{"detail": "***"}] and error.braze_message == "bad ***"  # type: ignore[attr-defined]
