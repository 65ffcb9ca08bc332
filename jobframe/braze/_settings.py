"""``BrazeSettings``: one typed model for everything the Braze clients need.

HTTP pieces (``Timeouts``, ``PoolLimits``) are reused from :mod:`jobframe.http`, so Braze clients
are built by the same factories as every other client in a job.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from jobframe.errors import ConfigurationError
from jobframe.http import HttpSettings, PoolLimits, Timeouts

__all__ = [
    "FAKE_URL",
    "BatchSizes",
    "BrazeSettings",
    "RateLimitSettings",
    "RetrySettings",
]

FAKE_URL: Final = "fake://braze"
"""The special ``base_url`` that wires the in-process fake Braze (no network, any key)."""

KNOWN_INSTANCES: Final = frozenset(
    {f"rest.iad-0{n}.braze.com" for n in range(1, 9)}
    | {"rest.iad-10.braze.com", "rest.fra-01.braze.eu", "rest.fra-02.braze.eu", "rest.au-01.braze.com"}
)
"""REST hosts from the contract. Other ``*.braze.com``/``*.braze.eu`` hosts are rejected as typos."""


class RetrySettings(BaseModel):
    """Backoff for retries that are safe (connect errors, 429 without headers, 5xx on reads)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(5, ge=1, description="Attempts per request, the first one included.")
    backoff_base: float = Field(0.5, ge=0, description="Seconds before the first retry; doubles each time.")
    backoff_cap: float = Field(30.0, ge=0, description="Upper bound of one backoff wait.")
    retry_unsafe: bool = Field(
        False,
        description="Repeat sends, triggers, users.track after a 5xx or read timeout (duplicates possible).",
    )


class RateLimitSettings(BaseModel):
    """How the client honours ``X-RateLimit-*`` and ``Retry-After``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_wait: float = Field(
        60.0,
        ge=0,
        description="Longest wait for a rate-limit reset or Retry-After; beyond it the call fails at once "
        "(exit 75).",
    )


class BatchSizes(BaseModel):
    """Per-request sizes. Defaults are Braze's maxima; lower them for plans with stricter limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recipients: int = Field(50, ge=1, le=50, description="Ids/aliases/recipients per send or trigger.")
    export_ids: int = Field(50, ge=1, le=50, description="Ids per /users/export/ids request.")
    track_per_array: int = Field(75, ge=1, le=75, description="Objects per /users/track array.")
    track_per_request: int | None = Field(
        None, ge=1, le=225, description="Optional cap on attributes+events+purchases together (e.g. 75)."
    )


def _default_limits() -> PoolLimits:
    return PoolLimits(max_requests=32, max_requests_per_host=16, max_idle_connections=16, idle_timeout=30.0)


class BrazeSettings(BaseModel):
    """Settings of one Braze workspace connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description=f"Instance REST URL, any URL for a fake server, or {FAKE_URL!r}.")
    api_key: SecretStr | None = Field(None, validate_default=True)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    limits: PoolLimits = Field(default_factory=_default_limits)
    max_concurrency: int = Field(
        16,
        ge=1,
        description="Ceiling of requests in flight at once (async client); below it the client finds its "
        "own level per endpoint from latency, 429s and the advertised budget.",
    )
    retry: RetrySettings = Field(default_factory=RetrySettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    batch: BatchSizes = Field(default_factory=BatchSizes)

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.rstrip("/")
        if value == FAKE_URL:
            return value
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"must be an http(s) URL or {FAKE_URL!r}")
        host = parts.hostname.lower()
        if host.endswith((".braze.com", ".braze.eu")) and host not in KNOWN_INSTANCES:
            raise ValueError(f"unknown Braze instance {host!r}; known: {', '.join(sorted(KNOWN_INSTANCES))}")
        return value

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # Found when settings load (exit 78 before the job starts), not at the first request.
        # Blank is missing: a secret file is stripped when read, a variable is not, and "   "
        # would only fail at Braze, five retries later.
        if info.data.get("base_url", FAKE_URL) != FAKE_URL and (
            value is None or not value.get_secret_value().strip()
        ):
            raise ValueError(f"required when base_url is not {FAKE_URL!r} (a blank key is no key)")
        return value

    @model_validator(mode="after")
    def _check_concurrency(self) -> BrazeSettings:
        if self.max_concurrency > self.limits.max_requests_per_host:
            raise ValueError(
                f"max_concurrency ({self.max_concurrency}) exceeds limits.max_requests_per_host "
                f"({self.limits.max_requests_per_host}); raise the pool limit too"
            )
        return self

    @property
    def is_fake(self) -> bool:
        """True when ``base_url`` selects the in-process fake."""
        return self.base_url == FAKE_URL

    def require_api_key(self) -> str | None:
        """The key's value, or ``None`` for the fake; a real instance without a key is a config error."""
        if self.api_key is None:
            if self.is_fake:
                return None
            raise ConfigurationError("braze.api_key: required when base_url is a real Braze instance")
        return self.api_key.get_secret_value()

    def http_settings(self) -> HttpSettings:
        """The :class:`HttpSettings` for :func:`jobframe.http.sync_client`/``async_client``.

        The key is *not* in here: it is added as a header by the client factory only, so this model
        can be logged safely. The fake's URL becomes an ``http://`` URL httpx accepts; the fake
        transport answers every host.
        """
        base = "http://fake-braze.invalid" if self.is_fake else self.base_url
        return HttpSettings(base_url=base, timeouts=self.timeouts, limits=self.limits)
