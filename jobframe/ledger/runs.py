"""The runs table: one row per run key — its job and fingerprint, status, attempts and lease.

Functions over a :class:`~jobframe.ledger.store.Store`, each in the caller's transaction. What a
run's batches reached is here too: it is what a refusal says of the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from jobframe.ledger.batches import forget_batches
from jobframe.ledger.schema import now_text

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = [
    "Reach",
    "RunRow",
    "abandon",
    "create",
    "every_run",
    "forget",
    "holds_runs",
    "reached",
    "register",
    "restart",
    "run",
    "start_attempt",
]


@dataclass(frozen=True)
class RunRow:
    key: str
    job: str
    fingerprint: str
    status: str
    attempts: int
    owner: str | None = None
    """The attempt holding the run's lease (``host:pid:…``), if any."""
    lease_left: float | None = None
    """Seconds until that lease expires (negative: expired), by the database's clock."""


class Reach(NamedTuple):
    """What a run's recorded requests reached, by :func:`reached`."""

    delivered: int
    """Objects listed in batches answered 2xx."""
    unconfirmed: int
    """Objects listed in batches started and never answered (ambiguous: maybe reached)."""
    audience_requests: int
    """Requests delivered or started that listed no object: sends to a segment, an audience or
    everyone, which reach users Braze resolves and the ledger cannot count."""


def run(store: Store, key: str) -> RunRow | None:
    row = store.execute(
        "SELECT run_key, job, fingerprint, status, attempts, owner, lease_expires - {now}"
        " FROM jobframe_ledger_runs WHERE run_key = ?",
        key,
    ).fetchone()
    if row is None:
        return None
    left = None if row[6] is None else float(row[6])
    return RunRow(row[0], row[1], row[2], row[3], int(row[4]), row[5], left)


def create(store: Store, key: str, job: str, fingerprint: str, now: str) -> None:
    """The run's row, open with no attempt counted yet, on its first attempt (a key already
    recorded — registered, open or closed — stays as it is)."""
    store.execute(
        "INSERT INTO jobframe_ledger_runs"
        " (run_key, job, fingerprint, status, attempts, created_at, updated_at)"
        " VALUES (?, ?, ?, 'open', 0, ?, ?) ON CONFLICT (run_key) DO NOTHING",
        key, job, fingerprint, now, now,
    )  # fmt: skip


def start_attempt(store: Store, key: str, job: str, fingerprint: str) -> RunRow:
    """The run's row, created on its first attempt; ``attempts`` counts this one."""
    now = now_text()
    create(store, key, job, fingerprint, now)
    store.execute(
        "UPDATE jobframe_ledger_runs SET attempts = attempts + 1, updated_at = ? WHERE run_key = ?",
        now,
        key,
    )
    found = run(store, key)
    assert found is not None
    return found


def register(store: Store, key: str) -> bool:
    """Record ``key`` as a run no attempt has opened yet (``registered``: no job, fingerprint or
    lease, 0 attempts); whether it was new — a key already registered or started stays as it is."""
    now = now_text()
    cursor = store.execute(
        "INSERT INTO jobframe_ledger_runs"
        " (run_key, job, fingerprint, status, attempts, created_at, updated_at)"
        " VALUES (?, '', '', 'registered', 0, ?, ?) ON CONFLICT (run_key) DO NOTHING",
        key, now, now,
    )  # fmt: skip
    return bool(cursor.rowcount == 1)


def holds_runs(store: Store) -> bool:
    """Whether any run is recorded here (an emptied store holds none)."""
    return store.execute("SELECT 1 FROM jobframe_ledger_runs LIMIT 1").fetchone() is not None


def abandon(store: Store, key: str) -> None:
    """Close ``key`` by hand: every later attempt is refused, and the lease is taken from the
    attempt holding it (its fence raised), so it records and sends nothing more and its end
    cannot write its own status over this one."""
    store.execute(
        "UPDATE jobframe_ledger_runs SET status = 'abandoned', owner = NULL, lease_expires = NULL,"
        " fence = fence + 1, updated_at = ? WHERE run_key = ?",
        now_text(), key,
    )  # fmt: skip


def restart(store: Store, key: str, job: str, fingerprint: str) -> None:
    """Make ``key``'s row a new run of ``job`` with ``fingerprint`` (its lease stays as it is)."""
    store.execute(
        "UPDATE jobframe_ledger_runs SET job = ?, fingerprint = ?, status = 'open', attempts = 1,"
        " updated_at = ? WHERE run_key = ?",
        job, fingerprint, now_text(), key,
    )  # fmt: skip


def reached(store: Store, key: str) -> Reach:
    """What ``key``'s batches delivered or started reached (what ``--fresh-run`` would repeat)."""
    row = store.execute(
        "SELECT COALESCE(SUM(CASE WHEN state = 'delivered' THEN size ELSE 0 END), 0),"
        " COALESCE(SUM(CASE WHEN state = 'started' THEN size ELSE 0 END), 0),"
        " COUNT(CASE WHEN size = 0 THEN 1 END)"
        " FROM jobframe_ledger_batches WHERE run_key = ? AND state IN ('delivered', 'started')",
        key,
    ).fetchone()
    return Reach(int(row[0]), int(row[1]), int(row[2]))


def forget(store: Store, key: str) -> None:
    """Delete what ``key`` recorded, by hand, and leave it as :func:`register` does: a run no
    attempt has opened. The next attempt starts it from the first object — a retry too, and
    one told ``--registered``: a key that vanished would read as a lost ledger and be
    refused. The lease goes as with :func:`abandon` (an attempt holding it sends nothing more)."""
    forget_batches(store, key)
    store.execute(
        "UPDATE jobframe_ledger_runs SET job = '', fingerprint = '', status = 'registered',"
        " attempts = 0, owner = NULL, lease_expires = NULL, fence = fence + 1, updated_at = ?"
        " WHERE run_key = ?",
        now_text(), key,
    )  # fmt: skip


def every_run(store: Store) -> list[tuple[RunRow, str]]:
    """Every run, newest first, with when it last changed."""
    rows = store.execute(
        "SELECT run_key, job, fingerprint, status, attempts, updated_at FROM jobframe_ledger_runs"
        " ORDER BY updated_at DESC, run_key"
    ).fetchall()
    return [(RunRow(r[0], r[1], r[2], r[3], int(r[4])), str(r[5])) for r in rows]
