"""What the wiring check reads from values known before the run: settings chains, Configuration
options, and so a Selector's choice (in-process; nothing of the app is called)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from dependency_injector import providers
from pydantic import BaseModel

from jobframe._app import graph
from jobframe._app.values import UNKNOWN, configuration_problem, remembered, selector_choice, static_value


class Store(BaseModel):
    kind: str = "disk"


class Section(BaseModel):
    store: Store = Store()


def _filled(value: Any) -> providers.Dependency[Any]:
    dependency: providers.Dependency[Any] = providers.Dependency()
    dependency.override(providers.Object(value))
    return dependency


def _never_called() -> str:
    raise AssertionError("the check called the app's code")


def test_a_settings_chain_is_read_from_what_the_run_filled_it_with() -> None:
    settings = _filled(Section())
    assert static_value(settings.provided.store.kind) == "disk"
    assert static_value(settings.provided.store) == Store()
    assert static_value(settings.provided.nothing_here) is UNKNOWN
    assert static_value(providers.Dependency().provided.store.kind) is UNKNOWN  # not filled


def test_a_module_dependency_is_followed_to_the_apps_settings() -> None:
    settings = _filled(Section())
    module_settings: providers.Dependency[Any] = providers.Dependency()
    module_settings.override(settings.provided.store)
    assert static_value(module_settings.provided.kind) == "disk"


def test_configuration_options_objects_and_what_only_code_decides() -> None:
    config = providers.Configuration(default={"a": {"b": 1}})
    assert static_value(config.a.b) == 1
    assert static_value(config.a.missing) is None  # not strict: undefined is None
    assert static_value(providers.Configuration(strict=True).a) is UNKNOWN
    assert static_value(providers.Object("x")) == "x"
    assert static_value(providers.Callable(_never_called)) is UNKNOWN
    overridden = providers.Configuration(default={"a": 1})
    overridden.a.override(5)  # an option is overridden by a value only: what a run gets
    assert static_value(overridden.a) == 5


def test_an_undefined_configuration_option() -> None:
    strict = providers.Configuration(strict=True)
    loose = providers.Configuration()
    problem = configuration_problem(strict.db.url, accepts_none=True)
    assert problem is not None and problem.startswith("config.db.url: undefined configuration option")
    assert configuration_problem(loose.db.url, accepts_none=True) is None
    assert configuration_problem(loose.db.url, accepts_none=False) is not None
    assert configuration_problem(loose.db.url.required(), accepts_none=True) is not None
    defined = providers.Configuration(default={"db": {"url": "x"}}, strict=True)
    assert configuration_problem(defined.db.url, accepts_none=False) is None


def test_an_option_set_to_none_is_named_as_none_not_undefined() -> None:
    # defined, but None: a parameter that does not take None still gets None; the finding says so
    config = providers.Configuration(default={"db": {"url": None}}, strict=True)
    problem = configuration_problem(config.db.url, accepts_none=False)
    assert problem is not None and problem.startswith("config.db.url: set to None")
    assert "undefined" not in problem
    assert configuration_problem(config.db.url, accepts_none=True) is None


def _selector(kind: Any) -> providers.Selector[Any]:
    return providers.Selector(
        kind, disk=providers.Factory(Store, kind="d"), memory=providers.Factory(Store, kind="m")
    )


def test_a_selectors_choice_from_a_setting() -> None:
    chosen, problem = selector_choice(_selector(_filled(Section()).provided.store.kind))
    assert problem is None and chosen is not None and chosen.kwargs == {"kind": "d"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "dsk",
            "Selector chooses 'dsk' (settings store.kind), which it has no provider for "
            "(did you mean 'disk'?); its choices: disk, memory",
        ),
        (
            "tape",
            "Selector chooses 'tape' (settings store.kind), which it has no provider for; "
            "its choices: disk, memory",
        ),
    ],
)
def test_a_choice_the_selector_has_no_provider_for(value: str, expected: str) -> None:
    chosen, problem = selector_choice(
        _selector(_filled(Section(store=Store(kind=value))).provided.store.kind)
    )
    assert (chosen, problem) == (None, expected)


def test_an_undefined_choice_and_one_only_code_decides() -> None:
    assert selector_choice(_selector(providers.Configuration().kind)) == (
        None,
        "Selector's value (config.kind) is undefined; its choices: disk, memory",
    )
    assert selector_choice(_selector(providers.Callable(_never_called))) == (None, None)


def test_a_walk_follows_only_the_chosen_branch() -> None:
    broken = providers.Dependency()  # nothing fills it: reached only through the other branch
    selector = providers.Selector(
        _filled(Section()).provided.store.kind,
        disk=providers.Factory(Store, kind="d"),
        memory=providers.Factory(Store, kind=broken),
    )

    def follow(provider: Any) -> list[Any] | None:
        chosen = selector_choice(provider)[0] if isinstance(provider, providers.Selector) else None
        return None if chosen is None else [chosen]

    assert broken in list(graph.reached(selector))
    assert broken not in list(graph.reached(selector, follow))
    assert selector.providers["disk"] in list(graph.reached(selector, follow))


def test_item_lookups_are_read_from_the_filled_value_and_a_missing_one_is_unknown() -> None:
    settings = _filled({"paths": {"main": "/srv"}, "shelves": [Store()]})
    assert static_value(settings.provided["paths"]["main"]) == "/srv"
    assert static_value(settings.provided["shelves"][0].kind) == "disk"
    assert static_value(settings.provided["paths"]["mian"]) is UNKNOWN
    assert static_value(settings.provided["shelves"][3]) is UNKNOWN
    assert static_value(providers.Dependency().provided["paths"]) is UNKNOWN  # not filled
    module_settings: providers.Dependency[Any] = providers.Dependency()
    module_settings.override(settings.provided["paths"])  # a module given a part by item
    assert static_value(module_settings.provided["main"]) == "/srv"


class Lazy:
    """An object whose property and item lookup are the app's code: never called by the check."""

    kind = "disk"

    def __init__(self) -> None:
        self.path = "/srv"

    @property
    def catalog(self) -> str:
        return _never_called()

    def __getitem__(self, key: str) -> str:
        return _never_called()


class Slotted:
    __slots__ = ("path",)

    def __init__(self) -> None:
        self.path = "/srv"


class NotADict(dict[str, str]):
    def __getitem__(self, key: str) -> str:
        return _never_called()


@dataclasses.dataclass
class Located:
    path: str = "/srv"


def test_only_plain_attributes_and_builtin_items_are_read_nothing_is_called() -> None:
    lazy = providers.Object(Lazy())
    assert static_value(lazy.provided.path) == "/srv"  # set on the instance
    assert static_value(lazy.provided.kind) == "disk"  # set on the class
    assert static_value(lazy.provided.catalog) is UNKNOWN  # a property: only calling it could tell
    assert static_value(lazy.provided.catalog["main"]) is UNKNOWN
    assert static_value(lazy.provided["main"]) is UNKNOWN  # its own __getitem__
    assert static_value(providers.Object(NotADict(main="/srv")).provided["main"]) is UNKNOWN
    assert static_value(providers.Object(Slotted()).provided.path) == "/srv"
    assert static_value(providers.Object(Located()).provided.path) == "/srv"
    assert static_value(providers.Object((Store(),)).provided[0].kind) == "disk"


def test_a_value_is_worked_out_once_per_check_and_never_outlives_it() -> None:
    config = providers.Configuration(default={"kind": "disk"})
    with remembered():
        assert static_value(config.kind) == "disk"
        config.from_dict({"kind": "s3"})
        assert static_value(config.kind) == "disk"  # the check's own reading, not asked again
    assert static_value(config.kind) == "s3"  # the next check reads afresh
