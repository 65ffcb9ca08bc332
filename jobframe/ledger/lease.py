"""One holder per run key: a lease with a fencing token that every ledger write checks.

Two attempts under one run key at once (a retry next to a pod on a partitioned node that is not
dead yet, a cron run overlapping the last, a rerun by hand) would each skip what the ledger says
was delivered and send the rest — both of them. So an attempt takes the run's lease when it opens
the ledger: an owner row (``owner``, ``fence``, ``lease_expires`` on the run) written in the
opening transaction (``BEGIN IMMEDIATE`` in SQLite; a conditional ``UPDATE`` that PostgreSQL
serialises on the row). An attempt that finds the lease held and unexpired sends nothing and exits
75 (:class:`LeaseHeldError`).

The fence is the lease's number, raised by each acquisition. Every ledger transaction of the
holder first renews the lease *where the fence is still its own* — a writer that was frozen
(SIGSTOP, a stalled node) past its lease and taken over finds its fence gone and writes nothing
(:class:`LeaseLostError`). Renewing rides on the writes the holder makes anyway (group commit), and
an idle writer renews in the background, so the lease costs no round trip per batch. Before each
batch is sent the holder also checks that its lease is still valid by its own monotonic clock;
when it is not (it was frozen), it renews through the store before sending anything. A holder
killed by SIGKILL renews nothing: its lease expires ``lease`` seconds after its last renewal, and
only then can another attempt take the run over.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jobframe.errors import RetryableError

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = ["Lease", "LeaseHeldError", "LeaseLostError", "acquire", "new_token"]


class LeaseHeldError(RetryableError):
    """Another attempt holds the run's lease: this one sent nothing (exit 75, retry later)."""


class LeaseLostError(RetryableError):
    """This attempt's lease was taken over by another attempt: it writes and sends nothing more (75)."""


def new_token() -> str:
    """Who holds a lease: host, process and a random part (a pid is reused across pods)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class Lease:
    """This attempt's hold on run ``key``: renewed by every ledger transaction, checked before every send."""

    key: str
    token: str
    seconds: float
    fence: int = 0
    valid_until: float = 0.0
    """``time.monotonic()`` until which the lease is surely still ours (a margin before its expiry)."""
    lost: str | None = None
    _began: float = 0.0

    @property
    def interval(self) -> float:
        """How often an idle writer renews: several times per lease, so a slow renewal is not a lapse."""
        return self.seconds / 4

    def valid(self) -> bool:
        """Whether a batch may be sent without asking the store first (no round trip)."""
        return self.lost is None and time.monotonic() < self.valid_until

    def statement(self) -> tuple[str, tuple[Any, ...]]:
        """The renewal, fenced, that opens each of the holder's transactions (a ``Lead``).

        An expired lease that nobody took over is renewed: no other attempt has written since.
        """
        self._began = time.monotonic()
        return (
            "UPDATE jobframe_ledger_runs SET lease_expires = {now} + ?"
            " WHERE run_key = ? AND owner = ? AND fence = ?",
            (self.seconds, self.key, self.token, self.fence),
        )

    def check(self, cursor: Any) -> None:
        """Raise :class:`LeaseLostError` unless the renewal found the fence still ours."""
        if cursor.rowcount != 1:
            self.lost = "another attempt took the run over"
            raise LeaseLostError(self.lost_message())
        self.valid_until = self._began + self.seconds * 0.75

    def release(self, store: Store, status: str, now: str) -> None:
        """Give the lease up with the run's new status (an attempt that ends lets the next one in)."""
        self._fenced(store, "owner = NULL, lease_expires = NULL, status = ?, updated_at = ?", status, now)

    def _fenced(self, store: Store, assignments: str, *params: object) -> None:
        """``UPDATE`` the run's row only while the fence is ours; raise :class:`LeaseLostError` if not."""
        cursor = store.execute(
            f"UPDATE jobframe_ledger_runs SET {assignments} WHERE run_key = ? AND owner = ? AND fence = ?",  # noqa: S608
            *params,
            self.key,
            self.token,
            self.fence,
        )
        if cursor.rowcount != 1:
            self.lost = "another attempt took the run over"
            raise LeaseLostError(self.lost_message())

    def lost_message(self) -> str:
        return (
            f"run key {self.key!r}: this attempt's lease was taken over by another attempt (it was "
            f"frozen or cut off for longer than the lease, {self.seconds:g} s), or by hand (ledger "
            "abandon or forget): it records and sends nothing more; whoever holds the key now decides"
        )


def acquire(store: Store, job: str, fingerprint: str, lease: Lease, *, now: str) -> int:
    """Take run ``key``'s lease in the caller's transaction (creating the run's row); its attempt number.

    Raises :class:`LeaseHeldError` when another attempt holds an unexpired lease.
    """
    from jobframe.ledger.runs import create, run  # noqa: PLC0415 - loaded with the store, by open

    key = lease.key
    create(store, key, job, fingerprint, now)
    took = store.execute(
        "UPDATE jobframe_ledger_runs SET owner = ?, fence = fence + 1, lease_expires = {now} + ?,"
        " attempts = attempts + 1, updated_at = ?"
        " WHERE run_key = ? AND (owner IS NULL OR lease_expires IS NULL OR lease_expires <= {now})",
        lease.token, lease.seconds, now, key,
    )  # fmt: skip
    if took.rowcount != 1:
        held = run(store, key)
        owner = held.owner if held else "?"
        left = max(held.lease_left or 0.0, 0.0) if held else 0.0
        raise LeaseHeldError(
            f"run key {key!r} is held by another attempt ({owner}; its lease runs {left:.1f} s more): "
            "two attempts at once could both send the same batches, so this one sent nothing; "
            f"retry later (exit 75) — a holder that died frees the key {lease.seconds:g} s after its "
            "last sign of life"
        )
    row = store.execute("SELECT fence, attempts FROM jobframe_ledger_runs WHERE run_key = ?", key).fetchone()
    lease.fence = int(row[0])
    lease.valid_until = time.monotonic() + lease.seconds * 0.75
    return int(row[1])
