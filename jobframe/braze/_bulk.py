"""One bulk call, from the caller's input to its :class:`~jobframe.braze._delivery.DeliveryReport`.

An operation over input of any size is a :class:`Plan`: request-sized batches cut lazily from
the input (every cutter pulls only as far as the next batch needs, so a generator over a 10 GB
file is never materialised), one :class:`~jobframe.braze._exchange.Call` per batch, and how the
answers fold into one result (answers may arrive out of order: folding never assumes order).
A :class:`Stream` hands the calls out — the sync client one at a time, the async client several —
and keeps the books: which batch goes next, what became of each, when to stop. The first
failure stops the stream: after a batch whose outcome is unknown (or any other failure) no
further batch is started; batches already waiting end as
:class:`~jobframe.braze._exchange.NotSentError` before sending, and :meth:`Stream.result`
raises that failure with the call's report. With a run ledger the stream decides which batches
an earlier attempt settled. It does no network I/O and reads no clock; the one ledger wait it
does itself is at the end, in :meth:`Stream.result` (at most the ledger's timeout, for the
records of how batches ended). The wait before each send is the clients': the stream hands
them the pending record (:meth:`Stream.before_send`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from itertools import chain, islice
from operator import length_hint
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel

from jobframe._value import Value
from jobframe.braze._delivery import BatchRef, DeliveryReport, IndexRanges, batch_ids
from jobframe.braze._errors import BrazeError, BrazeInputError, BrazeLedgerError
from jobframe.braze._exchange import Call, Done, Fail, NotSentError
from jobframe.ledger.fingerprint import digest, fingerprints_of_inputs
from jobframe.ledger.ledger import Journal
from jobframe.ledger.policy import BatchState, Decision, records_start
from jobframe.logs import library_logger

if TYPE_CHECKING:
    from jobframe.braze._operations import Endpoint

__all__ = [
    "Plan",
    "Stream",
    "batched_calls",
    "chunked",
    "id_batches",
    "journaled",
    "single",
    "to_json",
    "total_of",
    "track_batches",
]

T = TypeVar("T")
R = TypeVar("R")


# -- cutting the input into batches -------------------------------------------------------------

TRACK_ARRAYS = ("attributes", "events", "purchases")


def to_json(obj: Any) -> Any:
    """A JSON-ready value: models are dumped without ``None`` fields, mappings become dicts."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", exclude_none=True)
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, Mapping):
        return dict(obj)
    return obj


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, in order; the last one may be shorter, none is empty."""
    if size < 1:
        raise ValueError("size must be >= 1")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def id_batches(
    external_ids: Iterable[str], aliases: Iterable[Any], size: int
) -> Iterator[tuple[list[str], list[Any]]]:
    """Batches of ids and aliases together, at most ``size`` in total (Braze counts both)."""
    tagged = chain(((True, x) for x in external_ids), ((False, to_json(a)) for a in aliases))
    for batch in chunked(tagged, size):
        yield [x for is_id, x in batch if is_id], [x for is_id, x in batch if not is_id]


class TrackBatch(Value):
    """One ``/users/track`` body, plus where each array's first object sat in the caller's input."""

    __slots__ = ("index", "arrays", "offsets")  # noqa: RUF023 - the constructor's order
    index: int
    arrays: dict[str, list[Any]]
    offsets: dict[str, int]

    def __init__(self, index: int, arrays: dict[str, list[Any]], offsets: dict[str, int]) -> None:
        object.__setattr__(self, "index", index)
        object.__setattr__(self, "arrays", arrays)
        object.__setattr__(self, "offsets", offsets)

    @property
    def size(self) -> int:
        """Objects in this batch, all arrays together."""
        return sum(len(v) for v in self.arrays.values())

    def body(self) -> dict[str, list[Any]]:
        """The JSON body; empty arrays are left out."""
        return {name: items for name, items in self.arrays.items() if items}


_END = object()


def _take(
    source: Iterator[Any], count: int, pushed: list[Any], alike: Callable[[Any], bool] | None
) -> list[Any]:
    """Up to ``count`` objects of ``source``; with ``alike``, only a run of objects it classes the
    same (the first one of another class is pushed back for the next batch)."""
    taken: list[Any] = []
    while len(taken) < count:
        item = pushed.pop() if pushed else next(source, _END)
        if item is _END:
            break
        if alike is not None and taken and alike(item) != alike(taken[0]):
            pushed.append(item)
            break
        taken.append(item)
    return taken


def track_batches(
    attributes: Iterable[Any],
    events: Iterable[Any],
    purchases: Iterable[Any],
    *,
    per_array: int,
    per_request: int | None = None,
    attributes_alike: Callable[[Any], bool] | None = None,
) -> Iterator[TrackBatch]:
    """Fill each request with up to ``per_array`` objects per array and ``per_request`` overall.

    With only ``per_array`` the three arrays advance side by side; with a total cap, attributes are
    taken first, then events, then purchases (Braze applies them in that order anyway).
    ``attributes_alike`` classes attribute objects (e.g. "adds to a value"): a batch then holds
    attributes of one class only, cut where the class changes — still a contiguous slice of the
    input — so an object that may not be sent twice never makes its neighbours the same.
    """
    sources = {
        "attributes": map(to_json, attributes),
        "events": map(to_json, events),
        "purchases": map(to_json, purchases),
    }
    pushed: dict[str, list[Any]] = {name: [] for name in TRACK_ARRAYS}
    offsets = dict.fromkeys(TRACK_ARRAYS, 0)
    index = 0
    while True:
        budget = per_request if per_request is not None else per_array * len(TRACK_ARRAYS)
        arrays: dict[str, list[Any]] = {}
        for name, source in sources.items():
            take = min(per_array, budget)
            alike = attributes_alike if name == "attributes" else None
            arrays[name] = _take(source, take, pushed[name], alike) if take > 0 else []
            budget -= len(arrays[name])
        batch = TrackBatch(index=index, arrays=arrays, offsets=dict(offsets))
        if batch.size == 0:
            return
        yield batch
        for name, items in arrays.items():
            offsets[name] += len(items)
        index += 1


# -- the plan: calls and how their answers fold ----------------------------------------------

logger = library_logger("jobframe.braze")


def _noop() -> None:
    return None


def _ignore(_call: Call[Any], _value: Any) -> None:
    return None


@dataclass
class Plan(Generic[R]):
    """Calls to make (pulled lazily) and the result their answers are folded into.

    ``total`` is the number of input objects when it was cheap to know (``len()`` or
    ``__length_hint__`` of every input), for progress and for the delivery report.
    """

    endpoint: Endpoint
    calls: Iterator[Call[Any]]
    result: R
    fold: Callable[[Call[Any], Any], None]
    finish: Callable[[], None] = field(default=_noop)
    total: int | None = None
    batched: bool = False
    """One call per batch of the caller's input (what a run ledger records)."""
    fingerprint: str | None = None
    """What the batched input was, when it could say (a run ledger refuses to resume another one)."""
    input_fingerprint: str | None = None
    """The same, leaving out the batch sizes (so a refusal can name which of the two changed)."""
    fanout_fingerprint: str | None = None
    """The call's whole input, however it is cut (a shard's index and count left out): the same
    for every shard of one fan-out, another cut of it, and one run of the whole input."""
    fanout_before: str | None = None
    """What earlier versions recorded as a shard's fan-out (its count kept), so theirs are found."""

    def failed(self, call: Call[Any], error: BrazeError) -> None:
        """Tag ``error`` with its batch and what the batches answered so far achieved."""
        self.finish()
        error.batch_index = call.batch_index
        error.partial_result = self.result

    def done(self) -> R:
        """The final result, after every call succeeded."""
        self.finish()
        return self.result


def single(call: Call[R]) -> Plan[R]:
    """A plan of one call whose result is that call's answer."""
    plan: Plan[R] = Plan(call.endpoint, iter([call]), cast("R", None), _ignore)

    def fold(_call: Call[Any], value: R) -> None:
        plan.result = value

    plan.fold = fold
    return plan


def batched_calls(
    endpoint: Endpoint,
    parse: Callable[[Any], Any],
    base: Mapping[str, Any],
    parts: Iterable[Mapping[str, list[Any]]],
    *,
    retry_unsafe: bool,
) -> Iterator[Call[Any]]:
    """One call per batch (``base`` plus the batch's non-empty arrays), each knowing its input slice."""
    offsets: dict[str, int] = {}
    for index, part in enumerate(parts):
        items: dict[str, tuple[int, int]] = {}
        for name, values in part.items():
            if values:
                start = offsets.get(name, 0)
                offsets[name] = start + len(values)
                items[name] = (start, offsets[name])
        yield Call(
            endpoint,
            parse,
            json={**base, **{name: values for name, values in part.items() if values}},
            retry_unsafe=retry_unsafe,
            batch_index=index,
            size=sum(len(values) for values in part.values()),
            items=items,
        )


def total_of(*inputs: object) -> int | None:
    """How many objects the inputs hold, when each one says (``len()``/``__length_hint__``)."""
    hints = [length_hint(x, -1) for x in inputs]
    return None if min(hints, default=0) < 0 else sum(hints)


def journaled(plan: Plan[T], base: Mapping[str, Any], *inputs: object, batch: Any) -> Plan[T]:
    """Mark ``plan`` as batched and fingerprint it: endpoint, fixed body, inputs, batch sizes.

    Batches are skipped by index on a resume, so anything that changes where they fall changes
    the fingerprint; an input that cannot say what it is leaves it unknown (``None``).
    """
    plan.batched = True
    found = fingerprints_of_inputs(*inputs)  # one look at each input gives both fingerprints
    if found is not None:
        plan.fingerprint = digest(
            {"endpoint": plan.endpoint.path, "base": base, "inputs": found.inputs, "batch": batch}
        )
        # the same without the batch sizes: a refusal can tell a changed input from a changed cut
        plan.input_fingerprint = digest(
            {"endpoint": plan.endpoint.path, "base": base, "inputs": found.inputs}
        )
        # the same with a shard's part as the whole input: a resubmit is found however it is cut
        plan.fanout_fingerprint = digest(
            {"endpoint": plan.endpoint.path, "base": base, "fanout": found.fanout}
        )
        if found.fanout_before is not None:
            plan.fanout_before = digest(
                {"endpoint": plan.endpoint.path, "base": base, "fanout": found.fanout_before}
            )
    return plan


# -- the stream: handing calls out, keeping the books -------------------------------------------

MAX_HELD = 64
"""Batches that may not be repeated, waiting for the one in flight, while later ones go ahead."""


class ProgressSink(Protocol):
    """Where delivered objects are counted (``jobframe.observe.progress.Tracker``)."""

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
        self._input_error: BrazeInputError | None = None
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
        """True once a call or the input failed: no further call is handed out or sent."""
        return self.error is not None or self._input_error is not None

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
            try:
                call = next(self.plan.calls, None)
            except Exception as exc:
                if self._next_index == 0:
                    raise  # nothing was taken, so nothing sent: the input's own error says it all
                # batches went out before it: the call ends once those in flight settled, with its report
                self._input_error = BrazeInputError.of(exc, endpoint=self.endpoint)
                self._input_error.__cause__ = exc
                self._input_error.batch_index = self._next_index
                return None
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

    def before_send(self, call: Call[Any]) -> Future[None] | None:
        """The ledger's pending record that ``call`` started, or ``None`` when none is kept.

        The client waits for it (at most :attr:`ledger_timeout`) before sending: sending a batch
        whose start was not recorded could repeat it on a resume. If the wait fails, the client
        ends the call with :meth:`unrecorded`.
        """
        if self.journal is None or call.batch_index is None:
            return None
        return self.journal.before_send(call.batch_index, call.json, call.items, call.size)

    @property
    def ledger_timeout(self) -> float:
        return self.journal.ledger.timeout if self.journal is not None else 0.0

    def unrecorded(self, call: Call[Any], exc: Exception) -> Fail:
        """The outcome of a batch whose start the ledger could not record: not sent, not ambiguous."""
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
        missing = journal.unrecorded(self.ledger_timeout)
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
        if self.error is None and self._input_error is not None:  # the calls that went out succeeded
            self.plan.finish()
            self._input_error.partial_result = self.plan.result
            self._input_error.delivery = self.report()
            raise self._input_error
        if self.error is None or self._failed_call is None:
            return self.plan.done()
        error, call = self.error, self._failed_call
        self.plan.failed(call, error)
        if call.batch_index is not None:
            error.delivery = self.report()
        raise error
