"""What the multiprocessing shapes run in their children: importable, and free of jobframe, so a
``spawn`` or ``forkserver`` child starts quickly and a ``fork`` child does only this."""

from __future__ import annotations

import time


def square(n: int) -> int:
    return n * n


def wait_forever() -> None:
    """A child that is still working when its parent ends it (``Process.terminate``)."""
    time.sleep(600)
