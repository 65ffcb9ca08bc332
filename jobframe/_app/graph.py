"""The one walker of a container's provider graph: every provider, with one name everywhere.

Teardown instruments every ``Resource`` it finds, ``--check`` follows what building a job
reaches, a run fills the ``Dependency`` providers jobframe owns, and the testing toolkit resolves
``braze__client``, finds modules and watches a container class for overrides. All of them walk
here, so a provider has one name in a log line, a ``--check`` problem and a test's assertion.

A container instance and a ``DeclarativeContainer`` class walk alike; walking a class never
instantiates it. A provider declared inline (``Factory(Job, client=Resource(...))``) is named after
where it is injected (``job.client``); an override is named after what it overrides, with its
depth as a field, so swapping a client for a fake in a test does not rename it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from dependency_injector import containers, providers

from jobframe._value import Value

__all__ = ["CALLING", "Node", "declared", "fill", "modules_of", "names", "reached", "resolve", "walk"]

CALLING = (providers.Factory, providers.BaseSingleton, providers.BaseResource, providers.Callable)
"""Providers that call their ``provides`` with ``args``/``kwargs``."""

ContainerLike = containers.Container | type[containers.DeclarativeContainer]
"""A container instance, or a declarative container class (walked without instantiating it)."""


class Node(Value):
    """One provider of the graph: where it is (``braze.client``, ``job.client``) and what it is."""

    __slots__ = ("path", "provider", "override_depth")  # noqa: RUF023 - the constructor's order
    path: str
    provider: Any
    override_depth: int
    """0 for a provider the app declares; 1 for an override of one, 2 for an override of that..."""

    def __init__(self, path: str, provider: Any, override_depth: int = 0) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "provider", provider)
        object.__setattr__(self, "override_depth", override_depth)


def declared(container: ContainerLike, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, provider)`` for every provider declared as an attribute, nested modules too."""
    for name, provider in container.providers.items():
        yield f"{prefix}{name}", provider
        if isinstance(provider, providers.Container):
            yield from declared(provider.container, prefix=f"{prefix}{name}.")


def walk(container: ContainerLike) -> Iterator[Node]:
    """Every provider reachable from ``container``, each once: each declared provider by its dotted
    path, followed by what overrides it and what it injects (named after where it is injected)."""
    seen: set[int] = set()
    for path, provider in list(declared(container)):
        yield from _reachable(path, provider, 0, seen)


def _reachable(path: str, provider: Any, depth: int, seen: set[int]) -> Iterator[Node]:
    if id(provider) in seen:
        return
    seen.add(id(provider))
    yield Node(path, provider, depth)
    if isinstance(provider, providers.Container):
        return  # its providers are named by declared(), with their dotted paths
    for overriding in getattr(provider, "overridden", ()):
        yield from _reachable(path, overriding, depth + 1, seen)
    for sub_path, value in _injected(path, provider):
        if providers.is_provider(value) and not isinstance(value, providers.Container):
            yield from _reachable(sub_path, value, depth, seen)


def _injected(path: str, provider: Any) -> list[tuple[str, Any]]:
    if isinstance(provider, CALLING):
        injected = [(f"{path}[{i}]", a) for i, a in enumerate(provider.args)]
        return injected + [(f"{path}.{k}", v) for k, v in provider.kwargs.items()]
    if isinstance(provider, providers.DependenciesContainer):  # each dependency by its own name
        return [(f"{path}.{k}", v) for k, v in provider.providers.items()]  # overrides: _reachable
    # Never read .args/.kwargs on other providers: on ``x.provided`` those are attribute lookups
    # that mint new providers without end. ``related`` is dependency-injector's own traversal.
    return [(path, related) for related in provider.related]


def names(container: ContainerLike) -> dict[int, str]:
    """The name of every provider of ``container``, by ``id``: a declared provider by its
    declaration, even when another provider injects it (and so reaches it) first."""
    found: dict[int, str] = {}
    for path, provider in declared(container):
        found.setdefault(id(provider), path)
    for node in walk(container):
        found.setdefault(id(node.provider), node.path)
    return found


def reached(provider: Any, follow: Callable[[Any], list[Any] | None] | None = None) -> Iterator[Any]:
    """What building ``provider`` now would touch, each once: through its newest override when it
    has one (the original is then never called), else through what it injects — or what
    ``follow`` says a provider leads to instead (a ``Selector``'s one chosen branch)."""
    seen: set[int] = set()
    stack = [provider]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if current.overridden:
            following = [current.last_overriding]
        else:
            chosen = follow(current) if follow is not None else None
            following = list(current.related) if chosen is None else chosen
        stack.extend(reversed(following))


def resolve(container: ContainerLike, path: str) -> Any:
    """The provider at ``path`` (``"braze__client"`` or ``"braze.client"``); errors list what exists."""
    node: Any = container
    walked: list[str] = []
    for part in path.replace(".", "__").split("__"):
        owner = node.container if isinstance(node, providers.Container) else node
        available = getattr(owner, "providers", None)
        if not isinstance(available, Mapping) or part not in available:
            where = ".".join(walked) or _type_name(container)
            known = ", ".join(sorted(available or ())) or "nothing"
            raise KeyError(f"cannot override {path!r}: {where} has no provider {part!r} (it has: {known})")
        node = available[part]
        walked.append(part)
    return node


def _type_name(container: ContainerLike) -> str:
    return container.__name__ if isinstance(container, type) else type(container).__name__


def modules_of(container: ContainerLike, module: type[containers.DeclarativeContainer]) -> list[str]:
    """Names of the providers of ``container`` that nest ``module`` (``["network"]``)."""
    found = []
    for name, provider in container.providers.items():
        if isinstance(provider, providers.Container):
            parent = getattr(provider.container, "declarative_parent", None)
            if isinstance(parent, type) and issubclass(parent, module):
                found.append(name)
    return found


def fill(container: containers.Container, values: Mapping[type, Any]) -> None:
    """Give every ``Dependency(instance_of=T)`` of ``container`` (nested modules too) ``values[T]``,
    unless something (the app's wiring, a test) already filled it."""
    for _, provider in list(declared(container)):
        if (
            isinstance(provider, providers.Dependency)
            and provider.instance_of in values
            and not provider.overridden
        ):
            provider.override(providers.Object(values[provider.instance_of]))
