"""The smallest possible app: one job that does nothing, for measuring jobframe's own startup."""

import httpx  # noqa: F401 - real apps load it; without it jobframe would win by skipping an import
from dependency_injector import containers, providers


class Noop:
    """Do nothing."""

    def execute(self) -> None:
        return None


class Container(containers.DeclarativeContainer):
    noop = providers.Factory(Noop)
