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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from jobframe._digest import digest, run_fingerprint
from jobframe.shard import Selection

__all__ = [
    "InputFingerprints",
    "batch_digest",
    "digest",
    "file_fingerprint",
    "fingerprints_of_inputs",
    "run_fingerprint",
]


class InputFingerprints(NamedTuple):
    """What a bulk call's inputs are: both fingerprints from one look at each input."""

    inputs: str
    """The inputs' combined fingerprint: each input's, in order."""
    fanout: str
    """The same with each shard's part of an input as the whole input (its index and count left
    out): the users the call reaches, however its input is cut."""
    fanout_before: str | None = None
    """What versions before this fan-out fingerprint recorded for a shard's call (each shard's
    part as ``<input> in N shards``, its count kept), so their unfinished fan-outs are still
    found; ``None`` when no input is a shard's part (they recorded none)."""


def fingerprints_of_inputs(*inputs: object) -> InputFingerprints | None:
    """The inputs' combined fingerprint and their fan-out's, asking each input for its
    fingerprint once (a shard's part is asked for its fan-out's as well); ``None`` when one cannot
    say what it is (``fingerprint()`` returning no string). Empty inputs (``()``) count as known
    (``"empty"``).

    The fan-out's is the same with each shard's part of an input (``jobframe.shard.Selection``)
    as the whole input (``fanout_fingerprint()``: the shard's index and count left out) — the
    same for every shard of one fan-out, for a fan-out of another shard count, and for one run
    of the whole input: a resubmit, however it is cut, is found."""
    parts: list[str] = []
    whole: list[str] = []
    before: list[str] = []
    for item in inputs:
        if isinstance(item, tuple | list) and not item:
            parts.append("empty")
            whole.append("empty")
            before.append("empty")
            continue
        value = _asked(item, "fingerprint")
        if value is None:
            return None
        parts.append(value)
        whole.append(_asked(item, "fanout_fingerprint") or value)
        if isinstance(item, Selection) and not item.shard.is_whole:
            before.append(f"{whole[-1]} in {item.shard.count} shards")
        else:
            before.append(value)
    return InputFingerprints(digest(parts), digest(whole), None if before == parts else digest(before))


def _asked(item: object, name: str) -> str | None:
    """What ``item.name()`` says, if it is a string."""
    method = getattr(item, name, None)
    value = method() if callable(method) else None
    return value if isinstance(value, str) else None


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
