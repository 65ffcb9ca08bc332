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
from typing import TYPE_CHECKING, Any

from jobframe.errors import ConfigurationError, JobframeError, RetryableError
from jobframe.ledger import batches as _batches
from jobframe.ledger.fingerprint import batch_digest
from jobframe.ledger.lease import Lease, LeaseLostError, new_token
from jobframe.ledger.policy import BatchState, Decision, decide, records_start
from jobframe.logs import get_logger

if TYPE_CHECKING:
    from jobframe.ledger.settings import LedgerSettings
    from jobframe.ledger.store import Store
    from jobframe.ledger.writer import Writer

# The store, its writer thread and the opening protocol (with sqlite3) are imported by
# RunLedger.open, when a run key asks for a ledger, and the fan-out's lookups by the calls that
# need them: a run without one never loads them (tests/cli/test_lazy_imports.py).

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
    lease: Lease = field(default_factory=lambda: Lease("", "", 1.0), repr=False)
    new_run: bool = False
    """``--new-run``: start even though an unfinished earlier run key sent the same input."""
    fingerprint: str = ""
    shard: int | None = None
    """This run's shard index in a fan-out (``None``: the whole input); its key names its fan-out
    when it ends in ``-<index>`` (the rendered ``{{workflow.uid}}-<index>``)."""
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
        retry: int = 0,
        new_run: bool = False,
        registered: bool = False,
        shard: int | None = None,
    ) -> RunLedger:
        """Open (or create) the ledger of run ``key`` and take its lease.

        Refused (78): a run started with other parameters, an abandoned one, and a retry (``retry``
        > 0) that finds no record of its key — the earlier attempts' ledger is lost — or any
        attempt told the key was ``registered`` before the step ran that finds no record of it.
        Another attempt holding the key: 75 (after ``settings.lease_wait``). A store failure: 75
        when it may pass, 78 when it cannot (:mod:`jobframe.ledger.failures`).
        """
        from jobframe.ledger.opening import Opening, take  # noqa: PLC0415 - only a run with a key
        from jobframe.ledger.store import describe, open_store  # noqa: PLC0415
        from jobframe.ledger.writer import Writer  # noqa: PLC0415

        where = describe(settings)
        try:
            store = open_store(settings)
        except JobframeError as exc:  # the same class (75 or 78), naming the run it was opened for
            raise type(exc)(f"run key {key!r}: {exc}") from None
        writer = Writer(store)
        lease = Lease(key, new_token(), settings.lease)
        opening = Opening(
            key, job, fingerprint, fresh=fresh, retry=retry, lease=lease, where=where, registered=registered
        )
        try:
            row = take(writer, opening, settings)
        except BaseException:
            writer.close(1.0)
            raise
        writer.lease = lease
        ledger = cls(
            key=key,
            job=job,
            attempt=row.attempts,
            resumed=row.attempts > 1,
            resend_ambiguous=resend_ambiguous,
            timeout=settings.timeout,
            writer=writer,
            store_name=writer.store.name,
            lease=lease,
            new_run=new_run,
            fingerprint=fingerprint,
            shard=shard,
        )
        _log.info(
            "ledger.opened",
            run_key=key,
            store=ledger.store_name,
            attempt=row.attempts,
            retry=retry,
            registered=registered,
            status=row.status,
            fresh=fresh,
            lease_s=settings.lease,
            fence=lease.fence,
        )
        return ledger

    def finish(self, *, succeeded: bool) -> None:
        """End this attempt: a run that succeeded is closed (a retry of it would find nothing to do)."""
        if self.writer is None or self.key is None:
            return
        from jobframe.ledger.schema import now_text  # noqa: PLC0415 - loaded by open already

        status = "closed" if succeeded else "open"
        lease = self.lease
        for journal in self.journals:  # a call cut short (cancelled, failed) still records its deliveries
            journal.unrecorded(self.timeout)  # and any the store lost are reported
        try:
            # the lease is given up with the run's status: the next attempt need not wait for it
            self.writer.submit(lambda store: lease.release(store, status, now_text())).result(self.timeout)
        except LeaseLostError as exc:
            _log.warning("ledger.lease_lost", run_key=self.key, reason=str(exc))
        finally:
            self.writer.close(self.timeout)

    # -- streams ---------------------------------------------------------------------------------

    def journal(
        self,
        endpoint: str,
        fingerprint: str | None,
        input_fingerprint: str | None = None,
        *,
        fanout: str | None = None,
        fanout_before: str | None = None,
    ) -> Journal | None:
        """The journal of the next batched call of the run (``None`` without a ledger).

        A call recorded before under this number with another endpoint or input is refused (78):
        the same run must make the same calls with the same inputs. A new call is refused (78) when
        an unfinished run under another key sent it (a resubmitted workflow), or read the same
        whole input cut another way (``fanout``: its fingerprint without a shard's index and
        count): an unfinished fan-out, any of whose shards, finished too, reached its users, or an
        unfinished whole run — the same users, however the resubmit cuts them. ``fanout_before``:
        what earlier versions recorded for the same call (a shard's, its count kept), found too.
        """
        if self.writer is None or self.key is None:
            return None
        from jobframe.ledger.fanout import fanout_of_key, find_other, refusal  # noqa: PLC0415 - a ledger's run only

        number = self._streams
        self._streams += 1
        key = self.key

        job, run_fingerprint, new_run = self.job, self.fingerprint, self.new_run
        fanout_name = fanout_of_key(key, self.shard) if fanout is not None else None
        whole = self.shard is None  # a shard whose key names no fan-out is checked as before: alone
        from jobframe.ledger.earlier import FanoutCall, earlier_run  # noqa: PLC0415 - loaded by open already
        from jobframe.ledger.opening import fresh_run_repeats  # noqa: PLC0415 - loaded by open already

        def load(store: Store) -> tuple[str, str | None, list[tuple[int, BatchState, str]], str, bool]:
            if fingerprint is not None and not new_run and not _batches.has_stream(store, key, number):
                earlier = earlier_run(
                    store,
                    key,
                    job,
                    run_fingerprint,
                    number=number,
                    endpoint=endpoint,
                    fingerprint=fingerprint,
                    input_fingerprint=input_fingerprint,
                )
                if earlier is not None:
                    raise _resubmitted(key, endpoint, earlier)
                if fanout is not None and (whole or fanout_name is not None):
                    call = FanoutCall(key, job, number, endpoint, fanout, fanout_before, fanout_name)
                    other = find_other(store, call)
                    if (
                        other is not None and other.name == other.reached_by
                    ):  # a whole run: its key names none
                        found = (other.name, other.reached, other.live, other.sent)
                        raise _resubmitted(key, endpoint, found, same="the same input and message")
                    if other is not None:
                        raise _Refused(ConfigurationError(refusal(key, endpoint, other)))
            recorded_endpoint, recorded_fingerprint, recorded_input = _batches.stream(
                store,
                key,
                number,
                endpoint,
                fingerprint,
                input_fingerprint=input_fingerprint,
                fanout=fanout,
                fanout_name=fanout_name,
            )
            batches = list(_batches.batches(store, key, number))
            repeats = (
                fresh_run_repeats(store, key)
                if (recorded_endpoint, recorded_fingerprint) != (endpoint, fingerprint)
                else ""
            )
            recut = recorded_input is not None and recorded_input == input_fingerprint
            return recorded_endpoint, recorded_fingerprint, batches, repeats, recut

        try:
            recorded_endpoint, recorded, batches, repeats, recut = self._wait(
                self.writer.submit(load), "read the ledger"
            )
        except _Refused as refused:
            raise refused.error from None
        if recorded_endpoint != endpoint or recorded != fingerprint:  # None on one side only: changed
            what = (
                f"was {recorded_endpoint} when the run started, now {endpoint}"
                if recorded_endpoint != endpoint
                else f"({endpoint}) cuts its input in batches of another size than when the run started "
                "(a changed BRAZE__BATCH__* setting)"
                if recut
                else f"({endpoint}) reads another input than when the run started"
            )
            raise ConfigurationError(
                f"run key {key!r}: bulk call {number} {what}: a resume needs "
                f"{'batches of the same size' if recut else 'the same input in the same order'}; {repeats}"
            )
        known = {batch: (state, digest) for batch, state, digest in batches}
        # A call whose input fingerprint is known cuts the same batches again: checking each batch's
        # content on top would cost a digest per batch for nothing. Without one, each is checked.
        return Journal(self, number, endpoint, known, verify_batches=fingerprint is None)

    def _wait(self, future: Future[Any], what: str) -> Any:
        try:
            return future.result(self.timeout)
        except _Refused:
            raise
        except TimeoutError:
            raise LedgerUnavailableError(
                f"ledger: could not {what} (run {self.key!r}): no answer from the {self.store_name} "
                f"store within {self.timeout:g} s (waiting for its write lock, or for the server)"
            ) from None
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


class _Refused(Exception):  # noqa: N818 - a carrier, never seen outside this module
    """Raised in the writer's transaction (rolling it back) to carry a refusal out of it."""

    def __init__(self, error: ConfigurationError) -> None:
        super().__init__(str(error))
        self.error = error


def _resubmitted(
    key: str, endpoint: str, found: tuple[str, int, bool, int], *, same: str = "the same parameters and input"
) -> _Refused:
    """``found``: the earlier run (:func:`jobframe.ledger.earlier.earlier_run`) — its key, the
    objects it reached, whether it is live, and the batches it sent; ``same``: what the two calls
    share."""
    from jobframe.ledger.fanout import so_far  # noqa: PLC0415 - a ledger's run only

    earlier, reached, live, sent = found
    done = so_far(reached, sent)
    users = f"{reached} user{'' if reached == 1 else 's'}"
    again = f"to send to those {users} again" if reached or not sent else "to send those again"
    if live:
        what = f"is sending this job's {endpoint} call with {same} right now"
        advice = f"let it finish (or continue it with --run-key {earlier} later)"
    else:
        what = (
            f"already sent this job's {endpoint} call with {same} and did not "
            "finish (a resubmitted workflow?)"
        )
        advice = f"continue that run with --run-key {earlier} (or `argo retry` its workflow)"
    return _Refused(
        ConfigurationError(
            f"run key {key!r}: run key {earlier!r} {what}, {done}: {advice}; {again} as well, pass --new-run"
        )
    )


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
            future = self.ledger.writer.submit(lambda store: _batches.delivered(store, key, number, rows))
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
        assert self.ledger.writer is not None and key is not None
        if not records_start(self.endpoint, items, body if isinstance(body, Mapping) else None):
            self._unrecorded[index] = (slices, size, digest)
            if self.ledger.lease.valid():  # no round trip while the lease is surely ours
                return None
            # frozen past the lease, or cut off: ask the store (fenced) before sending anything more
            return self.ledger.writer.submit(lambda store: None)
        self._started.add(index)  # the write of *started* is fenced: a holder taken over sends nothing
        return self.ledger.writer.submit(
            lambda store: _batches.started(store, key, number, index, items=slices, size=size, digest=digest)
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
            future = self.ledger.writer.submit(
                lambda store: _batches.settled(store, key, number, index, state)
            )
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
