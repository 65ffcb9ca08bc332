"""Override providers for one test, without the two classic dependency-injector traps.

* A ``Singleton`` built before an override keeps its old dependencies. :class:`Overrides` resets
  every singleton of the container right after applying, so nothing built earlier survives.
* Overrides stack and ``reset_override()`` would also drop the wiring a ``providers.Container``
  put there (it fills a module's ``Dependency`` by overriding it). So undoing removes exactly the
  overrides this object added, newest first, with ``reset_last_overriding()``.

Paths use ``__`` to reach into modules, the way settings are named in the environment:
``braze__client`` is ``container.braze.client``, resolved on the module where it is declared.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any

from dependency_injector import containers, providers

from jobframe._app.graph import modules_of
from jobframe._app.graph import resolve as resolve_provider
from jobframe._teardown.instrument import refresh

__all__ = ["Overrides", "override", "override_module_resources", "resolve_provider"]


class Overrides:
    """Overrides applied to one container; undo them with :meth:`restore` or by leaving ``with``.

    Applied at construction, so it works both as a statement (undone by the test's teardown when
    the container came from the ``jobframe_container`` fixture) and as a context manager.
    """

    def __init__(self, container: containers.Container, overrides: Mapping[str, Any]) -> None:
        self.container = container
        self._applied: list[Any] = []
        try:
            for path, value in overrides.items():
                provider = resolve_provider(container, path)
                provider.override(_as_overriding(provider, value))
                self._applied.append(provider)
        except BaseException:
            self.restore()
            raise
        container.reset_singletons()
        refresh(container)  # a resource the override brings in is recorded like the others

    @property
    def providers(self) -> list[Any]:
        """The overridden providers, in the order the overrides were applied."""
        return list(self._applied)

    def restore(self) -> None:
        """Remove this object's overrides (only those), newest first; safe to call twice."""
        while self._applied:
            self._applied.pop().reset_last_overriding()
        self.container.reset_singletons()

    def __enter__(self) -> Overrides:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.restore()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._applied)


def _as_overriding(provider: Any, value: Any) -> Any:
    """What to pass to ``provider.override``: a provider or container as is, anything else as a value.

    Wrapping plain values in ``providers.Object`` here (dependency-injector would too) makes the
    rule explicit: a stub object is returned as is, never called.
    """
    if isinstance(provider, providers.Container):
        return value  # a whole module: a container instance whose providers replace the module's
    if providers.is_provider(value):
        return value
    return providers.Object(value)


def override(container: containers.Container, /, **overrides: Any) -> Overrides:
    """Override providers of ``container`` by path, e.g. ``override(c, braze__client=fake_client)``.

    Values may be providers (``providers.Resource(...)``), plain objects (used as they are) or, for
    a module, a container instance. Singletons are reset afterwards, so no dependency built before
    the override is seen by the next call.
    """
    return Overrides(container, overrides)


def override_module_resources(
    container: containers.Container,
    module_cls: type[containers.DeclarativeContainer],
    module: str | None,
    resources: Mapping[str, Any],
    **arguments: Any,
) -> Overrides:
    """Replace resources of ``module_cls`` modules on ``container`` (``module``, or every one found).

    ``resources`` maps a provider name of the module to a resource function; each is called with
    the module's own ``settings`` and ``arguments``, so only what the function changes differs.
    """
    found = modules_of(container, module_cls)
    names = found if module is None else [module]
    if not names or not set(names) <= set(found):
        wanted = f" {module!r}" if module is not None else ""
        raise LookupError(
            f"{type(container).__name__} has no {module_cls.__name__} provider{wanted} to override "
            f"(it has: {', '.join(found) or 'none'})"
        )
    wiring: dict[str, Any] = {}
    for name in names:
        settings = getattr(container, name).settings
        for provider_name, function in resources.items():
            wiring[f"{name}__{provider_name}"] = providers.Resource(function, settings=settings, **arguments)
    return Overrides(container, wiring)
