"""Values the wiring check may read before the run, without calling the app's code.

Once a run's settings fill the container, what a ``settings.provided.a.b`` chain holds is known;
so is what a ``providers.Configuration`` option holds (jobframe never loads one: only its
``default``, its ``yaml_files``... at the container's creation). From those, a ``Selector``'s
choice is known, and so is which of its branches a build reaches: only that one is checked, and
a choice it has no provider for is a finding — as it is a failure when the job is built.

Nothing of the app runs here: an attribute is found with ``inspect.getattr_static`` and read only
when it is plain data (set on the instance or the class, or a slot); a property or any other
descriptor may be the app's code (a lazy connection), so what it gives is :data:`UNKNOWN`. An item
is looked up only in a ``dict``, ``list`` or ``tuple`` itself, never through an app's ``__getitem__``.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import types
from collections.abc import Iterator
from typing import Any

from dependency_injector import errors, providers

from jobframe._app.provided import chain_of
from jobframe._app.suggest import did_you_mean

__all__ = [
    "UNKNOWN",
    "configuration_problem",
    "describe_source",
    "remembered",
    "selector_choice",
    "settings_path",
    "static_attribute",
    "static_item",
    "static_value",
]

UNKNOWN: Any = object()
"""What :func:`static_value` answers when only running code could tell."""

_REMEMBERED: contextvars.ContextVar[dict[int, tuple[Any, Any]] | None] = contextvars.ContextVar(
    "jobframe_static_values", default=None
)


@contextlib.contextmanager
def remembered() -> Iterator[None]:
    """Within one check, each provider's value is worked out once: what the run filled the
    container with does not change while it is checked, and a chain is asked for at each step."""
    if _REMEMBERED.get() is not None:
        yield
        return
    token = _REMEMBERED.set({})
    try:
        yield
    finally:
        _REMEMBERED.reset(token)


_CONTAINERS = (dict, list, tuple)
"""Whose ``[key]`` is the interpreter's own: a subclass may override ``__getitem__``."""


def static_attribute(value: Any, name: str) -> Any:
    """``value.name`` when it is plain data, read without calling anything; else :data:`UNKNOWN`
    (a property, a method, an attribute only ``__getattr__`` answers)."""
    try:
        found = inspect.getattr_static(value, name)
    except AttributeError:
        return UNKNOWN
    if isinstance(found, types.MemberDescriptorType):  # a slot: read by the interpreter
        return found.__get__(value, type(value))
    if hasattr(type(found), "__get__"):
        return UNKNOWN
    return found


def static_item(value: Any, key: Any) -> Any:
    """``value[key]`` for a ``dict``, ``list`` or ``tuple`` that has it; else :data:`UNKNOWN`."""
    if type(value) not in _CONTAINERS:
        return UNKNOWN
    try:
        return value[key]
    except (LookupError, TypeError):
        return UNKNOWN


def settings_path(root: Any, names: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """Follow a module's ``Dependency`` to the chain that fills it: ``quotes_network.settings
    .provided.http`` is ``settings.provided.quotes.http`` of the app, named as the settings key."""
    while isinstance(root, providers.Dependency) and root.overridden:
        outer = chain_of(root.last_overriding)
        if outer is None:
            break
        root, names = outer.root, (*outer.names, *names)
    return root, names


def _object_value(provider: Any) -> Any:
    source = provider.last_overriding if getattr(provider, "overridden", ()) else provider
    if isinstance(source, providers.ItemGetter) and isinstance(provider, providers.Dependency):
        return _looked_up(source)  # a module's dependency filled with ``settings.provided.paths["a"]``
    return source.provides if isinstance(source, providers.Object) else UNKNOWN


def _option_value(option: Any) -> Any:
    """A Configuration option's value: a lookup in the values it holds, no app code called."""
    try:
        return option()
    except errors.Error:
        return UNKNOWN  # strict and undefined: configuration_problem says so


def static_value(provider: Any) -> Any:
    """What ``provider`` gives a build of this run, when that is known now; else :data:`UNKNOWN`."""
    memo = _REMEMBERED.get()
    if memo is None:
        return _static_value(provider)
    known = memo.get(id(provider))
    if known is None:
        known = memo[id(provider)] = (provider, _static_value(provider))  # held: its id stays its own
    return known[1]


def _static_value(provider: Any) -> Any:
    if isinstance(provider, providers.ConfigurationOption | providers.Configuration):
        return _option_value(provider)  # overridden: by a value only (dependency-injector's rule)
    if isinstance(provider, providers.Object | providers.Dependency):
        return _object_value(provider)  # a Dependency: what the run filled it with
    chain = chain_of(provider)
    if chain is None:
        return _looked_up(provider)
    root, path = settings_path(chain.root, chain.names)
    value = _object_value(root)
    for name in path:
        value = static_attribute(value, name) if value is not UNKNOWN else UNKNOWN
    return value


def _looked_up(provider: Any) -> Any:
    """``x.provided["a"]``, ``x.provided.a[0].b``: a chain with item steps, on what the run filled
    ``x`` with; a missing key or index is :data:`UNKNOWN` (``jobframe._app.lookups`` names it)."""
    if isinstance(provider, providers.ProvidedInstance):
        return static_value(provider.provides)
    if not isinstance(provider, providers.ItemGetter | providers.AttributeGetter):
        return UNKNOWN
    value = static_value(provider.provides)
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(provider, providers.AttributeGetter):
        return static_attribute(value, str(provider.name))
    return static_item(value, provider.name)


def describe_source(provider: Any) -> str:
    """Where a selector's value comes from: ``settings store.kind``, ``config.kind``."""
    if isinstance(provider, providers.ConfigurationOption | providers.Configuration):
        return str(provider.get_name())
    chain = chain_of(provider)
    if chain is not None:
        return "settings " + ".".join(settings_path(chain.root, chain.names)[1])
    steps: list[str] = []
    step = provider
    while isinstance(step, providers.AttributeGetter | providers.ItemGetter):
        steps.append(f".{step.name}" if isinstance(step, providers.AttributeGetter) else f"[{step.name!r}]")
        step = step.provides
    if steps and isinstance(step, providers.ProvidedInstance):  # ``paths['main']``
        return "settings " + "".join(reversed(steps)).lstrip(".")
    return type(provider).__name__


def configuration_problem(option: Any, *, accepts_none: bool) -> str | None:
    """An undefined option of a ``providers.Configuration``: a build fails on it when the
    configuration is strict (or the option ``.required()``), and hands ``None`` to whatever it is
    injected into otherwise — a finding where that parameter's annotation does not take ``None``,
    as is an option the configuration holds as ``None``."""
    if not isinstance(option, providers.ConfigurationOption) or option.overridden:
        return None
    try:
        value = option()
    except errors.Error:
        pass
    else:
        if value is not None or accepts_none:
            return None
        try:
            option.required()()  # undefined raises; a key the configuration holds as None does not
        except errors.Error:
            pass
        else:
            return f"{option.get_name()}: set to None, which the parameter it is given to does not take"
    return (
        f"{option.get_name()}: undefined configuration option (jobframe loads settings into the "
        "app's Settings model, never into a providers.Configuration: use settings.provided...)"
    )


def selector_choice(selector: Any) -> tuple[Any, str | None]:
    """``(the provider a build of this run picks or None, a problem or None)`` for a ``Selector``
    whose selector value is known now; ``(None, None)`` when only running code could tell."""
    value = static_value(selector.selector)
    if value is UNKNOWN:
        return None, None
    choices = sorted(selector.providers)
    source = describe_source(selector.selector)
    if value is None:
        return None, f"Selector's value ({source}) is undefined; its choices: {', '.join(choices)}"
    chosen = selector.providers.get(value) if isinstance(value, str) else None
    if chosen is not None:
        return chosen, None
    hint = did_you_mean(str(value), choices)
    return None, (
        f"Selector chooses {value!r} ({source}), which it has no provider for{hint}; "
        f"its choices: {', '.join(choices)}"
    )
