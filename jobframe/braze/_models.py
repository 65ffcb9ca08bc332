"""Typed request pieces. Unknown fields are rejected so a typo fails before anything is sent.

Braze grows fields faster than any client, so the nested payloads that Braze documents as open
(``messages``, trigger/canvas properties, user attributes) stay ``dict``-typed or allow extra keys.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Messages",
    "Recipient",
    "SubscriptionState",
    "UserAlias",
    "UserAttributes",
    "UserEvent",
    "UserPurchase",
]

SubscriptionState = Literal["opted_in", "subscribed", "all"]

_USER_KEYS = ("external_id", "user_alias", "braze_id", "email", "phone")


class UserAlias(BaseModel):
    """A user named by alias instead of external id."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    alias_name: str
    alias_label: str


class Recipient(BaseModel):
    """One recipient of a campaign or canvas trigger: exactly one of the three identifiers."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    external_user_id: str | None = None
    user_alias: UserAlias | None = None
    email: str | None = None
    prioritization: list[str] | None = None
    trigger_properties: dict[str, Any] | None = None
    canvas_entry_properties: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    send_to_existing_only: bool | None = None
    attributes: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_identifier(self) -> Recipient:
        given = [x for x in (self.external_user_id, self.user_alias, self.email) if x is not None]
        if len(given) != 1:
            raise ValueError("exactly one of external_user_id, user_alias, email is required")
        return self


class Messages(BaseModel):
    """The ``messages`` object of ``/messages/send``: one payload dict per channel."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    apple_push: dict[str, Any] | None = None
    android_push: dict[str, Any] | None = None
    web_push: dict[str, Any] | None = None
    email: dict[str, Any] | None = None
    sms: dict[str, Any] | None = None
    webhook: dict[str, Any] | None = None
    content_card: dict[str, Any] | None = None


class _UserObject(BaseModel):
    """Shared identifier fields of ``/users/track`` objects (at least one is required by Braze)."""

    model_config = ConfigDict(extra="allow", defer_build=True)

    external_id: str | None = None
    user_alias: UserAlias | None = None
    braze_id: str | None = None
    email: str | None = None
    phone: str | None = None

    @model_validator(mode="after")
    def _some_identifier(self) -> _UserObject:
        if all(getattr(self, key) is None for key in _USER_KEYS):
            raise ValueError(f"one of {', '.join(_USER_KEYS)} is required")
        return self


class UserAttributes(_UserObject):
    """An attributes object; any extra key is a (custom) attribute, e.g. ``first_name``."""


class UserEvent(_UserObject):
    """A custom event: ``name`` and ``time`` (ISO-8601) are required; ``properties`` optional."""

    name: str
    time: str
    properties: dict[str, Any] | None = None


class UserPurchase(_UserObject):
    """A purchase: product, currency, price, time."""

    product_id: str
    currency: str = Field(min_length=3, max_length=3)
    price: float
    time: str
    quantity: int | None = None
    properties: dict[str, Any] | None = None
