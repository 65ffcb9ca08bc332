"""How a job is deployed: its per-attempt deadline, retries, resources, schedule and sharding.

Declared on the job with ``@jobframe.job(...)`` next to ``min_seconds``, so the manifests that
``jobframe.argo`` renders and the checks that ``jobframe.argo lint`` makes come from the job
itself. The defaults are right for most jobs: one hour per attempt, three retries of the exit
codes a retry can fix, a small CPU/memory request, no schedule, not sharded, not resumable.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from jobframe.exit_codes import ExitCode

__all__ = [
    "NEVER_RETRIED",
    "RETRYABLE",
    "Deployment",
    "Pod",
    "PodResources",
    "Retry",
    "Sync",
    "Volume",
    "backoff_wait",
    "is_quantity",
]

PLATFORM_KILLS = (137, 143)
"""SIGKILL (out of memory, the kubelet after the grace period) and SIGTERM (eviction, node drain)."""

RETRYABLE = (int(ExitCode.RETRYABLE), int(ExitCode.DEADLINE), *PLATFORM_KILLS)
"""Retried by default: 75 (a retry can fix it), 124 (the attempt's deadline) and the platform's kills."""

NEVER_RETRIED = (int(ExitCode.SUCCEEDED), int(ExitCode.FAILED), int(ExitCode.USAGE), int(ExitCode.CONFIG))
"""A retry cannot fix these: success, a failing job (1), a bad command line (2), bad configuration (78)."""

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_CRON_DESCRIPTORS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}


def is_quantity(text: str) -> bool:
    """A Kubernetes quantity such as ``250m``, ``512Mi`` or ``1Gi``."""
    return isinstance(text, str) and _QUANTITY.match(text) is not None


def _positive(name: str, value: float, *, zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not zero):
        raise ValueError(f"{name} must be {'>= 0' if zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class Retry:
    """Argo's ``retryStrategy`` for the job: how often, after how long, for which exit codes.

    ``limit=0`` means never retried — right for a job whose retry would repeat effects it already
    had (a send starts again from its first recipient). ``max_duration`` bounds all attempts
    together; Argo then gives later attempts only what is left of it (``ARGO_DEADLINE``), which
    ``jobframe.argo lint`` checks against what each attempt needs.
    """

    limit: int = 3
    on: tuple[int, ...] = RETRYABLE
    backoff: float = 30.0
    """Seconds before the first retry."""
    factor: int = 2
    """Each later wait is this many times the one before (Argo takes an integer) ..."""
    max_backoff: float | None = 600.0
    """... up to this many seconds."""
    max_duration: float | None = None
    """All attempts and waits together, counted from the first attempt's start."""

    def __post_init__(self) -> None:
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 0:
            raise ValueError(f"retry limit must be an int >= 0, got {self.limit!r}")
        object.__setattr__(self, "on", tuple(sorted(set(self.on))))
        bad = [c for c in self.on if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 255]
        if bad:
            raise ValueError(f"retry on: exit codes are ints 0-255, got {bad!r}")
        never = [c for c in self.on if c in NEVER_RETRIED]
        if never:
            raise ValueError(
                f"retry on {never}: exit codes 0, 1, 2 and 78 are never retried (a retry cannot fix them)"
            )
        if self.limit and not self.on:
            raise ValueError("retry on: give the exit codes to retry, or limit=0 for no retries")
        _positive("retry backoff", self.backoff, zero=True)
        if isinstance(self.factor, bool) or not isinstance(self.factor, int) or self.factor < 1:
            raise ValueError(f"retry factor must be an int >= 1 (Argo's backoff.factor), got {self.factor!r}")
        if self.max_backoff is not None:
            _positive("retry max_backoff", self.max_backoff)
        if self.max_duration is not None:
            _positive("retry max_duration", self.max_duration)

    def wait(self, retry: int) -> float:
        """Seconds Argo waits before retry number ``retry`` (1 is the first retry)."""
        return backoff_wait(retry, self.backoff, self.factor, self.max_backoff)


def backoff_wait(retry: int, duration: float, factor: float, cap: float | None) -> float:
    """Argo's wait before retry number ``retry`` (from 1): ``duration * factor ** (retry - 1)``, capped."""
    wait = duration * factor ** (retry - 1)
    return wait if cap is None else min(wait, cap)


@dataclass(frozen=True)
class PodResources:
    """The container's requests; memory is also its limit (a job over it is killed, exit 137)."""

    cpu: str = "100m"
    memory: str = "256Mi"

    def __post_init__(self) -> None:
        for name in ("cpu", "memory"):
            value = getattr(self, name)
            if not is_quantity(value):
                raise ValueError(
                    f"resources {name}: {value!r} is not a Kubernetes quantity (e.g. 250m, 512Mi)"
                )


@dataclass(frozen=True)
class Volume:
    """A PersistentVolumeClaim mounted into the job's container (read-only unless asked)."""

    claim: str
    mount_path: str
    read_only: bool = True

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", self.claim):
            raise ValueError(f"volume claim {self.claim!r} is not a Kubernetes name")
        if not self.mount_path.startswith("/"):
            raise ValueError(f"volume mount_path {self.mount_path!r} must be absolute")


_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def _k8s_names(what: str, names: tuple[str, ...]) -> None:
    bad = [n for n in names if not isinstance(n, str) or not _K8S_NAME.fullmatch(n) or len(n) > 253]
    if bad:
        raise ValueError(f"{what}: {bad!r} are not Kubernetes names (lower case, digits, '-', '.')")


@dataclass(frozen=True)
class Pod:
    """How the job's pods are placed and marked: what the platform asks of every workload.

    The fields are Kubernetes' own, written as in a manifest (``tolerations`` and ``affinity`` as
    their YAML mappings): the renderer copies them onto the job's template, or the workflow for
    ``image_pull_secrets``. A render configuration file can set the same for every job
    (docs/argo.md); the job's own values win over its defaults.
    """

    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, object], ...] = ()
    affinity: Mapping[str, object] | None = None
    image_pull_secrets: tuple[str, ...] = ()
    priority_class: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    """Pod labels (e.g. a team label a NetworkPolicy selects)."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Pod annotations (e.g. ``sidecar.istio.io/inject: "false"``: a sidecar would keep the pod alive)."""
    service_account: str | None = None
    """The pod's service account (the workflow's, else the namespace's default)."""

    def __post_init__(self) -> None:
        for name in ("node_selector", "labels", "annotations"):
            value = dict(getattr(self, name))
            bad = {k: v for k, v in value.items() if not isinstance(k, str) or not isinstance(v, str)}
            if bad:
                raise ValueError(f"pod {name}: keys and values are strings, got {bad!r}")
            object.__setattr__(self, name, value)
        tolerations = tuple(dict(t) for t in self.tolerations)
        fields = {"key", "operator", "value", "effect", "tolerationSeconds"}
        if any(not t or set(t) - fields for t in tolerations):
            raise ValueError(
                "pod tolerations: each a mapping of key, operator, value, effect, tolerationSeconds, "
                "e.g. {'key': 'batch', 'operator': 'Exists'}"
            )
        object.__setattr__(self, "tolerations", tolerations)
        if self.affinity is not None:
            object.__setattr__(self, "affinity", dict(self.affinity))
        object.__setattr__(self, "image_pull_secrets", tuple(self.image_pull_secrets))
        _k8s_names("pod image_pull_secrets", self.image_pull_secrets)
        _k8s_names(
            "pod priority_class / service_account",
            tuple(n for n in (self.priority_class, self.service_account) if n is not None),
        )


@dataclass(frozen=True)
class Sync:
    """Argo ``synchronization`` between workflows: at most N holders of a semaphore, one of a mutex.

    ``semaphore`` names a key of the ConfigMap ``jobframe-semaphores`` whose value is the limit —
    e.g. every job that shares one Braze workspace's rate limit takes ``braze-workspace``;
    ``mutex`` lets one run at a time hold the name (a whole job, or jobs writing the same data).
    """

    semaphore: str | None = None
    mutex: str | None = None

    def __post_init__(self) -> None:
        if self.semaphore is None and self.mutex is None:
            raise ValueError("Sync: give a semaphore, a mutex or both")
        for name in (self.semaphore, self.mutex):
            if name is not None and not re.fullmatch(r"[A-Za-z0-9]([-_.A-Za-z0-9]*[A-Za-z0-9])?", name):
                raise ValueError(f"Sync: {name!r} is not a ConfigMap key / mutex name (letters, digits, -_.)")


@dataclass(frozen=True)
class Deployment:
    """Everything ``jobframe.argo`` needs to deploy a job, besides what the job's class says."""

    timeout: float = 3600.0
    """Seconds per attempt: the template's ``activeDeadlineSeconds`` and the job's ``--timeout``."""
    retry: Retry = Retry()
    resources: PodResources = PodResources()
    schedule: str | None = None
    """A cron schedule (``"0 2 * * *"``): rendered as a ``CronWorkflow``."""
    timezone: str | None = None
    """The schedule's time zone (IANA name); UTC when unset."""
    starting_deadline: int | None = 3600
    """Seconds after a missed scheduled time (the controller was down) in which the run still
    starts; ``None``: a missed run is skipped."""
    shardable: bool = False
    """The job reads ``RunContext.shard`` and processes only its part of the input."""
    resumable: bool = False
    """The job's bulk calls go through the run ledger (``--run-key``): a retry continues where the
    failed attempt stopped instead of repeating what it delivered. ``jobframe.argo render`` passes
    the workflow's uid (plus the shard) as the run key and mounts a workflow-scoped volume for the
    SQLite ledger (docs/resume.md)."""
    shards: int = 4
    """Default number of shards of the fan-out (a parameter, chosen again at submit time)."""
    parallelism: int | None = None
    """At most this many shards run at once (default: all of them)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of the container (settings such as ``BRAZE__MAX_CONCURRENCY``)."""
    volumes: tuple[Volume, ...] = ()
    args: tuple[str, ...] = ()
    """Extra jobframe arguments of every step (e.g. ``--shutdown-timeout 20``)."""
    pod: Pod = Pod()
    sync: Sync | None = None

    def __post_init__(self) -> None:
        _positive("timeout", self.timeout)
        if self.starting_deadline is not None:
            if isinstance(self.starting_deadline, bool) or not isinstance(self.starting_deadline, int):
                raise ValueError(f"starting_deadline must be whole seconds, got {self.starting_deadline!r}")
            _positive("starting_deadline", self.starting_deadline, zero=True)
        if self.schedule is not None:
            parts = self.schedule.split()
            if not (len(parts) == 5 or (len(parts) == 1 and parts[0] in _CRON_DESCRIPTORS)):
                raise ValueError(
                    f"schedule {self.schedule!r}: expected five cron fields (e.g. '0 2 * * *') or @daily"
                )
        for name in ("shards", "parallelism"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        object.__setattr__(self, "env", dict(self.env))
        object.__setattr__(self, "volumes", tuple(self.volumes))
        object.__setattr__(self, "args", tuple(self.args))
