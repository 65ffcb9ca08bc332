"""A re-iterable input that can say how many objects it holds, and what it is, before it is read.

Core: bulk clients read its length for progress (``N/M``) and the delivery report, and the run
ledger reads its fingerprint to refuse a resumed run whose input changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Counted"]

T = TypeVar("T")


class Counted(Generic[T]):
    """A re-iterable input that can say how many objects it holds before it is read.

    Bulk clients read ``operator.length_hint`` of their input for progress (``N/M``) and for the
    delivery report; a generator cannot tell, this can: ``count`` runs once, on first demand.
    ``Counted(lambda: read_ids(path), lambda: count_lines(path))``.

    Without ``count``, the count is one pass over the items: a reader that checks what it reads
    (:mod:`jobframe.inputs`) then finds a malformed line before the first object is sent, since
    bulk clients ask for the count before they send anything.

    ``fingerprint`` (optional) says what the input is — a resumed run refuses an input that
    changed (``Counted(..., fingerprint=lambda: file_fingerprint(path))``); also run once.
    """

    def __init__(
        self,
        items: Callable[[], Iterator[T]],
        count: Callable[[], int] | None = None,
        *,
        fingerprint: Callable[[], str] | None = None,
    ) -> None:
        self._items = items
        self._count = count if count is not None else lambda: sum(1 for _ in items())
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
