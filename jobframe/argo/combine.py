"""The fan-out's last step: combine the shards' results into the result of one whole run.

Argo hands the step every shard's ``result`` output as one JSON array of strings (in shard
order). Each must be the JSON object a shard wrote with ``--output``; a missing or unreadable one
fails the step (exit 1) naming the shard, since a combined result without it would be wrong.
Results are merged so the combined one has the shape of a single run's: numbers are added,
lists concatenated, objects merged key by key, equal values kept; values that differ and cannot
be added become the list of the shards' values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["CombineError", "merge", "parse_results"]


class CombineError(ValueError):
    """The shards' results are incomplete or not what jobs write."""


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def merge(values: Sequence[Any]) -> Any:
    """One value from the shards' values (see the module's rules)."""
    if not values:
        return None
    if all(_number(v) for v in values):
        return sum(values)
    if all(isinstance(v, list) for v in values):
        return [item for v in values for item in v]
    if all(isinstance(v, dict) for v in values):
        keys = list(dict.fromkeys(k for v in values for k in v))
        return {k: merge([v[k] for v in values if k in v]) for k in keys}
    if all(v == values[0] and type(v) is type(values[0]) for v in values):
        return values[0]
    return list(values)


def parse_results(text: str, shards: int) -> list[Any]:
    """The ``shards`` results from Argo's aggregated output parameter."""
    try:
        outputs = json.loads(text)
    except ValueError as exc:
        raise CombineError(f"--results is not JSON: {exc}") from None
    if not isinstance(outputs, list):
        raise CombineError(
            f"--results must be a JSON array of the shards' results, got {type(outputs).__name__}"
        )
    if len(outputs) != shards:
        raise CombineError(f"expected the results of {shards} shards, got {len(outputs)} (a shard gave none)")
    results, missing = [], []
    for index, output in enumerate(outputs):
        value = output
        if isinstance(output, str):
            try:
                value = json.loads(output)
            except ValueError:
                value = None
        if value is None:
            missing.append(index)
        results.append(value)
    if missing:
        raise CombineError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(map(str, missing))} gave no result"
        )
    return results
