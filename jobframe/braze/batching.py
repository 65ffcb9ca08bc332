"""Split unbounded inputs into request-sized batches, lazily.

Every function pulls from its iterables only as far as the next batch needs (``itertools.islice``),
so a generator over a 10 GB file is never materialised: memory is one batch per request in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["TRACK_ARRAYS", "TrackBatch", "chunked", "id_batches", "to_json", "track_batches"]

T = TypeVar("T")

TRACK_ARRAYS = ("attributes", "events", "purchases")


def to_json(obj: Any) -> Any:
    """A JSON-ready value: models are dumped without ``None`` fields, mappings become dicts."""
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", exclude_none=True)
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, Mapping):
        return dict(obj)
    return obj


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, in order; the last one may be shorter, none is empty."""
    if size < 1:
        raise ValueError("size must be >= 1")
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def id_batches(
    external_ids: Iterable[str], aliases: Iterable[Any], size: int
) -> Iterator[tuple[list[str], list[Any]]]:
    """Batches of ids and aliases together, at most ``size`` in total (Braze counts both)."""
    tagged = chain(((True, x) for x in external_ids), ((False, to_json(a)) for a in aliases))
    for batch in chunked(tagged, size):
        yield [x for is_id, x in batch if is_id], [x for is_id, x in batch if not is_id]


@dataclass(frozen=True, slots=True)
class TrackBatch:
    """One ``/users/track`` body, plus where each array's first object sat in the caller's input."""

    index: int
    arrays: dict[str, list[Any]]
    offsets: dict[str, int]

    @property
    def size(self) -> int:
        """Objects in this batch, all arrays together."""
        return sum(len(v) for v in self.arrays.values())

    def body(self) -> dict[str, list[Any]]:
        """The JSON body; empty arrays are left out."""
        return {name: items for name, items in self.arrays.items() if items}


_END = object()


def _take(
    source: Iterator[Any], count: int, pushed: list[Any], alike: Callable[[Any], bool] | None
) -> list[Any]:
    """Up to ``count`` objects of ``source``; with ``alike``, only a run of objects it classes the
    same (the first one of another class is pushed back for the next batch)."""
    taken: list[Any] = []
    while len(taken) < count:
        item = pushed.pop() if pushed else next(source, _END)
        if item is _END:
            break
        if alike is not None and taken and alike(item) != alike(taken[0]):
            pushed.append(item)
            break
        taken.append(item)
    return taken


def track_batches(
    attributes: Iterable[Any],
    events: Iterable[Any],
    purchases: Iterable[Any],
    *,
    per_array: int,
    per_request: int | None = None,
    attributes_alike: Callable[[Any], bool] | None = None,
) -> Iterator[TrackBatch]:
    """Fill each request with up to ``per_array`` objects per array and ``per_request`` overall.

    With only ``per_array`` the three arrays advance side by side; with a total cap, attributes are
    taken first, then events, then purchases (Braze applies them in that order anyway).
    ``attributes_alike`` classes attribute objects (e.g. "adds to a value"): a batch then holds
    attributes of one class only, cut where the class changes — still a contiguous slice of the
    input — so an object that may not be sent twice never makes its neighbours the same.
    """
    sources = {
        "attributes": map(to_json, attributes),
        "events": map(to_json, events),
        "purchases": map(to_json, purchases),
    }
    pushed: dict[str, list[Any]] = {name: [] for name in TRACK_ARRAYS}
    offsets = dict.fromkeys(TRACK_ARRAYS, 0)
    index = 0
    while True:
        budget = per_request if per_request is not None else per_array * len(TRACK_ARRAYS)
        arrays: dict[str, list[Any]] = {}
        for name, source in sources.items():
            take = min(per_array, budget)
            alike = attributes_alike if name == "attributes" else None
            arrays[name] = _take(source, take, pushed[name], alike) if take > 0 else []
            budget -= len(arrays[name])
        batch = TrackBatch(index=index, arrays=arrays, offsets=dict(offsets))
        if batch.size == 0:
            return
        yield batch
        for name, items in arrays.items():
            offsets[name] += len(items)
        index += 1
