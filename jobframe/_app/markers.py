"""``@inject`` markers (``Provide["store"]``) on what a job's graph calls, as the wiring check reads them.

dependency-injector fills a marker when the container wires the function's module; a marker it
cannot resolve, or a module the container never wires, is left as it is — the function gets the
``Provide`` object itself, and the job fails on its first use of it. What a marker resolves to is
part of the job's graph: it is checked like everything the job's providers inject.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from typing import Any

from dependency_injector import containers

from jobframe._app.graph import declared
from jobframe._app.suggest import did_you_mean
from jobframe._value import Value

__all__ = ["Marker", "hidden_generator", "injected", "markers_of"]


class Marker(Value):
    """One ``@inject`` parameter: the provider it was given, or why it was given none."""

    __slots__ = ("parameter", "provider", "problem")  # noqa: RUF023 - the constructor's order
    parameter: str
    provider: Any | None
    problem: str | None

    def __init__(self, parameter: str, provider: Any | None, problem: str | None) -> None:
        object.__setattr__(self, "parameter", parameter)
        object.__setattr__(self, "provider", provider)
        object.__setattr__(self, "problem", problem)


def _patched(target: Any) -> Any | None:
    wiring = sys.modules.get("dependency_injector.wiring")
    if wiring is None:
        return None  # never imported: nothing can be decorated with @inject
    function = target.__init__ if inspect.isclass(target) else target
    registry = getattr(wiring, "_patched_registry", None)
    try:
        return registry.get_callable(function) if registry is not None else None
    except TypeError:  # an unhashable callable: not one @inject registered
        return None


def injected(target: Any) -> Any | None:
    """The ``@inject``-patched function in ``target``'s ``__wrapped__`` chain (jobframe wraps a
    Resource's function to track it), or ``None``."""
    while target is not None and not inspect.isclass(target):
        if _patched(target) is not None:
            return target
        target = getattr(target, "__wrapped__", None)
    return None


def hidden_generator(target: Any) -> Any | None:
    """The generator function ``@inject`` hides from a ``Resource`` of ``target``, if it does.

    dependency-injector's ``@inject`` wraps a generator function in a plain function, so the
    ``Resource`` never makes it a context manager: it calls it, takes the generator object it
    gets for a coroutine, and builds a task of it — an async resource whose cleanup never runs.
    ``target`` may be under jobframe's tracking wrapper (a ``__wrapped__`` chain).
    """
    target = injected(target)
    patched = None if target is None else _patched(target)
    if patched is None or not inspect.isgeneratorfunction(patched.original):
        return None
    return None if inspect.isgeneratorfunction(target) else patched.original


def _text(marker: Any, names: dict[int, str]) -> str:
    wanted = marker.provider
    shown = repr(wanted) if isinstance(wanted, str) else names.get(id(wanted), type(wanted).__name__)
    return f"{type(marker).__name__}[{shown}]"


def _positional(patched: Any, count: int, *, method: bool) -> set[str]:
    """The parameters ``count`` positional arguments fill (after ``self`` for a method)."""
    if not count:
        return set()
    try:
        parameters = list(inspect.signature(patched.original).parameters)
    except (TypeError, ValueError):
        return set()
    return set(parameters[int(method) : int(method) + count])


def markers_of(
    target: Any, container: containers.Container, given: tuple[set[str], int], names: dict[int, str]
) -> Iterator[Marker]:
    """Each ``@inject`` marker of ``target`` (a class's ``__init__``, or a function) that the
    provider calling it leaves to wiring (``given``: the keywords it passes itself, and how many
    positional arguments)."""
    patched = _patched(target)
    if patched is None:
        return
    method = inspect.isclass(target)
    passed = given[0] | _positional(patched, given[1], method=method)
    owner = f"{getattr(target, '__qualname__', target)}{'.__init__' if method else ''}"
    for parameter, marker in patched.reference_injections.items():
        if parameter in passed:
            continue
        injected = patched.injections.get(parameter)
        if injected is not None:
            yield Marker(parameter, injected, None)
            continue
        why = _why(marker, container, str(getattr(target, "__module__", "?")))
        yield Marker(parameter, None, f"{owner}({parameter}): {_text(marker, names)} {why}")


def _why(marker: Any, container: containers.Container, module: str) -> str:
    from dependency_injector import wiring  # noqa: PLC0415 (imported already: a marker exists)

    declared_as = getattr(container, "declarative_parent", None) or type(container)
    container_name = declared_as.__name__
    if wiring.ProvidersMap(container).resolve_provider(marker.provider, marker.modifier) is not None:
        return f"is never injected: module {module} is not wired (list it in {container_name}.wiring_config)"
    if not isinstance(marker.provider, str):
        return f"names a provider that is not {container_name}'s"
    return f"names no provider of {container_name}{did_you_mean(marker.provider, _paths(container))}"


def _paths(container: containers.Container) -> Iterator[str]:
    for path, _ in declared(container):
        yield path
