"""One batched call in progress: which batch goes next, what became of each, and when to stop.

Both clients run a :class:`~jobframe.braze.plans.Plan` through a ``Stream``; the sync client
takes one call at a time, the async client several, and both report every finished call with
:meth:`Stream.settle`. The first failure stops the stream — after a batch whose outcome is
unknown (or any other failure) no further batch is started, wherever the failure falls;
batches already waiting end as :class:`~jobframe.braze.exchange.NotSentError` before sending — and
:meth:`Stream.result` raises that failure with the call's
:class:`~jobframe.braze.delivery.DeliveryReport`. Pure bookkeeping: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from jobframe.braze.delivery import BatchRef, DeliveryReport, IndexRanges, batch_ids
from jobframe.braze.errors import BrazeError
from jobframe.braze.exchange import Call, Done, Fail, NotSentError
from jobframe.braze.plans import Plan

__all__ = ["ProgressSink", "Stream"]

R = TypeVar("R")


class ProgressSink(Protocol):
    """Where delivered objects are counted (``jobframe.progress.Tracker``)."""

    def advance(self, done: int) -> None: ...

    def finish(self) -> None: ...


class Stream(Generic[R]):
    """The calls of ``plan`` handed out until the input ends or a call fails.

    ``progress`` makes the sink that counts delivered objects; it is called when the first batch
    is handed out (a call that is not batched reports no progress).
    """

    def __init__(self, plan: Plan[R], progress: Callable[[], ProgressSink] | None = None) -> None:
        self.plan = plan
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

    @property
    def stopped(self) -> bool:
        """True once a call failed: no further call is handed out or sent."""
        return self.error is not None

    @property
    def endpoint(self) -> str:
        return self.plan.endpoint.path

    def next_call(self) -> Call[Any] | None:
        """The next call to run, or ``None`` when the stream stopped or the input is used up."""
        if self.stopped or self._exhausted:
            return None
        call = next(self.plan.calls, None)
        if call is None:
            self._exhausted = True
            return None
        if call.batch_index is not None:
            if self._progress is None and self._make_progress is not None:
                self._progress = self._make_progress()
            self._next_index = call.batch_index + 1
            self._taken += call.size
            for name, (_, stop) in call.items.items():
                self._next_items[name] = stop
        return call

    def settle(self, call: Call[Any], outcome: Done[Any] | Fail) -> None:
        """Record how ``call`` ended; the first failure stops the stream."""
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
            never_sent=sorted(self._not_sent, key=lambda b: b.index),
            rest_from=rest,
            rest_items=None if rest is None or total is None else max(total - self._taken, 0),
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
        if self.error is None or self._failed_call is None:
            return self.plan.done()
        error, call = self.error, self._failed_call
        self.plan.failed(call, error)
        if call.batch_index is not None:
            error.delivery = self.report()
        raise error
