"""What a job's Argo step must say, decided from the job alone — before any manifest library.

A :class:`StepPlan` holds the container's arguments (``--job-name``, ``--timeout`` equal to
``activeDeadlineSeconds``, ``--output``, one ``--param`` per parameter), the template inputs with
their typed defaults, the retry expression, the grace period and the environment. ``render``
turns it into manifests with Hera; tests read it to know what the manifests must mean.
:class:`StepExtras` is where later features add per-job arguments, environment and volumes.
"""

from __future__ import annotations

import json
import math
import re
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, SecretBytes, SecretStr, TypeAdapter
from pydantic.fields import FieldInfo

from jobframe._app.deployment import Deployment, Pod, Volume
from jobframe._app.discovery import App
from jobframe._app.loading import DEFAULT_APP
from jobframe._app.spec import JobSpec
from jobframe.argo.flags import Flags, parse_flags
from jobframe.argo.retries import INFRASTRUCTURE, expression_for
from jobframe.errors import UsageError
from jobframe.ledger.settings import LedgerSettings

__all__ = [
    "OUTPUT_PATH",
    "REGISTER_STEP",
    "InputParam",
    "RenderOptions",
    "SecretRef",
    "StepExtras",
    "StepPlan",
    "k8s_name",
    "ledger_setting",
    "merge_pods",
    "plan_step",
    "secret_settings",
    "termination_grace",
]

OUTPUT_PATH = "/tmp/result.json"  # noqa: S108 - /tmp is an emptyDir of the pod, read back by Argo
"""Where the step writes its result (``--output``), read back as the ``result`` output parameter."""
LEDGER_CLAIM = "jobframe-ledger"
"""The workflow-scoped volume (``volumeClaimTemplates``) holding resumable jobs' SQLite ledgers."""
LEDGER_MOUNT = "/var/lib/jobframe/ledger"
REGISTER_STEP = "register-ledger"
"""The step that records a resumable job's run key(s) before any attempt of the job can send."""
NO_RESULT = "null"
"""The ``result`` output's default when the file is missing (a failed attempt writes none)."""


@dataclass(frozen=True)
class RenderOptions:
    """Cluster-side choices the job cannot know: image, profile, secret, names."""

    app: str = DEFAULT_APP
    """The ``--app`` the manifests were rendered from (named in each file's header)."""
    image: str = "jobframe:0.1.0"
    command: tuple[str, ...] = ("/opt/venv/bin/jobframe",)
    """The image's entrypoint, written out: Argo's emissary runs ``command`` (it would otherwise
    look the entrypoint up in the registry)."""
    combine_command: tuple[str, ...] = ("/opt/venv/bin/jobframe-argo", "combine")
    register_command: tuple[str, ...] = ("/opt/venv/bin/python", "-m", "jobframe.ledger", "register")
    """The ``register-ledger`` step's command: the job's image, no app loaded (docs/resume.md)."""
    profile: str = "production"
    """The settings profile, passed as ``--env``."""
    secret: str = "jobframe"  # noqa: S105 - the Secret's name, not a secret
    """The Kubernetes Secret holding every secret setting, one key per setting (``braze__api_key``)."""
    secrets_as: Literal["env", "dir"] = "env"
    """``env``: each key as an environment variable; ``dir``: the Secret mounted as jobframe's
    secrets directory (``--secrets-dir``)."""
    secrets_dir: str = "/var/run/secrets/jobframe"
    namespace: str | None = None
    service_account: str | None = None
    uid: int = 10001
    """The image's user and group (``USER 10001:10001``)."""
    prefix: str = ""
    """Prepended to every manifest name (e.g. ``acme-``)."""
    ledger_volume: str | None = "1Gi"
    """Size of the workflow-scoped volume that holds a resumable job's SQLite ledger; ``None``
    when the profile keeps ledgers in PostgreSQL (no volume is declared)."""
    ledger_storage_class: str | None = None
    """The ledger volume's storage class (the cluster's default when unset)."""
    pod_start: int = 120
    """Seconds a pod may spend before jobframe starts (image pull, Argo's init container, volume
    attach): ``activeDeadlineSeconds`` counts them, ``--timeout`` does not, so the kubelet's
    deadline is the job's ``timeout`` plus this (docs/argo.md, "Deadlines")."""
    pod: Pod = field(default_factory=Pod)
    """Every job's pod shape (a render configuration file's ``pod``); the job's own wins."""
    job_pods: Mapping[str, Pod] = field(default_factory=dict)
    """Per job name: a pod shape that wins over the job's own (the file's ``jobs.<name>.pod``)."""
    pod_gc: str | None = "OnPodSuccess"
    """``podGC.strategy``: a succeeded pod goes at once, a failed one stays for its logs."""
    ttl_after_success: int | None = 86_400
    """``ttlStrategy.secondsAfterSuccess``: a succeeded workflow is deleted a day later."""
    ttl_after_failure: int | None = 7 * 86_400
    """``ttlStrategy.secondsAfterFailure``: a week to look at, or ``argo retry``, a failed workflow;
    its ledger volume (owned by the workflow) goes with it."""
    semaphores: str = "jobframe-semaphores"
    """The ConfigMap whose keys are the limits of :class:`jobframe.Sync` semaphores."""
    config: str | None = None
    """The render configuration file these options came from (named in each file's header)."""


@dataclass(frozen=True)
class InputParam:
    """A template input for one job parameter."""

    name: str
    default: str | None
    """The typed default as the command line spells it; ``None``: required."""
    description: str | None = None
    enum: tuple[str, ...] | None = None
    unset_when_empty: bool = False
    """An optional parameter whose default is ``None``: passed only when given a value."""


@dataclass(frozen=True)
class SecretRef:
    """A secret setting: the environment variable jobframe reads and the Secret key holding it.

    ``optional`` when the setting has a default: a Secret without that key still starts the pod,
    and jobframe's settings check says what is missing (78) if the run needs it after all.
    """

    env: str
    key: str
    optional: bool = False


@dataclass(frozen=True)
class StepExtras:
    """Per-job additions to a step: more jobframe arguments, environment, volumes."""

    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    volumes: tuple[Volume, ...] = ()
    ledger_volume: str | None = None
    """The size of the workflow-scoped ledger volume the step mounts at ``LEDGER_MOUNT``, if any."""
    register: tuple[str, ...] = ()
    """A resumable job's ``register-ledger`` arguments: the same run key(s) the job's steps get."""
    ledger_prefix: str | None = None
    """The environment prefix of the app's ledger settings (``LEDGER``): the register step's env."""


@dataclass(frozen=True)
class StepPlan:
    """Everything one job's step must say."""

    spec: JobSpec
    name: str
    inputs: tuple[InputParam, ...]
    args: tuple[str, ...]
    timeout: int
    """The job's ``--timeout``: its own deadline, on the process's clock."""
    active_deadline: int
    """The template's ``activeDeadlineSeconds``: ``timeout`` plus the pod's start (``pod_start``)."""
    pod: Pod
    """The pod shape: the render file's defaults, then the job's ``pod``, then the file's per-job."""
    retry_expression: str | None
    termination_grace: int
    secrets: tuple[SecretRef, ...]
    extras: StepExtras
    options: RenderOptions

    @property
    def deployment(self) -> Deployment:
        return self.spec.deployment


def k8s_name(name: str) -> str:
    """``SendPushFromFile`` → ``send-push-from-file`` (a DNS-1123 label)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name)
    label = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
    if not label:
        raise UsageError(f"job name {name!r} gives no Kubernetes name")
    return label[:63].rstrip("-")


def _cli_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _enum(annotation: Any) -> tuple[str, ...] | None:
    if typing.get_origin(annotation) is Literal:
        return tuple(_cli_text(v) for v in typing.get_args(annotation))
    return None


def _input(name: str, info: FieldInfo) -> InputParam:
    enum = _enum(info.annotation)
    if info.is_required():
        return InputParam(name, None, info.description, enum)
    value = info.get_default(call_default_factory=True)
    if value is None:
        return InputParam(name, "", info.description, None, unset_when_empty=True)
    dumped = TypeAdapter(Any).dump_python(value, mode="json")
    return InputParam(name, _cli_text(dumped), info.description, enum)


def param_inputs(spec: JobSpec) -> tuple[InputParam, ...]:
    """One input per parameter of the job's model, in declaration order (aliases win)."""
    if spec.params_model is None:
        return ()
    return tuple(_input(info.alias or name, info) for name, info in spec.params_model.model_fields.items())


def _param_args(spec: JobSpec, inputs: tuple[InputParam, ...]) -> Iterator[str]:
    for param in inputs:
        ref = f"inputs.parameters.{param.name}"
        if param.unset_when_empty:
            # Argo cannot drop an argument; an empty value repeats --job-name instead (a no-op).
            yield f"{{{{= {ref} == '' ? '--job-name={spec.name}' : '--param={param.name}=' + {ref} }}}}"
        else:
            yield "--param"
            yield f"{param.name}={{{{{ref}}}}}"


def secret_settings(app: App) -> tuple[SecretRef, ...]:
    """Every secret field of the app's settings (``SecretStr``), as env variable and Secret key."""
    if app.settings_cls is None:
        return ()
    found: list[SecretRef] = []

    def walk(model: type[BaseModel], path: tuple[str, ...]) -> None:
        for name, info in model.model_fields.items():
            for kind in (info.annotation, *typing.get_args(info.annotation)):
                if kind in (SecretStr, SecretBytes):
                    key = "__".join((*path, name)).lower()
                    found.append(SecretRef(env=key.upper(), key=key, optional=not info.is_required()))
                    break
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    walk(kind, (*path, name))
                    break

    walk(app.settings_cls, ())
    return tuple(found)


def ledger_setting(app: App) -> str | None:
    """The environment prefix of the app's :class:`LedgerSettings` field (``LEDGER``), if it has one."""
    if app.settings_cls is None:
        return None
    found: list[str] = []

    def walk(model: type[BaseModel], path: tuple[str, ...]) -> None:
        for name, info in model.model_fields.items():
            for kind in (info.annotation, *typing.get_args(info.annotation)):
                if kind is LedgerSettings:
                    found.append("__".join((*path, name)).upper())
                elif isinstance(kind, type) and issubclass(kind, BaseModel):
                    walk(kind, (*path, name))

    walk(app.settings_cls, ())
    return found[0] if found else None


def _unique(items: tuple[Any, ...]) -> tuple[Any, ...]:
    """``items`` without repeats, in order (tolerations are mappings: not hashable)."""
    return tuple(item for i, item in enumerate(items) if item not in items[:i])


def merge_pods(*pods: Pod) -> Pod:
    """Later pod shapes win: maps merged key by key, lists joined (no repeats), other fields replaced."""
    merged = Pod()
    for pod in pods:
        merged = Pod(
            node_selector={**merged.node_selector, **pod.node_selector},
            tolerations=_unique((*merged.tolerations, *pod.tolerations)),
            affinity=pod.affinity if pod.affinity is not None else merged.affinity,
            image_pull_secrets=tuple(dict.fromkeys((*merged.image_pull_secrets, *pod.image_pull_secrets))),
            priority_class=pod.priority_class or merged.priority_class,
            labels={**merged.labels, **pod.labels},
            annotations={**merged.annotations, **pod.annotations},
            service_account=pod.service_account or merged.service_account,
        )
    return merged


def termination_grace(flags: Flags) -> int:
    """The pod's ``terminationGracePeriodSeconds``: what jobframe needs to stop after a SIGTERM
    (cancel grace, teardown budget, exit grace and slack: ``Budget.stop_grace``), from the step's
    own budget flags."""
    return math.ceil(flags.budget.stop_grace(flags.exit_grace))


def _resume_extras(app: App, spec: JobSpec, options: RenderOptions, *, sharded: bool) -> StepExtras:
    """A resumable job's run key (the workflow's uid, plus the shard) and ledger volume.

    Every retry of a step shares the workflow's uid; a new workflow (a new submission, a cron
    run) gets a new one, so nothing resumes by surprise. Shards each get their own key. A fan-out
    never shares one ``ReadWriteOnce`` claim between shard pods running at once (pods on another
    node would wait on Multi-Attach while their deadline runs): its shards keep their ledgers in
    the profile's PostgreSQL store.
    """
    deployment = spec.deployment
    key = "{{workflow.uid}}-{{inputs.parameters.shard}}" if sharded else "{{workflow.uid}}"
    # the fan-out registers every shard's key in one step: {{workflow.uid}}-0 ... -(shards-1)
    register: tuple[str, ...] = ("--run-key", "{{workflow.uid}}")
    if sharded:
        register += ("--shards", "{{inputs.parameters.shards}}")
    if (ledger_prefix := ledger_setting(app)) not in (None, "LEDGER"):
        register += ("--env-prefix", str(ledger_prefix))
    env = dict(deployment.env)
    volume = None if sharded else options.ledger_volume
    if volume is not None:
        prefix = ledger_setting(app)
        if prefix is None:
            raise UsageError(
                f"job {spec.name} is resumable, but the app's settings have no LedgerSettings field "
                "to point at the ledger volume: add `ledger: LedgerSettings` to the settings "
                "(docs/resume.md), or render with --ledger-volume none for a PostgreSQL store"
            )
        env.setdefault(f"{prefix}__PATH", f"{LEDGER_MOUNT}/ledger.sqlite3")
    elif (prefix := ledger_setting(app)) is not None:
        # No volume: a SQLite file would die with the pod and a retry would start over
        env.setdefault(f"{prefix}__STORE", "postgres")
    # Argo sets {{retries}} only in a template with a retryStrategy (executeTemplate in
    # workflow/controller/operator.go); elsewhere it leaves the tag as text, which jobframe would
    # refuse (exit 2). A step never retried has only a first attempt: the default 0.
    attempt = ("--retry-number", "{{retries}}") if deployment.retry.limit else ()
    # the register step runs before any attempt, so an attempt that finds no record of its key
    # (an `argo retry` restarts the step at retry 0) knows the ledger is not the one it began with
    return StepExtras(
        args=(*deployment.args, "--run-key", key, "--registered", *attempt),
        env=env,
        volumes=deployment.volumes,
        ledger_volume=volume,
        register=register,
        ledger_prefix=ledger_prefix,
    )


def plan_step(app: App, spec: JobSpec, options: RenderOptions, *, sharded: bool = False) -> StepPlan:
    """The step of ``spec``: a whole run, or with ``sharded`` one shard of the fan-out."""
    deployment = spec.deployment
    if deployment.resumable:
        extras = _resume_extras(app, spec, options, sharded=sharded)
    else:
        extras = StepExtras(args=deployment.args, env=dict(deployment.env), volumes=deployment.volumes)
    inputs = param_inputs(spec)
    timeout = math.ceil(deployment.timeout)
    args = [
        "--job-name",
        spec.name,
        "--env",
        options.profile,
        "--timeout",
        str(timeout),
        "--output",
        OUTPUT_PATH,
    ]
    if options.secrets_as == "dir":
        args += ["--secrets-dir", options.secrets_dir]
    if sharded:
        args += ["--shard", "{{inputs.parameters.shard}}/{{inputs.parameters.shards}}"]
    args += extras.args
    args += _param_args(spec, inputs)
    flags = parse_flags(extras.args)  # the job's own budget flags decide the grace period
    retry = deployment.retry
    # A resumable step's retry continues through the ledger, so a pod lost before or while its
    # main container ran (lastRetry.exitCode "-1") is retried too; any other job's is not.
    retried = (*retry.on, INFRASTRUCTURE) if deployment.resumable else retry.on
    return StepPlan(
        spec=spec,
        name=k8s_name(spec.name),
        inputs=inputs,
        args=tuple(args),
        timeout=timeout,
        active_deadline=timeout + options.pod_start,
        pod=merge_pods(options.pod, deployment.pod, options.job_pods.get(spec.name, Pod())),
        retry_expression=expression_for(retried) if retry.limit else None,
        termination_grace=termination_grace(flags),
        secrets=secret_settings(app),
        extras=extras,
        options=options,
    )
