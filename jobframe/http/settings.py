"""Typed settings for one HTTP client; every field has a production-sane default but the base URL.

Every field is described in docs/http.md. ``base_url`` is checked where it can be: a non-empty
value must be an ``http(s)://host`` URL when settings load (78, naming the key and where it came
from), and an empty one is refused by ``--check`` and before a run when a job is wired to the
client (:meth:`HttpSettings.problems_when_wired`). ``None`` says on purpose that the client has no
base URL: every request names an absolute URL.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["HttpSettings", "PoolLimits", "Timeouts"]


class Timeouts(BaseModel):
    """Seconds to wait for each phase; no "wait forever" default, so a hung peer cannot hang a job."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect: float = Field(5.0, gt=0)
    read: float = Field(30.0, gt=0)
    write: float = Field(30.0, gt=0)
    pool: float = Field(10.0, gt=0, description="Waiting for a free connection from the pool.")


class PoolLimits(BaseModel):
    """Connection-pool bounds, named after what they limit.

    OkHttp equivalents: ``max_idle_connections`` ~ ``ConnectionPool(maxIdleConnections)``,
    ``max_requests`` ~ ``Dispatcher.maxRequests``, ``max_requests_per_host`` ~
    ``Dispatcher.maxRequestsPerHost``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_requests: int = Field(64, ge=1, description="Connections open at once, all hosts together.")
    max_requests_per_host: int | None = Field(
        5,
        ge=1,
        description="Requests in flight to one host at once; null: no cap of its own (a client of one "
        "host, whose max_requests already bounds it).",
    )
    max_idle_connections: int = Field(5, ge=0, description="Keep-alive connections kept in the pool.")
    idle_timeout: float = Field(5.0, ge=0, description="Seconds an idle keep-alive connection is kept.")


class HttpSettings(BaseModel):
    """Everything needed to build an ``httpx`` client for one service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = Field(
        "",
        description="http(s)://host[:port][/path] every relative request URL is joined to; "
        "null: none, every request names an absolute URL.",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Sent with every request.")
    timeouts: Timeouts = Field(default_factory=Timeouts)
    limits: PoolLimits = Field(default_factory=PoolLimits)
    follow_redirects: bool = Field(False, description="Follow 3xx redirects (httpx's default: no).")
    retry_transport_errors: bool = Field(
        True,
        description="A refused connection, a timeout or a dropped connection raises an error that is "
        "also a jobframe.RetryableError (exit 75).",
    )

    @field_validator("base_url")
    @classmethod
    def _usable_base_url(cls, value: str | None) -> str | None:
        if value:
            problem = base_url_problem(value)
            if problem:
                raise ValueError(problem)
        return value

    def problems_when_wired(self) -> list[tuple[str, str]]:
        """What a job wired to a client built from these settings would trip over: ``(field, why)``."""
        if self.base_url == "":
            return [
                (
                    "base_url",
                    "is empty, and a job is wired to a client built from it: give it an http(s) URL, "
                    "or null if every request names an absolute URL",
                )
            ]
        return []


def base_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be a base URL (``None`` if it can); the value itself is never echoed."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError):
        return "is not a URL"
    if url.scheme not in ("http", "https"):
        scheme = f"scheme {url.scheme!r}" if url.scheme else "no scheme"
        return f"must be an http:// or https:// URL ({scheme})"
    if not url.host:
        return "must name a host (http://host[:port])"
    return None
