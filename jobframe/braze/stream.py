"""One batched call in progress: which batch goes next, what became of each, and when to stop.

Both clients run a :class:`~jobframe.braze.plans.Plan` through a ``Stream``; the sync client
takes one call at a time, the async client several, and both report every finished call with
:meth:`Stream.settle`. The first failure stops the stream — after a batch whose outcome is
unknown (or any other failure) no further batch is started, wherever the failure falls;
batches already waiting end as :class:`~jobframe.braze._exchange.NotSentError` before sending — and
:meth:`Stream.result` raises that failure with the call's
:class:`~jobframe.braze._delivery.DeliveryReport`. Pure bookkeeping: no I/O, no clock.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Generic, Protocol, TypeVar

from jobframe.braze._delivery import BatchRef, DeliveryReport, IndexRanges, batch_ids
from jobframe.braze._errors import BrazeError, BrazeLedgerError
from jobframe.braze._exchange import Call, Done, Fail, NotSentError
from jobframe.braze.plans import Plan
from jobframe.ledger.ledger import Journal
from jobframe.ledger.policy import BatchState, Decision, records_start

__all__ = ["ProgressSink", "Stream"]

R = TypeVar("R")

MAX_HELD = 64
"""Batches that may not be repeated, waiting for the one in flight, while later ones go ahead."""


class ProgressSink(Protocol):
    """Where delivered objects are counted (``jobframe.progress.Tracker``)."""

    def advance(self, done: int) -> None: ...

    def finish(self) -> None: ...


class Stream(Generic[R]):
    """The calls of ``plan`` handed out until the input ends or a call fails.

    ``progress`` makes the sink that counts delivered objects; it is called when the first batch
    is handed out (a call that is not batched reports no progress).
    """

    def __init__(
        self,
        plan: Plan[R],
        progress: Callable[[], ProgressSink] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self._make_progress = progress
        self._progress: ProgressSink | None = None
        self.error: BrazeError | None = None
        self._failed_call: Call[Any] | None = None
        self._exhausted = False
        self._next_index = 0
        self._next_items: dict[str, int] = {}
        self._taken = 0
        self._delivered = IndexRanges()
        self._delivered_items = 0
        self._unknown: list[BatchRef] = []
        self._failed: list[BatchRef] = []
        self._not_sent: list[BatchRef] = []
        self._unrepeatable: Call[Any] | None = None
        self._held: deque[Call[Any]] = deque()

    @property
    def stopped(self) -> bool:
        """True once a call failed: no further call is handed out or sent."""
        return self.error is not None

    @property
    def endpoint(self) -> str:
        return self.plan.endpoint.path

    @property
    def waiting(self) -> bool:
        """True while :meth:`next_call` has nothing to hand out only because the batches left wait
        for the non-repeatable one in flight: ask again once a call settled."""
        return not self.stopped and bool(self._held)

    def next_call(self) -> Call[Any] | None:
        """The next call to run, or ``None`` when the stream stopped, the input is used up, or
        every batch left is :attr:`waiting`.

        With a run ledger, batches an earlier attempt delivered are skipped here (counted as
        delivered), and so are the ambiguous ones that must not be repeated (counted as unknown).
        Batches that may not be repeated go one at a time — a kill leaves at most one of them
        ambiguous — while the repeatable ones behind them go ahead (up to :data:`MAX_HELD` waiting).
        """
        if self.stopped:
            return None
        if self._held and self._unrepeatable is None:
            self._unrepeatable = self._held.popleft()
            return self._unrepeatable
        while not (self.stopped or self._exhausted) and len(self._held) < MAX_HELD:
            call = next(self.plan.calls, None)
            if call is None:
                self._exhausted = True
                return None
            if call.batch_index is None:
                return call
            if self._progress is None and self._make_progress is not None:
                self._progress = self._make_progress()
            self._next_index = call.batch_index + 1
            self._taken += call.size
            for name, (_, stop) in call.items.items():
                self._next_items[name] = stop
            if not self._resumed(call):
                continue
            if self._records_start(call):
                if self._unrepeatable is not None:
                    self._held.append(call)
                    continue
                self._unrepeatable = call
            return call
        return None

    def let_go(self, call: Call[Any]) -> None:
        """``call`` is no longer in flight (settled, or its task ended without an outcome): the
        next non-repeatable batch may go."""
        if call is self._unrepeatable:
            self._unrepeatable = None

    def _records_start(self, call: Call[Any]) -> bool:
        if self.journal is None or call.batch_index is None:
            return False
        return records_start(self.endpoint, call.items, call.json if isinstance(call.json, dict) else None)

    def _resumed(self, call: Call[Any]) -> bool:
        """Whether ``call`` is to be sent, given what the ledger recorded of it."""
        index = call.batch_index
        if self.journal is None or index is None:
            return True
        body = call.json

        def ids() -> list[Any]:  # only an ambiguous batch needs them listed
            return batch_ids(body) if isinstance(body, dict) else []

        decision = self.journal.decide(index, body, call.items, call.size, ids)
        if decision is Decision.SKIP_DELIVERED:
            self._delivered.add(index)
            self._delivered_items += call.size
            if self._progress is not None:
                self._progress.advance(call.size)
            return False
        if decision is Decision.SKIP_AMBIGUOUS:
            self._unknown.append(BatchRef(index, dict(call.items), ids()))
            return False
        return True

    # -- the ledger around a send ----------------------------------------------------------------

    def record_start(self, call: Call[Any]) -> Fail | None:
        """Sync client: before sending ``call``, wait until its start is recorded in the ledger.

        ``None`` to go ahead; a :class:`Fail` (the batch was not sent) when the ledger could not
        record it — sending it unrecorded could repeat it on a resume.
        """
        recording = self._before_send(call)
        if recording is None:
            return None
        try:
            recording.result(self._ledger_timeout)
        except Exception as exc:  # noqa: BLE001 - any store failure or timeout
            return self._unrecorded(call, exc)
        return None

    async def arecord_start(self, call: Call[Any]) -> Fail | None:
        """Async client: :meth:`record_start` without blocking the event loop."""
        recording = self._before_send(call)
        if recording is None:
            return None
        try:
            await asyncio.wait_for(asyncio.wrap_future(recording), self._ledger_timeout)
        except Exception as exc:  # noqa: BLE001
            return self._unrecorded(call, exc)
        return None

    def _before_send(self, call: Call[Any]) -> Future[None] | None:
        if self.journal is None or call.batch_index is None:
            return None
        return self.journal.before_send(call.batch_index, call.json, call.items, call.size)

    @property
    def _ledger_timeout(self) -> float:
        return self.journal.ledger.timeout if self.journal is not None else 0.0

    def _unrecorded(self, call: Call[Any], exc: Exception) -> Fail:
        error = BrazeLedgerError(
            f"the run ledger could not record this batch as started ({type(exc).__name__}: {exc}); "
            "it was not sent",
            endpoint=self.endpoint,
        )
        return Fail(error, ambiguous=False)

    def settle(self, call: Call[Any], outcome: Done[Any] | Fail) -> None:
        """Record how ``call`` ended; the first failure stops the stream."""
        self.let_go(call)
        if self.journal is not None and call.batch_index is not None:
            if isinstance(outcome, Done):
                self.journal.settled(call.batch_index, BatchState.DELIVERED)
            elif not outcome.ambiguous:  # nothing applied: a resume sends it again
                self.journal.settled(call.batch_index, BatchState.FAILED)
        if isinstance(outcome, Done):
            self.plan.fold(call, outcome.value)
            if call.batch_index is not None:
                self._delivered.add(call.batch_index)
                self._delivered_items += call.size
                if self._progress is not None:
                    self._progress.advance(call.size)
            return
        if call.batch_index is not None:
            self._classify(call, outcome)
        if self.error is None and not isinstance(outcome.error, NotSentError):
            self.error, self._failed_call = outcome.error, call

    def _classify(self, call: Call[Any], outcome: Fail) -> None:
        index = call.batch_index
        assert index is not None
        if outcome.ambiguous:
            ids = batch_ids(call.json) if isinstance(call.json, dict) else []
            self._unknown.append(BatchRef(index, dict(call.items), ids))
        elif isinstance(outcome.error, NotSentError):
            self._not_sent.append(BatchRef(index, dict(call.items)))
        else:
            self._failed.append(BatchRef(index, dict(call.items)))

    def report(self) -> DeliveryReport:
        """What became of every batch so far (for a batched plan)."""
        total = self.plan.total
        rest = None
        if not self._exhausted and (total is None or self._taken < total):
            rest = BatchRef(self._next_index, {name: (at, at) for name, at in self._next_items.items()})
        return DeliveryReport(
            endpoint=self.endpoint,
            delivered=self._delivered.ranges(),
            delivered_items=self._delivered_items,
            unknown=sorted(self._unknown, key=lambda b: b.index),
            failed=sorted(self._failed, key=lambda b: b.index),
            never_sent=sorted(
                [*self._not_sent, *(BatchRef(c.batch_index or 0, dict(c.items)) for c in self._held)],
                key=lambda b: b.index,
            ),
            rest_from=rest,
            rest_items=None if rest is None or total is None else max(total - self._taken, 0),
        )

    def _unrecorded_outcomes(self, journal: Journal) -> BrazeLedgerError | None:
        """The call's success depends on every batch's final state being recorded: wait for those
        records. One the store lost makes a call that otherwise succeeded fail with
        :class:`BrazeLedgerError` (75): a retry resumes, and lists what it cannot know."""
        missing = journal.unrecorded(self._ledger_timeout)
        if not missing:
            return None
        return BrazeLedgerError(
            f"the run ledger could not record how {len(missing)} batch(es) ended ({missing[0][2]}); "
            "Braze answered them: a retry resumes the call and lists those it cannot know "
            "(ledger.unrecorded names them)",
            endpoint=self.endpoint,
        )

    def close(self) -> None:
        """Let go of the input: a call that stopped early closes the generators it was reading from
        (a file a job's input generator holds open is closed now, not whenever it is collected)."""
        close = getattr(self.plan.calls, "close", None)
        if callable(close):
            close()

    def result(self) -> R:
        """The plan's result, or its first failure raised with the delivery report."""
        if self._progress is not None:
            self._progress.finish()
        lost = None
        if self.journal is not None:
            self.journal.finish()
            lost = self._unrecorded_outcomes(self.journal)
        if lost is not None and self.error is None:
            self.plan.finish()
            lost.partial_result = self.plan.result
            lost.delivery = self.report()
            raise lost
        if self.error is None or self._failed_call is None:
            return self.plan.done()
        error, call = self.error, self._failed_call
        self.plan.failed(call, error)
        if call.batch_index is not None:
            error.delivery = self.report()
        raise error
