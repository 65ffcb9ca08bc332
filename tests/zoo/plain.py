"""The zoo's cases without jobframe: ``python -m tests.zoo.plain SHAPE`` (library: ``$ZOO_LIB``).

The same calls as the zoo app's jobs, in a plain interpreter that exits the ordinary way (its
``atexit`` hooks, its threads joined): what a library delivers here, jobframe must deliver too.
It prints ``{"event": "job.finished"}`` where jobframe would log it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from tests.zoo.libs import LIBS

LIB = LIBS[os.environ["ZOO_LIB"]]
HELD: list[Any] = []  # the Singleton shape: something holds the client until the process ends


async def _arun(shape: str) -> None:
    client = LIB.make()
    await LIB.use(client)
    if shape == "managed":
        await LIB.close(client)
    elif shape == "held":
        HELD.append(client)


def _run(shape: str) -> None:
    client = LIB.make()
    LIB.use(client)
    if shape == "managed":
        LIB.close(client)
    elif shape == "held":
        HELD.append(client)


def main(shape: str) -> None:
    if LIB.asynchronous:
        asyncio.run(_arun(shape))
    else:
        _run(shape)
    print(json.dumps({"event": "job.finished", "status": "succeeded"}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
