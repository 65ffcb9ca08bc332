"""At most one request's worth of objects ambiguous per kill, whatever the concurrency.

With a run ledger, the async client sends batches that may not be repeated (sends, triggers,
events, attributes that add to a value) one at a time — a kill then leaves at most the one in
flight ambiguous — while repeatable batches (attributes that set values) keep the client's
concurrency, and an object that adds to a value never makes a plain one share its batch. Counted
by the fake server, both stores; the kill-and-resume proof through real processes is in
``test_kill_and_resume.py``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from jobframe.braze import AsyncBrazeClient
from jobframe.braze._settings import BrazeSettings
from jobframe.braze.fake import FakeBraze, FakeBrazeServer
from jobframe.braze.fake.app import FakeResponse
from jobframe.ledger import DISABLED, LedgerSettings, RunLedger
from jobframe.ledger.policy import adds_to_a_value

KEY = "bound-key"


class _Counting(FakeBraze):
    """Counts requests in flight by kind: ``plain`` attributes, ``adding`` attributes, ``send``."""

    def __init__(self) -> None:
        super().__init__(api_key=KEY, record_limit=100_000)
        self.now = {"plain": 0, "adding": 0, "send": 0}
        self.peak = dict(self.now)
        self.mixed_batches = 0
        self.plain_beside_adding = 0
        self._kinds_lock = threading.Lock()

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        payload = json.loads(body or b"{}")
        if target.startswith("/messages/send"):
            kind = "send"
        else:
            adding = [adds_to_a_value(obj) for obj in payload.get("attributes", [])]
            kind = "adding" if any(adding) else "plain"
            self.mixed_batches += any(adding) and not all(adding)
        with self._kinds_lock:
            self.now[kind] += 1
            self.peak[kind] = max(self.peak[kind], self.now[kind])
            self.plain_beside_adding += kind == "plain" and self.now["adding"] > 0
        try:
            threading.Event().wait(0.02)  # the server's latency, spent while counted in flight
            return super().handle(method, target, headers, body)
        finally:
            with self._kinds_lock:
                self.now[kind] -= 1


def _attributes(count: int) -> list[dict[str, Any]]:
    """Runs of 260 plain sets, then 190 increments: runs that do not fall on batch boundaries."""
    return [
        {"external_id": f"u{i}", "logins": {"inc": 1}}
        if i % 450 >= 260
        else {"external_id": f"u{i}", "tier": "gold"}
        for i in range(count)
    ]


def _run(fake: _Counting, ledger: RunLedger, work: str) -> None:
    with FakeBrazeServer(fake) as server:

        async def run() -> None:
            settings = BrazeSettings(base_url=server.url, api_key=KEY)
            async with AsyncBrazeClient.from_settings(settings, ledger=ledger) as client:
                if work == "track":
                    await client.track_users(attributes=_attributes(9000))
                else:
                    ids = [f"u{i}" for i in range(50 * 40)]
                    await client.send_message({"apple_push": {"alert": "hi"}}, external_user_ids=ids)

        asyncio.run(run())


def test_non_repeatable_batches_go_one_at_a_time_and_plain_ones_keep_the_concurrency(
    ledger_settings: LedgerSettings,
) -> None:
    ledger = RunLedger.open(ledger_settings, key="run-1", job="Job", fingerprint="f")
    fake = _Counting()
    _run(fake, ledger, "track")
    ledger.finish(succeeded=True)
    assert fake.mixed_batches == 0  # an increment never makes its plain neighbours non-repeatable
    assert fake.peak["adding"] == 1  # at most one request's worth ambiguous after a kill
    assert fake.peak["plain"] > 1 and fake.plain_beside_adding > 0  # never held back by them
    assert len(fake.requests_to("/users/track")) == 9000 // 450 * 7  # 4 + 3 batches per run: each once


def test_sends_with_a_ledger_go_one_at_a_time(ledger_settings: LedgerSettings) -> None:
    ledger = RunLedger.open(ledger_settings, key="run-1", job="Job", fingerprint="f")
    fake = _Counting()
    _run(fake, ledger, "send")
    ledger.finish(succeeded=True)
    assert fake.peak["send"] == 1 and len(fake.requests_to("/messages/send")) == 40


@pytest.mark.parametrize("work", ["track", "send"])
def test_without_a_ledger_nothing_is_held_back(work: str) -> None:
    fake = _Counting()
    _run(fake, DISABLED, work)
    assert max(fake.peak.values()) > 1  # nothing to resume, nothing to bound: full concurrency
