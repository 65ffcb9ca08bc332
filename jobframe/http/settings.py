"""Typed settings for one HTTP client; every field has a production-sane default."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

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
    max_requests_per_host: int = Field(5, ge=1, description="Requests in flight to one host at once.")
    max_idle_connections: int = Field(5, ge=0, description="Keep-alive connections kept in the pool.")
    idle_timeout: float = Field(5.0, ge=0, description="Seconds an idle keep-alive connection is kept.")


class HttpSettings(BaseModel):
    """Everything needed to build an ``httpx`` client for one service."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = ""
    headers: dict[str, str] = Field(default_factory=dict)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    limits: PoolLimits = Field(default_factory=PoolLimits)
    follow_redirects: bool = False
