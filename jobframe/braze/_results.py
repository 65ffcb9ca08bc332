"""Typed responses, and the aggregated results of calls that were split into batches.

Response models allow extra fields: Braze adds fields without notice and a new field must not
break a job. Aggregates keep counters and ids, never the input, so memory stays flat however
many batches a call makes. Every model defers building its validator to first use
(``defer_build``): a job pays only for the answers it actually reads, not for all of them at
import (it was most of the Braze module's import time).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "CampaignDetails",
    "CampaignSummary",
    "DataSeries",
    "ExportResult",
    "SendIdResult",
    "SendResponse",
    "SendResult",
    "TrackError",
    "TrackResponse",
    "TrackResult",
]


_LAZY = ConfigDict(defer_build=True)


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)

    message: str = "success"


class SendResponse(_Response):
    """One send/trigger answer. ``notice`` is set when Braze accepted but sent nothing (paused canvas)."""

    dispatch_id: str | None = None
    notice: str | None = None


class SendResult(BaseModel):
    """A send or trigger over all its batches: one ``dispatch_id`` per batch, in batch order."""

    model_config = _LAZY

    dispatch_ids: list[str] = []
    batches: int = 0
    recipients: int = 0
    notices: list[str] = []

    def add(self, response: SendResponse, size: int) -> None:
        """Fold in one batch's answer."""
        self.batches += 1
        self.recipients += size
        if response.dispatch_id:
            self.dispatch_ids.append(response.dispatch_id)
        if response.notice:
            self.notices.append(response.notice)


class TrackResponse(_Response):
    """One ``/users/track`` answer; ``errors`` lists the objects Braze rejected (partial success)."""

    attributes_processed: int = 0
    events_processed: int = 0
    purchases_processed: int = 0
    errors: list[dict[str, Any]] = []


class TrackError(BaseModel):
    """A rejected object, located in the caller's input.

    ``index`` is Braze's index inside the request's array; ``input_index`` is the position of the
    object in the iterable the caller passed for that array; ``batch`` is the request number.
    """

    model_config = _LAZY

    type: str
    input_array: str | None = None
    index: int | None = None
    batch: int
    input_index: int | None = None


class TrackResult(BaseModel):
    """``/users/track`` over all batches: sums of processed counts, and every partial error."""

    model_config = _LAZY

    batches: int = 0
    attributes_sent: int = 0
    events_sent: int = 0
    purchases_sent: int = 0
    attributes_processed: int = 0
    events_processed: int = 0
    purchases_processed: int = 0
    errors: list[TrackError] = []

    @property
    def ok(self) -> bool:
        """True when Braze reported no rejected object."""
        return not self.errors


class ExportResult(_Response):
    """``/users/export/ids`` over all batches."""

    users: list[dict[str, Any]] = []
    invalid_user_ids: list[str] = []
    batches: int = 0


class SendIdResult(_Response):
    """``/sends/id/create``."""

    send_id: str


class DataSeriesPoint(BaseModel):
    """One time bucket of ``/campaigns/data_series`` or ``/sends/data_series``."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    time: str
    messages: dict[str, list[dict[str, Any]]] = {}
    unique_recipients: int | None = None
    conversions: int | None = None


class DataSeries(_Response):
    """A data-series answer."""

    data: list[DataSeriesPoint] = []

    def total(self, metric: str) -> int:
        """Sum ``metric`` (e.g. ``"sent"``) over all buckets, channels and variations."""
        return sum(
            int(variation.get(metric) or 0)
            for point in self.data
            for variations in point.messages.values()
            for variation in variations
        )


class CampaignDetails(_Response):
    """``/campaigns/details``; fields Braze adds later are kept as extras."""

    name: str
    created_at: str | None = None
    updated_at: str | None = None
    archived: bool = False
    draft: bool = False
    enabled: bool | None = None
    channels: list[str] = []
    tags: list[str] = []
    messages: dict[str, dict[str, Any]] = {}


class CampaignSummary(BaseModel):
    """One entry of ``/campaigns/list``."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    id: str
    name: str
    last_edited: str | None = None
    is_api_campaign: bool = False
    tags: list[str] = []
