"""``max_concurrency`` is the one bound of a Braze client's requests in flight, for both clients."""

from __future__ import annotations

import threading

import pytest
from pydantic import ValidationError

from jobframe.braze import BrazeClient, BrazeSettings
from jobframe.braze.fake import FakeBrazeServer

from .conftest import make_settings
from .test_async import _InFlight


def test_the_pool_holds_max_concurrency_connections_and_no_per_host_cap_repeats_it() -> None:
    settings = BrazeSettings(base_url="fake://braze", max_concurrency=7, limits={"max_idle_connections": 3})
    limits = settings.http_settings().limits
    assert (limits.max_requests, limits.max_requests_per_host) == (7, None)
    assert (limits.max_idle_connections, limits.idle_timeout) == (3, 30.0)
    # No second limit to keep consistent: any ceiling is accepted on its own.
    wide = BrazeSettings(base_url="fake://braze", max_concurrency=100)
    assert wide.http_settings().limits.max_requests == 100


@pytest.mark.parametrize("key", ["max_requests", "max_requests_per_host"])
def test_the_pool_limits_max_concurrency_replaced_are_refused_by_name(key: str) -> None:
    with pytest.raises(ValidationError, match=rf"limits\.{key}\n  Extra inputs are not permitted"):
        BrazeSettings(base_url="fake://braze", limits={key: 16})


def test_a_sync_client_shared_by_threads_keeps_at_most_max_concurrency_in_flight() -> None:
    fake = _InFlight()
    errors: list[BaseException] = []
    with (
        FakeBrazeServer(fake) as server,
        BrazeClient.from_settings(make_settings(server.url, max_concurrency=3)) as client,
    ):

        def work(n: int) -> None:
            try:
                result = client.track_users(attributes=[{"external_id": f"t{n}-{i}"} for i in range(300)])
                assert result.attributes_processed == 300
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert fake.peak == 3  # 12 threads, three connections: the pool is the bound
