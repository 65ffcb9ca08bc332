"""Braze REST API clients for jobframe jobs.

One sans-I/O core (:mod:`.exchange` decides, :mod:`.planner` builds requests, :mod:`.ratelimit`
paces) drives two thin shells, :class:`BrazeClient` and :class:`AsyncBrazeClient`.
:class:`BrazeModule` provides them to jobs; :mod:`jobframe.braze.fake` fakes Braze for tests.
See ``docs/braze.md``.
"""

from jobframe.braze._async import AsyncBrazeClient
from jobframe.braze._errors import (
    BrazeAuthError,
    BrazeBadRequestError,
    BrazeDuplicatePossibleError,
    BrazeError,
    BrazeHTTPError,
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
from jobframe.braze._settings import FAKE_URL, BatchSizes, BrazeSettings, RateLimitSettings, RetrySettings
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
