"""Discover the jobs an app's main container exposes, and pick one by name.

An app is a ``DeclarativeContainer`` class — the equivalent of a Dagger component. Each job is a
``Factory`` provider of a job class on it (``send_push = providers.Factory(SendPush, braze=...)``),
the way a component exposes ``someJob()``. Two kinds of ``Dependency`` provider are filled by
jobframe for every run, recognised by their ``instance_of``: a :class:`~jobframe.Settings`
subclass (loaded from the profiles) and :class:`~jobframe.RunContext`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

from dependency_injector import containers, providers

from jobframe._app import graph
from jobframe._app.spec import JobSpec, is_job_class, spec_for
from jobframe.context import RunContext
from jobframe.errors import ConfigurationError, UsageError
from jobframe.observe.observer import Observer
from jobframe.settings import Settings

__all__ = ["NO_JOBS", "App", "JobEntry"]

NO_JOBS = (
    "a job is a class with an execute() method, exposed as providers.Factory(TheJob, ...) "
    "on the main container itself (a Factory inside a nested module, or a Callable, is not a job)"
)


@dataclass(frozen=True)
class JobEntry:
    """A job as the app exposes it: the provider's attribute name and the job's spec."""

    provider_name: str
    spec: JobSpec


@dataclass(frozen=True)
class App:
    """An app's main container class and what jobframe derived from it."""

    container_cls: type[containers.DeclarativeContainer]
    jobs: dict[str, JobEntry] = field(default_factory=dict)
    settings_provider: str | None = None
    settings_cls: type[Settings] | None = None
    context_provider: str | None = None

    @classmethod
    def from_container(cls, container_cls: type[containers.DeclarativeContainer]) -> App:
        """Discover jobs and framework-filled dependencies on ``container_cls``."""
        if not (
            inspect.isclass(container_cls) and issubclass(container_cls, containers.DeclarativeContainer)
        ):
            raise UsageError(f"{container_cls!r} is not a dependency-injector DeclarativeContainer class")
        jobs: dict[str, JobEntry] = {}
        settings_provider = context_provider = None
        settings_cls: type[Settings] | None = None
        for name, provider in container_cls.providers.items():
            if isinstance(provider, providers.Factory) and is_job_class(provider.cls):
                try:
                    spec = spec_for(provider.cls)
                except TypeError as exc:
                    raise ConfigurationError(f"job provider {name!r}: {exc}") from None
                if spec.name in jobs:
                    raise ConfigurationError(
                        f"two jobs are named {spec.name!r} (providers {jobs[spec.name].provider_name!r} "
                        f"and {name!r}); rename one with @jobframe.job(name=...)"
                    )
                jobs[spec.name] = JobEntry(provider_name=name, spec=spec)
            elif isinstance(provider, providers.Dependency):
                wanted = provider.instance_of
                if inspect.isclass(wanted) and issubclass(wanted, Settings):
                    settings_provider, settings_cls = name, wanted
                elif inspect.isclass(wanted) and issubclass(wanted, RunContext):
                    context_provider = name
        return cls(container_cls, jobs, settings_provider, settings_cls, context_provider)

    def job(self, name: str) -> JobEntry:
        """The job called exactly ``name``; an unknown name is a usage error naming the close matches.

        Names are case-sensitive, like the class names they come from: one job has one spelling
        in every workflow template and log line. A name that differs only in case is suggested.
        """
        if name in self.jobs:
            return self.jobs[name]
        if not self.jobs:
            raise UsageError(
                f"unknown job {name!r}: {self.container_cls.__qualname__} exposes no jobs; {NO_JOBS}"
            )
        import difflib  # noqa: PLC0415 (only for a name that is wrong: not on every run's path)

        same_letters = [n for n in self.jobs if n.lower() == name.lower()]
        close = same_letters or difflib.get_close_matches(name, list(self.jobs), n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        if same_letters:
            hint += " (job names are case-sensitive)"
        raise UsageError(f"unknown job {name!r}{hint}; jobframe --list shows every job")

    def create(self) -> containers.Container:
        """A fresh instance of the app's container; creating it runs code (a ``Configuration``
        loads its ``yaml_files``, a container's own ``__init__``): a failure is one line, 78."""
        try:
            return self.container_cls()
        except Exception as exc:  # noqa: BLE001 - the app's code, reported in one line
            from jobframe._app.loading import where  # noqa: PLC0415 (loading imports this module)

            raise ConfigurationError(
                f"cannot create {self.container_cls.__qualname__}: {where(exc)}"
            ) from None

    def case_clashes(self) -> list[list[str]]:
        """Job names that differ only in case: each runs by its exact name, but a person typing it,
        and Kubernetes (whose names are lower-case: ``jobframe-argo render``), cannot tell them apart."""
        spellings: dict[str, list[str]] = {}
        for job_name in sorted(self.jobs):
            spellings.setdefault(job_name.lower(), []).append(job_name)
        return [names for names in spellings.values() if len(names) > 1]

    def fill(self, container: containers.Container, settings: Settings | None, context: RunContext) -> None:
        """Give the container the run's settings and context (tests may already have overridden them)."""
        if self.settings_provider is not None and settings is not None:
            provider = getattr(container, self.settings_provider)
            if not provider.overridden:
                provider.override(providers.Object(settings))
        if self.context_provider is not None:
            getattr(container, self.context_provider).override(providers.Object(context))
        # every module that counts for the run (BrazeModule.observer) reports to the run's observer,
        # unless the app wired one itself: modules report without the app writing a line for it
        graph.fill(container, {Observer: context.observer})
