"""``@inject`` markers on what a job's graph calls: resolved, misspelt, never wired (in-process)."""

from __future__ import annotations

from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject

import jobframe
from jobframe._app import App
from jobframe._app.check import check_container
from jobframe._app.markers import markers_of


class Store:
    pass


class Needs:
    @inject
    def __init__(self, store: Store = Provide["store"], other: Store = Provide["stroe"]) -> None:
        self.store, self.other = store, other


@inject
def build(store: Store = Provide["store"]) -> Store:
    return store


class Plain:
    def __init__(self, store: Store) -> None:
        self.store = store


class Wired(containers.DeclarativeContainer):
    wiring_config = containers.WiringConfiguration(modules=[__name__])
    store = providers.Factory(Store)


class NotWired(containers.DeclarativeContainer):
    store = providers.Factory(Store)


def test_a_resolved_marker_gives_its_provider_and_a_misspelt_one_a_did_you_mean() -> None:
    container = Wired()
    found = {m.parameter: m for m in markers_of(Needs, container, (set(), 0), {})}
    assert found["store"].provider is container.store and found["store"].problem is None
    assert found["other"].provider is None
    assert found["other"].problem == (
        "Needs.__init__(other): Provide['stroe'] names no provider of Wired (did you mean 'store'?)"
    )
    (function,) = markers_of(build, container, (set(), 0), {})
    assert function.provider is container.store


def test_what_the_provider_passes_itself_is_not_left_to_wiring() -> None:
    assert [m.parameter for m in markers_of(Needs, Wired(), ({"other"}, 0), {})] == ["store"]
    assert [m.parameter for m in markers_of(Needs, Wired(), (set(), 1), {})] == ["other"]  # store
    assert list(markers_of(Needs, Wired(), (set(), 2), {})) == []
    assert list(markers_of(build, Wired(), (set(), 1), {})) == []  # a function: no self


def test_a_module_the_container_never_wires() -> None:
    container = NotWired()
    Wired().unwire()  # what another container wired is not this one's
    found = {m.parameter: m for m in markers_of(Needs, container, (set(), 0), {})}
    assert found["store"].problem == (
        f"Needs.__init__(store): Provide['store'] is never injected: module {__name__} is not wired "
        "(list it in NotWired.wiring_config)"
    )


def test_what_inject_never_decorated_has_no_markers() -> None:
    assert list(markers_of(Plain, Wired(), (set(), 0), {})) == []
    assert list(markers_of(len, Wired(), (set(), 0), {})) == []


@inject
def open_counted(store: Store = Provide["stroe"]) -> Store:
    return store


class UsesCounted:
    def __init__(self, counted: Store) -> None:
        self.counted = counted

    def execute(self) -> None:
        pass


class ResourceMarkers(containers.DeclarativeContainer):
    """A plain function under @inject is a Resource dependency-injector runs: its markers count."""

    wiring_config = containers.WiringConfiguration(modules=[__name__])
    settings = providers.Dependency(instance_of=jobframe.Settings)
    run = providers.Dependency(instance_of=jobframe.RunContext)
    store = providers.Factory(Store)
    counted = providers.Resource(open_counted)
    uses_counted = providers.Factory(UsesCounted, counted=counted)


def test_the_markers_of_a_resource_function_are_checked_too() -> None:
    app = App.from_container(ResourceMarkers)
    container = ResourceMarkers()
    app.fill(container, jobframe.Settings(), jobframe.RunContext(job="t", run_id="t"))
    assert check_container(app, container) == {
        "UsesCounted": [
            "counted: open_counted(store): Provide['stroe'] names no provider of ResourceMarkers "
            "(did you mean 'store'?)"
        ]
    }
