"""What a provider provides, read from declarations alone: its type, and ``x.provided.a.b`` chains.

``--check`` (and every run, before its job starts) compares these with constructor annotations
and settings models, so nothing is called: a type is known only where the code states it — a
class, a ``Resource`` function's return annotation (a generator's yield type), a
``Dependency(instance_of=...)``, a nested module's provider, a settings field's annotation, the
class of what an ``Object`` holds (but a builtin value: a literal), a ``List``, a ``Dict``, the
provider class a ``.provider`` hands over.
Anything else (an override, a ``Selector``) is unknown, and unknown is never a finding.
"""

from __future__ import annotations

import collections.abc
import contextlib
import dataclasses
import functools
import inspect
import types
import typing
from typing import Any

from dependency_injector import providers, resources
from pydantic import BaseModel

from jobframe._value import Value

__all__ = [
    "TRACKED",
    "Chain",
    "annotations_of",
    "as_class",
    "chain_of",
    "fields_of",
    "gives_async",
    "provided_type",
    "unwrapped",
]

_UNIONS = (typing.Union, types.UnionType)
_YIELDING = (
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
)


def annotations_of(target: Any) -> dict[str, Any]:
    """Resolved annotations of a function or of a class's ``__init__``; ``{}`` when unresolvable."""
    function = target.__init__ if inspect.isclass(target) else target
    try:
        return typing.get_type_hints(function, include_extras=False)
    except Exception:  # noqa: BLE001 - an annotation that does not resolve states nothing
        return {}


def as_class(annotation: Any) -> type | None:
    """The class an annotation names (``list[str]`` -> ``list``); ``None`` for anything vaguer."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in _UNIONS:
        return None  # ``A | B``: one of them, unknown which (``types.UnionType`` is a class too)
    if origin is not None and inspect.isclass(origin):
        annotation = origin
    if not inspect.isclass(annotation) or annotation in (object, typing.Any):
        return None
    if getattr(annotation, "_is_protocol", False):
        return None  # structural: isinstance/issubclass cannot decide it from a declaration
    return annotation


def unwrapped(target: Any) -> Any:
    """What a Resource really calls, under jobframe's tracking wrapper (and ``contextmanager``'s)."""
    wrapped = getattr(target, "__wrapped__", None)
    return unwrapped(wrapped) if wrapped is not None else target


TRACKED = "__jobframe_tracked__"
"""The mark of jobframe's tracking wrapper on a ``Resource``/``Singleton`` (``_teardown.instrument``):
a sync function that gives whatever what it wraps gives (an awaitable stays one)."""


@contextlib.asynccontextmanager
async def _nothing_async() -> collections.abc.AsyncIterator[None]:
    yield


_ASYNC_CONTEXT = _nothing_async.__code__
"""The code of every ``asynccontextmanager`` helper (dependency-injector makes a Resource's async
generator one): a sync function whose result a Resource enters asynchronously."""


def _called(target: Any) -> Any:
    """What calling ``target`` runs, as far as sync or async goes: past jobframe's tracking
    wrapper and ``functools.partial`` — never past any other wrapper, which decides by itself."""
    while True:
        if getattr(target, TRACKED, False) and getattr(target, "__wrapped__", None) is not None:
            target = target.__wrapped__
        elif isinstance(target, functools.partial):
            target = target.func
        else:
            return target


def gives_async(target: Any, *, entered: bool) -> bool:
    """Whether calling ``target`` gives an awaitable (or an async generator) — judged on the outermost
    callable, since a decorator decides that: a sync ``functools.wraps`` wrapper running a
    coroutine (``async_to_sync``) gives a value, an ``async def`` wrapper over a sync function a
    coroutine. With ``entered`` (a ``Resource``), also whether what the call gives is entered
    asynchronously: an async context manager, by class or by declared return type."""
    target = _called(target)
    if inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target):
        return True
    if inspect.isclass(target):
        return entered and (issubclass(target, resources.AsyncResource) or _enters_async(target))
    if not inspect.isfunction(target) and not inspect.ismethod(target) and callable(target):
        call = type(target).__call__  # an instance: asgiref's shapes among them
        if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
            return True
    if not entered:
        return False
    if getattr(target, "__code__", None) is _ASYNC_CONTEXT:
        return True
    returned = as_class(_returned(target)) if callable(target) else None
    return returned is not None and _enters_async(returned)


def _enters_async(cls: type) -> bool:
    """dependency-injector enters a ``__enter__`` first: only a class without one enters async."""
    return hasattr(cls, "__aenter__") and hasattr(cls, "__aexit__") and not hasattr(cls, "__enter__")


def _returned(function: Any, *, entered: bool = False) -> Any:
    """A function's return annotation; with ``entered`` (a Resource) a generator's yield type."""
    hints = annotations_of(function)
    returned = hints.get("return")
    origin = typing.get_origin(returned)
    yields = inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function)
    if entered and origin in _YIELDING and (yields or getattr(function, "__wrapped__", None) is not None):
        return typing.get_args(returned)[0] if typing.get_args(returned) else None  # the yield type
    return returned


def _resource_type(target: Any) -> type | None:
    target = unwrapped(target)
    if inspect.isclass(target):
        if issubclass(target, resources.Resource | resources.AsyncResource):
            return as_class(_returned(target.init, entered=True))
        return _entered_type(target)
    if callable(target):
        return as_class(_returned(target, entered=True))
    return None


def _entered_type(cls: type) -> type | None:
    """What ``Resource(cls)`` provides: the instance, or what its ``__enter__`` says it returns."""
    enter = getattr(cls, "__enter__", None) or getattr(cls, "__aenter__", None)
    if enter is None:
        return as_class(cls)
    returned = annotations_of(enter).get("return")
    if returned is None:
        return None  # unannotated: unknown
    if isinstance(returned, typing.TypeVar) or returned is typing.Self:
        return as_class(cls)  # ``def __enter__(self: T) -> T``, ``-> Self``: the instance
    return as_class(returned)


def provided_type(provider: Any) -> type | None:
    """The class ``provider`` provides, when its declaration says; ``None`` when unknown."""
    if isinstance(provider, providers.Dependency):
        wanted = as_class(provider.instance_of)
        if wanted is not None:
            return wanted
        return provided_type(provider.last_overriding) if provider.overridden else None
    if getattr(provider, "overridden", ()):
        return None  # an override (a test's fake) is what it is
    if isinstance(provider, providers.Object):
        return _held_type(provider.provides)
    if isinstance(provider, providers.Delegate):  # ``x.provider``: the provider itself, unbuilt
        return type(provider.provides) if providers.is_provider(provider.provides) else None
    if providers.is_delegated(provider):  # ``DelegatedFactory``, an aggregate: handed over unbuilt
        return type(provider)
    if isinstance(provider, providers.List | providers.Dict):
        return list if isinstance(provider, providers.List) else dict
    if isinstance(provider, providers.BaseResource):  # a ContextLocalResource too
        return _resource_type(provider.provides)
    if isinstance(provider, providers.Factory | providers.BaseSingleton | providers.Callable):
        target = provider.provides
        if inspect.isclass(target):
            return as_class(target)
        return as_class(_returned(target)) if callable(target) else None
    chain = chain_of(provider)
    if chain is not None:
        return as_class(chain.annotation())
    return None


def _held_type(value: Any) -> type | None:
    """An ``Object``'s class, for a value of the app's own classes; a builtin value (``"/tmp"``
    for a ``Path``, ``3`` for a ``float``) is taken as a literal, as one passed directly is."""
    if value is None or providers.is_provider(value) or type(value).__module__ == "builtins":
        return None
    return as_class(type(value))


# -- x.provided.a.b ----------------------------------------------------------------------------


class Chain(Value):
    """``root.provided.a.b``: the provider it starts from and the attribute names, in order.

    Only attribute steps are modelled; a chain with an item lookup or a call has no ``Chain``.
    """

    __slots__ = ("root", "names")  # noqa: RUF023 - the constructor's order
    root: Any
    names: tuple[str, ...]

    def __init__(self, root: Any, names: tuple[str, ...]) -> None:
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "names", names)

    def annotation(self) -> Any:
        """The declared type at the chain's end, or ``None`` when a step is not declared."""
        current: Any = provided_type(self.root)
        for name in self.names:
            fields = fields_of(current)
            if fields is None or name not in fields:
                return None
            current = _optional_member(fields[name])
        return current


def _optional_member(annotation: Any) -> Any:
    if typing.get_origin(annotation) in _UNIONS:
        members = [m for m in typing.get_args(annotation) if m is not type(None)]
        return members[0] if len(members) == 1 else None
    return annotation


def fields_of(cls: Any) -> dict[str, Any] | None:
    """A class's declared fields with their annotations (pydantic models, dataclasses);
    ``None`` when the class does not declare a closed set of attributes."""
    cls = as_class(cls)
    if cls is None:
        return None
    if issubclass(cls, BaseModel):
        return {name: field.annotation for name, field in cls.model_fields.items()}
    if dataclasses.is_dataclass(cls):
        hints = _class_annotations(cls)
        return {f.name: hints.get(f.name) for f in dataclasses.fields(cls)}
    return None


def _class_annotations(cls: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:  # noqa: BLE001
        return {}


def chain_of(provider: Any) -> Chain | None:
    """``provider`` as a :class:`Chain`, if it is an attribute chain on ``x.provided``."""
    names: list[str] = []
    current = provider
    while isinstance(current, providers.AttributeGetter):
        names.append(str(current.name))
        current = current.provides
    if not names or not isinstance(current, providers.ProvidedInstance):
        return None
    return Chain(root=current.provides, names=tuple(reversed(names)))
