"""Request building: every operation the clients offer, as a :class:`Plan` or a single :class:`Call`.

The clients expose these methods unchanged (same signature and docstring, see ``_client_base``); the
sync client runs what they return one call at a time, the async client concurrently.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from operator import length_hint
from typing import Any, Literal, TypeVar

from jobframe.braze import endpoints as ep
from jobframe.braze._exchange import Call
from jobframe.braze._models import Messages, Recipient, SubscriptionState, UserAlias
from jobframe.braze._results import (
    CampaignDetails,
    DataSeries,
    ExportResult,
    SendIdResult,
    SendResult,
    TrackResult,
)
from jobframe.braze._settings import BatchSizes
from jobframe.braze.batching import chunked, id_batches, to_json, track_batches
from jobframe.braze.plans import (
    CAMPAIGNS_PAGE_SIZE,
    CampaignPager,
    Plan,
    batched_calls,
    export_plan,
    send_plan,
    track_plan,
)
from jobframe.ledger.fingerprint import digest, fingerprint_of_inputs
from jobframe.ledger.policy import adds_to_a_value

__all__ = ["Planner"]

Alias = UserAlias | Mapping[str, Any]


T = TypeVar("T")


def _drop_none(**fields: Any) -> dict[str, Any]:
    return {k: to_json(v) for k, v in fields.items() if v is not None}


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def total_of(*inputs: object) -> int | None:
    """How many objects the inputs hold, when each one says (``len()``/``__length_hint__``)."""
    hints = [length_hint(x, -1) for x in inputs]
    return None if min(hints, default=0) < 0 else sum(hints)


def _journaled(plan: Plan[T], base: Mapping[str, Any], *inputs: object, batch: Any) -> Plan[T]:
    """Mark ``plan`` as batched and fingerprint it: endpoint, fixed body, inputs, batch sizes.

    Batches are skipped by index on a resume, so anything that changes where they fall changes
    the fingerprint; an input that cannot say what it is leaves it unknown (``None``).
    """
    plan.batched = True
    inputs_fingerprint = fingerprint_of_inputs(*inputs)
    if inputs_fingerprint is not None:
        plan.fingerprint = digest(
            {"endpoint": plan.endpoint.path, "base": base, "inputs": inputs_fingerprint, "batch": batch}
        )
        # the same without the batch sizes: a refusal can tell a changed input from a changed cut
        plan.input_fingerprint = digest(
            {"endpoint": plan.endpoint.path, "base": base, "inputs": inputs_fingerprint}
        )
    return plan


def _recipient(value: Recipient | Mapping[str, Any]) -> Any:
    model = value if isinstance(value, Recipient) else Recipient.model_validate(value)
    return model.model_dump(mode="json", exclude_none=True)


class Planner:
    """Builds the calls of every Braze operation from arguments and the batch settings."""

    def __init__(
        self, batch: BatchSizes, *, retry_unsafe: bool, split_by_repeatability: bool = False
    ) -> None:
        self._batch = batch
        self._retry_unsafe = retry_unsafe
        # With a run ledger: attributes that add to a value never share a batch with ones that set
        # one, so a kill leaves the plain sets re-sendable (never ambiguous, never held back).
        self._split = split_by_repeatability

    def _unsafe(self, override: bool | None) -> bool:
        return self._retry_unsafe if override is None else override

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
            ep.MESSAGES_SEND, base, batches, retry_unsafe=unsafe, target=campaign_id or "", total=total
        )
        if not listed:
            return plan
        return _journaled(
            plan, base, external_user_ids or (), user_aliases or (), batch=self._batch.recipients
        )

    def _trigger(
        self,
        endpoint: ep.Endpoint,
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
            return plan
        return _journaled(plan, base, recipients, batch=self._batch.recipients)

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
            ep.CAMPAIGNS_TRIGGER_SEND,
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
            ep.CANVAS_TRIGGER_SEND,
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
            attributes_alike=adds_to_a_value if self._split else None,
        )
        plan = track_plan(
            (batch.arrays for batch in batches),
            retry_unsafe=self._unsafe(retry_unsafe),
            total=total_of(attributes, events, purchases),
        )
        sizes: tuple[Any, ...] = (self._batch.track_per_array, self._batch.track_per_request)
        if self._split:  # batches fall elsewhere: a ledger that recorded the other cut is not resumed
            sizes = (*sizes, "split-by-repeatability")
        return _journaled(plan, {}, attributes, events, purchases, batch=sizes)

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
            call = Call(ep.USERS_EXPORT_IDS, ExportResult.model_validate, json={**base, **single})
            return export_plan(iter([call]))
        pairs = id_batches(external_ids or (), user_aliases or (), self._batch.export_ids)
        parts = ({"external_ids": ids, "user_aliases": aliases} for ids, aliases in pairs)
        calls = batched_calls(
            ep.USERS_EXPORT_IDS, ExportResult.model_validate, base, parts, retry_unsafe=False
        )
        # A read is not journaled: a resumed run must return every user, so it fetches them all again.
        return export_plan(calls, total_of(external_ids or (), user_aliases or ()))

    def create_send_id(self, campaign_id: str, send_id: str | None = None) -> Call[SendIdResult]:
        """Create a send id for a campaign (``/sends/id/create``; 100 per day, never auto-repeated)."""
        body = _drop_none(campaign_id=campaign_id, send_id=send_id)
        return Call(ep.SENDS_ID_CREATE, SendIdResult.model_validate, json=body)

    def campaign_data_series(
        self, campaign_id: str, *, length: int, ending_at: datetime | str | None = None
    ) -> Call[DataSeries]:
        """Daily statistics of a campaign over ``length`` days (``/campaigns/data_series``)."""
        return self._series(ep.CAMPAIGNS_DATA_SERIES, campaign_id, None, length, ending_at)

    def send_data_series(
        self, campaign_id: str, send_id: str, *, length: int, ending_at: datetime | str | None = None
    ) -> Call[DataSeries]:
        """Daily statistics of one send (``/sends/data_series``; Braze keeps 14 days)."""
        return self._series(ep.SENDS_DATA_SERIES, campaign_id, send_id, length, ending_at)

    def _series(
        self,
        endpoint: ep.Endpoint,
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
        return Call(ep.CAMPAIGNS_DETAILS, CampaignDetails.model_validate, params={"campaign_id": campaign_id})

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
