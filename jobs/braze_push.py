"""``SendPushFromFile``: push a notification to every external id listed in a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, Field

import jobframe
from jobframe import Counted
from jobframe.braze import BrazeClient, Messages
from jobframe.inputs import InputFile, numbered_lines
from jobframe.ledger.fingerprint import file_fingerprint

__all__ = ["SendPushFromFile", "SendPushParams", "read_ids"]


class SendPushParams(BaseModel):
    """``--param path=users.txt --param title=Hi --param body=...``."""

    path: InputFile
    title: str = Field(min_length=1)
    body: str = Field(min_length=1)
    campaign_id: str | None = None
    retry_unsafe: bool = Field(False, description="Repeat a batch after a 5xx/timeout (duplicates possible).")


def _ids(path: Path) -> Iterator[str]:
    for _, line in numbered_lines(path):
        external_id = line.strip()
        if external_id and not external_id.startswith("#"):
            yield external_id


def read_ids(path: Path) -> Counted[str]:
    """External ids, one per line (UTF-8), read lazily; blank lines and ``#`` comments are skipped.

    The count (for progress ``N/M``) is one pass over the file, made when first asked — before the
    first send — so a line that is not UTF-8 stops the job there (exit 2, ``file:line``) with
    nothing sent. The file's sha256 tells a resumed run (``--run-key``) whether it is the same.
    """
    return Counted(lambda: _ids(path), fingerprint=lambda: file_fingerprint(path))


# Resumable: a retry (75, 124, the platform's kills) continues through the run ledger and never
# pushes to a user the failed attempt reached. Shardable by external id; the file is read from a volume.
@jobframe.job(
    timeout=7200,
    resumable=True,
    shardable=True,
    volumes=(jobframe.Volume("jobframe-input", "/data"),),
)
class SendPushFromFile:
    """Send a push notification to every user listed in a file (one external id per line).

    A ``path`` that names no readable file, or a line that is not UTF-8, ends the job with exit 2
    and ``file:line`` before anything is sent (docs/braze.md, "Input files").
    """

    def __init__(self, braze: BrazeClient, run: jobframe.RunContext | None = None) -> None:
        self._braze = braze
        self._shard = run.shard if run is not None else jobframe.Shard()

    def execute(self, params: SendPushParams) -> dict[str, int]:
        alert = {"title": params.title, "body": params.body}
        messages = Messages(
            apple_push={"alert": alert}, android_push={"title": params.title, "alert": params.body}
        )
        result = self._braze.send_message(
            messages,
            external_user_ids=self._shard.select(read_ids(params.path)),
            campaign_id=params.campaign_id,
            retry_unsafe=params.retry_unsafe,
        )
        return {
            "recipients": result.recipients,
            "batches": result.batches,
            "dispatches": len(result.dispatch_ids),
        }
