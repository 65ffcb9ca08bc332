"""The run's :class:`Observer`: counts per Braze endpoint, the run's outcome, and trace hooks.

Plain counters behind one lock (the async client settles batches from one thread, a sync job
from another, the ledger from its writer): a few integer additions per request, whatever is
configured. Tracing is a :class:`Tracer` plugged in by the CLI when ``OTEL_*`` asks for it;
without one every trace hook is a no-op attribute check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any, Protocol

from jobframe.deadline import Deadline
from jobframe.observe.progress import Progress, Tracker

__all__ = ["COUNTS", "EndpointCounts", "Observer", "Outcome", "RequestRecord", "SpanHandle", "Tracer"]


@dataclass
class EndpointCounts:
    """What one run did on one Braze endpoint (``/messages/send``)."""

    requests: int = 0
    """HTTP requests sent, retries included."""
    rate_limited: int = 0
    """Requests answered 429."""
    retries: int = 0
    """Requests that repeated an earlier attempt of the same call."""
    objects_sent: int = 0
    """Objects (recipients, attributes, events…) of delivered batches that Braze accepted."""
    objects_rejected: int = 0
    """Objects Braze refused: a batch that failed for sure, or a ``/users/track`` partial error."""
    objects_ambiguous: int = 0
    """Objects of batches whose outcome is unknown (Braze may have acted on them)."""
    ledger_skipped: int = 0
    """Objects a resumed run did not send again: an earlier attempt delivered them."""
    ledger_ambiguous: int = 0
    """Objects a resumed run did not send again: an earlier attempt's outcome is unknown."""


COUNTS: tuple[str, ...] = tuple(f.name for f in fields(EndpointCounts))
"""The counter names, in a stable order (the metric names derive from them)."""


@dataclass(frozen=True)
class Outcome:
    """How the run ended: its exit code and how long it took (``job.finished``'s ``duration_s``)."""

    exit_code: int
    duration_s: float


class SpanHandle(Protocol):
    """One open span, as :class:`Tracer` hands it out."""

    def end(self, **attributes: Any) -> None: ...


class Tracer(Protocol):
    """What :mod:`jobframe.observe.tracing` provides; the observer never imports OpenTelemetry."""

    def phase(self, name: str) -> None: ...

    def request(self, endpoint: str, method: str, size: int, attempt: int) -> SpanHandle: ...

    def finish(self, outcome: Outcome | None) -> None: ...

    def flush(self, timeout: float) -> bool: ...


class RequestRecord:
    """One HTTP request in flight: counted when sent, its answer noted when it comes."""

    __slots__ = ("_counts", "_observer", "_span")

    def __init__(self, observer: Observer, counts: EndpointCounts, span: SpanHandle | None) -> None:
        self._observer, self._counts, self._span = observer, counts, span

    def answered(self, status: int) -> None:
        if status == 429:
            with self._observer._lock:
                self._counts.rate_limited += 1
        if self._span is not None:
            self._span.end(status=status)

    def failed(self, error: BaseException) -> None:
        """The request got no answer (connection refused, timeout…)."""
        if self._span is not None:
            self._span.end(error=type(error).__name__)


class Observer:
    """One run's counts, outcome, progress reporter and (optionally) tracer; injected, never global.

    ``tracer`` is set by the CLI when tracing is configured; a test may pass its own.
    ``progress`` is the run's reporter (the run's context sets it): an observer made outside a run
    has one that writes nowhere, so a client built there reports its progress to nobody.
    """

    def __init__(self, tracer: Tracer | None = None, progress: Progress | None = None) -> None:
        self.tracer = tracer
        self.progress = progress if progress is not None else Progress(None)
        self.outcome: Outcome | None = None
        self.deadline: Deadline | None = None
        """The run's deadline (set with the run's context): the report at its end never passes it."""
        self._lock = threading.Lock()
        self._counts: dict[str, EndpointCounts] = {}
        self._sources: list[Callable[[], Mapping[str, Mapping[str, int]]]] = []

    def __repr__(self) -> str:
        return f"Observer(endpoints={sorted(self._counts)}, tracing={self.tracer is not None})"

    def _for(self, endpoint: str) -> EndpointCounts:
        counts = self._counts.get(endpoint)
        if counts is None:
            counts = self._counts[endpoint] = EndpointCounts()
        return counts

    # -- what the Braze clients report ---------------------------------------------------------

    def request(
        self, endpoint: str, *, method: str = "POST", size: int = 0, attempt: int = 1
    ) -> RequestRecord:
        """A request is being sent (``attempt`` > 1: a retry of the same call)."""
        with self._lock:
            counts = self._for(endpoint)
            counts.requests += 1
            if attempt > 1:
                counts.retries += 1
        span = None if self.tracer is None else self.tracer.request(endpoint, method, size, attempt)
        return RequestRecord(self, counts, span)

    def settled(
        self, endpoint: str, size: int, *, delivered: bool, ambiguous: bool, rejected: int = 0
    ) -> None:
        """A batch of ``size`` objects ended: delivered (``rejected`` of them refused by Braze),
        failed for sure, or with an unknown outcome."""
        with self._lock:
            counts = self._for(endpoint)
            if delivered:
                counts.objects_sent += max(size - rejected, 0)
                counts.objects_rejected += min(rejected, size) if size else rejected
            elif ambiguous:
                counts.objects_ambiguous += size
            else:
                counts.objects_rejected += size

    def operation(self, name: str, total: int | None = None) -> Tracker:
        """A :class:`Tracker` for one long operation (a bulk call to ``name``, ``total`` objects
        when known), reporting to the run's :class:`Progress`."""
        return Tracker(name, total, progress=self.progress)

    # -- the run ledger, and the run itself ----------------------------------------------------

    def add_source(self, source: Callable[[], Mapping[str, Mapping[str, int]]]) -> None:
        """Counts kept elsewhere (the run ledger's), read when the run is reported:
        ``{endpoint: {"ledger_skipped": n, ...}}``."""
        self._sources.append(source)

    def phase(self, name: str) -> None:
        """The run enters ``name`` (``build``, ``execute``, ``close``): a child span of the run's."""
        if self.tracer is not None:
            self.tracer.phase(name)

    def closing(self, budget: float) -> None:
        """Teardown starts, with ``budget`` seconds: the ``close`` span begins.

        The trace is flushed after it within the report's bound, which the push shares, whatever
        teardown took: a close that spent the whole budget is the run most worth seeing.
        """
        del budget  # the flush's bound is the exit grace's (``report_run``), not what teardown left
        self.phase("close")

    def finished(self, exit_code: int, duration_s: float) -> None:
        """The run's outcome, once known (``job.finished``)."""
        self.outcome = Outcome(int(exit_code), duration_s)

    def counts(self) -> dict[str, EndpointCounts]:
        """A copy of every endpoint's counts, the sources' included."""
        with self._lock:
            merged = {e: EndpointCounts(**vars(c)) for e, c in self._counts.items()}
        for source in self._sources:
            try:
                extra = source()
            except Exception:  # noqa: BLE001, S112 - a report must never fail the run's end
                continue
            for endpoint, values in extra.items():
                counts = merged.setdefault(endpoint, EndpointCounts())
                for name, value in values.items():
                    if name in COUNTS:
                        setattr(counts, name, getattr(counts, name) + int(value))
        return merged
