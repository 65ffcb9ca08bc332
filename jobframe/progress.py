"""Progress reporting for Argo: ``N/M`` in ``ARGO_PROGRESS_FILE``, throttled, and a no-op elsewhere."""

from __future__ import annotations

import time
from pathlib import Path

from jobframe.files import write_atomic
from jobframe.logs import get_logger

__all__ = ["Progress"]

_log = get_logger("jobframe.progress")


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

    def update(self, done: int, total: int) -> None:
        """Record progress; raises ``ValueError`` unless ``0 <= done <= total`` and ``total > 0``."""
        if total <= 0 or not 0 <= done <= total:
            raise ValueError(f"progress must satisfy 0 <= done <= total, total > 0; got {done}/{total}")
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
