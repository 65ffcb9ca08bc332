"""What the Braze clients and the run ledger count into the run's Observer, and how it gets there.

The counts are pushed as Prometheus counters (docs/observability.md), so each one is pinned here
against the fake Braze misbehaving in the ways that move it: 429s, 5xx on sends, 4xx, retries.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from jobframe._app.discovery import App
from jobframe._run import RunOptions, prepare
from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
from jobframe.braze._errors import BrazeError
from jobframe.braze.fake import FakeBraze
from jobframe.ledger.ledger import Journal, RunLedger, _Ambiguous
from jobframe.ledger.module import ledger_counts
from jobframe.observe import EndpointCounts, Observer

PUSH = {"apple_push": {"alert": "hello"}}
SEND = "/messages/send"
SETTINGS = BrazeSettings(base_url="https://rest.iad-01.braze.com", api_key="k-123456")


def _ids(count: int) -> list[str]:
    return [f"u{i}" for i in range(count)]


@pytest.fixture
def fake() -> FakeBraze:
    return FakeBraze()


def _sync(fake: FakeBraze, observer: Observer) -> BrazeClient:
    http = httpx.Client(base_url=SETTINGS.base_url, transport=fake.transport())
    return BrazeClient(http, SETTINGS, sleep=lambda seconds: None, observer=observer)


def test_requests_retries_and_429s_are_counted_per_endpoint(fake: FakeBraze) -> None:
    observer = Observer()
    fake.fail_next(SEND, status=429, times=2, headers={"Retry-After": "0"}, rate_limit_headers=False)
    with _sync(fake, observer) as client:
        client.send_message(PUSH, external_user_ids=_ids(120))  # 3 batches, the first refused twice
    counts = observer.counts()[SEND]
    assert counts == EndpointCounts(requests=5, rate_limited=2, retries=2, objects_sent=120)


def test_a_5xx_on_a_send_is_ambiguous_a_4xx_rejected_and_batches_never_sent_are_neither(
    fake: FakeBraze,
) -> None:
    observer = Observer()
    fake.fail_next(SEND, status=500)
    with _sync(fake, observer) as client, pytest.raises(BrazeError):
        client.send_message(PUSH, external_user_ids=_ids(120))
    assert observer.counts()[SEND] == EndpointCounts(requests=1, objects_ambiguous=50)

    observer = Observer()
    fake.fail_next(SEND, status=400, body={"message": "bad"})
    with _sync(fake, observer) as client, pytest.raises(BrazeError):
        client.send_message(PUSH, external_user_ids=_ids(120))
    assert observer.counts()[SEND] == EndpointCounts(requests=1, objects_rejected=50)


def test_a_batch_after_a_delivered_one_fails_and_the_counts_say_which_is_which(fake: FakeBraze) -> None:
    observer = Observer()
    with _sync(fake, observer) as client:
        client.send_message(PUSH, external_user_ids=_ids(50))
        fake.fail_next(SEND, status=500)
        with pytest.raises(BrazeError):
            client.send_message(PUSH, external_user_ids=_ids(70))
    assert observer.counts()[SEND] == EndpointCounts(requests=2, objects_sent=50, objects_ambiguous=50)


def test_the_async_client_counts_the_same_at_thousands_of_requests(fake: FakeBraze) -> None:
    observer = Observer()
    fake.fail_next(SEND, status=429, times=3, headers={"Retry-After": "0"}, rate_limit_headers=False)

    async def run() -> Any:
        http = httpx.AsyncClient(base_url=SETTINGS.base_url, transport=fake.transport())
        async with AsyncBrazeClient(http, SETTINGS, observer=observer) as client:
            return await client.send_message(PUSH, external_user_ids=_ids(2000 * 50))

    result = asyncio.run(run())
    assert result.recipients == 100_000
    counts = observer.counts()[SEND]
    assert counts == EndpointCounts(requests=2003, rate_limited=3, retries=3, objects_sent=100_000)


def test_partial_rejections_of_a_delivered_batch_are_not_counted_as_sent() -> None:
    observer = Observer()
    observer.settled("/users/track", 75, delivered=True, ambiguous=False, rejected=4)
    observer.settled("/users/track", 75, delivered=False, ambiguous=True)
    observer.settled("/users/track", 30, delivered=False, ambiguous=False)
    assert observer.counts()["/users/track"] == EndpointCounts(
        objects_sent=71, objects_rejected=34, objects_ambiguous=75
    )


def test_the_ledgers_skips_and_ambiguous_batches_are_counted_per_endpoint() -> None:
    ledger = RunLedger(key="k")
    first = Journal(ledger, 0, SEND, {})
    first.skipped_items = 150
    Journal(ledger, 1, "/users/track", {}).skipped_items = 75
    ledger.ambiguous.append(_Ambiguous(0, SEND, 3, {"external_user_ids": (150, 200)}, []))
    observer = Observer()
    observer.add_source(lambda: ledger_counts(ledger))
    counts = observer.counts()
    assert counts[SEND] == EndpointCounts(ledger_skipped=150, ledger_ambiguous=50)
    assert counts["/users/track"] == EndpointCounts(ledger_skipped=75)


def test_a_source_that_fails_never_fails_the_report() -> None:
    observer = Observer()
    observer.add_source(lambda: 1 / 0)  # type: ignore[arg-type, return-value]
    observer.settled(SEND, 3, delivered=True, ambiguous=False)
    assert observer.counts() == {SEND: EndpointCounts(objects_sent=3)}


def test_every_run_gives_its_own_observer_to_the_apps_braze_module_without_wiring() -> None:
    from jobs.container import MainContainer  # noqa: PLC0415

    app = App.from_container(MainContainer)
    runs = [prepare(app, "SomeJob", options=RunOptions(handle_signals=False)) for _ in range(2)]
    first, second = (run.context.observer for run in runs)
    assert first is not second
    for run in runs:
        assert run.container.braze.observer() is run.context.observer  # type: ignore[attr-defined]
    result = runs[0].execute()
    assert result.exit_code == 0
    assert first.counts()[SEND].objects_sent == 3
    assert second.counts() == {}


def test_an_observer_the_app_wires_itself_is_kept() -> None:
    from dependency_injector import providers  # noqa: PLC0415

    from jobs.container import MainContainer  # noqa: PLC0415

    own = Observer()
    container = MainContainer()
    container.braze.observer.override(providers.Object(own))  # type: ignore[attr-defined]
    run = prepare(
        App.from_container(MainContainer),
        "SomeJob",
        container=container,
        options=RunOptions(handle_signals=False),
    )
    run.execute()
    assert own.counts()[SEND].objects_sent == 3
    assert run.context.observer.counts() == {}


def test_a_unit_test_reads_the_counts_through_its_own_observer(
    jobframe_override: Any, fake_braze: FakeBraze, jobframe_run: Any
) -> None:
    observer = Observer()
    jobframe_override(braze__observer=observer)
    fake_braze.seed_campaigns(2)
    result = jobframe_run("SomeJob")
    assert result.exit_code == 0
    counts = observer.counts()
    assert counts[SEND] == EndpointCounts(requests=1, objects_sent=3)
    assert counts["/campaigns/list"].requests == 1


class _Interrupted(BaseException):
    """What a signal's handler raises into a request in flight (SIGTERM, SIGINT, the deadline)."""


def _interrupting(request: httpx.Request) -> httpx.Response:
    raise _Interrupted


@pytest.mark.parametrize(
    ("call", "path", "ambiguous"),
    [
        (lambda client: client.send_message(PUSH, external_user_ids=_ids(120)), SEND, 50),
        (lambda client: client.export_users(external_ids=_ids(120)), "/users/export/ids", 0),
    ],
    ids=["a-send", "an-export"],
)
def test_a_batch_in_flight_when_the_run_is_interrupted_is_ambiguous_only_for_a_send(
    call: Any, path: str, ambiguous: int
) -> None:
    # Braze may have the send's batch; an export is read again (nothing it sends to anyone)
    observer = Observer()
    http = httpx.Client(base_url=SETTINGS.base_url, transport=httpx.MockTransport(_interrupting))
    client = BrazeClient(http, SETTINGS, sleep=lambda seconds: None, observer=observer)
    with client, pytest.raises(_Interrupted):
        call(client)
    assert observer.counts()[path].objects_ambiguous == ambiguous
