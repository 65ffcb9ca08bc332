"""What the sync and async clients share besides the sans-I/O core: construction from settings.

Both shells hold one :class:`ClientState` (limiter, planner, exchange context) and expose the
planner's operations through :func:`plan_method`/:func:`call_method`-style adapters, so the public
signatures and docstrings are written once, in :mod:`jobframe.braze.planner`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import httpx
import structlog

from jobframe.braze.exchange import ExchangeContext
from jobframe.braze.planner import Planner
from jobframe.braze.ratelimit import RateLimiter
from jobframe.braze.redact import Redactor
from jobframe.braze.settings import BrazeSettings

__all__ = ["ClientShell", "ClientState", "auth_headers", "fake_or", "offline_fake"]

logger = structlog.get_logger("jobframe.braze")

H = TypeVar("H", httpx.Client, httpx.AsyncClient)
T = TypeVar("T")


def auth_headers(settings: BrazeSettings) -> dict[str, str]:
    """Headers for the ``httpx`` client; the only place the key's value is read for sending."""
    key = settings.require_api_key()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def offline_fake(settings: BrazeSettings) -> Any:
    """The in-process fake for ``fake://braze``, with a few demo campaigns, announced in the log.

    The log line is the promise that an offline run says it never contacted a real Braze.
    """
    from jobframe.braze.fake import FakeBraze  # noqa: PLC0415 - only offline runs load the fake

    fake = FakeBraze()
    fake.seed_campaigns(3)
    logger.info("braze.fake_in_use", base_url=settings.base_url, campaigns=len(fake.campaigns))
    return fake


def fake_or(settings: BrazeSettings, transport: T) -> T | Any:
    """``transport`` as given, or the offline fake's when ``base_url`` is ``fake://braze``."""
    return offline_fake(settings).transport() if transport is None and settings.is_fake else transport


class ClientShell(Generic[H]):
    """What both clients are besides moving bytes: their settings, closed state and a safe repr."""

    def __init__(self, http: H, state: ClientState) -> None:
        self._http: H = http
        self._state = state

    @property
    def settings(self) -> BrazeSettings:
        """The settings this client was built from."""
        return self._state.settings

    @property
    def is_closed(self) -> bool:
        """True once the client was closed."""
        return self._http.is_closed

    closed = is_closed

    def __repr__(self) -> str:
        # Never the key: only the instance URL and whether the client is closed.
        return f"{type(self).__name__}(base_url={self.settings.base_url!r}, closed={self.is_closed})"


class ClientState:
    """Settings-derived state of one client: shared by all its concurrent calls."""

    def __init__(
        self,
        settings: BrazeSettings,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = RateLimiter(settings.rate_limit)
        self.ctx = ExchangeContext(
            retry=settings.retry,
            rate_limit=settings.rate_limit,
            limiter=self.limiter,
            redactor=Redactor(settings.require_api_key()),
            clock=clock,
            rng=rng or random.Random(),
        )
        self.planner = Planner(settings.batch, retry_unsafe=settings.retry.retry_unsafe)

    def __repr__(self) -> str:
        return f"ClientState(base_url={self.settings.base_url!r})"
