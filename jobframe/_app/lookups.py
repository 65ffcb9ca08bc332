"""Lookups in ``x.provided`` chains (``settings.provided.paths["main"]``,
``conf.provided.stores[0].path``) on a value known before the run.

A build makes each lookup on what the run filled ``x`` with — the loaded settings, an ``Object`` —
and a key that is not there, an index past the end or a field that a model does not declare fails
it. Attribute-only chains through a settings model are the wiring check's own
(``check._chain_problems``: its fields, a section left ``None``); here each step of a chain with an
item lookup, an attribute of a builtin value (a ``dict`` has no ``.main``), and one of a plain
object an ``Object`` holds, which has set its attributes already (unless it answers attributes
itself, with ``__getattr__``). Each step is a provider of its own and is checked on its own, so a
failing step is named once, by itself. Nothing of the app is called: a property is found on the
class (``inspect.getattr_static``), and only a ``dict``, ``list`` or ``tuple`` itself is looked into
(an app's mapping answers ``in`` and ``[key]`` with its own code).
"""

from __future__ import annotations

import inspect
from typing import Any

from dependency_injector import providers

from jobframe._app.provided import fields_of
from jobframe._app.suggest import did_you_mean
from jobframe._app.values import UNKNOWN, static_value

__all__ = ["chain_text", "has_item_step", "lookup_problem"]

_STEPS = (providers.AttributeGetter, providers.ItemGetter)


def chain_text(provider: Any, names: dict[int, str]) -> str:
    """``settings.provided.paths['main']``, as the app wrote it."""
    steps: list[str] = []
    while isinstance(provider, _STEPS):
        step = provider.name
        steps.append(f".{step}" if isinstance(provider, providers.AttributeGetter) else f"[{step!r}]")
        provider = provider.provides
    if not isinstance(provider, providers.ProvidedInstance):
        return "".join(reversed(steps))
    root = provider.provides
    return f"{names.get(id(root), type(root).__name__)}.provided{''.join(reversed(steps))}"


def has_item_step(provider: Any) -> bool:
    while isinstance(provider, _STEPS):
        if isinstance(provider, providers.ItemGetter):
            return True
        provider = provider.provides
    return False


def _has(value: Any, name: str) -> bool:
    """``hasattr`` that finds without calling: no property, no ``__getattr__``."""
    try:
        inspect.getattr_static(value, name)
    except AttributeError:
        return False
    return True


def _missing_item(value: Any, key: Any) -> str | None:
    if type(value) is dict:  # a subclass (a defaultdict makes the key) may answer itself
        if key in value:
            return None
        keys = sorted(str(k) for k in value)
        hint = did_you_mean(key, keys) if isinstance(key, str) else ""
        return f"has no key {key!r}{hint}; its keys: {', '.join(keys) or 'none'}"
    if type(value) in (list, tuple) and isinstance(key, int):
        if -len(value) <= key < len(value):
            return None
        return f"has no item {key} (it has {len(value)})"
    return None


def _missing_attribute(value: Any, name: str, *, after_item: bool) -> str | None:
    cls = type(value)
    if cls.__module__ == "builtins":  # a dict, a list, a str: no attribute of the app's
        return None if hasattr(value, name) else f"({cls.__qualname__}) has no attribute {name!r}"
    if _has(cls, name):
        return None  # the class first: a property is found there, never called
    fields = fields_of(cls)
    if fields is not None:  # a model, a dataclass: an attribute-only chain is check._chain_problems'
        if not after_item or name in fields or _has(value, name):
            return None
        known = sorted(fields)
        return (
            f"({cls.__qualname__}) has no field {name!r}{did_you_mean(name, known)}; "
            f"its fields: {', '.join(known) or 'none'}"
        )
    if hasattr(cls, "__getattr__") or getattr(cls, "__getattribute__", None) is not object.__getattribute__:
        return None  # it answers attributes itself: only calling it could tell
    own = getattr(value, "__dict__", None)
    if not isinstance(own, dict) or name in own:
        return None
    known = sorted(n for n in {*own, *dir(cls)} if not n.startswith("_"))
    return f"({cls.__qualname__}) has no attribute {name!r}{did_you_mean(name, known)}"


def lookup_problem(provider: Any, names: dict[int, str]) -> str | None:
    """What the last step of ``provider`` (a step of an ``x.provided`` chain) fails on, when the
    value it looks into is known now; ``None`` when it does not fail or only a run can tell."""
    if not isinstance(provider, _STEPS):
        return None
    before = provider.provides
    value = static_value(before)
    if value is UNKNOWN:
        return None
    step, text, before_text = provider.name, chain_text(provider, names), chain_text(before, names)
    after_item = has_item_step(before)
    if value is None:  # an attribute-only chain through None: check._chain_problems names it
        if isinstance(provider, providers.ItemGetter) or after_item:
            return f"{text}: {before_text} is None, which has no {step!r}"
        return None
    if isinstance(provider, providers.ItemGetter):
        why = _missing_item(value, step)
    else:
        why = _missing_attribute(value, str(step), after_item=after_item)
    return None if why is None else f"{text}: {before_text} {why}"
