"""``--check``: prove every job's dependency graph can be built, without building it.

Nothing is called: for each provider reachable from a job, the callable's signature is compared
with the arguments the provider injects (a missing argument, an unexpected keyword with a "did you
mean"), each injected provider's declared type with the parameter's annotation, each
``x.provided.a.b`` chain with the settings model it walks, and every ``Dependency`` must be
satisfied. A settings section reached by a job may also say it is incomplete
(``problems_when_wired``: an HTTP module without a base URL). What the loaded settings decide is
decided here too (:mod:`jobframe._app.values`): a ``Selector``'s choice — only the chosen branch
is checked — an undefined ``Configuration`` option, a loaded value a build would fail on
(:mod:`jobframe._app.loaded`) and an item lookup on one (:mod:`jobframe._app.lookups`).
``@inject`` markers must resolve
(:mod:`jobframe._app.markers`), and a sync ``execute()`` must reach nothing async. So what a run
would trip over is found in CI or at deploy time, no resource opens a connection while checking,
and a run makes the same check for its job before the job starts (:mod:`jobframe._run.prepare`).

A build that would go round a dependency cycle is found too, and a ``resources.Resource``
class's arguments are checked against its ``init()``.

What it cannot see: anything decided by calling code — a value an override holds, what a
function without a return annotation returns, a ``Selector`` on anything but a setting, a
Configuration option or an ``Object``, an attribute of a class that does not declare its
fields, a resource's ``init`` or a ``Singleton``'s factory failing at run time, a ``Protocol``
annotation (structural).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Iterable, Iterator
from typing import Any

from dependency_injector import containers, providers, resources

from jobframe._app import App, graph
from jobframe._app.discovery import NO_JOBS
from jobframe._app.graph import CALLING
from jobframe._app.loaded import conversion_problem, loaded_type, none_given, source_name
from jobframe._app.lookups import lookup_problem
from jobframe._app.markers import Marker, hidden_generator, injected, markers_of
from jobframe._app.provided import (
    Chain,
    annotations_of,
    as_class,
    chain_of,
    fields_of,
    gives_async,
    provided_type,
    unwrapped,
)
from jobframe._app.suggest import did_you_mean
from jobframe._app.values import (
    UNKNOWN,
    configuration_problem,
    describe_source,
    remembered,
    selector_choice,
    settings_path,
    static_value,
)
from jobframe.errors import ConfigurationError

__all__ = ["NO_JOBS", "check_container", "check_job", "wiring_error"]


_NO_ARGUMENTS = inspect.Signature()


def _takes_nothing(target: Any) -> bool:
    """A class with no ``__init__``, ``__new__`` or metaclass ``__call__`` of its own: what
    :func:`inspect.signature` answers with ``object``'s signature, ``()``, parsed from its text
    signature — which compiles :mod:`tokenize`'s regular expressions (~1.5 ms of a trivial job's
    start). Same answer, without the parse."""
    return (
        isinstance(target, type)
        and type(target).__call__ is type.__call__
        and getattr(target, "__init__", None) is object.__init__
        and getattr(target, "__new__", None) is object.__new__
        and not any(getattr(base, "__text_signature__", None) for base in target.__mro__[:-1])
    )


def _signature(target: Any) -> inspect.Signature | None:
    if _takes_nothing(target):
        return _NO_ARGUMENTS
    try:
        return inspect.signature(target)
    except (TypeError, ValueError):
        return None  # builtins and C types without a signature: nothing to compare


def _describe(target: Any) -> str:
    return getattr(target, "__qualname__", None) or repr(target)


def _type_name(cls: type) -> str:
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _callee(provider: Any) -> tuple[Any, inspect.Signature | None]:
    """What the provider's arguments are bound to, and its signature.

    A ``resources.Resource`` subclass takes any arguments in ``__init__`` and hands them to its
    ``init()`` when entered: that method's signature (past ``self``) is what they must fit.
    """
    target = provider.provides
    target = getattr(target, "__wrapped__", target)  # jobframe's tracking wrapper on a Resource
    if (
        isinstance(provider, providers.BaseResource)
        and inspect.isclass(target)
        and issubclass(target, resources.Resource | resources.AsyncResource)
        and target.__init__ in (resources.Resource.__init__, resources.AsyncResource.__init__)
    ):
        init = target.init
        sig = _signature(init)
        if sig is None:
            return init, None
        return init, sig.replace(parameters=list(sig.parameters.values())[1:])
    return target, _signature(target)


_MARKED: Any = object()
"""What an ``@inject`` marker fills a parameter with, as far as binding the call goes."""


def _call_problems(provider: Any, names: dict[int, str], marked: Iterable[str] = ()) -> Iterator[str]:
    """``marked``: the parameters ``@inject`` markers fill (``store: Annotated[Store, Provide["store"]]``
    has no default, and is no missing argument); what they resolve to is checked on its own."""
    target, sig = _callee(provider)
    if sig is None:
        return
    args, kwargs = list(provider.args), dict(provider.kwargs)
    params = sig.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    not_keywords = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL)
    keywords = [n for n, p in params.items() if p.kind not in (*not_keywords, p.VAR_KEYWORD)]
    if not takes_any:
        for key in [k for k in kwargs if k not in keywords]:
            kwargs.pop(key)
            yield (
                f"{_describe(target)}() got an unexpected keyword {key!r}{did_you_mean(key, keywords)}; "
                f"it takes: {', '.join(keywords) or 'no keywords'}"
            )
    kwargs.update({key: _MARKED for key in marked if key in keywords and key not in kwargs})
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as exc:
        yield f"{_describe(target)}: {exc}"
        try:
            bound = sig.bind_partial(*args, **kwargs)
        except TypeError:
            return
    given = {key: value for key, value in bound.arguments.items() if value is not _MARKED}
    yield from _type_problems(target, params, given, names)


def _type_problems(
    target: Any, params: Any, arguments: dict[str, Any], names: dict[int, str]
) -> Iterator[str]:
    hints = annotations_of(target)
    for name, value in arguments.items():
        if name not in hints:
            continue
        kind = params[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:  # ``*stores: Store``: each one a Store
            for each in value:
                yield from _value_problems(target, name, hints[name], each, names)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            for each in value.values():
                yield from _value_problems(target, name, hints[name], each, names)
        else:
            hint = hints[name]
            if params[name].default is None:  # ``label: str = None`` takes None, whatever it says
                hint = typing.Optional[hint]  # noqa: UP045 - any hint, a typing form too
            yield from _value_problems(target, name, hint, value, names)


def _value_problems(target: Any, name: str, hint: Any, value: Any, names: dict[int, str]) -> Iterator[str]:
    if not providers.is_provider(value):
        yield from _class_given(target, name, hint, value)
        return
    if not _accepts_none(hint):
        if isinstance(value, providers.ConfigurationOption):
            undefined = configuration_problem(value, accepts_none=False)
            if undefined is not None and static_value(value) is None:  # strict: named on its own
                yield f"{_describe(target)}({name}) is given {undefined}"
                return
        none = none_given(value, names)
        if none is not None:  # the loaded profile leaves it None
            yield f"{_describe(target)}({name}) is given {none}, which is None here: it does not take None"
            return
    given = _given_type(value)
    wanted = _accepted(hint)
    if wanted is None:
        return
    source = names.get(id(value), type(value).__name__)
    expected = " | ".join(_type_name(w) for w in wanted)
    loaded = loaded_type(value, wanted) if given is None else None
    if loaded is not None:
        source = source_name(value, names)
        yield (
            f"{_describe(target)}({name}: {expected}) is given {source}, which holds a value of type "
            f"{_type_name(loaded)}"
        )
    if given is None or any(_fits(given, w) for w in wanted):
        return
    yield f"{_describe(target)}({name}: {expected}) is given {source}, which provides {_type_name(given)}"


def _class_given(target: Any, name: str, annotation: Any, value: Any) -> Iterator[str]:
    """A class passed where an instance is wanted (``Factory(Job, store=Store)``): the job gets
    the class itself and fails on its first use. Other literals are the app's business."""
    wanted = _accepted(annotation)
    if not inspect.isclass(value) or wanted is None or any(_fits(type(value), w) for w in wanted):
        return
    expected = " | ".join(_type_name(w) for w in wanted)
    yield (
        f"{_describe(target)}({name}: {expected}) is given the class {_type_name(value)} itself, not "
        f"an instance: inject providers.Factory({value.__qualname__}) (or a Singleton)"
    )


def _given_type(provider: Any) -> type | None:
    """What ``provider`` provides: its declaration's type, or — for a ``Selector`` whose choice the
    loaded settings decide — the chosen branch's."""
    given = provided_type(provider)
    if given is None and isinstance(provider, providers.Selector) and not provider.overridden:
        chosen = selector_choice(provider)[0]
        return None if chosen is None else _given_type(chosen)
    return given


_PROMOTED = {float: (int,), complex: (int, float)}
"""Typing's numeric tower: an ``int`` is fine where a ``float`` is annotated."""


def _fits(given: type, wanted: type) -> bool:
    return issubclass(given, wanted) or issubclass(given, _PROMOTED.get(wanted, ()))


def _accepts_none(annotation: Any) -> bool:
    if annotation in (Any, object, None, type(None)) or isinstance(annotation, typing.TypeVar):
        return True  # a type variable may stand for None
    if typing.get_origin(annotation) is typing.Annotated:
        return _accepts_none(typing.get_args(annotation)[0])
    union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
    return union and any(_accepts_none(member) for member in typing.get_args(annotation))


def _accepted(annotation: Any) -> list[type] | None:
    """The classes an annotation accepts; ``None`` when any member is too vague to decide on."""
    members = (
        typing.get_args(annotation)
        if typing.get_origin(annotation) in (typing.Union, types.UnionType)
        else (annotation,)
    )
    classes = []
    for member in members:
        if member is type(None):
            continue
        cls = as_class(member)
        if cls is None:
            return None
        classes.append(cls)
    return classes or None


def _fill_problems(dependency: Any, name: str, names: dict[int, str]) -> Iterator[str]:
    """A ``Dependency(instance_of=T)`` filled — or defaulting — with what declares another type,
    or holds a value known now that is not a ``T`` (``None`` too): dependency-injector refuses it
    (``... is not an instance of T``) when the job is built."""
    wanted = as_class(dependency.instance_of)
    filled = dependency.overridden
    filler = dependency.last_overriding if filled else getattr(dependency, "default", None)
    protocol = dependency.instance_of
    structural = getattr(protocol, "_is_protocol", False)
    if filler is not None and structural and not getattr(protocol, "_is_runtime_protocol", False):
        yield (
            f"{name}: Dependency(instance_of={_type_name(protocol)}) names a Protocol that is not "
            "@typing.runtime_checkable: dependency-injector's isinstance() check raises TypeError "
            "when the job is built"
        )
    how = "is given" if filled else "has the default"
    value = UNKNOWN if filler is None else static_value(filler)
    if wanted is not None and value is not UNKNOWN:  # checked as dependency-injector checks it
        if not isinstance(value, wanted):
            which = "is None here" if value is None else f"provides {_type_name(type(value))}"
            yield (
                f"{name}: Dependency(instance_of={_type_name(wanted)}) {how} "
                f"{source_name(filler, names)}, which {which}"
            )
        return
    given = None if filler is None else provided_type(filler)
    if wanted is not None and given is not None and not issubclass(given, wanted):
        yield (
            f"{name}: Dependency(instance_of={_type_name(wanted)}) {how} {type(filler).__name__}, "
            f"which provides {_type_name(given)}"
        )


def _given_without(dependency: Any, names: dict[int, str]) -> str:
    """Why a ``DependenciesContainer``'s dependency is unfilled when the container is given one:
    the container given has no provider of that name (``pth`` for ``path``)."""
    parent = getattr(dependency, "parent", None)
    if not isinstance(parent, providers.DependenciesContainer) or not parent.overridden:
        return ""
    wanted = str(dependency.parent_name).rsplit(".", 1)[-1]
    given = getattr(parent.last_overriding, "providers", None)
    if not isinstance(given, dict):
        return ""
    has = sorted(given)
    return (
        f" ({names.get(id(parent), 'its DependenciesContainer')} is given a container without "
        f"{wanted!r}{did_you_mean(wanted, has)}; it has: {', '.join(has) or 'nothing'})"
    )


def _chain_problems(provider: Any, names: dict[int, str]) -> Iterator[str]:
    """``settings.provided.quotez``: the last step of a chain against the model it walks.

    Each step of a longer chain is a provider of its own, visited too, so only the last step is
    checked here and an early typo is named once, by its own step.
    """
    chain = chain_of(provider)
    if chain is None:
        return
    root_name = names.get(id(chain.root), type(chain.root).__name__)
    text = f"{root_name}.provided.{'.'.join(chain.names)}"
    owner = Chain(chain.root, chain.names[:-1]).annotation()
    fields = fields_of(owner)
    last = chain.names[-1]
    if owner is not None and fields is not None and last not in fields and not hasattr(owner, last):
        known = sorted(fields)
        yield (
            f"{text}: {owner.__qualname__} has no field {last!r}{did_you_mean(last, known)}; "
            f"its fields: {', '.join(known) or 'none'}"
        )
        return
    if len(chain.names) > 1 and static_value(provider.provides) is None:  # known now: no attribute
        yield f"{text}: {describe_source(provider.provides)} is None, which has no {last!r}"
        return
    value, path = static_value(provider), settings_path(chain.root, chain.names)[1]
    check = None if value is UNKNOWN else getattr(value, "problems_when_wired", None)
    if callable(check):
        key = ".".join(path)
        for field, reason in check():
            variable = "__".join([*path, field]).upper()
            yield f"settings {key}.{field}: {reason} (variable {variable})"


def _async_kind(provider: Any) -> str | None:
    """``"an async resource"`` (or provider) when building ``provider`` gives an awaitable: judged on
    the callable the provider calls, not on what a decorator of it wraps."""
    if isinstance(provider, providers.Coroutine):
        return "an async provider"
    if not isinstance(provider, CALLING):
        return None
    is_resource = isinstance(provider, providers.BaseResource)
    if not gives_async(provider.provides, entered=is_resource):
        return None
    return "an async resource" if is_resource else "an async provider"


def _sync_problems(provider: Any, name: str) -> Iterator[str]:
    kind = _async_kind(provider)
    if kind is not None:
        yield (
            f"{name}: {kind} ({_describe(unwrapped(provider.provides))}), reached by a sync execute(): "
            "make execute() async, or provide a sync resource"
        )


def _resource_problems(provider: Any, name: str) -> Iterator[str]:
    """A ``Resource`` dependency-injector cannot enter: a generator function under ``@inject``."""
    hidden = hidden_generator(provider.provides) if isinstance(provider, providers.BaseResource) else None
    if hidden is not None:
        yield (
            f"{name}: {_describe(hidden)} is a generator function under @inject, which "
            "dependency-injector's Resource never enters (its wrapper is a plain function: the "
            "generator is taken for a coroutine, an async resource whose cleanup never runs); give "
            f"its dependencies as the Resource's arguments, providers.Resource({_describe(hidden)}, "
            "name=provider), instead of @inject markers"
        )


def _choice_problems(provider: Any, name: str) -> Iterator[str]:
    """A value known before the run that a build would fail on: a Selector's, a Configuration's."""
    problem = None
    if isinstance(provider, providers.Selector):
        problem = selector_choice(provider)[1]
        problem = None if problem is None else f"{name}: {problem}"
    elif isinstance(provider, providers.ConfigurationOption):
        problem = configuration_problem(provider, accepts_none=True)
    if problem is not None:
        yield problem


def _known_value_problems(provider: Any, names: dict[int, str]) -> Iterator[str]:
    """A lookup (``settings.provided.paths["main"]``) or a conversion (``config.n.as_int()``) on a
    value known now that a build would fail on."""
    for problem in (lookup_problem(provider, names), conversion_problem(provider)):
        if problem is not None:
            yield problem


def _marked(provider: Any) -> Any | None:
    """What ``provider`` calls that ``@inject`` markers may fill: a class (its ``__init__``), or a
    Resource's function under jobframe's tracking wrapper."""
    target = provider.provides
    if isinstance(provider, providers.BaseResource):
        return None if inspect.isclass(unwrapped(target)) else injected(target)
    return target


def _marker_type_problems(provider: Any, markers: list[Marker], names: dict[int, str]) -> Iterator[str]:
    """What a marker resolves to against its parameter's annotation, as an injected provider is."""
    resolved = {m.parameter: m.provider for m in markers if m.provider is not None}
    target = _marked(provider) if resolved else None
    sig = None if target is None else _signature(target)
    if sig is not None:
        resolved = {k: v for k, v in resolved.items() if k in sig.parameters}
        yield from _type_problems(target, sig.parameters, resolved, names)


_UNBUILT = (providers.Delegate, providers.Object, providers.Aggregate, providers.Container)
"""Providers that hand something over without building what they hold: never part of a cycle
(nor is a ``Delegated...`` provider: it is handed over as it is, as an aggregate is)."""


class _Walk:
    """One job's graph as a build of this run reaches it: a ``Selector``'s chosen branch only,
    and what ``@inject`` markers resolve to as well as what providers inject."""

    def __init__(self, container: containers.Container, names: dict[int, str]) -> None:
        self.container, self.names = container, names
        self._markers: dict[int, list[Marker]] = {}

    def markers(self, provider: Any) -> list[Marker]:
        if not isinstance(provider, CALLING):
            return []
        found = self._markers.get(id(provider))
        if found is None:
            target = _marked(provider)
            given = (set(provider.kwargs), len(provider.args))
            found = [] if target is None else list(markers_of(target, self.container, given, self.names))
            self._markers[id(provider)] = found
        return found

    def follow(self, provider: Any) -> list[Any] | None:
        if isinstance(provider, providers.Selector):
            chosen, problem = selector_choice(provider)
            if chosen is not None:
                return [provider.selector, chosen]
            return [provider.selector] if problem is not None else None
        extra = [m.provider for m in self.markers(provider) if m.provider is not None]
        return [*provider.related, *extra] if extra else None

    def built_with(self, provider: Any) -> list[Any]:
        """What building ``provider`` builds first: its newest override, or what it injects (a
        Selector's chosen branch; its selector alone when the choice is not known now). Nothing
        for what is handed over unbuilt: a ``.provider`` (``Delegate``), an ``Object``, an
        aggregate, a container."""
        if isinstance(provider, _UNBUILT) or providers.is_delegated(provider):
            return []
        if provider.overridden:
            return [provider.last_overriding]
        if isinstance(provider, providers.Selector):
            return self.follow(provider) or [provider.selector]
        return self.follow(provider) or list(provider.related)

    def cycle(self, root: Any) -> list[Any] | None:
        """The first dependency cycle building ``root`` would go round (a build recurses until
        ``RecursionError``), from where it is entered; ``None`` when there is none."""
        path, on_path, done = [root], {id(root)}, set()
        stack = [iter(self.built_with(root))]
        while stack:
            for child in stack[-1]:
                if id(child) in on_path:
                    return path[[id(p) for p in path].index(id(child)) :]
                if id(child) not in done:
                    path.append(child)
                    on_path.add(id(child))
                    stack.append(iter(self.built_with(child)))
                    break
            else:
                stack.pop()
                node = path.pop()
                on_path.discard(id(node))
                done.add(id(node))
        return None

    def cycle_problems(self, root: Any) -> Iterator[str]:
        cycle = self.cycle(root)
        if cycle is None:
            return
        named = [self.names.get(id(p), type(p).__name__) for p in cycle if isinstance(p, CALLING)]
        named = named or [self.names.get(id(p), type(p).__name__) for p in cycle]
        yield f"{named[0]}: circular dependency: {' -> '.join([*named, named[0]])}"

    def problems(self, root: Any, *, sync: bool) -> Iterator[str]:
        for provider in graph.reached(root, self.follow):
            name = self.names.get(id(provider), type(provider).__name__)
            if isinstance(provider, providers.Dependency):
                yield from _fill_problems(provider, name, self.names)
                if not provider.overridden:
                    if provider.last_overriding is None and getattr(provider, "default", None) is None:
                        yield f"{name}: dependency is not provided{_given_without(provider, self.names)}"
                    continue
            if provider.overridden:
                continue
            if isinstance(provider, CALLING):
                marked = [m.parameter for m in self.markers(provider)]
                for problem in _call_problems(provider, self.names, marked):
                    yield f"{name}: {problem}"
                for marker in self.markers(provider):
                    if marker.problem is not None:
                        yield f"{name}: {marker.problem}"
                for problem in _marker_type_problems(provider, self.markers(provider), self.names):
                    yield f"{name}: {problem}"
            yield from _resource_problems(provider, name)
            if sync:
                yield from _sync_problems(provider, name)
            yield from _choice_problems(provider, name)
            if isinstance(provider, providers.AttributeGetter):
                yield from _chain_problems(provider, self.names)
            yield from _known_value_problems(provider, self.names)


def check_job(app: App, container: containers.Container, job_name: str) -> list[str]:
    """Every problem building ``job_name`` would hit (empty: it can be built)."""
    entry = app.jobs[job_name]
    root = getattr(container, entry.provider_name)
    walk = _Walk(container, graph.names(container))
    with remembered():
        found = [*walk.problems(root, sync=not entry.spec.is_async), *walk.cycle_problems(root)]
    return list(dict.fromkeys(found))


def check_container(app: App, container: containers.Container) -> dict[str, list[str]]:
    """Problems per job name (an empty dict means every job can be built)."""
    problems: dict[str, list[str]] = {}
    with remembered():  # the jobs share providers: each value worked out once for them all
        for job_name in app.jobs:
            found = check_job(app, container, job_name)
            if found:
                problems[job_name] = found
    return problems


def wiring_error(problems: dict[str, list[str]]) -> ConfigurationError:
    """One error for ``--check`` and a run alike: a line per problem, each naming its job."""
    lines = [f"{job}: {p}" for job, found in problems.items() for p in found]
    return ConfigurationError("wiring check failed:\n  " + "\n  ".join(lines))
