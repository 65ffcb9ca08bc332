"""Whether a SQLite ledger file is whole: the run ledger's record of what was sent must not have
lost part of itself without jobframe noticing.

SQLite silently drops a write-ahead log's commits past a frame cut short; a ledger that lost the
records of batches that were sent would let a retry send them again. A torn last frame is also what
a write that failed on a full disk leaves, with every commit still there: the WAL index (``-shm``),
read before SQLite opens the file and rebuilds it, tells the two apart.
"""

from __future__ import annotations

import contextlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jobframe.ledger.failures import LedgerDamagedError

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = ["Commit", "check_sqlite", "last_commit"]

WAL_HEADER = 32
WAL_FRAME_HEADER = 24


WAL_INDEX_HEADER = 48
WAL_INDEX_VERSION = 3007000


@dataclass(frozen=True)
class Commit:
    """The WAL index's (``-shm``) record of the log's last commit: its frames, page size, salts."""

    frames: int
    page: int
    salts: bytes


def last_commit(path: Path) -> Commit | None:
    """What the WAL index of ``path`` says the log held at its last commit — read before SQLite
    opens the file, since the first connection rebuilds the index from the log — or ``None`` when
    it cannot say (no index, a header being written, an unknown version)."""
    try:
        with path.with_name(path.name + "-shm").open("rb") as handle:
            head = handle.read(2 * WAL_INDEX_HEADER)
    except OSError:
        return None
    if len(head) < 2 * WAL_INDEX_HEADER or head[:WAL_INDEX_HEADER] != head[WAL_INDEX_HEADER:]:
        return None  # the two copies differ: a writer was updating it
    version, _, _, initialised, _, page, frames = struct.unpack("=IIIBBHI", head[:20])
    if version != WAL_INDEX_VERSION or not initialised:
        return None
    page = page if page != 1 else 65536  # SQLite's encoding of a 64 KiB page
    return Commit(frames, page, head[32:40])


def _failed_append(header: bytes, size: int, committed: Commit | None) -> bool:
    """Whether a log that ends inside a frame still holds every commit its index counted: the
    torn frame then belongs to a write that failed (a full disk), which SQLite ignores — not to
    commits cut away."""
    if committed is None or len(header) < WAL_HEADER:
        return False
    page = int.from_bytes(header[8:12], "big")
    whole = WAL_HEADER + committed.frames * (WAL_FRAME_HEADER + page)
    return committed.page == page and committed.salts == header[16:24] and whole <= size


def check_sqlite(store: Store, path: Path, committed: Commit | None = None) -> None:
    """Refuse a SQLite ledger that lost part of itself (run while holding the write lock).

    ``PRAGMA quick_check`` finds a damaged database; a write-ahead log that ends inside a frame was
    cut short (SQLite would silently drop its last commits: records of batches that were sent) —
    unless ``committed``, the WAL index as it was before this open, shows that every commit is
    still in the log: then the torn frame is a write that failed when the disk was full.
    """
    wal = path.with_name(path.name + "-wal")
    with contextlib.suppress(FileNotFoundError):
        size = wal.stat().st_size
        if size:
            with wal.open("rb") as handle:
                header = handle.read(WAL_HEADER)
            page = int.from_bytes(header[8:12], "big") if len(header) == WAL_HEADER else 0
            torn = page == 0 or (size - WAL_HEADER) % (WAL_FRAME_HEADER + page)
            if torn and not _failed_append(header, size, committed):
                raise LedgerDamagedError(
                    f"ledger {path}: its write-ahead log ({wal.name}, {size} bytes) ends inside a "
                    "frame: it was cut short, and the records it lost may be of batches that were sent. "
                    "Keep the files for inspection; do not resume blindly (docs/resume.md, 'A lost or "
                    "damaged ledger')"
                )
    found = [str(row[0]) for row in store.execute("PRAGMA quick_check").fetchall()]
    if found != ["ok"]:
        raise LedgerDamagedError(
            f"ledger {path} fails its integrity check (PRAGMA quick_check: {'; '.join(found[:3])}): it "
            "cannot tell what earlier attempts sent. Keep it for inspection; do not resume blindly "
            "(docs/resume.md, 'A lost or damaged ledger')"
        )
