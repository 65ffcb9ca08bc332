"""Values loaded before the run, against what a build hands them to.

A ``providers.Configuration`` option holds what its ``yaml_files``, ``from_env`` or ``default``
gave it when the container was created, untyped: ``"41"`` from a file or a variable is a ``str``
however it looks, and ``config.n.as_int()`` converts it when the job is built. A settings value
the loaded profile leaves ``None`` is ``None`` in the build. Each is known now, so what a build
would fail on is a finding: a builtin value a builtin annotation does not take, a conversion that
raises, ``None`` for a parameter that does not take it. A value is never shown (it may be a
secret): only its type. Nothing of the app is called — only ``int()``/``float()`` on a builtin.
"""

from __future__ import annotations

from typing import Any

from dependency_injector import providers

from jobframe._app.lookups import chain_text, has_item_step
from jobframe._app.provided import chain_of, fields_of
from jobframe._app.values import UNKNOWN, configuration_problem, describe_source, static_value

__all__ = ["conversion_problem", "loaded_type", "none_given", "source_name"]

_SCALARS = (str, int, float, bool, bytes)
_CONVERSIONS = (int, float)
"""``as_int()``, ``as_float()``; ``as_(callback)`` is the app's code, never called here."""


def loaded_type(provider: Any, wanted: list[type]) -> type | None:
    """The class of a value known now that an annotation (``wanted``: its classes) does not
    take — a ``Configuration`` option's ``str`` for an ``int``, an ``Extra`` that
    ``settings.provided.shelves[0]`` holds for a ``Store``; else ``None``. Only where no declaration
    says the type (an attribute-only settings chain does), and a builtin value only against
    builtin classes: ``"/srv"`` may stand for a ``Path``, as a literal may."""
    if isinstance(provider, providers.ConfigurationOption):
        if provider.overridden:
            return None
    elif not has_item_step(provider):
        return None
    value = static_value(provider)
    if value is UNKNOWN or value is None:
        return None
    given = type(value)
    if given.__module__ == "builtins":
        if not all(cls.__module__ == "builtins" for cls in wanted):
            return None
    elif fields_of(given) is None:
        return None  # not data a model validated (a test's MagicMock stands in for anything)
    fits = any(
        issubclass(given, cls) or (cls in (float, complex) and issubclass(given, int)) for cls in wanted
    )
    return None if fits else given


def conversion_problem(provider: Any) -> str | None:
    """``config.n.as_int()`` on a value ``int()`` raises on, or on an undefined option."""
    if not isinstance(provider, providers.TypedConfigurationOption) or provider.overridden:
        return None
    convert, option = provider.provides, provider.option
    if convert not in _CONVERSIONS or not isinstance(option, providers.ConfigurationOption):
        return None
    value = static_value(option)
    if value is UNKNOWN:
        return None  # strict and undefined: the option is named on its own
    if value is None:
        return configuration_problem(option, accepts_none=False)
    if type(value) not in _SCALARS:
        return None
    try:
        convert(value)
    except (TypeError, ValueError):
        name = option.get_name()
        return (
            f"{name}.as_{convert.__name__}(): {name} holds a {type(value).__name__} that "
            f"{convert.__name__}() cannot convert"
        )
    return None


def none_given(provider: Any, names: dict[int, str]) -> str | None:
    """How to name a settings (or ``Object``) chain whose value the loaded profile leaves ``None``
    (``settings store.path``); ``None`` when its value is not ``None`` or not known now."""
    if not isinstance(provider, providers.AttributeGetter | providers.ItemGetter):
        return None
    if static_value(provider) is not None:
        return None
    return source_name(provider, names)


def source_name(provider: Any, names: dict[int, str]) -> str:
    """A provider whose value is known now, as the wiring check names it: ``config.store.size``,
    ``settings store.label``, ``settings.provided.paths['main']``; else by its class."""
    if isinstance(provider, providers.ConfigurationOption) or chain_of(provider) is not None:
        return describe_source(provider)
    if has_item_step(provider):
        return chain_text(provider, names)
    return type(provider).__name__
