"""Plans: an operation as a lazy sequence of calls plus how to fold their answers into one result.

A :class:`Plan` is what both clients execute: the sync client runs its calls one after another,
the async client keeps up to ``max_concurrency`` of them in flight (answers may then arrive out
of order, so folding never assumes order). Calls are pulled from a generator only when the client
is ready to send them, which keeps memory flat for any input size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import structlog
from pydantic import Field

from jobframe.braze import endpoints as ep
from jobframe.braze.batching import TrackBatch
from jobframe.braze.errors import BrazeError
from jobframe.braze.exchange import Call
from jobframe.braze.results import (
    CampaignSummary,
    ExportResult,
    SendResponse,
    SendResult,
    TrackError,
    TrackResponse,
    TrackResult,
)

__all__ = [
    "CAMPAIGNS_PAGE_SIZE",
    "CampaignPage",
    "CampaignPager",
    "Plan",
    "export_plan",
    "send_plan",
    "track_plan",
]

R = TypeVar("R")
logger = structlog.get_logger("jobframe.braze")

CAMPAIGNS_PAGE_SIZE = 100


def _noop() -> None:
    return None


@dataclass
class Plan(Generic[R]):
    """Calls to make (pulled lazily) and the result their answers are folded into."""

    calls: Iterator[Call[Any]]
    result: R
    fold: Callable[[Call[Any], Any], None]
    finish: Callable[[], None] = field(default=_noop)

    def failed(self, call: Call[Any], error: BrazeError) -> None:
        """Tag ``error`` with its batch and what the batches answered so far achieved."""
        self.finish()
        error.batch_index = call.batch_index
        error.partial_result = self.result

    def done(self) -> R:
        """The final result, after every call succeeded."""
        self.finish()
        return self.result


def send_plan(
    endpoint: ep.Endpoint,
    base: dict[str, Any],
    batches: Iterable[dict[str, Any]] | None,
    *,
    retry_unsafe: bool,
    target: str,
) -> Plan[SendResult]:
    """A send or trigger: one call with ``base``, or one per batch with ``base | batch``."""
    result = SendResult()
    by_batch: list[tuple[int, str]] = []

    def calls() -> Iterator[Call[Any]]:
        if batches is None:
            yield Call(endpoint, SendResponse.model_validate, json=base, retry_unsafe=retry_unsafe)
            return
        for index, part in enumerate(batches):
            size = sum(len(v) for v in part.values())
            yield Call(
                endpoint,
                SendResponse.model_validate,
                json={**base, **part},
                retry_unsafe=retry_unsafe,
                batch_index=index,
                size=size,
            )

    def fold(call: Call[Any], response: SendResponse) -> None:
        result.add(response.model_copy(update={"dispatch_id": None}), call.size)
        if response.dispatch_id:
            by_batch.append((call.batch_index or 0, response.dispatch_id))
        if response.notice:
            logger.warning(
                "braze.canvas_notice",
                endpoint=endpoint.path,
                target=target,
                notice=response.notice,
                batch=call.batch_index,
            )

    def finish() -> None:
        result.dispatch_ids = [dispatch_id for _, dispatch_id in sorted(by_batch)]

    return Plan(calls(), result, fold, finish)


def track_plan(batches: Iterator[TrackBatch], *, retry_unsafe: bool) -> Plan[TrackResult]:
    """``/users/track``: sums processed counts; locates partial errors in the caller's input."""
    result = TrackResult()
    offsets: dict[int, dict[str, int]] = {}

    def calls() -> Iterator[Call[Any]]:
        for batch in batches:
            offsets[batch.index] = batch.offsets
            result.attributes_sent += len(batch.arrays["attributes"])
            result.events_sent += len(batch.arrays["events"])
            result.purchases_sent += len(batch.arrays["purchases"])
            yield Call(
                ep.USERS_TRACK,
                TrackResponse.model_validate,
                json=batch.body(),
                retry_unsafe=retry_unsafe,
                batch_index=batch.index,
                size=batch.size,
            )

    def fold(call: Call[Any], response: TrackResponse) -> None:
        index = call.batch_index or 0
        start = offsets.pop(index, {})
        result.batches += 1
        result.attributes_processed += response.attributes_processed
        result.events_processed += response.events_processed
        result.purchases_processed += response.purchases_processed
        for raw in response.errors:
            array, at = raw.get("input_array"), raw.get("index")
            located = start[array] + at if isinstance(at, int) and array in start else None
            result.errors.append(
                TrackError(
                    type=str(raw.get("type", "unknown")),
                    input_array=array,
                    index=at,
                    batch=index,
                    input_index=located,
                )
            )
        if response.errors:
            logger.warning("braze.track_partial_errors", batch=index, errors=len(response.errors))

    return Plan(calls(), result, fold)


def export_plan(calls: Iterator[Call[Any]]) -> Plan[ExportResult]:
    """``/users/export/ids``: users and invalid ids of every batch, concatenated."""
    result = ExportResult()

    def fold(_call: Call[Any], response: ExportResult) -> None:
        result.batches += 1
        result.users.extend(response.users)
        result.invalid_user_ids.extend(response.invalid_user_ids)

    return Plan(calls, result, fold)


class CampaignPage(SendResponse):
    """One ``/campaigns/list`` answer."""

    campaigns: list[CampaignSummary] = Field(default_factory=list)


class CampaignPager:
    """``/campaigns/list`` pages from 0 until one has fewer than 100 entries."""

    def __init__(self, params: dict[str, Any]) -> None:
        self._params = params
        self._page: int | None = 0

    def next_call(self) -> Call[CampaignPage] | None:
        """The next page's call, or ``None`` after the last page."""
        if self._page is None:
            return None
        params = {**self._params, "page": self._page}
        return Call(ep.CAMPAIGNS_LIST, CampaignPage.model_validate, params=params)

    def receive(self, page: CampaignPage) -> list[CampaignSummary]:
        """The page's campaigns; decides whether another page follows."""
        more = len(page.campaigns) >= CAMPAIGNS_PAGE_SIZE
        self._page = self._page + 1 if more and self._page is not None else None
        return page.campaigns
