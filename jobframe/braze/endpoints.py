"""The endpoints jobframe covers, each with the one fact retries depend on: is it repeatable?

``repeatable`` means a repeat after an ambiguous failure (5xx, read timeout) cannot cause harm:
reads and ``/users/export/ids``. Sends, triggers and ``/users/track`` have no idempotency key at
Braze, so a repeat may push a notification twice or count an event twice.
``/sends/id/create`` is counted as unsafe too: it is limited to 100 per day and a repeat wastes one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

__all__ = [
    "CAMPAIGNS_DATA_SERIES",
    "CAMPAIGNS_DETAILS",
    "CAMPAIGNS_LIST",
    "CAMPAIGNS_TRIGGER_SEND",
    "CANVAS_TRIGGER_SEND",
    "ENDPOINTS",
    "MESSAGES_SEND",
    "SENDS_DATA_SERIES",
    "SENDS_ID_CREATE",
    "USERS_EXPORT_IDS",
    "USERS_TRACK",
    "Endpoint",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Method, path and retry safety of one Braze endpoint."""

    method: Literal["GET", "POST"]
    path: str
    repeatable: bool


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

ENDPOINTS: Final = (
    MESSAGES_SEND,
    CAMPAIGNS_TRIGGER_SEND,
    CANVAS_TRIGGER_SEND,
    USERS_TRACK,
    USERS_EXPORT_IDS,
    SENDS_ID_CREATE,
    CAMPAIGNS_DATA_SERIES,
    SENDS_DATA_SERIES,
    CAMPAIGNS_DETAILS,
    CAMPAIGNS_LIST,
)
