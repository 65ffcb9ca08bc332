"""What a refusal says ``--fresh-run`` would send again, from what the run recorded (both stores).

A batch lists users (its size counts them) or lists none: a send to a segment, an audience or
everyone, recorded as a batch of 0 objects, which reaches the most people. The message names
each kind the run sent — neither hidden behind the other — in the singular or plural it needs;
batches that failed (nothing applied) repeat nothing, and another key's batches are not this run's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from jobframe.errors import ConfigurationError
from jobframe.ledger import BatchState, LedgerSettings, batches, runs
from jobframe.ledger.opening import fresh_run_repeats
from jobframe.ledger.store import Reach, Store, open_store
from tests.ledger.stores import open_run

SEND = "/messages/send"
OVER = "--fresh-run starts this key over"
AUDIENCES = "it made to a segment, an audience or everyone"


def _record(
    store: Store,
    key: str,
    *,
    delivered: Sequence[int] = (),
    started: Sequence[int] = (),
    failed: Sequence[int] = (),
) -> None:
    """Record, under ``key``, batches of these sizes (0: a send to an audience) in each state."""

    def work(s: Store) -> None:
        runs.start_attempt(s, key, "Job", "f1")
        batches.stream(s, key, 0, SEND, "input-1")
        index = iter(range(1_000))
        rows = [(next(index), {"ids": (0, size)}, size, "") for size in delivered]
        batches.delivered(s, key, 0, rows)
        for size in [*started, *failed]:
            batches.started(s, key, 0, next(index), items={"ids": (0, size)}, size=size, digest="")
        for number, _ in enumerate(failed, start=len(delivered) + len(started)):
            batches.settled(s, key, 0, number, BatchState.FAILED)

    store.transaction(work)


@pytest.fixture
def store(ledger_settings: LedgerSettings) -> Iterator[Store]:
    opened = open_store(ledger_settings)
    yield opened
    opened.close()


def test_reached_counts_listed_users_by_state_and_the_requests_that_listed_none(store: Store) -> None:
    _record(store, "k", delivered=[50, 0, 50, 0], started=[30, 0, 7], failed=[20, 0])
    _record(store, "other", delivered=[1_000, 0], started=[5, 0])  # another run: not counted
    assert runs.reached(store, "k") == Reach(delivered=100, unconfirmed=37, audience_requests=3)
    assert runs.reached(store, "other") == Reach(1_000, 5, 2)


def test_reached_is_zero_for_a_run_with_nothing_sent_or_no_record(store: Store) -> None:
    _record(store, "failed-only", failed=[10, 0])
    _record(store, "no-batches")
    assert runs.reached(store, "failed-only") == Reach(0, 0, 0)
    assert runs.reached(store, "no-batches") == Reach(0, 0, 0)
    assert runs.reached(store, "unknown") == Reach(0, 0, 0)


@pytest.mark.parametrize(
    ("delivered", "started", "failed", "says"),
    [
        # nothing that reached anyone
        ((), (), (), f"{OVER} (it has reached no one yet)"),
        ((), (), (40, 0), f"{OVER} (it has reached no one yet)"),
        # listed users only
        ((1,), (), (), f"{OVER} and sends again to the 1 user it already reached"),
        ((50, 50, 12), (), (9,), f"{OVER} and sends again to the 112 users it already reached"),
        ((2_000, 950), (), (), f"{OVER} and sends again to the 2,950 users it already reached"),
        ((), (1,), (), f"{OVER} and sends again to the 1 user it may have reached"),
        ((), (25, 25), (), f"{OVER} and sends again to the 50 users it may have reached"),
        (
            (10,),
            (1,),
            (),
            f"{OVER} and sends again to the 10 users it already reached and may have reached 1 more",
        ),
        # requests to an audience only
        ((0,), (), (), f"{OVER} and sends again the 1 request {AUDIENCES}"),
        ((), (0,), (), f"{OVER} and sends again the 1 request {AUDIENCES}"),
        ((0, 0), (0,), (0,), f"{OVER} and sends again the 3 requests {AUDIENCES}"),
        # both
        (
            (1, 0),
            (),
            (),
            f"{OVER} and sends again to the 1 user it already reached and the 1 request {AUDIENCES}",
        ),
        (
            (10, 2, 0, 0),
            (0,),
            (5, 0),
            f"{OVER} and sends again to the 12 users it already reached and the 3 requests {AUDIENCES}",
        ),
        (
            (),
            (4, 0, 0),
            (),
            f"{OVER} and sends again to the 4 users it may have reached and the 2 requests {AUDIENCES}",
        ),
        (
            (12, 0),
            (3,),
            (),
            f"{OVER} and sends again to the 12 users it already reached and may have reached 3 more, "
            f"and the 1 request {AUDIENCES}",
        ),
    ],
)
def test_the_message_names_every_kind_of_send_the_run_made(
    store: Store, delivered: tuple[int, ...], started: tuple[int, ...], failed: tuple[int, ...], says: str
) -> None:
    _record(store, "k", delivered=delivered, started=started, failed=failed)
    _record(store, "other", delivered=[7, 0], started=[0])  # another key's sends are not this run's
    assert fresh_run_repeats(store, "k") == says


def test_a_refusal_after_sends_to_users_and_to_a_segment_names_both(ledger_settings: LedgerSettings) -> None:
    store = open_store(ledger_settings)
    try:
        _record(store, "k", delivered=[12, 0, 0])
    finally:
        store.close()
    with pytest.raises(ConfigurationError) as refused:
        open_run(ledger_settings, "k", fingerprint="f2")
    assert "other parameters" in str(refused.value)
    assert f"to the 12 users it already reached and the 2 requests {AUDIENCES}" in str(refused.value)
