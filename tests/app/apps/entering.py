"""A resource whose opening never ends and ignores every interruption (a connect stuck in a retry
loop that swallows ``BaseException``): the supervisor must take the run over without touching it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from dependency_injector import containers, providers

import jobframe

log = jobframe.get_logger("entering")


def stubborn() -> Iterator[str]:
    while True:
        try:
            log.info("entering.inside")  # inside the try: from here on, every interruption is ignored
            threading.Event().wait()
        except BaseException:
            log.info("entering.ignored")
            continue
    yield "never"


class UsesStubborn:
    """Needs the resource that never opens."""

    def __init__(self, resource: str) -> None:
        self.resource = resource

    def execute(self) -> None:
        raise AssertionError("never reached")


class Container(containers.DeclarativeContainer):
    stubborn = providers.Resource(stubborn)
    uses_stubborn = providers.Factory(UsesStubborn, resource=stubborn)
