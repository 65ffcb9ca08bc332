"""Braze REST API clients for jobframe jobs.

One sans-I/O core (:mod:`._exchange` decides, :mod:`._operations` builds requests, :mod:`._ratelimit`
paces) drives two thin shells, :class:`BrazeClient` and :class:`AsyncBrazeClient`.
:class:`BrazeModule` provides them to jobs; :mod:`jobframe.braze.fake` fakes Braze for tests.
See ``docs/braze.md``.

Names load on first use (PEP 562): a sync job never imports the async client, a job that only
reads settings no client at all.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jobframe.braze._async import AsyncBrazeClient
    from jobframe.braze._errors import (
        BrazeAuthError,
        BrazeBadRequestError,
        BrazeDuplicatePossibleError,
        BrazeError,
        BrazeHTTPError,
        BrazeInputError,
        BrazeNotFoundError,
        BrazePermissionError,
        BrazeRateLimitedError,
        BrazeServerDuplicatePossibleError,
        BrazeServerError,
        BrazeTransportDuplicatePossibleError,
        BrazeTransportError,
    )
    from jobframe.braze._models import Messages, Recipient, UserAlias, UserAttributes, UserEvent, UserPurchase
    from jobframe.braze._module import BrazeModule
    from jobframe.braze._results import (
        CampaignDetails,
        CampaignSummary,
        DataSeries,
        ExportResult,
        SendIdResult,
        SendResult,
        TrackError,
        TrackResult,
    )
    from jobframe.braze._settings import (
        FAKE_URL,
        BatchSizes,
        BrazeSettings,
        KeepAlive,
        RateLimitSettings,
        RetrySettings,
    )
    from jobframe.braze._sync import BrazeClient

__all__ = [
    "FAKE_URL",
    "AsyncBrazeClient",
    "BatchSizes",
    "BrazeAuthError",
    "BrazeBadRequestError",
    "BrazeClient",
    "BrazeDuplicatePossibleError",
    "BrazeError",
    "BrazeHTTPError",
    "BrazeInputError",
    "BrazeModule",
    "BrazeNotFoundError",
    "BrazePermissionError",
    "BrazeRateLimitedError",
    "BrazeServerDuplicatePossibleError",
    "BrazeServerError",
    "BrazeSettings",
    "BrazeTransportDuplicatePossibleError",
    "BrazeTransportError",
    "CampaignDetails",
    "CampaignSummary",
    "DataSeries",
    "ExportResult",
    "KeepAlive",
    "Messages",
    "RateLimitSettings",
    "Recipient",
    "RetrySettings",
    "SendIdResult",
    "SendResult",
    "TrackError",
    "TrackResult",
    "UserAlias",
    "UserAttributes",
    "UserEvent",
    "UserPurchase",
]

_HOMES: dict[str, str] = {
    "AsyncBrazeClient": "_async",
    "BatchSizes": "_settings",
    "BrazeAuthError": "_errors",
    "BrazeBadRequestError": "_errors",
    "BrazeClient": "_sync",
    "BrazeDuplicatePossibleError": "_errors",
    "BrazeError": "_errors",
    "BrazeHTTPError": "_errors",
    "BrazeInputError": "_errors",
    "BrazeModule": "_module",
    "BrazeNotFoundError": "_errors",
    "BrazePermissionError": "_errors",
    "BrazeRateLimitedError": "_errors",
    "BrazeServerDuplicatePossibleError": "_errors",
    "BrazeServerError": "_errors",
    "BrazeSettings": "_settings",
    "BrazeTransportDuplicatePossibleError": "_errors",
    "BrazeTransportError": "_errors",
    "CampaignDetails": "_results",
    "CampaignSummary": "_results",
    "DataSeries": "_results",
    "ExportResult": "_results",
    "FAKE_URL": "_settings",
    "KeepAlive": "_settings",
    "Messages": "_models",
    "RateLimitSettings": "_settings",
    "Recipient": "_models",
    "RetrySettings": "_settings",
    "SendIdResult": "_results",
    "SendResult": "_results",
    "TrackError": "_results",
    "TrackResult": "_results",
    "UserAlias": "_models",
    "UserAttributes": "_models",
    "UserEvent": "_models",
    "UserPurchase": "_models",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next lookup is a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
