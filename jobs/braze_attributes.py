"""``UpdateUserAttributes``: stream a CSV or JSONL file of user attributes into ``/users/track``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

import jobframe
from jobframe import Counted
from jobframe.braze import AsyncBrazeClient
from jobframe.inputs import InputFile, csv_rows, json_objects
from jobframe.ledger.fingerprint import file_fingerprint

__all__ = ["USER_KEYS", "UpdateAttributesParams", "UpdateUserAttributes", "read_attributes", "user_key"]

USER_KEYS = ("external_id", "braze_id", "user_alias", "email", "phone")
"""The fields that say which user an object is about; a CSV's header must name one of them."""


class UpdateAttributesParams(BaseModel):
    """``--param path=users.csv`` (CSV with an ``external_id`` column, or JSONL objects)."""

    path: InputFile
    format: Literal["auto", "csv", "jsonl"] = "auto"
    max_errors_reported: int = Field(20, ge=0, description="Rejected objects listed in the result.")


def _kind(path: Path, fmt: str) -> str:
    return fmt if fmt != "auto" else ("jsonl" if path.suffix.lower() in {".jsonl", ".ndjson"} else "csv")


def _attributes(path: Path, kind: str) -> Iterator[dict[str, Any]]:
    return json_objects(path) if kind == "jsonl" else csv_rows(path, keys=USER_KEYS)


def read_attributes(path: Path, fmt: str = "auto") -> Counted[dict[str, Any]]:
    """Attribute objects read one line at a time. Empty CSV cells are left out (not cleared).

    The object count (for progress ``N/M``) is one pass that reads every object, made when first
    asked — before the first send — so a malformed line (not UTF-8, not JSON, JSON but no object;
    a CSV header without a user key column) stops the job there: exit 2, ``file:line``, nothing
    sent. The file's sha256 tells a resumed run (``--run-key``) whether the input is the same.
    """
    kind = _kind(path, fmt)
    return Counted(lambda: _attributes(path, kind), fingerprint=lambda: file_fingerprint(path))


def user_key(obj: dict[str, Any]) -> str:
    """The user an object is about (its shard key): every object of one user goes to one shard, in
    order. An external id is the key itself, so a user lands in the same shard as in a send."""
    if "external_id" in obj:
        return str(obj["external_id"])
    for field in USER_KEYS[1:]:
        if field in obj:
            return f"{field}:{json.dumps(obj[field], sort_keys=True, default=str)}"
    return json.dumps(obj, sort_keys=True, default=str)  # no user: Braze rejects it, in one shard


# Attribute updates are idempotent: a retry repeats them harmlessly. Shardable by user.
@jobframe.job(resumable=True, shardable=True, volumes=(jobframe.Volume("jobframe-input", "/data"),))
class UpdateUserAttributes:
    """Bulk-update user attributes from a CSV or JSONL file, streamed in concurrent batches.

    A ``path`` that names no readable file, a JSONL line that is not a JSON object, a CSV whose
    header names no user key column (``external_id``...) or a line that is not UTF-8 ends the job
    with exit 2 and ``file:line`` before anything is sent (docs/braze.md, "Input files").
    """

    def __init__(self, braze: AsyncBrazeClient, run: jobframe.RunContext | None = None) -> None:
        self._braze = braze
        self._shard = run.shard if run is not None else jobframe.Shard()

    async def execute(self, params: UpdateAttributesParams) -> dict[str, Any]:
        shard = self._shard
        attributes = shard.select(read_attributes(params.path, params.format), key=user_key)
        result = await self._braze.track_users(attributes=attributes)
        reported = result.errors[: params.max_errors_reported]
        # A shard counts positions in its own part; report them as positions in the whole file.
        positions = [e.input_index for e in reported if e.input_index is not None]
        where: dict[int, int] = {}
        if not shard.is_whole:
            where = shard.locate(read_attributes(params.path, params.format), positions, key=user_key)
        return {
            "sent": result.attributes_sent,
            "processed": result.attributes_processed,
            "batches": result.batches,
            "rejected": len(result.errors),
            "errors": [
                {
                    "line_index": e.input_index
                    if e.input_index is None
                    else where.get(e.input_index, e.input_index),
                    "type": e.type,
                }
                for e in reported
            ],
        }
