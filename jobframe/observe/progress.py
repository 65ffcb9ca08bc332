"""Progress reporting: ``N/M`` for Argo's UI, and a throttled ``progress`` log line for people.

Two pieces:

* :class:`Progress` — the run's reporter (``RunContext.progress``, also the run's
  ``Observer.progress``): writes ``done/total`` to ``ARGO_PROGRESS_FILE``, throttled, and is a
  no-op elsewhere;
* :class:`Tracker` — one long operation: counts what is done and logs a ``progress`` line with
  counts, rate and ETA at most every ``log_interval`` seconds, and offers the same counts to a
  :class:`Progress`. A Braze client's bulk call gets one from the observer it was injected with
  (``Observer.operation``), so a bulk job reports progress without writing any code for it; a
  client built outside a run reports to nobody.

A job that calls ``progress.update()`` itself owns the Argo figure from then on: offers from
trackers are ignored, so two sources never fight over the UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from jobframe.files import write_atomic
from jobframe.logs import get_logger, library_logger

__all__ = ["LOG_INTERVAL", "Progress", "Tracker"]

_log = get_logger("jobframe.progress")
_lines = library_logger("jobframe.progress")

LOG_INTERVAL = 5.0
"""Seconds between two ``progress`` log lines of one operation."""


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
