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

from jobframe._app.lookups import chain_text
from jobframe._app.provided import chain_of
from jobframe._app.values import UNKNOWN, configuration_problem, describe_source, static_value

__all__ = ["conversion_problem", "loaded_type", "none_given"]

_SCALARS = (str, int, float, bool, bytes)
_CONVERSIONS = (int, float)
"""``as_int()``, ``as_float()``; ``as_(callback)`` is the app's code, never called here."""


def loaded_type(provider: Any, wanted: list[type]) -> type | None:
    """The class of a ``Configuration`` option's value when an annotation naming only builtin
    classes (``wanted``) does not take it — a ``str`` for an ``int``; else ``None``."""
    if not isinstance(provider, providers.ConfigurationOption) or provider.overridden:
        return None
    if not all(cls.__module__ == "builtins" for cls in wanted):
        return None  # a Path, a Decimal: what a literal may stand for is the app's business
    value = static_value(provider)
    if value is UNKNOWN or type(value) not in _SCALARS:
        return None
    given = type(value)
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
    return describe_source(provider) if chain_of(provider) is not None else chain_text(provider, names)
