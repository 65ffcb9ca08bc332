"""Every operation the clients offer: the Braze endpoints, and each operation's requests and result.

Each endpoint carries the one fact retries depend on: is it repeatable? ``repeatable`` means a
repeat after an ambiguous failure (5xx, read timeout) cannot cause harm: reads and
``/users/export/ids``. Sends, triggers and ``/users/track`` have no idempotency key at Braze, so
a repeat may push a notification twice or count an event twice. ``/sends/id/create`` is counted
as unsafe too: it is limited to 100 per day and a repeat wastes one.

:class:`Planner` builds every operation as a :class:`~jobframe.braze._bulk.Plan` or a single
:class:`~jobframe.braze._exchange.Call`; the clients expose its methods unchanged (same
signature and docstring, see ``_client_base``). The sync client runs what they return one call
at a time, the async client concurrently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Final, Literal

from jobframe._value import Value
from jobframe.braze._bulk import (
    Plan,
    batched_calls,
    chunked,
    id_batches,
    journaled,
    to_json,
    total_of,
    track_batches,
)
from jobframe.braze._exchange import Call
from jobframe.braze._models import Messages, Recipient, SubscriptionState, UserAlias
from jobframe.braze._results import (
    CampaignDetails,
    CampaignSummary,
    DataSeries,
    ExportResult,
    SendIdResult,
    SendResponse,
    SendResult,
    TrackError,
    TrackResponse,
    TrackResult,
)
from jobframe.braze._settings import BatchSizes
from jobframe.ledger.policy import adds_to_a_value
from jobframe.logs import library_logger

__all__ = [
    "CAMPAIGNS_DETAILS",
    "CAMPAIGNS_LIST",
    "CAMPAIGNS_TRIGGER_SEND",
    "MESSAGES_SEND",
    "SENDS_DATA_SERIES",
    "SENDS_ID_CREATE",
    "USERS_TRACK",
    "CampaignPage",
    "CampaignPager",
    "Endpoint",
    "Planner",
]

logger = library_logger("jobframe.braze")

CAMPAIGNS_PAGE_SIZE = 100


# -- the endpoints ----------------------------------------------------------------------------


class Endpoint(Value):
    """Method, path and retry safety of one Braze endpoint."""

    __slots__ = ("method", "path", "repeatable")
    method: Literal["GET", "POST"]
    path: str
    repeatable: bool

    def __init__(self, method: Literal["GET", "POST"], path: str, repeatable: bool) -> None:
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "repeatable", repeatable)


MESSAGES_SEND: Final = Endpoint("POST", "/messages/send", repeatable=False)
CAMPAIGNS_TRIGGER_SEND: Final = Endpoint("POST", "/campaigns/trigger/send", repeatable=False)
CANVAS_TRIGGER_SEND: Final = Endpoint("POST", "/canvas/trigger/send", repeatable=False)
USERS_TRACK: Final = Endpoint("POST", "/users/track", repeatable=False)
USERS_EXPORT_IDS: Final = Endpoint("POST", "/users/export/ids", repeatable=True)
SENDS_ID_CREATE: Final = Endpoint("POST", "/sends/id/create", repeatable=False)
CAMPAIGNS_DATA_SERIES: Final = Endpoint("GET", "/campaigns/data_series", repeatable=True)
SENDS_DATA_SERIES: Final = Endpoint("GET", "/sends/data_series", repeatable=True)
CAMPAIGNS_DETAILS: Final = Endpoint("GET", "/campaigns/details", repeatable=True)
CAMPAIGNS_LIST: Final = Endpoint("GET", "/campaigns/list", repeatable=True)


# -- what each operation's answers mean ----------------------------------------------------------


def send_plan(
    endpoint: Endpoint,
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

    calls = batched_calls(USERS_TRACK, TrackResponse.model_validate, {}, counted(), retry_unsafe=retry_unsafe)
    return Plan(USERS_TRACK, calls, result, fold, total=total)


def export_plan(calls: Iterator[Call[Any]], total: int | None = None) -> Plan[ExportResult]:
    """``/users/export/ids``: users and invalid ids of every batch, concatenated."""
    result = ExportResult()

    def fold(_call: Call[Any], response: ExportResult) -> None:
        result.batches += 1
        result.users.extend(response.users)
        result.invalid_user_ids.extend(response.invalid_user_ids)

    return Plan(USERS_EXPORT_IDS, calls, result, fold, total=total)


class CampaignPage(SendResponse):
    """One ``/campaigns/list`` answer."""

    campaigns: list[CampaignSummary] = []  # noqa: RUF012 - a pydantic field: copied per instance


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
        return Call(CAMPAIGNS_LIST, CampaignPage.model_validate, params=params)

    def receive(self, page: CampaignPage) -> list[CampaignSummary]:
        """The page's campaigns; decides whether another page follows."""
        more = len(page.campaigns) >= CAMPAIGNS_PAGE_SIZE
        self._page = self._page + 1 if more and self._page is not None else None
        return page.campaigns


# -- building the requests -----------------------------------------------------------------------

Alias = UserAlias | Mapping[str, Any]


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: to_json(v) for k, v in fields.items() if v is not None}


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _recipient(value: Recipient | Mapping[str, Any]) -> Any:
    model = value if isinstance(value, Recipient) else Recipient.model_validate(value)
    return model.model_dump(mode="json", exclude_none=True)


class Planner:
    """Builds the calls of every Braze operation from arguments and the batch settings."""

    def __init__(self, batch: BatchSizes, *, retry_unsafe: bool, recorded: bool = False) -> None:
        self._batch = batch
        self._retry_unsafe = retry_unsafe
        # ``recorded``: a run ledger records the calls. Then attributes that add to a value never
        # share a batch with ones that set one, so a kill leaves the plain sets re-sendable (never
        # ambiguous, never held back); and a send to an audience is recorded too (``_to_audience``).
        self._recorded = recorded

    def _unsafe(self, override: bool | None) -> bool:
        return self._retry_unsafe if override is None else override

    def _to_audience(self, plan: Plan[SendResult], base: Mapping[str, Any]) -> Plan[SendResult]:
        """A send to an audience Braze resolves (a segment, everyone, a filter) is one request
        that lists no users — and reaches the most. With a run ledger it is recorded as a batch of
        one, like any batch that may not be repeated: a retry never sends it again."""
        if not self._recorded:  # no run ledger: nothing to record it in
            return plan
        plan.calls = (replace(call, batch_index=0) for call in plan.calls)
        return journaled(plan, base, batch=None)

    def send_message(
        self,
        messages: Messages | Mapping[str, Any],
        *,
        external_user_ids: Iterable[str] | None = None,
        user_aliases: Iterable[Alias] | None = None,
        segment_id: str | None = None,
        audience: Mapping[str, Any] | None = None,
        broadcast: bool = False,
        campaign_id: str | None = None,
        send_id: str | None = None,
        override_frequency_capping: bool | None = None,
        recipient_subscription_state: SubscriptionState | None = None,
        retry_unsafe: bool | None = None,
    ) -> Plan[SendResult]:
        """Send messages now (``/messages/send``); id/alias lists of any length are batched.

        ``retry_unsafe=True`` allows repeating a batch after a 5xx or timeout (duplicates possible).
        """
        listed = external_user_ids is not None or user_aliases is not None
        if broadcast and listed:
            raise ValueError("broadcast excludes external_user_ids/user_aliases")
        if not (listed or broadcast or segment_id or audience):
            raise ValueError("give external_user_ids/user_aliases, segment_id, audience or broadcast=True")
        msgs = messages if isinstance(messages, Messages) else Messages.model_validate(messages)
        base = _drop_none(
            messages=msgs,
            segment_id=segment_id,
            audience=audience,
            broadcast=broadcast or None,
            campaign_id=campaign_id,
            send_id=send_id,
            override_frequency_capping=override_frequency_capping,
            recipient_subscription_state=recipient_subscription_state,
        )
        batches = None
        if listed:
            pairs = id_batches(external_user_ids or (), user_aliases or (), self._batch.recipients)
            batches = ({"external_user_ids": ids, "user_aliases": al} for ids, al in pairs)
        unsafe = self._unsafe(retry_unsafe)
        total = total_of(external_user_ids or (), user_aliases or ()) if listed else None
        plan = send_plan(
            MESSAGES_SEND, base, batches, retry_unsafe=unsafe, target=campaign_id or "", total=total
        )
        if not listed:
            return self._to_audience(plan, base)
        return journaled(
            plan, base, external_user_ids or (), user_aliases or (), batch=self._batch.recipients
        )

    def _trigger(
        self,
        endpoint: Endpoint,
        base: dict[str, Any],
        *,
        recipients: Iterable[Recipient | Mapping[str, Any]] | None,
        broadcast: bool,
        retry_unsafe: bool | None,
        target: str,
    ) -> Plan[SendResult]:
        if broadcast and recipients is not None:
            raise ValueError("broadcast excludes recipients")
        if recipients is None and not (broadcast or "audience" in base):
            raise ValueError("give recipients, audience or broadcast=True")
        batches = None
        if recipients is not None:
            batches = (
                {"recipients": [_recipient(r) for r in chunk]}
                for chunk in chunked(recipients, self._batch.recipients)
            )
        plan = send_plan(
            endpoint,
            base,
            batches,
            retry_unsafe=self._unsafe(retry_unsafe),
            target=target,
            total=None if recipients is None else total_of(recipients),
        )
        if recipients is None:
            return self._to_audience(plan, base)
        return journaled(plan, base, recipients, batch=self._batch.recipients)

    def trigger_campaign(
        self,
        campaign_id: str,
        *,
        recipients: Iterable[Recipient | Mapping[str, Any]] | None = None,
        broadcast: bool = False,
        audience: Mapping[str, Any] | None = None,
        trigger_properties: Mapping[str, Any] | None = None,
        send_id: str | None = None,
        retry_unsafe: bool | None = None,
    ) -> Plan[SendResult]:
        """Trigger an API-triggered campaign (``/campaigns/trigger/send``); recipients are batched."""
        base = _drop_none(
            campaign_id=campaign_id,
            audience=audience,
            broadcast=broadcast or None,
            trigger_properties=trigger_properties,
            send_id=send_id,
        )
        return self._trigger(
            CAMPAIGNS_TRIGGER_SEND,
            base,
            recipients=recipients,
            broadcast=broadcast,
            retry_unsafe=retry_unsafe,
            target=campaign_id,
        )

    def trigger_canvas(
        self,
        canvas_id: str,
        *,
        recipients: Iterable[Recipient | Mapping[str, Any]] | None = None,
        broadcast: bool = False,
        audience: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        retry_unsafe: bool | None = None,
    ) -> Plan[SendResult]:
        """Trigger a canvas (``/canvas/trigger/send``). A paused canvas sends nothing: see ``notices``."""
        base = _drop_none(
            canvas_id=canvas_id, audience=audience, broadcast=broadcast or None, context=context
        )
        return self._trigger(
            CANVAS_TRIGGER_SEND,
            base,
            recipients=recipients,
            broadcast=broadcast,
            retry_unsafe=retry_unsafe,
            target=canvas_id,
        )

    def track_users(
        self,
        attributes: Iterable[Any] = (),
        events: Iterable[Any] = (),
        purchases: Iterable[Any] = (),
        *,
        retry_unsafe: bool | None = None,
    ) -> Plan[TrackResult]:
        """Record attributes, events and purchases (``/users/track``) from iterables of any size.

        Objects are dicts or ``UserAttributes``/``UserEvent``/``UserPurchase`` models; they are read
        lazily, one batch per request in flight.
        """
        batches = track_batches(
            attributes,
            events,
            purchases,
            per_array=self._batch.track_per_array,
            per_request=self._batch.track_per_request,
            attributes_alike=adds_to_a_value if self._recorded else None,
        )
        plan = track_plan(
            (batch.arrays for batch in batches),
            retry_unsafe=self._unsafe(retry_unsafe),
            total=total_of(attributes, events, purchases),
        )
        sizes: tuple[Any, ...] = (self._batch.track_per_array, self._batch.track_per_request)
        if self._recorded:  # batches fall elsewhere: a ledger that recorded the other cut is not resumed
            sizes = (*sizes, "split-by-repeatability")
        return journaled(plan, {}, attributes, events, purchases, batch=sizes)

    def export_users(
        self,
        external_ids: Iterable[str] | None = None,
        user_aliases: Iterable[Alias] | None = None,
        *,
        fields_to_export: list[str] | None = None,
        device_id: str | None = None,
        email_address: str | None = None,
        phone: str | None = None,
        braze_id: str | None = None,
    ) -> Plan[ExportResult]:
        """Export user profiles (``/users/export/ids``) by id lists (batched) or by one identifier."""
        base = _drop_none(fields_to_export=fields_to_export)
        single = _drop_none(device_id=device_id, email_address=email_address, phone=phone, braze_id=braze_id)

        if external_ids is None and user_aliases is None:
            call = Call(USERS_EXPORT_IDS, ExportResult.model_validate, json={**base, **single})
            return export_plan(iter([call]))
        pairs = id_batches(external_ids or (), user_aliases or (), self._batch.export_ids)
        parts = ({"external_ids": ids, "user_aliases": aliases} for ids, aliases in pairs)
        calls = batched_calls(USERS_EXPORT_IDS, ExportResult.model_validate, base, parts, retry_unsafe=False)
        # A read is not journaled: a resumed run must return every user, so it fetches them all again.
        return export_plan(calls, total_of(external_ids or (), user_aliases or ()))

    def create_send_id(self, campaign_id: str, send_id: str | None = None) -> Call[SendIdResult]:
        """Create a send id for a campaign (``/sends/id/create``; 100 per day, never auto-repeated)."""
        body = _drop_none(campaign_id=campaign_id, send_id=send_id)
        return Call(SENDS_ID_CREATE, SendIdResult.model_validate, json=body)

    def campaign_data_series(
        self, campaign_id: str, *, length: int, ending_at: datetime | str | None = None
    ) -> Call[DataSeries]:
        """Daily statistics of a campaign over ``length`` days (``/campaigns/data_series``)."""
        return self._series(CAMPAIGNS_DATA_SERIES, campaign_id, None, length, ending_at)

    def send_data_series(
        self, campaign_id: str, send_id: str, *, length: int, ending_at: datetime | str | None = None
    ) -> Call[DataSeries]:
        """Daily statistics of one send (``/sends/data_series``; Braze keeps 14 days)."""
        return self._series(SENDS_DATA_SERIES, campaign_id, send_id, length, ending_at)

    def _series(
        self,
        endpoint: Endpoint,
        campaign_id: str,
        send_id: str | None,
        length: int,
        ending_at: datetime | str | None,
    ) -> Call[DataSeries]:
        if not 1 <= length <= CAMPAIGNS_PAGE_SIZE:
            raise ValueError("length must be between 1 and 100")
        params = _drop_none(
            campaign_id=campaign_id, send_id=send_id, length=length, ending_at=_iso(ending_at)
        )
        return Call(endpoint, DataSeries.model_validate, params=params)

    def campaign_details(self, campaign_id: str) -> Call[CampaignDetails]:
        """One campaign's details (``/campaigns/details``)."""
        return Call(CAMPAIGNS_DETAILS, CampaignDetails.model_validate, params={"campaign_id": campaign_id})

    def iter_campaigns(
        self,
        *,
        include_archived: bool = False,
        sort_direction: Literal["asc", "desc"] = "desc",
        last_edited_after: datetime | str | None = None,
    ) -> CampaignPager:
        """Every campaign (``/campaigns/list``), fetched page by page as the iteration advances."""
        params = _drop_none(include_archived=str(include_archived).lower(), sort_direction=sort_direction)
        if last_edited_after is not None:
            params["last_edit.time[gt]"] = _iso(last_edited_after)
        return CampaignPager(params)
