"""Fingerprints: what a run and each of its bulk calls were started with, so a resume can tell.

Resuming skips batches by their index, which only means something if the same input arrives in the
same order, cut the same way. A run is fingerprinted by its job and parameters; each bulk call by
its endpoint, its fixed body (the message, the campaign) and the fingerprints its inputs give
(``Counted(..., fingerprint=lambda: file_fingerprint(path))`` hashes the file it reads). An input
that cannot say is recorded as unknown, and the batches themselves are compared as they are
planned. The digest itself is core (``jobframe._digest``): the run fingerprints itself there
without loading the ledger.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jobframe._digest import digest, run_fingerprint

__all__ = [
    "batch_digest",
    "digest",
    "fanout_of_inputs",
    "file_fingerprint",
    "fingerprint_of_inputs",
    "run_fingerprint",
]


def _each(inputs: tuple[object, ...]) -> list[str] | None:
    """Each input's fingerprint (``"empty"`` for ``()``), or ``None`` when one cannot say."""
    parts: list[str] = []
    for item in inputs:
        if isinstance(item, tuple | list) and not item:
            parts.append("empty")
            continue
        method = getattr(item, "fingerprint", None)
        value = method() if callable(method) else None
        if not isinstance(value, str):
            return None
        parts.append(value)
    return parts


def fingerprint_of_inputs(*inputs: object) -> str | None:
    """The combined fingerprint of inputs that can each give one (``fingerprint()`` returning a
    string), else ``None``. Empty inputs (``()``) count as known."""
    parts = _each(inputs)
    return None if parts is None else digest(parts)


_SHARD = re.compile(r"(?P<whole>.*) shard (?P<index>\d+)/(?P<count>\d+)")
"""How a sharded input says what it is (``jobframe.shard.Selection.fingerprint``): ``<input> shard i/N``."""


def fanout_of_inputs(*inputs: object) -> str | None:
    """What the whole input of a call reads, whichever shards cut it: the inputs' fingerprints with
    a shard's index and count left out — the same for every shard of one fan-out, for a fan-out of
    another shard count and for one run of the whole input over the same file (the same users,
    reached by whichever run was cut how). ``None`` when an input cannot say what it is."""
    parts = _each(inputs)
    return None if parts is None else digest([_whole(part) for part in parts])


def _whole(part: str) -> str:
    """One input's fingerprint as the whole input's: a shard's index and count left out."""
    match = _SHARD.fullmatch(part)
    return part if match is None else match["whole"]


def file_fingerprint(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks (a few hundred MB/s): the input a job reads."""
    sha = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def batch_digest(body: Mapping[str, Any] | None, arrays: Iterable[str]) -> str:
    """One batch's content (only its arrays: the fixed part is the call's fingerprint)."""
    return digest({name: (body or {}).get(name) for name in sorted(arrays)})
