"""Opening a run in the ledger: take the key's lease, then decide whether this attempt may continue it.

All of it happens in one transaction of the ledger's writer, so a refusal leaves nothing behind —
no attempt counted, no lease held. Each refusal names its cause and what to do next; one that
suggests ``--fresh-run`` says what that would send again: to how many users, and how many
requests to a segment, an audience or everyone.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from jobframe.errors import ConfigurationError
from jobframe.ledger.batches import forget_batches
from jobframe.ledger.failures import LedgerDamagedError, classify
from jobframe.ledger.lease import Lease, LeaseHeldError, acquire
from jobframe.ledger.policy import Unrecorded, unrecorded
from jobframe.ledger.runs import RunRow, holds_runs, reached, restart, run
from jobframe.ledger.schema import now_text
from jobframe.ledger.settings import LedgerSettings
from jobframe.ledger.store import Store
from jobframe.ledger.writer import Writer
from jobframe.logs import get_logger

__all__ = ["ABANDONED", "REGISTERED", "Opening", "take"]

_log = get_logger("jobframe.ledger")

ABANDONED = "abandoned"
"""A run closed by hand: every later attempt under its key is refused (78)."""
REGISTERED = "registered"
"""A run recorded by ``python -m jobframe.ledger register`` before any attempt of it could start
(or cleared by ``forget``): no attempt has opened it yet (no job, fingerprint or lease); the first
one to open it fills them."""


def fresh_run_repeats(store: Store, key: str) -> str:
    """What ``--fresh-run`` would repeat for run ``key``, for a message: the listed users it
    reached, and the requests it made to an audience Braze resolves (batches that list no user,
    which reach the most people) — each named when there are any, neither left out for the other."""
    delivered, unconfirmed, audiences = reached(store, key)
    if delivered:
        users = f"to the {_counted(delivered, 'user')} it already reached"
        users += f" and may have reached {unconfirmed:,} more" if unconfirmed else ""
    else:  # named only if it started any batch that lists users
        users = f"to the {_counted(unconfirmed, 'user')} it may have reached"
    requests = f"the {_counted(audiences, 'request')} it made to a segment, an audience or everyone"
    named = [part for part, count in ((users, delivered + unconfirmed), (requests, audiences)) if count]
    if not named:
        return "--fresh-run starts this key over (it has reached no one yet)"
    joined = (", and " if delivered and unconfirmed else " and ").join(named)
    return f"--fresh-run starts this key over and sends again {joined}"


def _counted(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass
class Opening:
    """What an attempt asks of the ledger when it opens run ``key``."""

    key: str
    job: str
    fingerprint: str
    fresh: bool
    retry: int
    lease: Lease
    where: str
    registered: bool = False
    """``--registered``: the workflow recorded the key before any attempt; it must be found."""

    def __call__(self, store: Store) -> RunRow:
        """In the opening transaction: refuse (raise), or take the lease and count the attempt."""
        key = self.key
        found = run(store, key)
        if found is None:
            self._check_not_lost(store)
        attempts = acquire(store, self.job, self.fingerprint, self.lease, now=now_text())
        if found is not None and self.fresh:
            forget_batches(store, key)
            restart(store, key, self.job, self.fingerprint)
            attempts = 1
        elif found is not None and found.status == REGISTERED:
            self._first_opening(store, found)
        elif found is not None:
            self._check_same_run(store, found)
        row = run(store, key)
        assert row is not None
        return RunRow(row.key, row.job, row.fingerprint, row.status, attempts, row.owner, row.lease_left)

    def _check_not_lost(self, store: Store) -> None:
        """No record of the key: refuse when the key was registered, or the store shows it lost
        its records (:func:`~jobframe.ledger.policy.unrecorded`).

        An earlier attempt that never opened the ledger (the store was down at its start) sent
        nothing and left nothing; one that opened it left its run's row before sending anything.
        A store with no tables (a file deleted, a database replaced) or no runs at all (emptied)
        cannot tell the two apart, so a retry is refused; a store that holds other runs but not
        this one was not emptied, and the retry starts the run, saying so. A key registered before
        any attempt (``--registered``) must be there, whatever the attempt and the store.
        """
        key = self.key
        in_use = not store.created and holds_runs(store)
        decision = unrecorded(
            retry=self.retry, registered=self.registered, fresh=self.fresh, store_in_use=in_use
        )
        if decision is Unrecorded.REFUSE_REGISTERED:
            raise LedgerDamagedError(
                f"run key {key!r}: the workflow registered this key before any attempt of its step "
                f"ran (--registered), but {self.where} holds no record of it"
                f"{'' if in_use else ' and no run at all'}: this is not the ledger the workflow began "
                "with (a volume not kept, a file deleted or emptied, a database replaced, LEDGER__* "
                "pointing elsewhere). Starting over could send again to everyone earlier attempts "
                "reached, so nothing was sent. Point the ledger at the store the workflow began with "
                "(LEDGER__PATH, LEDGER__DSN) and retry; if you know no attempt sent anything, "
                "--fresh-run starts the run"
            )
        if decision is Unrecorded.REFUSE_LOST:
            raise LedgerDamagedError(
                f"run key {key!r}: this is retry {self.retry} of the step, but {self.where} holds no "
                "record of the key and no run at all: the earlier attempts' ledger may be lost (a volume "
                "not kept, a file deleted or emptied, another store). Starting over could send again to "
                "everyone they reached, so nothing was sent. Point the ledger at their store "
                "(LEDGER__PATH, LEDGER__DSN); if their logs show no ledger.opened (the store was down "
                "when they started) they sent nothing, and --fresh-run starts the run"
            )
        if decision is Unrecorded.START_SAYING_SO:
            _log.warning(
                "ledger.retry_without_record",
                run_key=key,
                retry=self.retry,
                reason="no earlier attempt opened the ledger (the store holds other runs, not this one): "
                "they sent nothing; starting the run",
            )

    def _first_opening(self, store: Store, found: RunRow) -> None:
        """The run was registered before its step started (or forgotten by hand since, ``ledger
        forget``), and no attempt has opened it since.

        On a retry that means the earlier attempts' pods died before they opened the ledger (a pod
        lost before its main container ran, a store down at their start): they sent nothing, and
        the record says the ledger was not lost — so the run starts, saying so. After ``forget``
        a person decided that the run starts over.
        """
        restart(store, self.key, self.job, self.fingerprint)
        if self.retry > 0:
            _log.warning(
                "ledger.retry_of_registered_run",
                run_key=self.key,
                retry=self.retry,
                reason="the run was registered before its step (or forgotten by hand), and no earlier "
                "attempt opened it since (their pods were lost before the job ran): starting the run",
            )

    def _check_same_run(self, store: Store, found: RunRow) -> None:
        key, job = self.key, self.job
        if found.status == ABANDONED:  # whatever job or parameters come: the key is closed
            raise ConfigurationError(
                f"run key {key!r} was abandoned by hand (python -m jobframe.ledger abandon): no "
                f"attempt under it sends anything; use a new --run-key ({fresh_run_repeats(store, key)})"
            )
        if found.fingerprint != self.fingerprint or found.job != job:
            what = f"another job ({found.job})" if found.job != job else "other parameters (or another shard)"
            raise ConfigurationError(
                f"run key {key!r} was started with {what}: resuming it with this job and these "
                "parameters could skip or repeat the wrong objects; use the same job and parameters, "
                f"or a new --run-key ({fresh_run_repeats(store, key)})"
            )


def take(writer: Writer, opening: Opening, settings: LedgerSettings) -> RunRow:
    """Run ``opening``; while another attempt holds the key, wait up to ``settings.lease_wait``."""
    waited_from = time.monotonic()
    told = False
    while True:
        try:
            return writer.submit(opening).result(settings.timeout)
        except LeaseHeldError as exc:
            left = settings.lease_wait - (time.monotonic() - waited_from)
            if left <= 0:
                raise
            if not told:
                _log.info("ledger.lease_wait", run_key=opening.key, waiting_for=str(exc), up_to_s=left)
                told = True
            # the holder renews or expires by the store's clock; there is nothing to wait on but time
            time.sleep(min(opening.lease.interval, left))
        except TimeoutError:
            raise classify(
                TimeoutError(),
                f"ledger: no answer from {opening.where} within {settings.timeout:g} s while opening run "
                f"{opening.key!r} (waiting for its write lock: another process holds it, or the store "
                "does not answer)",
            ) from None
        except Exception as exc:  # noqa: BLE001 - a refusal (raised as is) or a store failure
            what = f"{type(exc).__name__}: {exc}"
            raise classify(
                exc, f"ledger: cannot open run {opening.key!r} in {opening.where}: {what}"
            ) from None
