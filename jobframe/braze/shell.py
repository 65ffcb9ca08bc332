"""What the sync and async clients share besides the sans-I/O core: construction from settings.

Both shells hold one :class:`ClientState` (limiter, planner, exchange context) and expose the
planner's operations through :func:`plan_method`/:func:`call_method`-style adapters, so the public
signatures and docstrings are written once, in :mod:`jobframe.braze.planner`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import structlog

from jobframe.braze.exchange import ExchangeContext
from jobframe.braze.planner import Planner
from jobframe.braze.ratelimit import RateLimiter
from jobframe.braze.redact import Redactor
from jobframe.braze.settings import BrazeSettings

__all__ = ["ClientState", "auth_headers", "offline_fake"]

logger = structlog.get_logger("jobframe.braze")


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
