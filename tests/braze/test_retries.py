"""Retry safety, rate limits and error mapping, over real loopback sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from jobframe.braze import (
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeClient,
    BrazeDuplicatePossibleError,
    BrazeNotFoundError,
    BrazeRateLimitedError,
    BrazeServerError,
    BrazeSettings,
    BrazeTransportError,
)
from jobframe.braze._bulk import single
from jobframe.braze._exchange import Call
from jobframe.braze._operations import Endpoint
from jobframe.braze.fake import FakeBraze, FakeBrazeServer
from jobframe.errors import ConfigurationError, RetryableError

from .conftest import CANARY, make_settings

PUSH = {"apple_push": {"alert": "hello"}}


def test_5xx_on_send_is_not_repeated_and_says_duplicate_possible(
    client: BrazeClient, fake: FakeBraze
) -> None:
    fake.fail_next("/messages/send", status=500, times=5)
    with pytest.raises(BrazeDuplicatePossibleError) as info:
        client.send_message(PUSH, external_user_ids=["u1"])
    assert len(fake.requests_to("/messages/send")) == 1
    error = info.value
    assert isinstance(error, RetryableError) and isinstance(error, BrazeServerError)
    assert error.exit_code == 75 and error.status == 500 and error.endpoint == "/messages/send"
    assert "duplicate possible" in str(error)


def test_failure_in_batch_two_keeps_what_batch_one_achieved(client: BrazeClient, fake: FakeBraze) -> None:
    def attributes() -> Iterator[dict[str, str]]:
        for i in range(150):
            if i == 75:
                fake.fail_next("/users/track", status=503)  # arm the fault once batch 0 has been answered
            yield {"external_id": f"u{i}"}

    with pytest.raises(BrazeDuplicatePossibleError) as info:
        client.track_users(attributes())
    assert info.value.batch_index == 1
    assert info.value.partial_result.attributes_processed == 75
    assert len(fake.requests_to("/users/track")) == 2


def test_retry_unsafe_opt_in_repeats_a_send(client: BrazeClient, fake: FakeBraze) -> None:
    fake.fail_next("/messages/send", status=500, times=1)
    result = client.send_message(PUSH, external_user_ids=["u1"], retry_unsafe=True)
    assert len(result.dispatch_ids) == 1
    assert len(fake.requests_to("/messages/send")) == 2


def test_5xx_on_get_and_export_is_retried(client: BrazeClient, fake: FakeBraze) -> None:
    [cid] = fake.seed_campaigns(1)
    fake.fail_next("/campaigns/details", status=503, times=2)
    assert client.campaign_details(cid).name == "Campaign 0"
    assert len(fake.requests_to("/campaigns/details")) == 3
    fake.fail_next("/users/export/ids", status=500, times=1)
    assert client.export_users(["x"]).invalid_user_ids == ["x"]
    assert len(fake.requests_to("/users/export/ids")) == 2


def test_5xx_on_get_gives_up_after_max_attempts(client: BrazeClient, fake: FakeBraze) -> None:
    fake.fail_next("/campaigns/details", status=500, times=10)
    with pytest.raises(BrazeServerError) as info:
        client.campaign_details("c")
    assert not isinstance(info.value, BrazeDuplicatePossibleError)
    assert info.value.attempts == 3 and len(fake.requests_to("/campaigns/details")) == 3
    assert info.value.exit_code == 75


def test_read_timeout_on_send_is_duplicate_possible(server: FakeBrazeServer, fake: FakeBraze) -> None:
    settings = make_settings(server.url, timeouts={"read": 0.05})
    fake.slow_next("/messages/send", 0.3)
    with BrazeClient.from_settings(settings) as client, pytest.raises(BrazeDuplicatePossibleError) as info:
        client.send_message(PUSH, external_user_ids=["u1"])
    assert isinstance(info.value, BrazeTransportError) and info.value.exit_code == 75
    assert len(fake.requests_to("/messages/send")) == 1


def test_read_timeout_on_get_is_retried(server: FakeBrazeServer, fake: FakeBraze) -> None:
    [cid] = fake.seed_campaigns(1)
    fake.slow_next("/campaigns/details", 0.3)
    with BrazeClient.from_settings(make_settings(server.url, timeouts={"read": 0.1})) as client:
        assert client.campaign_details(cid).name == "Campaign 0"
    assert len(fake.requests_to("/campaigns/details")) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connection_refused_is_retried_then_retryable() -> None:
    settings = make_settings(f"http://127.0.0.1:{_closed_port()}")
    with BrazeClient.from_settings(settings) as client, pytest.raises(BrazeTransportError) as info:
        client.send_message(PUSH, external_user_ids=["u1"])  # even a send: it never left the machine
    error = info.value
    assert not isinstance(error, BrazeDuplicatePossibleError)
    assert isinstance(error, RetryableError) and error.exit_code == 75 and error.attempts == 3
    assert "ConnectError" in str(error)


def test_429_waits_until_reset_then_succeeds() -> None:
    # The window is held open by the test, not the clock: the fake's time stands still at the
    # spending request until it has answered a 429, however long the client takes to ask.
    opened = time.time()
    fake = FakeBraze(api_key=CANARY, clock=lambda: opened if fake.counters.rate_limited == 0 else time.time())
    fake.set_rate_limit("/users/track", 1, 0.2)
    fake.handle("POST", "/users/track", {"Authorization": f"Bearer {CANARY}"}, b"{}")  # spend the window
    with FakeBrazeServer(fake) as server, BrazeClient.from_settings(make_settings(server.url)) as client:
        result = client.track_users(attributes=[{"external_id": "u"}])
    assert result.attributes_processed == 1
    assert fake.counters.rate_limited == 1
    spend, _limited, retried = fake.requests_to("/users/track")
    assert retried.at >= spend.at + 0.2  # waited for the reset the 429 announced


def test_429_without_headers_backs_off(client: BrazeClient, fake: FakeBraze) -> None:
    fake.fail_next("/users/track", status=429, times=2, rate_limit_headers=False)
    assert client.track_users(attributes=[{"external_id": "u"}]).attributes_processed == 1
    assert len(fake.requests_to("/users/track")) == 3


def test_429_with_reset_beyond_max_wait_fails_retryable(server: FakeBrazeServer, fake: FakeBraze) -> None:
    fake.set_rate_limit("/users/track", 1, 60)
    fake.handle("POST", "/users/track", {"Authorization": f"Bearer {CANARY}"}, b"{}")
    settings = make_settings(server.url, rate_limit={"max_wait": 0.5})
    with BrazeClient.from_settings(settings) as client, pytest.raises(BrazeRateLimitedError) as info:
        client.track_users(attributes=[{"external_id": "u"}])
    assert info.value.exit_code == 75 and info.value.status == 429
    assert len(fake.requests_to("/users/track")) == 2


def test_limiter_slows_down_so_no_429_is_received(server: FakeBrazeServer, fake: FakeBraze) -> None:
    fake.set_rate_limit("/users/track", 5, 0.1)
    with BrazeClient.from_settings(make_settings(server.url)) as client:
        result = client.track_users(attributes=({"external_id": f"u{i}"} for i in range(75 * 12)))
    assert result.attributes_processed == 900
    assert fake.counters.rate_limited == 0


def test_non_json_error_body(client: BrazeClient, fake: FakeBraze) -> None:
    fake.fail_next("/users/track", status=400, raw=b"<html>Bad Gateway-ish</html>", content_type="text/html")
    with pytest.raises(BrazeBadRequestError) as info:
        client.track_users(attributes=[{"external_id": "u"}])
    assert info.value.status == 400 and "non-JSON body" in str(info.value) and "<html>" in str(info.value)
    fake.fail_next(
        "/campaigns/details", status=502, raw=b"\xff\xfe garbage", times=5, content_type="text/plain"
    )
    with pytest.raises(BrazeServerError):
        client.campaign_details("c")


def test_400_carries_braze_message_and_errors(client: BrazeClient, fake: FakeBraze) -> None:
    fake.fail_next(
        "/messages/send", status=400, body={"message": "Invalid messages", "errors": ["bad alert"]}
    )
    with pytest.raises(BrazeBadRequestError) as info:
        client.send_message(PUSH, external_user_ids=["u"])
    assert info.value.braze_message == "Invalid messages" and info.value.errors == ["bad alert"]
    assert info.value.exit_code == 1


def test_auth_permission_not_found(server: FakeBrazeServer, fake: FakeBraze) -> None:
    wrong = make_settings(server.url, api_key="wrong-key")
    with BrazeClient.from_settings(wrong) as client, pytest.raises(BrazeAuthError) as auth:
        client.campaign_details("c")
    assert auth.value.exit_code == 78 and isinstance(auth.value, ConfigurationError)
    fake.fail_next("/users/track", status=403, body={"message": "no permission"})
    with BrazeClient.from_settings(make_settings(server.url)) as client:
        with pytest.raises(ConfigurationError):
            client.track_users(attributes=[{"external_id": "u"}])
        with pytest.raises(BrazeNotFoundError) as missing:
            client._run(single(Call(Endpoint("GET", "/nope", repeatable=True), dict)))
    assert missing.value.status == 404 and "non-JSON body" in str(missing.value)


def test_missing_api_key_is_configuration_error() -> None:
    # Validation catches this at load; a model built without validation still cannot send.
    settings = BrazeSettings.model_construct(base_url="https://rest.iad-01.braze.com", api_key=None)
    with pytest.raises(ConfigurationError) as info:
        BrazeClient.from_settings(settings)
    assert str(info.value) == "braze.api_key: required when base_url is a real Braze instance"


def test_settings_reject_unknown_braze_hosts_and_odd_schemes() -> None:
    with pytest.raises(ValueError, match="unknown Braze instance"):
        BrazeSettings(base_url="https://rest.iad-1.braze.com", api_key="k")
    with pytest.raises(ValueError, match="http"):
        BrazeSettings(base_url="ftp://x")
    assert (
        BrazeSettings(base_url="https://rest.fra-02.braze.eu/", api_key="k").base_url
        == "https://rest.fra-02.braze.eu"
    )
