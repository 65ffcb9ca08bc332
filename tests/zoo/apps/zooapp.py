"""The zoo app: one library (``$ZOO_LIB``, see ``tests/zoo/libs.py``) in three shapes.

Run from this directory: ``python -m jobframe --app zooapp:Container --job-name Inline``.

* ``Inline`` — the client is made inside ``execute``, used, and never closed;
* ``Held`` — a plain ``providers.Singleton`` provides it (only jobframe's safety net can end it);
* ``Managed`` — a ``providers.Resource`` provides it and closes it (what docs/modules.md teaches).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

from dependency_injector import containers, providers

import jobframe
from tests.zoo.libs import LIBS

LIB = LIBS[os.environ["ZOO_LIB"]]
log = jobframe.get_logger("zoo")


def managed() -> Iterator[Any]:
    client = LIB.make()
    try:
        yield client
    finally:
        LIB.close(client)


async def amanaged() -> AsyncIterator[Any]:
    client = LIB.make()
    try:
        yield client
    finally:
        await LIB.close(client)


if LIB.asynchronous:

    class Inline:
        async def execute(self) -> str:
            await LIB.use(LIB.make())
            log.info("zoo.used", lib=LIB.name)
            return LIB.name

    class Held:
        def __init__(self, client: Any) -> None:
            self.client = client

        async def execute(self) -> str:
            await LIB.use(self.client)
            log.info("zoo.used", lib=LIB.name)
            return LIB.name

else:

    class Inline:  # type: ignore[no-redef]
        def execute(self) -> str:
            LIB.use(LIB.make())
            log.info("zoo.used", lib=LIB.name)
            return LIB.name

    class Held:  # type: ignore[no-redef]
        def __init__(self, client: Any) -> None:
            self.client = client

        def execute(self) -> str:
            LIB.use(self.client)
            log.info("zoo.used", lib=LIB.name)
            return LIB.name


class Managed(Held):
    """The same work on a client a Resource provides."""


class Container(containers.DeclarativeContainer):
    client = providers.Singleton(LIB.make)
    managed_client = providers.Resource(amanaged if LIB.asynchronous else managed)

    inline = providers.Factory(Inline)
    held = providers.Factory(Held, client=client)
    managed = providers.Factory(Managed, client=managed_client)
