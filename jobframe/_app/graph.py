"""Walk a container's provider graph and name every provider in it.

Teardown needs every ``Resource`` (to instrument it) and ``--check`` and the logs need a readable
name for each provider; both use :func:`iter_providers`, so a provider has one name everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dependency_injector import containers, providers

__all__ = ["CALLING", "iter_providers"]

CALLING = (providers.Factory, providers.BaseSingleton, providers.Resource, providers.Callable)
"""Providers that call their ``provides`` with ``args``/``kwargs``."""


def iter_providers(container: containers.Container) -> Iterator[tuple[str, Any]]:
    """Yield ``(name, provider)`` for every provider reachable from ``container``, each once.

    Container attributes (nested containers included) are named by their dotted path first; a
    provider declared inline (``Factory(Job, client=Resource(...))``) is named after where it is
    injected (``job.client``), and an override after what it overrides.
    """
    named = dict(_attributes(container))
    seen: set[int] = set()
    for path, provider in named.items():
        yield from _reachable(path, provider, seen)


def _attributes(container: containers.Container, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, provider in container.providers.items():
        yield f"{prefix}{name}", provider
        if isinstance(provider, providers.Container):
            yield from _attributes(provider.container, prefix=f"{prefix}{name}.")


def _reachable(path: str, provider: Any, seen: set[int]) -> Iterator[tuple[str, Any]]:
    if id(provider) in seen:
        return
    seen.add(id(provider))
    yield path, provider
    if isinstance(provider, providers.Container):
        return  # its providers are named by _attributes, with their dotted paths
    for index, overriding in enumerate(getattr(provider, "overridden", ())):
        yield from _reachable(f"{path}[override {index}]", overriding, seen)
    injected: list[tuple[str, Any]]
    if isinstance(provider, CALLING):
        injected = [(f"{path}[{i}]", a) for i, a in enumerate(provider.args)]
        injected += [(f"{path}.{k}", v) for k, v in provider.kwargs.items()]
    else:
        # Never read .args/.kwargs on other providers: on ``x.provided`` those are attribute
        # lookups that mint new providers without end. ``related`` is DI's own traversal.
        injected = [(path, related) for related in provider.related]
    for sub_path, value in injected:
        if providers.is_provider(value) and not isinstance(value, providers.Container):
            yield from _reachable(sub_path, value, seen)
