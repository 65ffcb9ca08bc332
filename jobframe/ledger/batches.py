"""The streams and batches tables: each bulk call of a run (a stream) and each of its batches' state.

Functions over a :class:`~jobframe.ledger.store.Store`, each in the caller's transaction. A
stream records what its call read (its fingerprints); a batch, its input slices, size, digest
and state (*started*, *delivered*, *failed*).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from jobframe.ledger.policy import BatchState
from jobframe.ledger.schema import now_text

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = [
    "batches",
    "counts",
    "delivered",
    "forget_batches",
    "has_stream",
    "settled",
    "started",
    "stream",
    "unconfirmed",
]


def has_stream(store: Store, key: str, number: int) -> bool:
    found = store.execute(
        "SELECT 1 FROM jobframe_ledger_streams WHERE run_key = ? AND stream = ?", key, number
    ).fetchone()
    return found is not None


def stream(
    store: Store,
    key: str,
    number: int,
    endpoint: str,
    fingerprint: str | None,
    *,
    input_fingerprint: str | None = None,
    fanout: str | None = None,
    fanout_name: str | None = None,
) -> tuple[str, str | None, str | None]:
    """The stream's recorded endpoint, fingerprint and input fingerprint (without the batch
    sizes), recording them on first sight, with the whole input's ``fanout`` fingerprint and the
    fan-out the run is a shard of (``fanout_name``; ``None``: a whole run, recorded as ``""``)."""
    store.execute(
        "INSERT INTO jobframe_ledger_streams"
        " (run_key, stream, endpoint, fingerprint, input_fingerprint, fanout, fanout_name)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_key, stream) DO NOTHING",
        key, number, endpoint, fingerprint, input_fingerprint, fanout, fanout_name or "",
    )  # fmt: skip
    row = store.execute(
        "SELECT endpoint, fingerprint, input_fingerprint FROM jobframe_ledger_streams"
        " WHERE run_key = ? AND stream = ?",
        key,
        number,
    ).fetchone()
    return str(row[0]), row[1], row[2]


def batches(store: Store, key: str, number: int) -> Iterator[tuple[int, BatchState, str]]:
    """Every recorded batch of a stream: index, state, digest."""
    rows = store.execute(
        "SELECT batch, state, digest FROM jobframe_ledger_batches WHERE run_key = ? AND stream = ?",
        key,
        number,
    ).fetchall()
    for batch, state, digest in rows:
        yield int(batch), BatchState(state), str(digest)


def started(
    store: Store,
    key: str,
    number: int,
    batch: int,
    *,
    items: dict[str, tuple[int, int]],
    size: int,
    digest: str,
) -> None:
    """Record a batch as *started*, before its request is sent."""
    store.execute(
        "INSERT INTO jobframe_ledger_batches"
        " (run_key, stream, batch, state, items, size, digest, updated_at)"
        " VALUES (?, ?, ?, 'started', ?, ?, ?, ?) ON CONFLICT (run_key, stream, batch)"
        " DO UPDATE SET state = 'started', updated_at = excluded.updated_at",
        key, number, batch, json.dumps(items), size, digest, now_text(),
    )  # fmt: skip


def delivered(
    store: Store, key: str, number: int, rows: list[tuple[int, dict[str, tuple[int, int]], int, str]]
) -> None:
    """Record many delivered batches (index, slices, size, digest) in one statement."""
    if not rows:
        return
    now = now_text()
    values = ", ".join(["(?, ?, ?, 'delivered', ?, ?, ?, ?)"] * len(rows))
    params = [
        p
        for batch, items, size, digest in rows
        for p in (key, number, batch, json.dumps(items), size, digest, now)
    ]
    columns = "(run_key, stream, batch, state, items, size, digest, updated_at)"
    upsert = (
        "ON CONFLICT (run_key, stream, batch)"
        " DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
    )
    sql = f"INSERT INTO jobframe_ledger_batches {columns} VALUES {values} {upsert}"  # noqa: S608 - placeholders only
    store.execute(sql, *params)


def settled(store: Store, key: str, number: int, batch: int, state: BatchState) -> None:
    store.execute(
        "UPDATE jobframe_ledger_batches SET state = ?, updated_at = ?"
        " WHERE run_key = ? AND stream = ? AND batch = ? AND state <> 'delivered'",
        state.value, now_text(), key, number, batch,
    )  # fmt: skip


def unconfirmed(store: Store, key: str) -> list[tuple[int, int, str, int]]:
    """Batches recorded *started* and never answered: stream, batch, input slices (JSON), size."""
    rows = store.execute(
        "SELECT stream, batch, items, size FROM jobframe_ledger_batches"
        " WHERE run_key = ? AND state = 'started' ORDER BY stream, batch",
        key,
    ).fetchall()
    return [(int(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]


def counts(store: Store, key: str) -> dict[str, int]:
    """Batches by state, for a run (what ``ledger show`` prints)."""
    rows = store.execute(
        "SELECT state, COUNT(*) FROM jobframe_ledger_batches WHERE run_key = ? GROUP BY state", key
    ).fetchall()
    return {str(state): int(count) for state, count in rows}


def forget_batches(store: Store, key: str) -> None:
    """Delete what ``key``'s calls recorded, keeping its row (and lease): a fresh run."""
    for table in ("jobframe_ledger_batches", "jobframe_ledger_streams"):
        store.execute(f"DELETE FROM {table} WHERE run_key = ?", key)  # noqa: S608 - table names are ours
