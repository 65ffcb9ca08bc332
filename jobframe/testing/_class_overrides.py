"""Refuse overrides made on a container *class* during a test: the test's runs would never see them.

Every test runs on its own instance of the app's container (``jobframe_container``), copied from
the class when the test starts. ``MainContainer.braze.client.override(stub)`` made later changes
only the class: the run would quietly use the real client, and the override would leak into every
later test. So the fixtures look for new class overrides before each run, each
``jobframe_override`` and at teardown, undo them, and fail with :class:`ClassOverrideError`.
"""

from __future__ import annotations

from dependency_injector import containers

from jobframe._app.graph import declared

__all__ = ["ClassOverrideError", "ClassOverrideWatch"]


class ClassOverrideError(RuntimeError):
    """A test overrode a provider on the container class instead of on its instance."""


class ClassOverrideWatch:
    """Override counts of a container class's providers when a test started; :meth:`check` compares."""

    def __init__(self, container_cls: type[containers.DeclarativeContainer]) -> None:
        self.container_cls = container_cls
        self._before = {id(p): (path, p, len(p.overridden)) for path, p in declared(container_cls)}

    def undo(self) -> list[str]:
        """Remove overrides added on the class since the test started; returns the providers' paths."""
        undone = []
        for path, provider, count in self._before.values():
            if len(provider.overridden) > count:
                while len(provider.overridden) > count:
                    provider.reset_last_overriding()
                undone.append(path)
        return undone

    def check(self) -> None:
        """Raise :class:`ClassOverrideError` (after undoing them) if the test overrode the class."""
        __tracebackhide__ = True
        undone = self.undo()
        if not undone:
            return
        cls = self.container_cls.__qualname__
        named = ", ".join(f"{cls}.{path}" for path in undone)
        first = undone[0]
        raise ClassOverrideError(
            f"{named} overridden on the container class: this test's runs use its own instance "
            f"(jobframe_container), so they would ignore it, and it would leak into later tests (undone "
            f"now). Override the instance: jobframe_override({first.replace('.', '__')}=...) or "
            f"jobframe_container.{first}.override(...)"
        )
