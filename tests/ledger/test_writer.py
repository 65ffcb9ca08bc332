"""When the ledger's writes fail: no record is lost to a neighbour's failure, and none silently.

In both stores (SQLite in a temp dir, a real PostgreSQL server): a group commit whose transaction
fails is written again one operation at a time, so a delivery is never rolled back because a
*started* record next to it could not be written; an outcome the store could not take is
reported (``ledger.unrecorded``) and makes the call fail with 75, so the retry resumes and lists
exactly that batch as ambiguous — never a batch the attempt itself recorded delivered.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog

from jobframe.braze import BrazeClient
from jobframe.braze._errors import BrazeLedgerError
from jobframe.braze._settings import BrazeSettings
from jobframe.braze.fake import FakeBraze
from jobframe.braze.fake.app import FakeResponse
from jobframe.braze.fake.transport import FakeTransport
from jobframe.ledger import BatchState, LedgerSettings, RunLedger, batches
from jobframe.ledger.ledger import OUTCOMES_KEPT
from jobframe.ledger.store import Store, open_store
from jobframe.ledger.writer import Writer

SEND = "/messages/send"
KEY = "writes-key"


def _open(settings: LedgerSettings) -> RunLedger:
    return RunLedger.open(settings, key="run-1", job="Job", fingerprint="f1")


@contextmanager
def _held(writer: Writer) -> Iterator[Callable[[], None]]:
    """Hold the writer busy so that everything submitted meanwhile lands in one group."""
    release = threading.Event()
    busy = writer.submit(lambda store: release.wait(10))
    try:
        yield release.set
    finally:
        release.set()
        busy.result(10)


def _states(settings: LedgerSettings) -> dict[int, BatchState]:
    """What the store holds, read as an operator would (no attempt: the run's lease is not taken)."""
    store = open_store(settings)
    try:
        states = list(batches.batches(store, "run-1", 0))
    finally:
        store.close()
    return {batch: state for batch, state, _ in states}


def _started(store: Store, batch: int, digest: str = "") -> None:
    batches.started(
        store, "run-1", 0, batch, items={"external_user_ids": (batch, batch + 1)}, size=1, digest=digest
    )


def test_a_failed_write_in_a_group_takes_no_neighbours_record_with_it(
    ledger_settings: LedgerSettings,
) -> None:
    ledger = _open(ledger_settings)
    journal, writer = ledger.journal(SEND, "input-1"), ledger.writer
    assert journal is not None and writer is not None
    first = journal.before_send(0, {}, {"external_user_ids": (0, 1)}, 1)
    assert first is not None
    first.result(10)

    def broken(store: Store) -> None:
        store.execute("INSERT INTO no_such_table VALUES (1)")  # a write the store refuses

    with _held(writer) as release:
        journal.settled(0, BatchState.DELIVERED)  # Braze answered batch 0 ...
        failing = writer.submit(broken)  # ... and an unrelated write fails in the same group
        second = journal.before_send(1, {}, {"external_user_ids": (1, 2)}, 1)
        assert second is not None
        release()
    second.result(10)
    with pytest.raises(Exception, match="no_such_table"):
        failing.result(10)
    assert journal.unrecorded(10) == []  # the delivery was written, alone
    ledger.finish(succeeded=False)
    assert _states(ledger_settings) == {0: BatchState.DELIVERED, 1: BatchState.STARTED}


def test_a_full_disk_keeps_the_deliveries_it_can_still_write(tmp_path: Path) -> None:
    """SQLite with no page left: a delivery (an update in place) is kept while the new *started*
    rows next to it cannot be written — and those batches are not sent."""
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    ledger = _open(settings)
    journal, writer = ledger.journal(SEND, "input-1"), ledger.writer
    assert journal is not None and writer is not None
    for index in range(3):
        started = journal.before_send(index, {}, {"external_user_ids": (index, index + 1)}, 1)
        assert started is not None
        started.result(10)

    def fill_up(store: Store) -> None:
        pages = store.execute("PRAGMA page_count").fetchone()[0]
        store.execute(f"PRAGMA max_page_count = {pages}")

    writer.submit(fill_up).result(10)
    with _held(writer) as release:
        journal.settled(0, BatchState.DELIVERED)
        journal.settled(1, BatchState.FAILED)
        big = [writer.submit(lambda store, b=b: _started(store, b, "x" * 3000)) for b in range(10, 20)]
        release()
    errors = []
    for future in big:
        try:
            future.result(10)
        except Exception as exc:
            errors.append(str(exc))
    assert errors and all("full" in e for e in errors), errors  # the disk is full: not recorded, not sent
    assert journal.unrecorded(10) == []
    ledger.finish(succeeded=False)
    states = _states(settings)
    assert [states[b] for b in range(3)] == [BatchState.DELIVERED, BatchState.FAILED, BatchState.STARTED]


class _ReadOnlyAt(FakeBraze):
    """Braze applies every request; at the ``at``-th send the ledger's store stops taking writes."""

    def __init__(self, at: int, block: Callable[[], None]) -> None:
        super().__init__(api_key=KEY)
        self.at, self.block, self.seen = at, block, 0

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> FakeResponse:
        self.seen += 1
        if self.seen == self.at:
            self.block()
        return super().handle(method, target, headers, body)


def _read_only(ledger: RunLedger, store_name: str) -> Callable[[], None]:
    statement = (
        "PRAGMA query_only = ON" if store_name == "sqlite" else "SET default_transaction_read_only = on"
    )

    def block() -> None:
        assert ledger.writer is not None
        ledger.writer.submit(lambda store: store.execute(statement)).result(10)

    return block


def test_an_outcome_the_store_lost_fails_the_call_with_75_and_is_named(
    ledger_settings: LedgerSettings, store_name: str
) -> None:
    ledger = _open(ledger_settings)
    fake = _ReadOnlyAt(3, _read_only(ledger, store_name))  # the last of 3 batches
    settings = BrazeSettings(base_url="https://braze.test", api_key=KEY)
    ids = [f"u{i}" for i in range(150)]
    with (
        structlog.testing.capture_logs() as logs,
        BrazeClient.from_settings(settings, transport=FakeTransport(fake), ledger=ledger) as client,
        pytest.raises(BrazeLedgerError) as info,
    ):
        client.send_message({"apple_push": {"alert": "hi"}}, external_user_ids=ids)
    with pytest.raises(Exception, match="read"):  # closing the run cannot be written either
        ledger.finish(succeeded=False)
    assert info.value.exit_code == 75
    assert (
        info.value.delivery is not None and info.value.delivery.delivered_items == 150
    )  # Braze has them all
    [lost] = [e for e in logs if e["event"] == "ledger.unrecorded"]
    assert lost["batches"] == [{"batch": 2, "state": "delivered"}] and lost["log_level"] == "error"
    assert "ambiguous" in lost["consequence"]
    # exactly the batch whose outcome was lost is left started (a resume lists it ambiguous); the
    # two recorded delivered are skipped
    assert _states(ledger_settings) == {
        0: BatchState.DELIVERED,
        1: BatchState.DELIVERED,
        2: BatchState.STARTED,
    }


def test_thousands_of_outcomes_are_all_confirmed_and_not_all_kept(ledger_settings: LedgerSettings) -> None:
    """Past the number of pending outcomes a journal keeps: every one is written and checked."""
    ledger = _open(ledger_settings)
    journal = ledger.journal(SEND, "input-1")
    assert journal is not None
    batches = 3 * OUTCOMES_KEPT
    for index in range(batches):
        started = journal.before_send(index, {}, {"external_user_ids": (index, index + 1)}, 1)
        assert started is not None
        started.result(10)
        journal.settled(index, BatchState.DELIVERED if index % 7 else BatchState.FAILED)
    assert len(journal._outcomes) <= OUTCOMES_KEPT + 1  # those written are let go along the way
    assert journal.unrecorded(30) == []
    ledger.finish(succeeded=True)
    states = _states(ledger_settings)
    assert len(states) == batches
    assert all(state is (BatchState.DELIVERED if i % 7 else BatchState.FAILED) for i, state in states.items())
