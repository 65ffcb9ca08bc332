"""The render configuration file: what the platform decides for every job's pods, in one place.

``jobframe-argo render --config deploy/render.yaml`` reads it; the job's own metadata
(``@jobframe.job(pod=jobframe.Pod(...))``) says what the job needs, this file what the cluster
needs: node pools, tolerations, pull secrets, labels, clean-up, the pod start allowance. The
file's ``pod`` is every job's default, the job's own ``pod`` wins over it field by field, and the
file's ``jobs.<name>.pod`` wins over both. ``render --check`` renders with the same file, so a
changed file is a stale ``deploy/`` like a changed job.

```yaml
pod_start: 180                  # seconds a pod may take before jobframe starts (default 120)
pod_gc: OnPodSuccess            # podGC.strategy, or "none"
ttl_after_success: 86400        # ttlStrategy, seconds; null keeps the workflow
ttl_after_failure: 604800
semaphores: jobframe-semaphores # the ConfigMap holding jobframe.Sync semaphore limits
pod:
  node_selector: {pool: batch}
  tolerations: [{key: batch, operator: Exists, effect: NoSchedule}]
  image_pull_secrets: [registry-credentials]
  priority_class: batch-low
  labels: {team: growth}
  annotations: {sidecar.istio.io/inject: "false"}
jobs:
  SendPushFromFile:
    pod: {service_account: braze-sender}
```
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobframe._app.deployment import Pod
from jobframe.argo.plan import RenderOptions
from jobframe.errors import UsageError

__all__ = ["apply_config", "load_config"]


class _Pod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    node_selector: dict[str, str] = Field(default_factory=dict)
    tolerations: list[dict[str, Any]] = Field(default_factory=list)
    affinity: dict[str, Any] | None = None
    image_pull_secrets: list[str] = Field(default_factory=list)
    priority_class: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    service_account: str | None = None

    def pod(self) -> Pod:
        return Pod(
            node_selector=self.node_selector,
            tolerations=tuple(self.tolerations),
            affinity=self.affinity,
            image_pull_secrets=tuple(self.image_pull_secrets),
            priority_class=self.priority_class,
            labels=self.labels,
            annotations=self.annotations,
            service_account=self.service_account,
        )


class _Job(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pod: _Pod = Field(default_factory=_Pod)


class RenderConfig(BaseModel):
    """The file's contents (unknown keys are refused: a typo must not pass in silence)."""

    model_config = ConfigDict(extra="forbid")

    pod_start: int = Field(RenderOptions.pod_start, ge=0)
    pod_gc: Literal[
        "OnPodSuccess", "OnPodCompletion", "OnWorkflowSuccess", "OnWorkflowCompletion", "none"
    ] = "OnPodSuccess"
    ttl_after_success: int | None = Field(RenderOptions.ttl_after_success, ge=0)
    ttl_after_failure: int | None = Field(RenderOptions.ttl_after_failure, ge=0)
    semaphores: str = Field(RenderOptions.semaphores, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    pod: _Pod = Field(default_factory=_Pod)
    jobs: dict[str, _Job] = Field(default_factory=dict)


def load_config(path: Path) -> RenderConfig:
    """Read and check the file; :class:`UsageError` (exit 2) naming the file and the field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path}: not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping of settings (pod, jobs, pod_start, ...)")
    try:
        return RenderConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(file)"
        raise UsageError(f"{path}: {where}: {error['msg']}") from None
    except ValueError as exc:  # a Pod the dataclass refuses (a bad name, a toleration)
        raise UsageError(f"{path}: {exc}") from None


def apply_config(options: RenderOptions, config: RenderConfig, path: Path, jobs: set[str]) -> RenderOptions:
    """``options`` with the file's settings; a job the app does not have is an error (a typo)."""
    unknown = sorted(set(config.jobs) - jobs)
    if unknown:
        raise UsageError(
            f"{path}: jobs: the app has no job {', '.join(unknown)} (jobs: {', '.join(sorted(jobs))})"
        )
    try:
        return replace(
            options,
            pod_start=config.pod_start,
            pod_gc=None if config.pod_gc == "none" else config.pod_gc,
            ttl_after_success=config.ttl_after_success,
            ttl_after_failure=config.ttl_after_failure,
            semaphores=config.semaphores,
            pod=config.pod.pod(),
            job_pods={name: job.pod.pod() for name, job in config.jobs.items()},
            config=str(path),
        )
    except ValueError as exc:
        raise UsageError(f"{path}: {exc}") from None
