"""``--check`` against the build: almost-right wirings, each checked and then really built and run.

The promise (README, "--check: what it proves"): a wiring ``--check`` calls ok is one a run can
build and use. Each case below is a user's container with one mistake of a kind the declaration
already shows — a ``resources.Resource`` whose ``init`` needs an argument nobody gives, a circular
dependency, an ``Object``/``List``/``Dict`` of the wrong type, a module's typed ``Dependency``
given the wrong thing, a settings path through a section this profile leaves unset. Each is
checked, then built and executed in-process: the check must find exactly the wirings whose build
or first use fails, and the good twins must check clean and run.
"""

from __future__ import annotations

import collections
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, Protocol, runtime_checkable
from unittest.mock import MagicMock

import pytest
from dependency_injector import containers, providers
from dependency_injector.wiring import DIWiringWarning, Provide, inject

from jobframe._app import App
from jobframe._app.check import check_container
from jobframe.context import RunContext
from tests.app.apps import annotated_marker
from tests.app.apps.annotated_marker import CountAnnotated
from tests.app.apps.probes import Extra, Other, ProbeSettings, Store, StoreResource, StoreSettings, lifetime

P = "tests.app.apps.probes"


class Count:
    """Count the store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def execute(self) -> int:
        return self.store.count()


class CountWith(Count):
    """Count the store, knowing the class of store it is."""

    def __init__(self, store: Store, kind: type[Store]) -> None:
        super().__init__(store)
        self.kind = kind


class CountLater:
    """Count a store made when the job runs."""

    def __init__(self, make: Callable[[], Store]) -> None:
        self.make = make

    def execute(self) -> int:
        return self.make().count()


class CountInjected(Count):
    """Count the store ``@inject`` hands over."""

    @inject
    def __init__(self, store: Store = Provide["store"]) -> None:
        super().__init__(store)


def _injected(store: Any) -> dict[str, Any]:
    return {
        "store": store,
        "count": providers.Factory(CountInjected),
        "wiring_config": containers.WiringConfiguration(modules=[__name__]),
    }


class NeedsStore(containers.DeclarativeContainer):
    """A module with a typed dependency, as a user writes a reusable one."""

    store = providers.Dependency(instance_of=Store)
    count = providers.Factory(Count, store=store)


class Node(Store):
    def __init__(self, nxt: Any) -> None:
        super().__init__()
        self.nxt = nxt


class CountMore(Count):
    """Count the store, and more."""

    def __init__(self, store: Store, more: int) -> None:
        super().__init__(store)
        self.more = more

    def execute(self) -> int:
        return self.store.count() + self.more


class CountAll:
    """Count every store given, positionally or by name."""

    def __init__(self, *stores: Store, **named: Store) -> None:
        self.stores = [*stores, *named.values()]

    def execute(self) -> int:
        return sum(store.count() for store in self.stores)


class CountLabelled(Count):
    """Count the store; a label is optional by design."""

    def __init__(self, store: Store, label: str | None) -> None:
        super().__init__(store)
        self.label = label


class CountTagged(Count):
    """Count the store; ``tag: str = None``, an implicit Optional as older code writes it."""

    def __init__(self, store: Store, tag: str = None) -> None:  # type: ignore[assignment]  # noqa: RUF013
        super().__init__(store)
        self.tag = tag


class Shelf:
    """A plain object an ``Object`` holds: its attributes are set when it is made."""

    def __init__(self) -> None:
        self.root = "/srv"

    def path_for(self, name: str) -> str:
        return f"{self.root}/{name}"


class AnyShelf:
    """An object that answers any attribute itself (``__getattr__``): only calling it could tell."""

    def __getattr__(self, name: str) -> str:
        return f"/srv/{name}"


class Remote(Mapping[str, str]):
    """An object an ``Object`` holds whose property and item lookups are the app's code (a lazy
    connection, say): a build calls them, the check never does."""

    calls: ClassVar[list[str]] = []

    @property
    def catalog(self) -> dict[str, str]:
        self.calls.append("catalog")
        return {"main": "/srv"}

    def __getitem__(self, key: str) -> str:
        self.calls.append(f"[{key!r}]")
        return "/srv"

    def __iter__(self) -> Iterator[str]:
        self.calls.append("iter")
        return iter(["main"])

    def __len__(self) -> int:
        self.calls.append("len")
        return 1


class Countable(Protocol):
    def count(self) -> int: ...


@runtime_checkable
class CountableAtRunTime(Protocol):
    def count(self) -> int: ...


class NeedsCountable(containers.DeclarativeContainer):
    """A module typing its dependency with a Protocol: dependency-injector checks it by isinstance."""

    store = providers.Dependency(instance_of=Countable)
    count = providers.Factory(Count, store=store)


class NeedsCountableAtRunTime(NeedsCountable):
    store = providers.Dependency(instance_of=CountableAtRunTime)
    count = providers.Factory(Count, store=store)


class CountAny:
    """Count whatever counts (a Protocol: structural)."""

    def __init__(self, store: Countable) -> None:
        self.store = store

    def execute(self) -> int:
        return self.store.count()


with warnings.catch_warnings():  # "@inject is not required here": it sees no marker, as said below
    warnings.simplefilter("ignore", DIWiringWarning)

    class CountAnnotatedString(Count):
        """An ``Annotated`` marker in a string annotation (this module's ``from __future__ import
        annotations``): dependency-injector never sees it, and ``store`` is a missing argument."""

        @inject
        def __init__(self, store: Annotated[Store, Provide["store"]]) -> None:
            super().__init__(store)


class CountAggregate:
    """Count a store the aggregate makes."""

    def __init__(self, stores: providers.FactoryAggregate[Store]) -> None:
        self.stores = stores

    def execute(self) -> int:
        return self.stores.disk().count()


class NeedsPathValue(containers.DeclarativeContainer):
    """A module with a typed dependency on a builtin value."""

    path = providers.Dependency(instance_of=str)
    store = providers.Factory(Store, path=path)


class PathsOf(containers.DeclarativeContainer):
    """A module declaring its ``DependenciesContainer``'s dependencies with their types."""

    paths = providers.DependenciesContainer(path=providers.Dependency(instance_of=str))
    store = providers.Factory(Store, path=paths.path)


class NumberedPaths(containers.DeclarativeContainer):
    path = providers.Object(5)


Wiring = Callable[[Any], dict[str, Any]]
"""Given the ``settings`` provider, the container's other providers; ``count`` is the job."""


def _circular(settings: Any) -> dict[str, Any]:
    first = providers.Factory(Node)
    second = providers.Singleton(Node, nxt=first)
    first.add_kwargs(nxt=second)
    return {"first": first, "count": providers.Factory(Count, store=second)}


def _circular_through_provided(settings: Any) -> dict[str, Any]:
    store = providers.Factory(Store)
    count = providers.Factory(Count, store=store)
    store.add_kwargs(path=count.provided.store.path)
    return {"store": store, "count": count}


def _delegated(settings: Any) -> dict[str, Any]:
    """Not a cycle: a provider given as a provider (``.provider``) is not built with its user."""
    first = providers.Factory(Node)
    first.add_kwargs(nxt=first.provider)
    return {"first": first, "count": providers.Factory(Count, store=first)}


class NeedsPath(containers.DeclarativeContainer):
    """A module whose dependencies come as one container (``DependenciesContainer``)."""

    paths = providers.DependenciesContainer()
    store = providers.Factory(Store, path=paths.path)


class Paths(containers.DeclarativeContainer):
    pth = providers.Object("/srv")


def _paths(paths: type[containers.DeclarativeContainer]) -> dict[str, Any]:
    module = providers.Container(NeedsPath, paths=providers.Container(paths))
    return {"mod": module, "count": providers.Factory(Count, store=module.store)}


def _with_store(count: Any, module: str = __name__) -> dict[str, Any]:
    return {
        "store": providers.Factory(Store),
        "count": count,
        "wiring_config": containers.WiringConfiguration(modules=[module]),
    }


def _more(more: Any) -> dict[str, Any]:
    return {"count": providers.Factory(CountMore, store=providers.Factory(Store), more=more)}


def _path_module(path: Any) -> dict[str, Any]:
    module = providers.Container(NeedsPathValue, path=path)
    return {"mod": module, "count": providers.Factory(Count, store=module.store)}


def _module(store: Any) -> dict[str, Any]:
    module = providers.Container(NeedsStore, store=store)
    return {"mod": module, "count": module.count}


BAD: dict[str, tuple[Wiring, str | list[str]]] = {
    "resource init needs an argument": (
        lambda s: {"count": providers.Factory(Count, store=providers.Resource(StoreResource))},
        "count.store: StoreResource.init: missing a required argument: 'dsn'",
    ),
    "resource init given an unknown keyword": (
        lambda s: {"count": providers.Factory(Count, store=providers.Resource(StoreResource, dns="x"))},
        [
            "count.store: StoreResource.init() got an unexpected keyword 'dns' (did you mean 'dsn'?); "
            "it takes: dsn",
            "count.store: StoreResource.init: missing a required argument: 'dsn'",
        ],
    ),
    "resource init given the wrong type": (
        lambda s: {
            "count": providers.Factory(
                Count, store=providers.Resource(StoreResource, providers.Factory(Other))
            )
        },
        f"count.store: StoreResource.init(dsn: str) is given count.store[0], which provides {P}.Other",
    ),
    "circular": (_circular, "first.nxt: circular dependency: first.nxt -> first -> first.nxt"),
    "circular through .provided": (
        _circular_through_provided,
        "count: circular dependency: count -> store -> count",
    ),
    "Object of the wrong type": (
        lambda s: {"count": providers.Factory(Count, store=providers.Object(Other()))},
        f"count: Count(store: {P}.Store) is given count.store, which provides {P}.Other",
    ),
    "List where one object is wanted": (
        lambda s: {"count": providers.Factory(Count, store=providers.List(providers.Factory(Store)))},
        f"count: Count(store: {P}.Store) is given count.store, which provides list",
    ),
    "Dict where one object is wanted": (
        lambda s: {"count": providers.Factory(Count, store=providers.Dict(a=providers.Factory(Store)))},
        f"count: Count(store: {P}.Store) is given count.store, which provides dict",
    ),
    "typed module dependency given an Object of the wrong type": (
        lambda s: _module(providers.Object(Other())),
        f"mod.store: Dependency(instance_of={P}.Store) is given Object, which provides {P}.Other",
    ),
    "typed module dependency given a Factory of the wrong class": (
        lambda s: _module(providers.Factory(Other)),
        f"mod.store: Dependency(instance_of={P}.Store) is given Factory, which provides {P}.Other",
    ),
    "typed dependency whose default is of the wrong class": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.Dependency(instance_of=Store, default=Other()))
        },
        f"count.store: Dependency(instance_of={P}.Store) has the default Object, which provides {P}.Other",
    ),
    "DependenciesContainer given a container without a dependency": (
        lambda s: _paths(Paths),
        "mod.paths.path: dependency is not provided (mod.paths is given a container without 'path' "
        "(did you mean 'pth'?); it has: pth)",
    ),
    "Selector whose chosen branch is of the wrong type": (
        lambda s: {
            "count": providers.Factory(
                Count,
                store=providers.Selector(
                    s.provided.store.path,
                    **{"/tmp": providers.Factory(Other), "/srv": providers.Factory(Store)},
                ),
            )
        },
        f"count: Count(store: {P}.Store) is given count.store, which provides {P}.Other",
    ),
    "a provider (.provider) where what it provides is wanted": (
        lambda s: {"count": providers.Factory(Count, store=providers.Factory(Store).provider)},
        f"count: Count(store: {P}.Store) is given count.store, which provides "
        "dependency_injector.providers.Factory",
    ),
    "a class where an instance is wanted": (
        lambda s: {"count": providers.Factory(Count, store=Store)},
        f"count: Count(store: {P}.Store) is given the class {P}.Store itself, not an instance: "
        "inject providers.Factory(Store) (or a Singleton)",
    ),
    "@inject marker given the wrong type": (
        lambda s: _injected(providers.Factory(Other)),
        f"count: CountInjected(store: {P}.Store) is given store, which provides {P}.Other",
    ),
    "Configuration value of a builtin type the annotation does not take": (
        lambda s: _more(providers.Configuration(default={"more": "41"}).more),
        "count: CountMore(more: int) is given config.more, which holds a value of type str",
    ),
    "Configuration value as_int() cannot convert": (
        lambda s: _more(providers.Configuration(default={"more": "forty"}).more.as_int()),
        "config.more.as_int(): config.more holds a str that int() cannot convert",
    ),
    "undefined Configuration option through as_int()": (
        lambda s: _more(providers.Configuration(default={"mroe": "41"}).more.as_int()),
        "config.more: undefined configuration option (jobframe loads settings into the app's Settings "
        "model, never into a providers.Configuration: use settings.provided...)",
    ),
    "typed module dependency given a builtin value of the wrong type": (
        lambda s: _path_module(providers.Object(5)),
        "mod.path: Dependency(instance_of=str) is given Object, which provides int",
    ),
    "typed DependenciesContainer dependency given a builtin value of the wrong type": (
        lambda s: {
            "src": providers.Container(NumberedPaths),
            "mod": (module := providers.Container(PathsOf, paths=providers.Container(NumberedPaths))),
            "count": providers.Factory(Count, store=module.store),
        },
        "mod.paths.path: Dependency(instance_of=str) is given Object, which provides int",
    ),
    "DelegatedFactory where what it makes is wanted": (
        lambda s: {"count": providers.Factory(Count, store=providers.DelegatedFactory(Store))},
        f"count: Count(store: {P}.Store) is given count.store, which provides "
        "dependency_injector.providers.DelegatedFactory",
    ),
    "Aggregate where one of its products is wanted": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.FactoryAggregate(disk=providers.Factory(Store)))
        },
        f"count: Count(store: {P}.Store) is given count.store, which provides "
        "dependency_injector.providers.FactoryAggregate",
    ),
    "*args and **kwargs given the wrong type": (
        lambda s: {
            "count": providers.Factory(
                CountAll, providers.Factory(Store), providers.Factory(Other), extra=providers.Factory(Other)
            )
        },
        [
            f"count: CountAll(stores: {P}.Store) is given count[1], which provides {P}.Other",
            f"count: CountAll(named: {P}.Store) is given count.extra, which provides {P}.Other",
        ],
    ),
    "settings dict lookup of a key it does not have": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.Factory(Store, s.provided.store.paths["mian"]))
        },
        "settings.provided.store.paths['mian']: settings.provided.store.paths has no key 'mian' "
        "(did you mean 'main'?); its keys: main",
    ),
    "settings list lookup past its end": (
        lambda s: {
            "count": providers.Factory(
                Count, store=providers.Factory(Store, s.provided.store.shelves[1].path)
            )
        },
        "settings.provided.store.shelves[1]: settings.provided.store.shelves has no item 1 (it has 1)",
    ),
    "a field a listed model does not have": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.Factory(Store, s.provided.store.shelves[0].pth))
        },
        "settings.provided.store.shelves[0].pth: settings.provided.store.shelves[0] (Extra) has no field "
        "'pth' (did you mean 'path'?); its fields: path",
    ),
    "an attribute of a settings dict (an item meant)": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.Factory(Store, s.provided.store.paths.main))
        },
        "settings.provided.store.paths.main: settings.provided.store.paths (dict) has no attribute 'main'",
    ),
    "an attribute a plain object an Object holds does not have": (
        lambda s: {
            "shelf": (shelf := providers.Object(Shelf())),
            "count": providers.Factory(Count, store=providers.Factory(Store, shelf.provided.rot)),
        },
        "shelf.provided.rot: shelf.provided (Shelf) has no attribute 'rot' (did you mean 'root'?)",
    ),
    "a method a plain object an Object holds does not have": (
        lambda s: {
            "shelf": (shelf := providers.Object(Shelf())),
            "count": providers.Factory(
                Count, store=providers.Factory(Store, shelf.provided.pathfor.call("a"))
            ),
        },
        "shelf.provided.pathfor: shelf.provided (Shelf) has no attribute 'pathfor' "
        "(did you mean 'path_for'?)",
    ),
    "typed module dependency given a setting the profile leaves None": (
        lambda s: _path_module(s.provided.store.label),
        "mod.path: Dependency(instance_of=str) is given settings store.label, which is None here",
    ),
    "typed module dependency given a listed model of another class": (
        lambda s: _module(s.provided.store.shelves[0]),
        f"mod.store: Dependency(instance_of={P}.Store) is given settings.provided.store.shelves[0], "
        f"which provides {P}.Extra",
    ),
    "typed module dependency given a Configuration value of another type": (
        lambda s: _path_module(providers.Configuration(default={"path": 5}).path),
        "mod.path: Dependency(instance_of=str) is given config.path, which provides int",
    ),
    "a listed model where another class is wanted": (
        lambda s: {"count": providers.Factory(Count, store=s.provided.store.shelves[0])},
        f"count: Count(store: {P}.Store) is given settings.provided.store.shelves[0], which holds a "
        f"value of type {P}.Extra",
    ),
    "Selector on a settings dict lookup, choosing what it has no provider for": (
        lambda s: {
            "count": providers.Factory(
                Count,
                store=providers.Selector(
                    s.provided.store.paths["main"], **{"/srv/mian": providers.Factory(Store)}
                ),
            )
        },
        "count.store: Selector chooses '/srv/main' (settings store.paths['main']), which it has no provider "
        "for (did you mean '/srv/mian'?); its choices: /srv/mian",
    ),
    "Object dict lookup of a key it does not have": (
        lambda s: {
            "conf": (conf := providers.Object({"path": "/srv"})),
            "count": providers.Factory(Count, store=providers.Factory(Store, conf.provided["pth"])),
        },
        "conf.provided['pth']: conf.provided has no key 'pth' (did you mean 'path'?); its keys: path",
    ),
    "settings value the profile leaves None, for a parameter that does not take None": (
        lambda s: {"count": providers.Factory(Count, store=providers.Factory(Store, s.provided.store.label))},
        "count.store: Store(path) is given settings store.label, which is None here: it does not take None",
    ),
    "an Annotated @inject marker in a string annotation": (
        lambda s: _with_store(providers.Factory(CountAnnotatedString)),
        "count: CountAnnotatedString: missing a required argument: 'store'",
    ),
    "typed module dependency on a Protocol isinstance() cannot check": (
        lambda s: {
            "mod": (m := providers.Container(NeedsCountable, store=providers.Factory(Store))),
            "count": m.count,
        },
        f"mod.store: Dependency(instance_of={__name__}.Countable) names a Protocol that is not "
        "@typing.runtime_checkable: dependency-injector's isinstance() check raises TypeError when the "
        "job is built",
    ),
    "ContextLocalResource given an unknown keyword": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.ContextLocalResource(lifetime, pth="/srv"))
        },
        [
            "count.store: lifetime() got an unexpected keyword 'pth' (did you mean 'path'?); it takes: path",
            "count.store: lifetime: missing a required argument: 'path'",
        ],
    ),
    "settings path through a section left unset": (
        lambda s: {
            "count": providers.Factory(Count, store=providers.Factory(Store, s.provided.store.extra.path))
        },
        "settings.provided.store.extra.path: settings store.extra is None, which has no 'path'",
    ),
}

GOOD: dict[str, Wiring] = {
    "resource init given its argument": lambda s: {
        "count": providers.Factory(Count, store=providers.Resource(StoreResource, dsn=s.provided.store.path))
    },
    "Object of the right type": lambda s: {
        "count": providers.Factory(Count, store=providers.Object(Store()))
    },
    "typed module dependency given a Factory of a subclass": lambda s: _module(
        providers.Factory(type("SubStore", (Store,), {}))
    ),
    "typed module dependency given an Object of the right type": lambda s: _module(providers.Object(Store())),
    "settings path through a section that is set": lambda s: {
        "count": providers.Factory(Count, store=providers.Factory(Store, s.provided.store.extra.path))
    },
    "delegated, not circular": _delegated,
    "a provider where a factory is wanted": lambda s: {
        "count": providers.Factory(CountLater, make=providers.Factory(Store).provider)
    },
    "a class where a class is wanted": lambda s: {
        "count": providers.Factory(CountWith, store=providers.Object(Store()), kind=Store)
    },
    "Selector whose other branch is of the wrong type": lambda s: {
        "count": providers.Factory(
            Count,
            store=providers.Selector(
                s.provided.store.path,
                **{"/srv": providers.Factory(Other), "/tmp": providers.Factory(Store)},
            ),
        )
    },
    "@inject marker given the right type": lambda s: _injected(providers.Factory(Store)),
    "Configuration value of the type the annotation takes": lambda s: _more(
        providers.Configuration(default={"more": 41}).more
    ),
    "Configuration value a bool, where an int is wanted (typing's numeric tower)": lambda s: _more(
        providers.Configuration(default={"more": True}).more
    ),
    "attributes and methods a plain object an Object holds has": lambda s: {
        "shelf": (shelf := providers.Object(Shelf())),
        "count": providers.Factory(
            CountAll,
            providers.Factory(Store, shelf.provided.root),
            providers.Factory(Store, shelf.provided.path_for.call("a")),
        ),
    },
    "a property and an item lookup of an object an Object holds": lambda s: {
        "remote": (remote := providers.Object(Remote())),
        "count": providers.Factory(
            CountAll,
            providers.Factory(Store, remote.provided.catalog["main"]),
            providers.Factory(Store, remote.provided["main"]),
        ),
    },
    "an attribute an object answers itself (__getattr__)": lambda s: {
        "shelf": (shelf := providers.Object(AnyShelf())),
        "count": providers.Factory(Count, store=providers.Factory(Store, shelf.provided.anything)),
    },
    "typed module dependency given a setting of its type": lambda s: _path_module(
        s.provided.store.paths["main"]
    ),
    "typed module dependency given a Configuration value of its type": lambda s: _path_module(
        providers.Configuration(default={"path": "/srv"}).path
    ),
    "a test's MagicMock an Object holds, looked up by item and attribute": lambda s: {
        "conf": (conf := providers.Object(MagicMock())),
        "count": providers.Factory(CountAll, conf.provided["store"], conf.provided["stores"].first),
    },
    "a defaultdict lookup of a key it makes": lambda s: {
        "conf": (conf := providers.Object(collections.defaultdict(lambda: "/srv"))),
        "count": providers.Factory(Count, store=providers.Factory(Store, conf.provided["any"])),
    },
    "Configuration value as_int() converts": lambda s: _more(
        providers.Configuration(default={"more": "41"}).more.as_int()
    ),
    "typed module dependency given a builtin value of its type": lambda s: _path_module(
        providers.Object("/srv")
    ),
    "DelegatedFactory where a factory is wanted": lambda s: {
        "count": providers.Factory(CountLater, make=providers.DelegatedFactory(Store))
    },
    "FactoryAggregate where an aggregate is wanted": lambda s: {
        "count": providers.Factory(
            CountAggregate, stores=providers.FactoryAggregate(disk=providers.Factory(Store))
        )
    },
    "*args and **kwargs given the right type": lambda s: {
        "count": providers.Factory(CountAll, providers.Factory(Store), extra=providers.Factory(Store))
    },
    "settings dict and list lookups that are there": lambda s: {
        "count": providers.Factory(
            CountAll,
            providers.Factory(Store, s.provided.store.paths["main"]),
            providers.Factory(Store, s.provided.store.shelves[0].path),
        )
    },
    "settings value left None, for a parameter that takes None": lambda s: {
        "count": providers.Factory(
            CountLabelled, store=providers.Factory(Store), label=s.provided.store.label
        )
    },
    "settings value left None, for a parameter whose default is None": lambda s: {
        "count": providers.Factory(CountTagged, store=providers.Factory(Store), tag=s.provided.store.label)
    },
    "a Protocol the object satisfies": lambda s: {
        "count": providers.Factory(CountAny, store=providers.Factory(Store))
    },
    "an Annotated @inject marker without a default": lambda s: _with_store(
        providers.Factory(CountAnnotated), annotated_marker.__name__
    ),
    "typed module dependency on a runtime_checkable Protocol": lambda s: {
        "mod": (m := providers.Container(NeedsCountableAtRunTime, store=providers.Factory(Store))),
        "count": m.count,
    },
    "ContextLocalResource given its argument": lambda s: {
        "count": providers.Factory(Count, store=providers.ContextLocalResource(lifetime, path="/srv"))
    },
    "DependenciesContainer given what it needs": lambda s: _paths(
        type("GoodPaths", (containers.DeclarativeContainer,), {"path": providers.Object("/srv")})
    ),
}


def checked_and_ran(wiring: Wiring, settings: ProbeSettings) -> tuple[list[str], BaseException | None]:
    """What the check says of job ``Count``, and what building and executing it raised (if anything)."""
    attrs: dict[str, Any] = {
        "settings": providers.Dependency(instance_of=ProbeSettings),
        "run": providers.Dependency(instance_of=RunContext),
    }
    attrs.update(wiring(attrs["settings"]))
    container_cls = type("Probe", (containers.DeclarativeContainer,), attrs)
    app = App.from_container(container_cls)
    container = container_cls()
    app.fill(container, settings, RunContext(job="Count", run_id="t"))
    found = [p for job in check_container(app, container).values() for p in job]
    try:
        container.count().execute()
    except (Exception, RecursionError) as exc:
        return found, exc
    finally:
        container.shutdown_resources()
    return found, None


@pytest.mark.parametrize(("wiring", "expected"), list(BAD.values()), ids=list(BAD))
def test_what_the_build_fails_on_the_check_finds(wiring: Wiring, expected: str | list[str]) -> None:
    found, failed = checked_and_ran(wiring, ProbeSettings())
    assert failed is not None, "the case is a real failure of the build or of the job's first use"
    assert found == ([expected] if isinstance(expected, str) else expected), (found, repr(failed))


@pytest.mark.parametrize("wiring", list(GOOD.values()), ids=list(GOOD))
def test_the_good_twins_check_clean_and_run(wiring: Wiring) -> None:
    settings = ProbeSettings(store=StoreSettings(extra=Extra()))
    found, failed = checked_and_ran(wiring, settings)
    assert (found, failed) == ([], None)


def test_the_check_calls_no_property_or_item_lookup_of_an_objects_value() -> None:
    """``--check`` runs nothing of the app: what the property and ``__getitem__`` record is what
    the build itself called, once each."""
    Remote.calls.clear()
    wiring = GOOD["a property and an item lookup of an object an Object holds"]
    found, failed = checked_and_ran(wiring, ProbeSettings(store=StoreSettings(extra=Extra())))
    assert (found, failed) == ([], None)
    assert sorted(Remote.calls) == ["['main']", "catalog"]


def test_a_cycle_is_named_once_whatever_job_reaches_it() -> None:
    """Two jobs on one cycle: each names it, from where it enters, and nothing else."""

    class CountAgain(Count):
        """Count the store again."""

    def wiring(settings: Any) -> dict[str, Any]:
        found = _circular(settings)
        return {**found, "count_again": providers.Factory(CountAgain, store=found["first"])}

    found, failed = checked_and_ran(wiring, ProbeSettings())
    assert isinstance(failed, RecursionError)
    assert found == [
        "first.nxt: circular dependency: first.nxt -> first -> first.nxt",
        "first: circular dependency: first -> first.nxt -> first",
    ]
