"""Normalise a job class into a :class:`JobSpec`: its name, description, params model and mode.

A job is any class with an ``execute`` method. Everything jobframe needs to know about it is read
from the class itself — the name from the class (or ``@job(name=...)``), the description from the
docstring, the parameter model from ``execute``'s annotation — so one definition is the truth.
How it is deployed (deadline per attempt, retries, resources, schedule, sharding) is declared
on the class too, with ``@job(...)`` (:mod:`jobframe._app.deployment`).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from jobframe._app.deployment import Deployment, Pod, PodResources, Retry, Sync, Volume
from jobframe.deadline import Budget

__all__ = ["JobSpec", "job", "spec_for"]

T = TypeVar("T", bound=type)

_META = "__jobframe_job__"


@dataclass(frozen=True)
class _JobOptions:
    name: str | None = None
    min_seconds: float = 0.0
    deployment: Deployment = field(default_factory=Deployment)


def job(
    *,
    name: str | None = None,
    min_seconds: float = 0.0,
    timeout: float = Deployment.timeout,
    retry: Retry = Deployment.retry,
    resources: PodResources = Deployment.resources,
    schedule: str | None = None,
    timezone: str | None = None,
    starting_deadline: int | None = Deployment.starting_deadline,
    shardable: bool = False,
    resumable: bool = False,
    shards: int = Deployment.shards,
    parallelism: int | None = None,
    env: dict[str, str] | None = None,
    volumes: tuple[Volume, ...] = (),
    args: tuple[str, ...] = (),
    pod: Pod = Deployment.pod,
    sync: Sync | None = None,
) -> Callable[[T], T]:
    """Optional class decorator for what the class cannot say by itself.

    ``name`` replaces the class name on the command line; ``min_seconds`` is the least time the
    job needs: starting with less left before the deadline logs ``deadline.short``. The rest is
    how the job is deployed (:class:`~jobframe._app.deployment.Deployment`): ``timeout`` seconds
    per attempt, ``retry`` (:class:`~jobframe.Retry`), ``resources``, a cron ``schedule``,
    ``shardable`` (it reads ``RunContext.shard``) with the fan-out's default ``shards`` and
    ``parallelism``, ``resumable`` (a retry continues through the run ledger), extra ``env``,
    ``volumes`` and jobframe ``args``; ``pod`` (:class:`~jobframe.Pod`: node selector,
    tolerations, service account...) and ``sync`` (:class:`~jobframe.Sync`: an Argo semaphore or
    mutex shared with other workflows); ``starting_deadline`` for a schedule. Inconsistent
    values fail here, when the app is imported, not on the cluster.
    """
    deployment = Deployment(
        timeout=timeout,
        retry=retry,
        resources=resources,
        schedule=schedule,
        timezone=timezone,
        starting_deadline=starting_deadline,
        shardable=shardable,
        resumable=resumable,
        shards=shards,
        parallelism=parallelism,
        env=env or {},
        volumes=volumes,
        args=args,
        pod=pod,
        sync=sync,
    )
    if min_seconds < 0:
        raise ValueError(f"min_seconds must be >= 0, got {min_seconds!r}")
    needs = Budget().attempt_needs(min_seconds)
    if timeout < needs:
        raise ValueError(
            f"timeout {timeout:g} s is less than an attempt needs: {needs:g} s "
            f"(min_seconds {min_seconds:g} + deadline margin + teardown budget)"
        )

    def mark(cls: T) -> T:
        setattr(cls, _META, _JobOptions(name=name, min_seconds=min_seconds, deployment=deployment))
        return cls

    return mark


@dataclass(frozen=True)
class JobSpec:
    """Everything jobframe knows about one job, derived from its class."""

    name: str
    cls: type
    description: str
    params_model: type[BaseModel] | None
    is_async: bool
    min_seconds: float
    deployment: Deployment = field(default_factory=Deployment)


def is_job_class(obj: object) -> bool:
    """Whether ``obj`` looks like a job: a class with a callable ``execute``."""
    return inspect.isclass(obj) and callable(getattr(obj, "execute", None))


def _params_model(cls: type) -> type[BaseModel] | None:
    execute = cls.execute  # type: ignore[attr-defined]
    params = list(inspect.signature(execute).parameters.values())[1:]  # drop self
    if not params:
        return None
    if len(params) > 1:
        raise TypeError(f"{cls.__qualname__}.execute takes at most one argument (the params model)")
    try:
        hints = typing.get_type_hints(execute)
    except Exception as exc:  # noqa: BLE001 - a bad annotation is reported, not crashed on
        raise TypeError(f"{cls.__qualname__}.execute: cannot resolve annotations: {exc}") from None
    model = hints.get(params[0].name)
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        raise TypeError(
            f"{cls.__qualname__}.execute({params[0].name}) must be annotated with a pydantic BaseModel"
        )
    return model


def spec_for(cls: type) -> JobSpec:
    """Build the :class:`JobSpec` of a job class; raises ``TypeError`` naming what is wrong."""
    if not is_job_class(cls):
        raise TypeError(f"{cls!r} is not a job: it needs an execute() method")
    options: _JobOptions = getattr(cls, _META, _JobOptions())
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")  # own docstring only, never a base's
    return JobSpec(
        name=options.name or cls.__name__,
        cls=cls,
        description=doc.splitlines()[0] if doc else "",
        params_model=_params_model(cls),
        is_async=inspect.iscoroutinefunction(cls.execute),  # type: ignore[attr-defined]
        min_seconds=options.min_seconds,
        deployment=options.deployment,
    )


def call_execute(instance: Any, params: BaseModel | None) -> Any:
    """Call ``execute`` with or without the params model, as its signature asks."""
    return instance.execute() if params is None else instance.execute(params)
