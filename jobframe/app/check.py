"""``--check``: prove every job's dependency graph can be built, without building it.

Nothing is called: for each provider reachable from a job, the callable's signature is compared
with the arguments the provider injects, and every ``Dependency`` must be satisfied. So a missing
argument or an unset dependency is found in CI or at deploy time instead of at 2 a.m., and no
resource opens a connection while checking.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from dependency_injector import containers, providers

from jobframe.app import App
from jobframe.app.graph import CALLING, iter_providers

__all__ = ["check_container"]


def _signature(target: Any) -> inspect.Signature | None:
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None  # builtins and C types without a signature: nothing to compare


def _describe(target: Any) -> str:
    return getattr(target, "__qualname__", None) or repr(target)


def _call_problems(provider: Any) -> Iterator[str]:
    target = provider.provides
    sig = _signature(target)
    if sig is None:
        return
    args, kwargs = list(provider.args), dict(provider.kwargs)
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        yield f"{_describe(target)}: {exc}"


def _walk(provider: Any, seen: set[int]) -> Iterator[Any]:
    if id(provider) in seen:
        return
    seen.add(id(provider))
    yield provider
    if provider.overridden:
        yield from _walk(provider.last_overriding, seen)
        return
    for related in provider.related:
        yield from _walk(related, seen)


def _problems_for(root: Any, names: dict[int, str]) -> Iterator[str]:
    for provider in _walk(root, set()):
        name = names.get(id(provider), type(provider).__name__)
        if isinstance(provider, providers.Dependency) and not provider.overridden:
            if provider.last_overriding is None and getattr(provider, "default", None) is None:
                yield f"{name}: dependency is not provided"
        elif isinstance(provider, CALLING) and not provider.overridden:
            for problem in _call_problems(provider):
                yield f"{name}: {problem}"


def check_container(app: App, container: containers.Container) -> dict[str, list[str]]:
    """Problems per job name (an empty dict means every job can be built)."""
    names = {id(provider): name for name, provider in iter_providers(container)}
    problems: dict[str, list[str]] = {}
    for job_name, entry in app.jobs.items():
        found = list(dict.fromkeys(_problems_for(getattr(container, entry.provider_name), names)))
        if found:
            problems[job_name] = found
    return problems
