"""Shards: one run of a job processes only its part of the input, chosen by a stable key.

``--shard INDEX/COUNT`` (``RunContext.shard``) says which part: shard ``INDEX`` of ``COUNT``,
counted from 0, as Argo's ``withSequence`` counts. An object belongs to the shard
``crc32(key as UTF-8) mod COUNT`` (``zlib.crc32``, the CRC of gzip and PNG, which most languages
and some databases have) — the same on every machine, Python version and process (unlike the
salted built-in ``hash``), so ``COUNT`` processes reading the same input split it exactly, with
nothing missing and nothing twice, and a retry of a shard reads the same part. Keying by the user
(not by line number) keeps every object of one user in one shard, in order.
"""

from __future__ import annotations

import operator
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Selection", "Shard", "shard_of"]

T = TypeVar("T")

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def shard_of(key: str, count: int) -> int:
    """The shard (``0 <= shard < count``) that owns ``key``: the CRC-32 of its UTF-8, mod count."""
    return zlib.crc32(key.encode("utf-8")) % count


def _text(item: object) -> str:
    return item if isinstance(item, str) else str(item)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``Shard()`` is the whole input)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        for name in ("index", "count"):
            if isinstance(getattr(self, name), bool) or not isinstance(getattr(self, name), int):
                raise ValueError(f"shard {name} must be an int, got {getattr(self, name)!r}")
        if self.count < 1:
            raise ValueError(f"shard count must be >= 1, got {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard index must be in 0..{self.count - 1}, got {self.index}")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/4"`` → ``Shard(2, 4)``; ``ValueError`` naming the expected form otherwise."""
        match = _SPEC.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not INDEX/COUNT (e.g. 0/4: the first of four shards)")
        return cls(int(match.group(1)), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def is_whole(self) -> bool:
        """Whether this shard is the whole input (``count`` 1)."""
        return self.count == 1

    def owns(self, key: str) -> bool:
        """Whether the object with this key belongs to this shard."""
        return self.count == 1 or shard_of(key, self.count) == self.index

    def select(self, items: Iterable[T], key: Callable[[T], str] = _text) -> Selection[T]:
        """The items whose ``key(item)`` this shard owns, lazily, in input order."""
        return Selection(self, items, key)

    def locate(
        self, items: Iterable[T], positions: Iterable[int], key: Callable[[T], str] = _text
    ) -> dict[int, int]:
        """Where positions counted in this shard's selection are in the whole input.

        One more pass over ``items`` (give it a fresh reader), stopping at the last position
        wanted: for reporting rejected objects by their place in the input, not in the shard.
        """
        wanted = set(positions)
        found: dict[int, int] = {}
        if not wanted:
            return found
        last = max(wanted)
        mine = -1
        for where, item in enumerate(items):
            if self.owns(key(item)):
                mine += 1
                if mine in wanted:
                    found[mine] = where
                if mine >= last:
                    break
        return found


class Selection(Generic[T]):
    """The part of an input a shard owns: iterable (again, when the input is) and countable.

    ``operator.length_hint`` counts the selection with one pass over a re-iterable input — what
    bulk clients ask for progress (``N/M``); a one-shot iterator gives no hint instead of being
    consumed.
    """

    def __init__(self, shard: Shard, items: Iterable[T], key: Callable[[T], str]) -> None:
        self.shard = shard
        self._items = items
        self._key = key
        self._count: int | None = None

    def __iter__(self) -> Iterator[T]:
        if self.shard.is_whole:
            return iter(self._items)
        return self._owned()

    def _owned(self) -> Iterator[T]:
        crc32, key = zlib.crc32, self._key  # the hot loop: shard_of, inlined
        count, index = self.shard.count, self.shard.index
        for item in self._items:
            if crc32(key(item).encode("utf-8")) % count == index:
                yield item

    def fingerprint(self) -> str | None:
        """The input's fingerprint, when it gives one (a file's sha256), with the shard: one shard's
        part of an unchanged input is unchanged, so a resumed run can tell (``jobframe.ledger``)."""
        value = self._input_fingerprint()
        if value is None:
            return None
        return value if self.shard.is_whole else f"{value} shard {self.shard}"

    def fanout_fingerprint(self) -> str | None:
        """What the whole input this shard is cut from reads: the input's fingerprint, without the
        shard's index or count — the same for every shard of one fan-out, for a fan-out of another
        shard count and for one run of the whole input (the same users, however they are cut:
        ``jobframe.ledger.fanout``). ``None`` when the input cannot say what it is. The text is
        recorded: it must not change."""
        return self._input_fingerprint()

    def _input_fingerprint(self) -> str | None:
        method = getattr(self._items, "fingerprint", None)
        value = method() if callable(method) else None
        return value if isinstance(value, str) else None

    def __length_hint__(self) -> int:
        no_hint: int = NotImplemented
        if self.shard.is_whole:
            hint = operator.length_hint(self._items, -1)
            return hint if hint >= 0 else no_hint
        if self._count is None:
            if iter(self._items) is self._items:
                return no_hint  # a one-shot iterator: counting would consume it
            self._count = sum(1 for _ in self)
        return self._count
