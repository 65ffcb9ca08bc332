"""The one walker of a container: every provider once, one name each, classes walked without building."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import containers, providers

from jobframe._app import graph

BUILT: list[str] = []


class Boom:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        BUILT.append(type(self).__name__)
        raise AssertionError("walking a graph must never build anything")


def opened(**kwargs: Any) -> Iterator[str]:
    BUILT.append("resource")
    yield "resource"


class Marker:
    """What ``fill`` hands to every ``Dependency(instance_of=Marker)``."""


class Module(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=dict)
    marker = providers.Dependency(instance_of=Marker)
    client = providers.Resource(opened, timeout=settings.provided["timeout"])


class Main(containers.DeclarativeContainer):
    settings = providers.Object({"timeout": 3})
    module = providers.Container(Module, settings=settings)
    shared = providers.Singleton(Boom)
    job = providers.Factory(
        Boom, providers.Callable(Boom, shared), client=providers.Resource(opened), again=shared
    )


@pytest.fixture(autouse=True)
def nothing_built() -> Iterator[None]:
    BUILT.clear()
    yield
    assert BUILT == []


def paths(container: Any) -> list[tuple[str, str, int]]:
    return [(n.path, type(n.provider).__name__, n.override_depth) for n in graph.walk(container)]


def test_declared_providers_by_dotted_path_each_followed_by_what_it_injects() -> None:
    found = paths(Main())
    assert [p for p, _, _ in found] == [
        "settings",
        "module",
        "module.settings",
        "module.marker",
        "module.client",
        "module.client.timeout",  # settings.provided["timeout"]: the item getter...
        "module.client.timeout",  # ...and the provided instance it reads from
        "shared",
        "job",
        "job[0]",
        "job.client",
    ]
    declared = [p for p, _ in graph.declared(Main())]
    assert declared == [
        "settings",
        "module",
        "module.settings",
        "module.marker",
        "module.client",
        "shared",
        "job",
    ]
    assert ("job[0]", "Callable", 0) in found
    assert ("job.client", "Resource", 0) in found


def test_every_provider_is_yielded_once_under_its_first_name() -> None:
    nodes = list(graph.walk(Main()))
    assert len({id(n.provider) for n in nodes}) == len(nodes)
    # ``shared`` is injected twice (into job[0] and as job.again): it keeps its declared name
    assert [n.path for n in nodes if isinstance(n.provider, providers.Singleton)] == ["shared"]


def test_an_override_is_named_after_what_it_replaces_with_its_depth() -> None:
    container = Main()
    fake = providers.Resource(opened, inner=providers.Factory(dict))
    faker = providers.Resource(opened)
    container.job.kwargs["client"].override(fake)
    fake.override(faker)
    found = paths(container)
    assert ("job.client", "Resource", 0) in found
    assert ("job.client", "Resource", 1) in found
    assert ("job.client", "Resource", 2) in found
    assert ("job.client.inner", "Factory", 1) in found  # what an override injects is as deep as it
    assert not any("override" in path for path, _, _ in found)
    assert graph.names(container)[id(faker)] == "job.client"


def test_a_class_walks_like_an_instance_without_building_or_instantiating_it() -> None:
    before = set(vars(Main))
    assert [(p, kind) for p, kind, _ in paths(Main)] == [(p, kind) for p, kind, _ in paths(Main())]
    assert set(vars(Main)) == before


def test_provided_chains_end_the_walk() -> None:
    # ``.provided`` mints a new provider for every attribute read: a walk reading .args/.kwargs
    # on it would never end
    class WithChain(containers.DeclarativeContainer):
        settings = providers.Object({"a": {"b": 1}})
        job = providers.Factory(dict, b=settings.provided["a"]["b"], c=settings.provided.a.b.c)

    found = paths(WithChain())
    assert len(found) < 20
    assert [p for p, _, _ in found].count("job.c") >= 1


def test_reached_follows_the_newest_override_not_the_original() -> None:
    container = Main()
    replacement = providers.Object("stub")
    container.job.override(replacement)
    assert list(graph.reached(container.job)) == [container.job, replacement]
    container.job.reset_last_overriding()
    reached = list(graph.reached(container.job))
    assert reached[0] is container.job
    assert container.shared in reached and container.job.kwargs["client"] in reached


@pytest.mark.parametrize("path", ["module__client", "module.client"])
def test_resolve_reaches_into_modules(path: str) -> None:
    container = Main()
    assert graph.resolve(container, path) is container.module.client


def test_resolve_names_what_exists_when_a_part_is_missing() -> None:
    with pytest.raises(
        KeyError, match=r"module has no provider 'clinet' \(it has: client, marker, settings\)"
    ):
        graph.resolve(Main(), "module__clinet")
    with pytest.raises(KeyError, match="Main has no provider 'nope'"):
        graph.resolve(Main, "nope")


def test_modules_of_finds_the_providers_nesting_a_module() -> None:
    assert graph.modules_of(Main(), Module) == ["module"]
    assert graph.modules_of(Main, Module) == ["module"]
    assert graph.modules_of(Main(), Main) == []


def test_fill_gives_every_unfilled_dependency_of_the_type_its_value() -> None:
    container, marker = Main(), Marker()
    graph.fill(container, {Marker: marker})
    assert container.module.marker() is marker
    assert container.module.settings() == {"timeout": 3}  # filled by the app's wiring: left alone


def test_fill_leaves_a_dependency_the_app_or_a_test_already_filled() -> None:
    container, mine = Main(), Marker()
    container.module.marker.override(providers.Object(mine))
    graph.fill(container, {Marker: Marker()})
    assert container.module.marker() is mine
    assert len(container.module.marker.overridden) == 1
