"""One thread owns the store's connection and commits what is asked of it in groups.

Recording a batch as *started* must be durable before its request is sent, and a bulk call has
many batches in flight: one transaction per record would cost a commit (an fsync, a round trip)
per batch. The writer takes everything queued since its last commit into one transaction — group
commit — so the cost per batch shrinks as the load grows. Callers get a future: the sync client
waits on it, the async client awaits it, neither blocks the other's work.

A group whose transaction fails is written again one operation at a time, so a record that could
be written never shares the fate of one that could not; each future carries its own operation's
outcome, and a caller that did not wait learns of a failure when it asks
(:meth:`jobframe.ledger.ledger.Journal.unrecorded`) — nothing is dropped silently.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from jobframe.ledger.lease import Lease, LeaseLostError
from jobframe.ledger.store import Store

__all__ = ["Writer"]

T = TypeVar("T")

MAX_GROUP = 512
"""At most this many operations in one transaction."""

_STOP = object()


class Writer:
    """Runs operations on ``store`` in its own thread, grouped into transactions."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lease: Lease | None = None
        """Set once the run's lease is taken: every transaction then renews it, fenced."""
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=contextvars.copy_context().run, args=(self._loop,), name="jobframe-ledger", daemon=True
        )
        self._closed = False
        self._thread.start()

    def submit(self, work: Callable[[Store], T]) -> Future[T]:
        """Run ``work`` in a transaction soon; the future completes once that transaction committed."""
        future: Future[T] = Future()
        if self._closed:
            future.set_exception(RuntimeError("the ledger is closed"))
            return future
        self._queue.put((work, future))
        return future

    def close(self, timeout: float) -> None:
        """Commit what is queued, then close the connection (waits at most ``timeout`` seconds)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def _loop(self) -> None:
        stopping = False
        while not stopping:
            lease = self.lease
            try:
                group = [self._queue.get(timeout=lease.interval if lease is not None else None)]
            except queue.Empty:  # idle: renew the lease in the background (no batch waits on it)
                assert lease is not None
                with contextlib.suppress(Exception):  # a lost lease is noted on it; a store
                    self.store.transaction(lambda _: None, lead=lease)  # failure shows later
                continue
            while len(group) < MAX_GROUP:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = any(item is _STOP for item in group)
            self._commit([item for item in group if item is not _STOP])
        self.store.close()

    def _commit(self, group: list[tuple[Callable[[Store], Any], Future[Any]]]) -> None:
        # A caller that stopped waiting (an async wait cancelled or timed out) cancelled its future:
        # that work is dropped — its batch was not sent — and the others are marked running, so no
        # later cancel can make setting their result fail and end this thread.
        group = [(work, future) for work, future in group if future.set_running_or_notify_cancel()]
        if not group:
            return
        results: list[Any] = []
        lease = self.lease

        def work_of_group(store: Store) -> None:
            results.extend(work(store) for work, _ in group)

        try:  # the lease's fenced renewal leads: a holder that was taken over writes nothing
            self.store.transaction(work_of_group, lead=lease)
        except LeaseLostError as exc:  # another attempt holds the run now: nothing of ours may be written
            for _, future in group:
                future.set_exception(exc)
            return
        except BaseException:  # noqa: BLE001 - retried alone below: nobody's record is lost to a neighbour's
            self._one_by_one(group)
            return
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)

    def _one_by_one(self, group: list[tuple[Callable[[Store], Any], Future[Any]]]) -> None:
        """The group's transaction failed: run each operation in a transaction of its own.

        One operation that cannot be written (a new row on a full disk) must not roll back its
        neighbours (a delivery recorded by updating a row that is already there): each caller
        hears of its own operation only. A connection the failure broke (the server restarted) is
        opened again first; a store that stays down fails every operation, each with its error.
        """
        for at, (work, future) in enumerate(group):
            try:
                self.store.ensure_connected()
            except BaseException as exc:  # noqa: BLE001 - unreachable: the rest fail at once, not one timeout each
                for _, waiting in group[at:]:
                    waiting.set_exception(exc)
                return
            try:
                result = self.store.transaction(work, lead=self.lease)
            except BaseException as exc:  # noqa: BLE001 - the caller hears of it
                future.set_exception(exc)
            else:
                future.set_result(result)
