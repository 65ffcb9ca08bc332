"""Whether a SQLite ledger file is whole: the run ledger's record of what was sent must not have
lost part of itself without jobframe noticing.

SQLite silently drops a write-ahead log's commits past a frame cut short, and a log that is gone
(deleted, or left behind when only the database file was copied) takes every commit not yet
checkpointed with it; a ledger that lost the records of batches that were sent would let a retry
send them again. A torn last frame is also what a write that failed on a full disk leaves, with
every commit still there. The WAL index (``-shm``), read before SQLite opens the file and rebuilds
it, tells them apart: it counts the frames the log held at its last commit, and how many of them
are already in the database.
"""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from jobframe.ledger.failures import LedgerDamagedError

if TYPE_CHECKING:
    from jobframe.ledger.store import Store

__all__ = ["Commit", "IndexWatch", "check_sqlite", "last_commit"]

WAL_HEADER = 32
WAL_FRAME_HEADER = 24


WAL_INDEX_HEADER = 48
WAL_INDEX_VERSION = 3007000
BACKFILL = 2 * WAL_INDEX_HEADER
"""Where the index's checkpoint record starts: its first field counts the frames copied into the database."""


class IndexWatch:
    """Whether the WAL index read is still the file SQLite uses: the last connection to close
    cleanly checkpoints every frame into the database and deletes the log and its index, which
    another process may do between the read and the check.

    Kept as an ``O_PATH`` descriptor on Linux: it sees the file unlinked (no link left) even when
    a new index takes its inode number, and closing it drops none of the POSIX locks SQLite holds
    on the index (closing an ordinary descriptor would). Elsewhere, the inode is compared.
    """

    def __init__(self, index: Path) -> None:
        self._index = index
        self._fd: int | None = None
        self._file: tuple[int, int] | None = None
        try:
            if hasattr(os, "O_PATH"):
                self._fd = os.open(index, os.O_PATH)
                stat = os.fstat(self._fd)
            else:  # pragma: no cover - not Linux
                stat = index.stat()
            self._file = (stat.st_dev, stat.st_ino)
        except OSError:
            self.close()

    def unchanged(self) -> bool:
        """The index read is still the one at its path."""
        try:
            if self._fd is not None and os.fstat(self._fd).st_nlink == 0:
                return False
            stat = self._index.stat()
        except OSError:
            return False
        return self._file == (stat.st_dev, stat.st_ino)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class Commit:
    """The WAL index's (``-shm``) record of the log's last commit: its frames, page size, salts;
    how many of those frames a checkpoint copied into the database; the index it was read from."""

    frames: int
    page: int
    salts: bytes
    backfilled: int = 0
    watch: IndexWatch | None = field(default=None, compare=False, repr=False)

    def close(self) -> None:
        """Let the index go (once the check is done)."""
        if self.watch is not None:
            self.watch.close()


def last_commit(path: Path) -> Commit | None:
    """What the WAL index of ``path`` says the log held at its last commit — read before SQLite
    opens the file, since the first connection rebuilds the index from the log — or ``None`` when
    it cannot say (no index, a header being written, an unknown version). Close what it returns."""
    index = path.with_name(path.name + "-shm")
    watch = IndexWatch(index)  # before the read: what is read is then surely this file
    try:
        with index.open("rb") as handle:
            head = handle.read(BACKFILL + 4)
    except OSError:
        head = b""
    if len(head) < BACKFILL + 4 or head[:WAL_INDEX_HEADER] != head[WAL_INDEX_HEADER:BACKFILL]:
        watch.close()
        return None  # none, or the two copies differ: a writer was updating it
    version, _, _, initialised, _, page, frames = struct.unpack("=IIIBBHI", head[:20])
    if version != WAL_INDEX_VERSION or not initialised:
        watch.close()
        return None
    page = page if page != 1 else 65536  # SQLite's encoding of a 64 KiB page
    (backfilled,) = struct.unpack("=I", head[BACKFILL : BACKFILL + 4])
    return Commit(frames, page, head[32:40], min(backfilled, frames), watch)


def _failed_append(header: bytes, size: int, committed: Commit | None) -> bool:
    """Whether a log that ends inside a frame still holds every commit its index counted: the
    torn frame then belongs to a write that failed (a full disk), which SQLite ignores — not to
    commits cut away."""
    if committed is None or len(header) < WAL_HEADER:
        return False
    page = int.from_bytes(header[8:12], "big")
    whole = WAL_HEADER + committed.frames * (WAL_FRAME_HEADER + page)
    return committed.page == page and committed.salts == header[16:24] and whole <= size


def _lost_commits(wal: Path, committed: Commit | None) -> str | None:
    """How the log lost frames its index counts that are not in the database yet (``None``: it
    did not). A log cut at a frame boundary, or gone, leaves no torn frame to show it.

    Only a log with the index's salts is compared: a checkpoint that copied every frame lets the
    next writer start the log over (new salts), and the last connection to close checkpoints the
    log and deletes both files — another process may do either between the index being read and
    this check, which is why a log started over, or an index that is not the file read, says
    nothing.
    """
    if committed is None or committed.frames <= committed.backfilled:
        return None
    if committed.watch is None or not committed.watch.unchanged():
        return None
    try:
        with wal.open("rb") as handle:  # header and size of the one file opened, never a later one
            header, size = handle.read(WAL_HEADER), os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        header, size = b"", 0
    if len(header) < WAL_HEADER:
        return "is empty"
    if header[16:24] != committed.salts:
        return None  # started over after a checkpoint that copied every frame the index counts
    page = int.from_bytes(header[8:12], "big")
    held = (size - WAL_HEADER) // (WAL_FRAME_HEADER + page) if page else 0
    return f"holds {held} frames" if held < committed.frames else None


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
    lost = _lost_commits(wal, committed)
    if lost is not None and committed is not None:
        raise LedgerDamagedError(
            f"ledger {path}: its write-ahead log ({wal.name}) {lost}, but its index ({path.name}-shm) "
            f"counts {committed.frames} frames, {committed.frames - committed.backfilled} of them not "
            "in the database yet: commits were lost (the log deleted or cut short, or the database "
            "file copied without it), and the records they held may be of batches that were sent. "
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
