"""Canonical digests: the same data gives the same sha256, whoever computes it.

Core (standard library only): the run fingerprints its job and parameters here before any module
is loaded, and the run ledger digests its bulk calls and batches with the same function, so the
two always agree on what "the same" means.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["digest", "run_fingerprint"]


def digest(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys, no whitespace): the same data, the same digest."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_fingerprint(job: str, params: Mapping[str, Any] | None, shard: str | None = None) -> str:
    """What a run was asked to do: its job, parameters and shard (``"1/4"``; ``None`` for a whole
    run). Two shards given one run key must not read each other's batches as their own."""
    asked: dict[str, Any] = {"job": job, "params": dict(params or {})}
    if shard is not None:
        asked["shard"] = shard
    return digest(asked)
