"""Rate limits over real sockets: Retry-After, one shared pause after a 429, even spending.

Every bound below comes from the promise in docs/braze.md, not from what the code happens to do:
a Retry-After is waited for (never less), a wait beyond ``rate_limit.max_wait`` fails at once
with exit 75, the first header-less 429 pauses every request to that endpoint, and a binding
limit is used to at least 90 % with no 429.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from email.utils import formatdate

import pytest

from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeRateLimitedError
from jobframe.braze.fake import FakeBraze, FakeBrazeServer

from .conftest import CANARY, make_settings

TRACK = "/users/track"


def _attributes(batches: int) -> list[dict[str, str]]:
    return [{"external_id": f"u{i}"} for i in range(75 * batches)]


@pytest.mark.parametrize("form", ["seconds", "http-date"])
@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_retry_after_is_waited_for(
    server: FakeBrazeServer, fake: FakeBraze, form: str, client_kind: str
) -> None:
    # An HTTP date has whole seconds: two seconds ahead is an instant more than one second away.
    not_before = time.time() + 2
    value = "1" if form == "seconds" else formatdate(not_before, usegmt=True)
    not_before = float(int(not_before))  # what the date says, to the second
    fake.fail_next(TRACK, status=429, rate_limit_headers=False, headers={"Retry-After": value})
    settings = make_settings(server.url)
    if client_kind == "sync":
        with BrazeClient.from_settings(settings) as client:
            assert client.track_users(attributes=_attributes(1)).attributes_processed == 75
    else:

        async def run() -> int:
            async with AsyncBrazeClient.from_settings(settings) as client:
                return (await client.track_users(attributes=_attributes(1))).attributes_processed

        assert asyncio.run(run()) == 75
    limited, retried = fake.requests_to(TRACK)
    if form == "seconds":
        assert retried.at - limited.at >= 1.0
    else:
        assert retried.at >= not_before  # not retried before the instant the date names
    assert retried.at - limited.at < 4  # honoured, not multiplied


@pytest.mark.parametrize("header", ["120", "http-date"])
def test_retry_after_beyond_max_wait_fails_at_once_with_75(
    server: FakeBrazeServer, fake: FakeBraze, header: str
) -> None:
    value = header if header != "http-date" else formatdate(time.time() + 120, usegmt=True)
    fake.fail_next(TRACK, status=429, rate_limit_headers=False, headers={"Retry-After": value})
    settings = make_settings(server.url, rate_limit={"max_wait": 5})
    started = time.monotonic()
    with BrazeClient.from_settings(settings) as client, pytest.raises(BrazeRateLimitedError) as info:
        client.track_users(attributes=_attributes(3))
    assert time.monotonic() - started < 2  # did not wait first
    assert info.value.exit_code == 75 and "max_wait" in str(info.value)
    assert len(fake.requests_to(TRACK)) == 1
    report = info.value.delivery
    assert report is not None and [b.index for b in report.failed] == [0]
    assert report.rest_from is not None and report.rest_from.index == 1


def test_headerless_429_storm_pauses_the_whole_endpoint_once() -> None:
    """Several batches in flight; the first 429 (no headers) stops all of them for one backoff."""
    fake = FakeBraze(api_key=CANARY, delay=0.03)
    base = 0.4  # equal jitter: every pause lasts at least base / 2
    with FakeBrazeServer(fake) as server:
        settings = make_settings(
            server.url,
            max_concurrency=8,
            retry={"max_attempts": 5, "backoff_base": base, "backoff_cap": base},
        )

        async def run() -> int:
            async with AsyncBrazeClient.from_settings(settings) as client:
                await client.track_users(attributes=_attributes(12))  # concurrency grows meanwhile
                fake.fail_next(TRACK, status=429, times=4, rate_limit_headers=False)
                return (await client.track_users(attributes=_attributes(40))).attributes_processed

        assert asyncio.run(run()) == 75 * 40
    second = fake.requests_to(TRACK)[12:]
    first_429 = second[0].at  # the storm starts with the first request of the second call
    during = [r.at - first_429 for r in second if first_429 < r.at < first_429 + base / 2 - 0.05]
    in_flight = [t for t in during if t < 0.03 + 0.02]  # sent before the first 429 could be seen
    assert during == in_flight, f"requests sent during the shared pause: {during}"
    assert len(second) == 40 + 4  # each 429 retried once, after the pause


@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_a_binding_limit_is_spent_evenly_to_at_least_90_percent_without_429(client_kind: str) -> None:
    limit, seconds, windows = 10, 0.5, 6
    fake = FakeBraze(api_key=CANARY, aligned_windows=True, store_users=False)
    fake.set_rate_limit(TRACK, limit, seconds)
    with FakeBrazeServer(fake) as server:
        settings = make_settings(server.url)
        attributes = _attributes(limit * windows)
        if client_kind == "sync":
            with BrazeClient.from_settings(settings) as client:
                client.track_users(attributes=attributes)
        else:

            async def run() -> None:
                async with AsyncBrazeClient.from_settings(settings) as client:
                    await client.track_users(attributes=attributes)

            asyncio.run(run())
    per_window = Counter(math.floor(r.at / seconds) for r in fake.requests_to(TRACK))
    whole = sorted(per_window)[1:-1]
    assert fake.counters.rate_limited == 0
    assert sum(per_window[w] for w in whole) >= 0.9 * limit * len(whole), per_window
