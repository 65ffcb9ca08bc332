"""``BrazeSettings``: one typed model for everything the Braze clients need.

HTTP pieces (``Timeouts``) are reused from :mod:`jobframe.http`, so Braze clients are built by the
same factories as every other client in a job. Requests in flight have one bound,
``max_concurrency``: the connection pool holds that many connections (both clients), and the
async client finds its own level below it. A per-host cap of its own would only repeat it (one
client, one host), as ``benchmarks/braze_throttles.py`` measured (docs/braze.md).
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from jobframe.errors import ConfigurationError
from jobframe.http import HttpSettings, PoolLimits, Timeouts

__all__ = [
    "FAKE_URL",
    "BatchSizes",
    "BrazeSettings",
    "KeepAlive",
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


class KeepAlive(BaseModel):
    """Idle keep-alive connections kept for the next request (how many, how long)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_idle_connections: int = Field(16, ge=0, description="Keep-alive connections kept in the pool.")
    idle_timeout: float = Field(30.0, ge=0, description="Seconds an idle keep-alive connection is kept.")


class BrazeSettings(BaseModel):
    """Settings of one Braze workspace connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description=f"Instance REST URL, any URL for a fake server, or {FAKE_URL!r}.")
    api_key: SecretStr | None = Field(None, validate_default=True)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    limits: KeepAlive = Field(default_factory=KeepAlive)
    max_concurrency: int = Field(
        16,
        ge=1,
        description="Requests in flight at once, the whole client (the connection pool's size); below it "
        "the async client finds its own level per endpoint from latency, 429s and the advertised budget.",
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
        limits = PoolLimits(
            max_requests=self.max_concurrency,
            max_requests_per_host=None,  # one host: max_requests is the cap
            max_idle_connections=self.limits.max_idle_connections,
            idle_timeout=self.limits.idle_timeout,
        )
        return HttpSettings(base_url=base, timeouts=self.timeouts, limits=limits)
