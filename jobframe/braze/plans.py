"""Plans: an operation as a lazy sequence of calls plus how to fold their answers into one result.

A :class:`Plan` is what both clients execute (through :class:`~jobframe.braze.stream.Stream`):
the sync client runs its calls one after another, the async client keeps several in flight
(answers may then arrive out of order, so folding never assumes order). Calls are pulled from a
generator only when the client is ready to send them, which keeps memory flat for any input size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from pydantic import Field

from jobframe.braze import endpoints as ep
from jobframe.braze._errors import BrazeError
from jobframe.braze._exchange import Call
from jobframe.braze._results import (
    CampaignSummary,
    ExportResult,
    SendResponse,
    SendResult,
    TrackError,
    TrackResponse,
    TrackResult,
)
from jobframe.logs import library_logger

__all__ = [
    "CAMPAIGNS_PAGE_SIZE",
    "CampaignPage",
    "CampaignPager",
    "Plan",
    "batched_calls",
    "export_plan",
    "send_plan",
    "single",
    "track_plan",
]

R = TypeVar("R")
logger = library_logger("jobframe.braze")

CAMPAIGNS_PAGE_SIZE = 100


def _noop() -> None:
    return None


def _ignore(_call: Call[Any], _value: Any) -> None:
    return None


@dataclass
class Plan(Generic[R]):
    """Calls to make (pulled lazily) and the result their answers are folded into.

    ``total`` is the number of input objects when it was cheap to know (``len()`` or
    ``__length_hint__`` of every input), for progress and for the delivery report.
    """

    endpoint: ep.Endpoint
    calls: Iterator[Call[Any]]
    result: R
    fold: Callable[[Call[Any], Any], None]
    finish: Callable[[], None] = field(default=_noop)
    total: int | None = None
    batched: bool = False
    """One call per batch of the caller's input (what a run ledger records)."""
    fingerprint: str | None = None
    """What the batched input was, when it could say (a run ledger refuses to resume another one)."""
    input_fingerprint: str | None = None
    """The same, leaving out the batch sizes (so a refusal can name which of the two changed)."""

    def failed(self, call: Call[Any], error: BrazeError) -> None:
        """Tag ``error`` with its batch and what the batches answered so far achieved."""
        self.finish()
        error.batch_index = call.batch_index
        error.partial_result = self.result

    def done(self) -> R:
        """The final result, after every call succeeded."""
        self.finish()
        return self.result


def single(call: Call[R]) -> Plan[R]:
    """A plan of one call whose result is that call's answer."""
    plan: Plan[R] = Plan(call.endpoint, iter([call]), cast("R", None), _ignore)

    def fold(_call: Call[Any], value: R) -> None:
        plan.result = value

    plan.fold = fold
    return plan


def batched_calls(
    endpoint: ep.Endpoint,
    parse: Callable[[Any], Any],
    base: Mapping[str, Any],
    parts: Iterable[Mapping[str, list[Any]]],
    *,
    retry_unsafe: bool,
) -> Iterator[Call[Any]]:
    """One call per batch (``base`` plus the batch's non-empty arrays), each knowing its input slice."""
    offsets: dict[str, int] = {}
    for index, part in enumerate(parts):
        items: dict[str, tuple[int, int]] = {}
        for name, values in part.items():
            if values:
                start = offsets.get(name, 0)
                offsets[name] = start + len(values)
                items[name] = (start, offsets[name])
        yield Call(
            endpoint,
            parse,
            json={**base, **{name: values for name, values in part.items() if values}},
            retry_unsafe=retry_unsafe,
            batch_index=index,
            size=sum(len(values) for values in part.values()),
            items=items,
        )


def send_plan(
    endpoint: ep.Endpoint,
    base: dict[str, Any],
    batches: Iterable[Mapping[str, list[Any]]] | None,
    *,
    retry_unsafe: bool,
    target: str,
    total: int | None = None,
) -> Plan[SendResult]:
    """A send or trigger: one call with ``base``, or one per batch with ``base | batch``."""
    result = SendResult()
    by_batch: list[tuple[int, str]] = []
    if batches is None:
        calls: Iterator[Call[Any]] = iter(
            [Call(endpoint, SendResponse.model_validate, json=base, retry_unsafe=retry_unsafe)]
        )
    else:
        calls = batched_calls(endpoint, SendResponse.model_validate, base, batches, retry_unsafe=retry_unsafe)

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

    return Plan(endpoint, calls, result, fold, finish, total)


def track_plan(
    batches: Iterable[Mapping[str, list[Any]]], *, retry_unsafe: bool, total: int | None = None
) -> Plan[TrackResult]:
    """``/users/track``: sums processed counts; locates partial errors in the caller's input."""
    result = TrackResult()

    def counted() -> Iterator[Mapping[str, list[Any]]]:
        for arrays in batches:
            result.attributes_sent += len(arrays.get("attributes", ()))
            result.events_sent += len(arrays.get("events", ()))
            result.purchases_sent += len(arrays.get("purchases", ()))
            yield arrays

    def fold(call: Call[Any], response: TrackResponse) -> None:
        index = call.batch_index or 0
        result.batches += 1
        result.attributes_processed += response.attributes_processed
        result.events_processed += response.events_processed
        result.purchases_processed += response.purchases_processed
        for raw in response.errors:
            array, at = raw.get("input_array"), raw.get("index")
            start = call.items.get(array, (0, 0))[0] if isinstance(array, str) else None
            located = (
                start + at if isinstance(at, int) and array in call.items and start is not None else None
            )
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

    calls = batched_calls(
        ep.USERS_TRACK, TrackResponse.model_validate, {}, counted(), retry_unsafe=retry_unsafe
    )
    return Plan(ep.USERS_TRACK, calls, result, fold, total=total)


def export_plan(calls: Iterator[Call[Any]], total: int | None = None) -> Plan[ExportResult]:
    """``/users/export/ids``: users and invalid ids of every batch, concatenated."""
    result = ExportResult()

    def fold(_call: Call[Any], response: ExportResult) -> None:
        result.batches += 1
        result.users.extend(response.users)
        result.invalid_user_ids.extend(response.invalid_user_ids)

    return Plan(ep.USERS_EXPORT_IDS, calls, result, fold, total=total)


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
