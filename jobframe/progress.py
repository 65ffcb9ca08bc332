"""Progress reporting: ``N/M`` for Argo's UI, and a throttled ``progress`` log line for people.

Two pieces:

* :class:`Progress` — the run's reporter (``RunContext.progress``): writes ``done/total`` to
  ``ARGO_PROGRESS_FILE``, throttled, and is a no-op elsewhere;
* :class:`Tracker` — one long operation (a bulk Braze call): counts what is done and logs a
  ``progress`` line with counts, rate and ETA at most every ``log_interval`` seconds, and
  offers the same counts to the run's :class:`Progress`. jobframe's Braze clients track every
  batched call this way, so a bulk job reports progress without writing any code for it.

A job that calls ``progress.update()`` itself owns the Argo figure from then on: offers from
trackers are ignored, so two sources never fight over the UI.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

import structlog

from jobframe.files import write_atomic
from jobframe.logs import get_logger, library_logger

__all__ = ["LOG_INTERVAL", "Counted", "Progress", "Tracker", "current", "register_run", "track"]

_log = get_logger("jobframe.progress")
_lines = library_logger("jobframe.progress")

LOG_INTERVAL = 5.0
"""Seconds between two ``progress`` log lines of one operation."""

T = TypeVar("T")

_runs: weakref.WeakValueDictionary[str, Progress] = weakref.WeakValueDictionary()


class Progress:
    """Write ``done/total`` atomically to ``path`` at most every ``interval`` seconds.

    Argo reads only the last line every few seconds, so writing more often buys nothing; the final
    value (``done == total``) is always written so the UI ends at 100 %.
    """

    def __init__(self, path: Path | None, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._last_write = float("-inf")
        self.last: tuple[int, int] | None = None
        self._owned_by_job = False

    def update(self, done: int, total: int) -> None:
        """Record progress; raises ``ValueError`` unless ``0 <= done <= total`` and ``total > 0``."""
        if total <= 0 or not 0 <= done <= total:
            raise ValueError(f"progress must satisfy 0 <= done <= total, total > 0; got {done}/{total}")
        self._owned_by_job = True
        self._record(done, total)

    def offer(self, done: int, total: int) -> None:
        """Progress measured by a library (a :class:`Tracker`); ignored once the job reports its own."""
        if not self._owned_by_job and total > 0:
            self._record(min(max(done, 0), total), total)

    def _record(self, done: int, total: int) -> None:
        self.last = (done, total)
        if self.path is None:
            return
        now = time.monotonic()
        if done != total and now - self._last_write < self.interval:
            return
        try:
            write_atomic(self.path, f"{done}/{total}\n")
        except OSError as exc:
            # Progress is a courtesy to the UI: it must never fail the work. Say so once, stop.
            _log.warning("progress.write_failed", path=str(self.path), error=f"{type(exc).__name__}: {exc}")
            self.path = None
        self._last_write = now


def register_run(run_id: str, progress: Progress) -> None:
    """Make ``progress`` the reporter of the run ``run_id`` (done by :class:`~jobframe.RunContext`)."""
    _runs[run_id] = progress


def current() -> Progress | None:
    """The reporter of the run this code executes in, or ``None`` outside a run.

    The run is the one whose ``run_id`` jobframe bound to the log context for the run's duration
    (sync job, async job and its tasks alike); a finished run is never current.
    """
    run_id = structlog.contextvars.get_contextvars().get("run_id")
    return _runs.get(run_id) if isinstance(run_id, str) else None


class Tracker:
    """Counts one operation's objects; logs ``progress`` lines and feeds the run's :class:`Progress`."""

    def __init__(
        self,
        operation: str,
        total: int | None = None,
        *,
        progress: Progress | None = None,
        log_interval: float = LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.operation = operation
        self.total = total
        self.done = 0
        self.steps = 0
        self._progress = progress
        self._interval = log_interval
        self._clock = clock
        self._started = clock()
        self._last_line = self._started
        self._lines = 0

    def advance(self, done: int) -> None:
        """``done`` more objects are finished."""
        self.done += done
        self.steps += 1
        if self._progress is not None and self.total is not None:
            self._progress.offer(self.done, max(self.total, self.done))
        now = self._clock()
        if now - self._last_line >= self._interval:
            self._line(now, finished=False)

    def finish(self) -> None:
        """The operation is over: a last line when it was long enough to have reported along the way."""
        if self._lines or self.steps > 1:
            self._line(self._clock(), finished=True)

    def _line(self, now: float, *, finished: bool) -> None:
        self._last_line = now
        self._lines += 1
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        total = None if self.total is None else max(self.total, self.done)
        eta = None
        if total is not None and rate > 0:
            eta = round((total - self.done) / rate, 1)
        _lines.info(
            "progress",
            operation=self.operation,
            done=self.done,
            total=total,
            percent=None if not total else round(100 * self.done / total, 1),
            rate_per_s=round(rate, 1),
            eta_s=eta,
            elapsed_s=round(elapsed, 1),
            finished=finished,
        )


def track(operation: str, total: int | None = None) -> Tracker:
    """A :class:`Tracker` reporting to the current run's :class:`Progress` (if any)."""
    return Tracker(operation, total, progress=current())


class Counted(Generic[T]):
    """A re-iterable input that can say how many objects it holds before it is read.

    Bulk clients read ``operator.length_hint`` of their input for progress (``N/M``) and for the
    delivery report; a generator cannot tell, this can: ``count`` runs once, on first demand.
    ``Counted(lambda: read_ids(path), lambda: count_lines(path))``.

    ``fingerprint`` (optional) says what the input is — a resumed run refuses an input that
    changed (``Counted(..., fingerprint=lambda: file_fingerprint(path))``); also run once.
    """

    def __init__(
        self,
        items: Callable[[], Iterator[T]],
        count: Callable[[], int],
        *,
        fingerprint: Callable[[], str] | None = None,
    ) -> None:
        self._items = items
        self._count = count
        self._counted: int | None = None
        self._fingerprint = fingerprint
        self._fingerprinted: str | None = None

    def fingerprint(self) -> str | None:
        """What the input is (e.g. its file's sha256), or ``None`` when it cannot say."""
        if self._fingerprint is None:
            return None
        if self._fingerprinted is None:
            self._fingerprinted = self._fingerprint()
        return self._fingerprinted

    def __iter__(self) -> Iterator[T]:
        return self._items()

    def __length_hint__(self) -> int:
        if self._counted is None:
            self._counted = self._count()
        return self._counted
