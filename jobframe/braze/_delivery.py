"""What a batched call did to each of its batches: the delivery report of a failed bulk call.

When a bulk send or track fails, an operator (or a resumed run) must know exactly which batches
Braze applied, which it may have applied, and which it never saw. Batches are named by their
index in the call and by the slice of the caller's input each holds (``attributes[900:975]``),
so the objects of any batch can be found again in the same input.

* **delivered** — answered 2xx: applied;
* **unknown** — sent, and no answer says whether Braze applied it (5xx, timeout, dropped
  connection): listed with the ids it held, since a repeat may duplicate;
* **failed** — answered with an error that means nothing was applied (400, 401, 403, 429 after
  the allowed wait, connection refused);
* **never sent** — not started because an earlier failure stopped the call, and the rest of the
  input after the last batch taken from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchRef", "DeliveryReport", "IndexRanges", "batch_ids"]

_USER_KEYS = ("external_id", "external_user_id", "user_alias", "braze_id", "email", "phone")


class IndexRanges:
    """A set of batch indices kept as inclusive ranges; memory grows with gaps, not with size.

    Indices arrive nearly in order (a few batches in flight at once): each one extends the last
    range or waits in a small set until the gap before it closes.
    """

    def __init__(self) -> None:
        self._ranges: list[list[int]] = []
        self._early: set[int] = set()
        self.count = 0

    def add(self, index: int) -> None:
        """Record ``index`` (each index at most once)."""
        self.count += 1
        if self._ranges and index == self._ranges[-1][1] + 1:
            self._ranges[-1][1] = index
            while self._ranges[-1][1] + 1 in self._early:
                self._early.remove(self._ranges[-1][1] + 1)
                self._ranges[-1][1] += 1
        else:
            self._early.add(index)

    def ranges(self) -> list[list[int]]:
        """Sorted, merged ``[first, last]`` ranges of every index added."""
        merged: list[list[int]] = []
        starts = sorted([*(tuple(r) for r in self._ranges), *((i, i) for i in self._early)])
        for first, last in starts:
            if merged and first <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], last)
            else:
                merged.append([first, last])
        return merged


def _identity(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return next((obj[key] for key in _USER_KEYS if key in obj), None)
    return obj


def batch_ids(body: Mapping[str, Any]) -> list[Any]:
    """The users a request body names, in order: ids, aliases, recipients' or objects' identifiers."""
    found: list[Any] = []
    for key in ("external_user_ids", "external_ids", "user_aliases"):
        found.extend(body.get(key) or ())
    for key in ("recipients", "attributes", "events", "purchases"):
        found.extend(_identity(obj) for obj in body.get(key) or ())
    if not found:  # a send to an audience Braze resolves: name it, since no user is listed
        found.extend({key: body[key]} for key in _AUDIENCES if body.get(key))
    return found


_AUDIENCES = ("segment_id", "audience", "broadcast")
"""What a send or trigger that lists no users is sent to."""


@dataclass(frozen=True, slots=True)
class BatchRef:
    """One batch: its index, the input slice of each array it holds, and (when asked) its users."""

    index: int
    items: Mapping[str, tuple[int, int]]
    ids: list[Any] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"batch": self.index, "items": {k: list(v) for k, v in self.items.items()}}
        if self.ids:
            out["ids"] = self.ids
        return out

    def describe(self) -> str:
        slices = ", ".join(f"{name}[{start}:{stop}]" for name, (start, stop) in self.items.items())
        return f"{self.index} ({slices})" if slices else str(self.index)


def _describe_ranges(ranges: Iterable[list[int]]) -> str:
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


@dataclass(frozen=True)
class DeliveryReport:
    """Per-batch outcome of one batched call; ``as_dict()`` is what logs and ledgers keep."""

    endpoint: str
    delivered: list[list[int]]
    delivered_items: int
    unknown: list[BatchRef]
    failed: list[BatchRef]
    never_sent: list[BatchRef]
    rest_from: BatchRef | None
    """The first batch the call never took from the input (index and offsets), ``None`` when the
    input was used up."""
    rest_items: int | None
    """Objects of the input never taken into a batch; ``None`` when the input's length is unknown."""

    @property
    def delivered_batches(self) -> int:
        return sum(b - a + 1 for a, b in self.delivered)

    def _unsent(self) -> Iterator[str]:
        if self.never_sent:
            yield "batches " + ", ".join(b.describe() for b in self.never_sent)
        if self.rest_from is not None:
            count = "" if self.rest_items is None else f", {self.rest_items} objects"
            starts = ", ".join(f"{name}[{start}:]" for name, (start, _) in self.rest_from.items.items())
            yield f"the rest of the input from batch {self.rest_from.index} ({starts or 'start'}){count}"

    def summary(self) -> str:
        """One line for an error message: counts and index ranges of every outcome."""
        parts = [f"delivered {self.delivered_batches} batches ({_describe_ranges(self.delivered) or '-'})"]
        if self.unknown:
            parts.append(f"outcome unknown {', '.join(b.describe() for b in self.unknown)}")
        if self.failed:
            parts.append(f"failed {', '.join(b.describe() for b in self.failed)}")
        unsent = list(self._unsent())
        parts.append(f"never sent {'; '.join(unsent)}" if unsent else "never sent: none")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``job.finished``'s ``delivery`` field)."""
        return {
            "endpoint": self.endpoint,
            "delivered": {
                "batches": self.delivered_batches,
                "items": self.delivered_items,
                "ranges": self.delivered,
            },
            "unknown": [b.as_dict() for b in self.unknown],
            "failed": [b.as_dict() for b in self.failed],
            "never_sent": {
                "batches": [b.as_dict() for b in self.never_sent],
                "rest_from": None
                if self.rest_from is None
                else {
                    "batch": self.rest_from.index,
                    "items": {name: [start, None] for name, (start, _) in self.rest_from.items.items()},
                },
                "rest_items": self.rest_items,
            },
        }
