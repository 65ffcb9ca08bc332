"""A test app with every shape of job ``render`` must handle: parameter types, deployment options,
a schedule, sharding, no retries, nested secret settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from dependency_injector import containers, providers
from pydantic import BaseModel, Field, SecretStr

import jobframe


class Vault(BaseModel):
    token: SecretStr | None = None
    url: str = "https://vault.invalid"


class ArgoAppSettings(jobframe.Settings):
    api_key: SecretStr | None = None
    vault: Vault = Field(default_factory=Vault)


class TypedParams(BaseModel):
    name: str = Field(min_length=1, description="Who to greet.")
    count: int | None = None
    mode: Literal["fast", "safe"] = "safe"
    tags: list[str] = Field(default_factory=lambda: ["a", "b"])
    limits: dict[str, int] = Field(default_factory=lambda: {"x": 1})
    dry_run: bool = False
    path: Path = Path("/data/in.txt")
    ratio: float = Field(0.5, alias="share")


class Plain:
    """A job with nothing to say about itself."""

    def execute(self) -> None:
        return None


@jobframe.job(
    min_seconds=60,
    timeout=900,
    retry=jobframe.Retry(limit=2, on=(75,), backoff=5, factor=3, max_backoff=60),
    resources=jobframe.PodResources(cpu="500m", memory="1Gi"),
    env={"HTTP__TIMEOUTS__READ": "60"},
    args=("--shutdown-timeout", "20"),
)
class Typed:
    """Every kind of parameter."""

    def execute(self, params: TypedParams) -> dict[str, str]:
        return {"name": params.name}


class NightlyParams(BaseModel):
    days: int = 7


@jobframe.job(schedule="30 1 * * *", timezone="Europe/Paris", timeout=600)
class Nightly:
    """Runs every night."""

    def execute(self, params: NightlyParams) -> None:
        return None


class ShardedParams(BaseModel):
    path: Path


@jobframe.job(
    shardable=True, shards=8, parallelism=3, volumes=(jobframe.Volume("inbox", "/inbox", read_only=False),)
)
class Sharded:
    """Processes its shard of a file."""

    def __init__(self, run: jobframe.RunContext) -> None:
        self._run = run

    def execute(self, params: ShardedParams) -> dict[str, int]:
        return {"lines": sum(1 for _ in self._run.shard.select(params.path.read_text().splitlines()))}


@jobframe.job(retry=jobframe.Retry(limit=0))
class Never:
    """Must never run twice."""

    def execute(self) -> None:
        return None


@jobframe.job(
    pod=jobframe.Pod(
        node_selector={"pool": "batch"},
        tolerations=({"key": "batch", "operator": "Exists", "effect": "NoSchedule"},),
        affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 1, "preference": {"matchExpressions": [
                {"key": "zone", "operator": "In", "values": ["a"]}]}}]}},
        image_pull_secrets=("registry",),
        priority_class="batch-high",
        labels={"team": "growth"},
        annotations={"sidecar.istio.io/inject": "false"},
        service_account="placed-jobs",
    ),
    sync=jobframe.Sync(semaphore="braze-workspace", mutex="placed"),
    schedule="0 3 * * *",
    starting_deadline=None,
)  # fmt: skip
class Placed:
    """Placed on the batch pool, one at a time, sharing the workspace's rate limit."""

    def execute(self) -> None:
        return None


class ArgoApp(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=ArgoAppSettings)
    run = providers.Dependency(instance_of=jobframe.RunContext)

    plain = providers.Factory(Plain)
    typed = providers.Factory(Typed)
    nightly = providers.Factory(Nightly)
    sharded = providers.Factory(Sharded, run=run)
    never = providers.Factory(Never)
    placed = providers.Factory(Placed)
