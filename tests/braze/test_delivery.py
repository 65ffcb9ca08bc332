"""After a batch fails, no further batch is started, and the report says what became of each batch.

Over real sockets, against the loopback fake, for both clients, a failure at the first (probe)
request and in the middle of the stream, of every kind: 503 and read timeout (outcome unknown),
401 and 400 (failed, nothing applied). The fake's own log is the truth the report is checked
against: which batches it answered 2xx, which it received at all.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import pytest

from jobframe.braze import (
    AsyncBrazeClient,
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeClient,
    BrazeDuplicatePossibleError,
    BrazeError,
)
from jobframe.braze._bulk import Stream
from jobframe.braze._delivery import DeliveryReport
from jobframe.braze._exchange import Fail
from jobframe.braze.fake import FakeBraze, FakeBrazeServer
from jobframe.braze.fake.app import FakeResponse

from .conftest import CANARY, make_settings

BATCHES = 40
TRACK = "/users/track"
LATENCY = 0.05  # every answer takes this long, so several batches are in flight at once (async)
FAULT_DELAY = 0.1  # the failing answer is held back a little longer: time to (wrongly) start more
TIMEOUT = 1.0  # read timeout in the "timeout" case: 20x an answer's latency, so a loaded machine
# does not time out a healthy answer first; the others allow 2 s
TIMEOUT_BATCHES = 400  # ... and input enough that the stream is still going when it fires (a
# loaded machine only sends fewer batches in that second)

KINDS: dict[str, tuple[type[BrazeError], dict[str, Any], bool]] = {
    "503": (BrazeDuplicatePossibleError, {"status": 503, "delay": FAULT_DELAY}, True),
    "timeout": (BrazeDuplicatePossibleError, {"status": 201, "delay": 2.0}, True),
    "401": (
        BrazeAuthError,
        {"status": 401, "delay": FAULT_DELAY, "body": {"message": "Invalid API key"}},
        False,
    ),
    "400": (BrazeBadRequestError, {"status": 400, "delay": FAULT_DELAY, "body": {"message": "bad"}}, False),
}


def batch_of(body: Any) -> int:
    return int(body["attributes"][0]["external_id"][1:]) // 75


class FailsOnce(FakeBraze):
    """Answers the ``fail_at``-th request to ``/users/track`` with ``fault``; records every answer."""

    def __init__(self, fail_at: int, fault: dict[str, Any], **kw: Any) -> None:
        super().__init__(**kw)
        self.fail_at, self.fault = fail_at, fault
        self.seen = 0
        self.answers: list[tuple[int, int, float]] = []  # (batch, status, arrival)
        self.failed_batch: int | None = None
        self._seen_lock = threading.Lock()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        arrived = time.time()
        with self._seen_lock:
            self.seen += 1
            failing = self.seen == self.fail_at
        if failing:
            fault = dict(self.fault)
            status = fault.pop("status")
            if status == 201:  # a slow success: the client times out, Braze did apply it
                self.slow_next(TRACK, fault["delay"])
            else:
                self.fail_next(TRACK, status=status, **fault)
        batch = batch_of(json.loads(body))
        if failing:  # known before the (held) answer: the client may give up on it first
            self.failed_batch = batch
        answer = super().handle(method, target, headers, body)
        with self._seen_lock:
            self.answers.append((batch, answer.status, arrived))
        return answer


class Timeline:
    """When the client sent each batch, and when its stream settled the failed one (one clock)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent: list[tuple[int, float]] = []
        self.failure_settled: float | None = None
        timeline = self
        real_settle, real_send, real_asend = Stream.settle, httpx.Client.send, httpx.AsyncClient.send

        def settle(stream: Stream[Any], call: Any, outcome: Any) -> None:
            real_settle(stream, call, outcome)
            if isinstance(outcome, Fail) and timeline.failure_settled is None:
                timeline.failure_settled = time.monotonic()

        def send(client: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
            timeline.sent.append((batch_of(json.loads(request.content)), time.monotonic()))
            return real_send(client, request, **kw)

        async def asend(client: httpx.AsyncClient, request: httpx.Request, **kw: Any) -> httpx.Response:
            timeline.sent.append((batch_of(json.loads(request.content)), time.monotonic()))
            return await real_asend(client, request, **kw)

        monkeypatch.setattr(Stream, "settle", settle)
        monkeypatch.setattr(httpx.Client, "send", send)
        monkeypatch.setattr(httpx.AsyncClient, "send", asend)

    def sent_after_the_failure(self) -> list[int]:
        assert self.failure_settled is not None, "no failure was settled"
        return [batch for batch, at in self.sent if at > self.failure_settled]


def run_track(client_kind: str, url: str, attributes: Iterable[dict[str, Any]], read: float) -> BrazeError:
    settings = make_settings(url, timeouts={"read": read}, max_concurrency=8)
    if client_kind == "sync":
        with BrazeClient.from_settings(settings) as client, pytest.raises(BrazeError) as info:
            client.track_users(attributes=attributes)
        return info.value

    async def run() -> None:
        async with AsyncBrazeClient.from_settings(settings) as client:
            await client.track_users(attributes=attributes)

    with pytest.raises(BrazeError) as info:
        asyncio.run(run())
    return info.value


def covered(report: DeliveryReport, batches: int) -> list[int]:
    indices = [i for a, b in report.delivered for i in range(a, b + 1)]
    indices += [b.index for b in (*report.unknown, *report.failed, *report.never_sent)]
    if report.rest_from is not None:
        indices += range(report.rest_from.index, batches)
    return sorted(indices)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("fail_at", [1, 6], ids=["probe", "mid-stream"])
@pytest.mark.parametrize("client_kind", ["sync", "async"])
def test_no_batch_starts_after_a_failure_and_the_report_matches_the_server(
    client_kind: str, fail_at: int, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    error_type, fault, ambiguous = KINDS[kind]
    timeline = Timeline(monkeypatch)
    fake = FailsOnce(fail_at, fault, api_key=CANARY, delay=LATENCY)
    read = TIMEOUT if kind == "timeout" else 2.0
    batches = TIMEOUT_BATCHES if kind == "timeout" else BATCHES
    attributes = [{"external_id": f"u{i}", "tier": "gold"} for i in range(75 * batches)]
    with FakeBrazeServer(fake) as server:
        started = time.monotonic()
        error = run_track(client_kind, server.url, attributes, read)
        elapsed = time.monotonic() - started
    assert isinstance(error, error_type), repr(error)
    failed = fake.failed_batch
    assert failed is not None and error.batch_index == failed
    # Once the client knew of the failure, it sent nothing more: only what was already in flight
    # reached Braze after it (timed in the client, so a loaded machine cannot blur the order).
    late = timeline.sent_after_the_failure()
    assert late == [], f"batches sent after the failure was known: {late}"
    assert {b for b, _ in timeline.sent} == {b for b, _, _ in fake.answers}
    if fail_at == 1:
        assert len(fake.answers) == 1  # the probe failed: nothing else was ever sent
        assert elapsed < 5
    report = error.delivery
    assert report is not None and report.endpoint == TRACK
    assert covered(report, batches) == list(range(batches))  # every batch accounted for, exactly once
    applied_and_confirmed = {b for b, status, _ in fake.answers if 200 <= status < 300 and b != failed}
    assert {i for a, b in report.delivered for i in range(a, b + 1)} == applied_and_confirmed
    assert report.delivered_items == 75 * len(applied_and_confirmed)
    received = {b for b, _, _ in fake.answers}
    if ambiguous:
        assert [b.index for b in report.unknown] == [failed] and report.failed == []
        (unknown,) = report.unknown
        assert unknown.items == {"attributes": (75 * failed, 75 * failed + 75)}
        assert unknown.ids == [f"u{i}" for i in range(75 * failed, 75 * failed + 75)]
    else:
        assert [b.index for b in report.failed] == [failed] and report.unknown == []
    assert not {b.index for b in report.never_sent} & received  # "never sent" means Braze never saw it
    taken = max(received | {b.index for b in report.never_sent}) + 1
    assert taken < batches  # the failure stopped the stream before the input ended
    assert report.rest_from is not None and report.rest_from.index == taken
    assert report.rest_from.items == {"attributes": (75 * taken, 75 * taken)}
    assert report.rest_items == 75 * (batches - taken)
    text = str(error)
    assert f"(batch {failed})" in text and "delivered" in text and "never sent" in text
    fields = error.log_fields()["delivery"]
    assert fields["delivered"]["batches"] == len(applied_and_confirmed)
    assert fields["never_sent"]["rest_items"] == 75 * (batches - taken)
    assert CANARY not in text and CANARY not in repr(fields)
