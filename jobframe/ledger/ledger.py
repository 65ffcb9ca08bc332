"""A run ledger: what every bulk call of a run did to every batch, so a retry continues, never repeats.

A run is identified by its run key (``--run-key``; on Argo the workflow's uid plus the shard, so
every retry of a step shares it). Each batched call of the run is a *stream*, numbered in the
order the job makes them; each batch is recorded as *started* — durably, before its request is
sent — then *delivered* after a 2xx, or *failed* when the answer says nothing was applied. A
later attempt with the same key skips what was delivered, re-sends what was never applied, and
decides about what was started and never confirmed by :mod:`jobframe.ledger.policy`.

Without a run key there is no ledger (:data:`DISABLED`): nothing is recorded, nothing skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from jobframe.errors import ConfigurationError, RetryableError
from jobframe.ledger.fingerprint import batch_digest
from jobframe.ledger.policy import BatchState, Decision, decide, records_start
from jobframe.ledger.settings import LedgerSettings
from jobframe.ledger.store import RunRow, Store, open_store
from jobframe.ledger.writer import Writer
from jobframe.logs import get_logger

__all__ = ["DISABLED", "Journal", "LedgerUnavailableError", "RunLedger"]

_log = get_logger("jobframe.ledger")


class LedgerUnavailableError(RetryableError):
    """The ledger could not record a batch as started, so it was not sent (exit 75: retry)."""


@dataclass
class _Ambiguous:
    stream: int
    endpoint: str
    batch: int
    items: dict[str, tuple[int, int]]
    ids: list[Any]


ABANDONED = "abandoned"
"""A run closed by hand: every later attempt under its key is refused (78)."""


@dataclass
class RunLedger:
    """One run's ledger (or :data:`DISABLED`); opened by :func:`jobframe.ledger.open_ledger`."""

    key: str | None = None
    job: str = ""
    attempt: int = 0
    resumed: bool = False
    resend_ambiguous: bool = False
    timeout: float = 10.0
    writer: Writer | None = None
    store_name: str = ""
    _streams: int = 0
    skipped_batches: int = 0
    skipped_items: int = 0
    resent_batches: int = 0
    ambiguous: list[_Ambiguous] = field(default_factory=list)
    journals: list[Journal] = field(default_factory=list, repr=False)

    @property
    def enabled(self) -> bool:
        return self.writer is not None

    # -- opening and closing ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        settings: LedgerSettings,
        *,
        key: str,
        job: str,
        fingerprint: str,
        fresh: bool = False,
        resend_ambiguous: bool = False,
    ) -> RunLedger:
        """Open (or create) the ledger of run ``key``; a run started with other parameters is refused (78)."""
        writer = Writer(open_store(settings))

        def begin(store: Store) -> tuple[RunRow | None, RunRow | None]:
            if fresh:
                store.forget(key)
            found = store.run(key)
            if found is not None and (
                found.fingerprint != fingerprint or found.job != job or found.status == ABANDONED
            ):
                return found, None
            return None, store.start_attempt(key, job, fingerprint)

        try:
            changed, row = writer.submit(begin).result(settings.timeout)
        except Exception as exc:  # noqa: BLE001 - the store answered with an error, or not in time
            writer.close(1.0)
            raise ConfigurationError(
                f"ledger: cannot open run {key!r}: {type(exc).__name__}: {exc}"
            ) from None
        if changed is not None or row is None:
            writer.close(settings.timeout)
            assert changed is not None
            if changed.status == ABANDONED and changed.job == job and changed.fingerprint == fingerprint:
                raise ConfigurationError(
                    f"run key {key!r} was abandoned by hand (python -m jobframe.ledger abandon): no "
                    "attempt under it sends anything; use a new --run-key, or --fresh-run to start it over"
                )
            what = "another job" if changed.job != job else "other parameters (or another shard)"
            raise ConfigurationError(
                f"run key {key!r} was started by {changed.job} with {what}: resuming it with this "
                "job and these parameters could skip or repeat the wrong objects; use the same job "
                "and parameters, a new --run-key, or --fresh-run to start this key over"
            )
        ledger = cls(
            key=key,
            job=job,
            attempt=row.attempts,
            resumed=row.attempts > 1,
            resend_ambiguous=resend_ambiguous,
            timeout=settings.timeout,
            writer=writer,
            store_name=writer.store.name,
        )
        _log.info(
            "ledger.opened",
            run_key=key,
            store=ledger.store_name,
            attempt=row.attempts,
            status=row.status,
            fresh=fresh,
        )
        return ledger

    def finish(self, *, succeeded: bool) -> None:
        """End this attempt: a run that succeeded is closed (a retry of it would find nothing to do)."""
        if self.writer is None or self.key is None:
            return
        key = self.key
        status = "closed" if succeeded else "open"
        for journal in self.journals:  # a call cut short (cancelled, failed) still records its deliveries
            journal.unrecorded(self.timeout)  # and any the store lost are reported
        try:
            self.writer.submit(lambda store: store.set_status(key, status)).result(self.timeout)
        finally:
            self.writer.close(self.timeout)

    # -- streams ---------------------------------------------------------------------------------

    def journal(self, endpoint: str, fingerprint: str | None) -> Journal | None:
        """The journal of the next batched call of the run (``None`` without a ledger).

        A call recorded before under this number with another endpoint or input is refused (78):
        the same run must make the same calls with the same inputs.
        """
        if self.writer is None or self.key is None:
            return None
        number = self._streams
        self._streams += 1
        key = self.key

        def load(store: Store) -> tuple[str, str | None, list[tuple[int, BatchState, str]]]:
            recorded_endpoint, recorded = store.stream(key, number, endpoint, fingerprint)
            return recorded_endpoint, recorded, list(store.batches(key, number))

        recorded_endpoint, recorded, batches = self._wait(self.writer.submit(load), "read the ledger")
        if recorded_endpoint != endpoint or recorded != fingerprint:  # None on one side only: changed
            what = (
                f"was {recorded_endpoint} when the run started, now {endpoint}"
                if recorded_endpoint != endpoint
                else f"({endpoint}) reads another input than when the run started"
            )
            raise ConfigurationError(
                f"run key {key!r}: bulk call {number} {what}: a resume needs the same input in the "
                "same order (or --fresh-run to start this key over)"
            )
        known = {batch: (state, digest) for batch, state, digest in batches}
        # A call whose input fingerprint is known cuts the same batches again: checking each batch's
        # content on top would cost a digest per batch for nothing. Without one, each is checked.
        return Journal(self, number, endpoint, known, verify_batches=fingerprint is None)

    def _wait(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(self.timeout)
        except Exception as exc:  # noqa: BLE001 - the store failed or did not answer in time
            raise LedgerUnavailableError(
                f"ledger: could not {what} (run {self.key!r}): {type(exc).__name__}: {exc}"
            ) from None

    def summary(self) -> dict[str, Any] | None:
        """What a resumed attempt skipped and what stayed ambiguous: ``job.finished``'s ``resume``."""
        if not self.enabled:
            return None
        return {
            "run_key": self.key,
            "attempt": self.attempt,
            "skipped": {"batches": self.skipped_batches, "objects": self.skipped_items},
            "resent_ambiguous": self.resent_batches,
            "ambiguous": [
                {"stream": a.stream, "endpoint": a.endpoint, "batch": a.batch, "items": a.items, "ids": a.ids}
                for a in self.ambiguous
            ],
        }


DELIVERIES_PER_RECORD = 64
"""Delivered idempotent batches recorded together (one statement per this many)."""


OUTCOMES_KEPT = 1024
"""Outcome records a journal holds before letting go of those already written."""


DISABLED = RunLedger()
"""No run key: nothing recorded, nothing skipped."""


@dataclass
class Journal:
    """One batched call's record in the ledger: decides each batch, records each outcome."""

    ledger: RunLedger
    number: int
    endpoint: str
    known: dict[int, tuple[BatchState, str]]
    verify_batches: bool = True
    """Compare each recorded batch's digest with the batch planned now (inputs without a fingerprint)."""
    skipped_batches: int = 0
    skipped_items: int = 0
    _started: set[int] = field(default_factory=set)
    _unrecorded: dict[int, tuple[dict[str, tuple[int, int]], int, str]] = field(default_factory=dict)
    """Idempotent batches sent without a *started* record: recorded once delivered ..."""
    _deliveries: list[tuple[int, dict[str, tuple[int, int]], int, str]] = field(default_factory=list)
    """... in groups: one lost with the process is only sent again, which is harmless."""
    _outcomes: list[tuple[Future[None], list[int], BatchState]] = field(default_factory=list)
    """Outcome records not waited for when made: checked by :meth:`unrecorded`."""

    def __post_init__(self) -> None:
        self.ledger.journals.append(self)

    def flush(self) -> None:
        """Record the delivered idempotent batches not recorded yet (one statement, not waited for)."""
        rows, self._deliveries = self._deliveries, []
        if rows and self.ledger.writer is not None and self.ledger.key is not None:
            key, number = self.ledger.key, self.number
            future = self.ledger.writer.submit(lambda store: store.delivered(key, number, rows))
            self._outcome(future, [row[0] for row in rows], BatchState.DELIVERED)

    def _outcome(self, future: Future[None], batches: list[int], state: BatchState) -> None:
        """Keep an outcome record's future until :meth:`unrecorded` checks it (those already
        written are let go now and then: a call of a million batches keeps only the pending)."""
        self._outcomes.append((future, batches, state))
        if len(self._outcomes) >= OUTCOMES_KEPT:
            self._outcomes = [
                o
                for o in self._outcomes
                if not (o[0].done() and not o[0].cancelled() and o[0].exception() is None)
            ]

    def unrecorded(self, timeout: float) -> list[tuple[int, BatchState, str]]:
        """Wait (at most ``timeout`` seconds in all) until every outcome recorded so far is
        durable; the batches whose record failed or is still not written: index, state, why.

        What depends on a batch's final state — the call's success, the run's closing — asks this
        first, so an outcome the store lost is reported (and the job retried), never assumed.
        """
        self.flush()
        outcomes, self._outcomes = self._outcomes, []
        deadline = time.monotonic() + timeout
        missing: list[tuple[int, BatchState, str]] = []
        for future, batches, state in outcomes:
            try:
                future.result(max(deadline - time.monotonic(), 0.0))
            except Exception as exc:  # noqa: BLE001 - the store failed, or did not answer in time
                why = f"{type(exc).__name__}: {exc}" if str(exc) else f"no answer within {timeout:g} s"
                missing += [(batch, state, why) for batch in batches]
        if missing:
            self._report(missing)
        return sorted(missing)

    def _report(self, missing: list[tuple[int, BatchState, str]]) -> None:
        repeated = {batch for batch, _, _ in missing if batch not in self._started}
        _log.error(
            "ledger.unrecorded",
            run_key=self.ledger.key,
            endpoint=self.endpoint,
            batches=[{"batch": b, "state": state.value} for b, state, _ in sorted(missing)],
            error=missing[0][2],
            consequence=(
                "a resume re-sends these batches (repeating them is harmless)"
                if len(repeated) == len(missing)
                else "a resume lists the batches that may not be repeated as ambiguous "
                "(the ledger saw them start and not end) and re-sends the others"
            ),
        )

    def decide(
        self,
        index: int,
        body: Any,
        items: Mapping[str, tuple[int, int]],
        size: int,
        ids: list[Any] | Callable[[], list[Any]],
    ) -> Decision:
        """What to do with batch ``index`` of this call (its body, input slices, size and ids)."""
        state, recorded = self.known.get(index, (None, None))
        if self.verify_batches and recorded and recorded != batch_digest(body, items):
            raise ConfigurationError(
                f"run key {self.ledger.key!r}: batch {index} of {self.endpoint} holds other objects than "
                "when the run started: a resume needs the same input in the same order "
                "(or --fresh-run to start this key over)"
            )
        decision = decide(
            state,
            self.endpoint,
            items,
            resend_ambiguous=self.ledger.resend_ambiguous,
            body=body if isinstance(body, Mapping) else None,
        )
        if decision is Decision.SKIP_DELIVERED:
            self.skipped_batches += 1
            self.skipped_items += size
            self.ledger.skipped_batches += 1
            self.ledger.skipped_items += size
        elif decision is Decision.SKIP_AMBIGUOUS:
            ids = ids() if callable(ids) else ids  # only an ambiguous batch needs its ids
            self.ledger.ambiguous.append(_Ambiguous(self.number, self.endpoint, index, dict(items), ids))
            _log.warning(
                "resume.ambiguous",
                run_key=self.ledger.key,
                endpoint=self.endpoint,
                batch=index,
                items=items,
                ids=ids,
                action="not sent again: it may have been delivered, and a repeat could reach a user twice",
            )
        elif decision is Decision.RESEND_AMBIGUOUS:
            self.ledger.resent_batches += 1
        return decision

    def before_send(
        self, index: int, body: Any, items: Mapping[str, tuple[int, int]], size: int
    ) -> Future[None] | None:
        """Record batch ``index`` as started; the future completes once that is durable. ``None``
        when it already was (a repeat of the same attempt's request)."""
        if index in self._started or index in self._unrecorded:
            return None
        digest = batch_digest(body, items) if self.verify_batches else ""
        key, number, slices = self.ledger.key, self.number, dict(items)
        if not records_start(self.endpoint, items, body if isinstance(body, Mapping) else None):
            self._unrecorded[index] = (slices, size, digest)
            return None
        self._started.add(index)
        assert self.ledger.writer is not None and key is not None
        return self.ledger.writer.submit(
            lambda store: store.started(key, number, index, items=slices, size=size, digest=digest)
        )

    def settled(self, index: int, state: BatchState) -> None:
        """Record how batch ``index`` ended (committed with the next group; not waited for)."""
        if self.ledger.writer is None or self.ledger.key is None:
            return
        key, number = self.ledger.key, self.number
        if index in self._unrecorded:  # idempotent: only a delivery is worth recording
            slices, size, digest = self._unrecorded.pop(index)
            if state is BatchState.DELIVERED:
                self._deliveries.append((index, slices, size, digest))
                if len(self._deliveries) >= DELIVERIES_PER_RECORD:
                    self.flush()
        elif index in self._started:
            future = self.ledger.writer.submit(lambda store: store.settled(key, number, index, state))
            self._outcome(future, [index], state)

    def finish(self) -> None:
        self.flush()
        if self.skipped_batches:
            _log.info(
                "resume.skipped",
                run_key=self.ledger.key,
                endpoint=self.endpoint,
                batches=self.skipped_batches,
                objects=self.skipped_items,
                reason="delivered by an earlier attempt",
            )
