"""joblib's ``Parallel`` (loky, its default backend) in a job, as its docs use it.

Run from this directory: ``python -m jobframe --app parallelapp:Container --job-name Squares``.

loky keeps what ``Parallel`` started for the next call: its workers (reusable executor) and its
resource tracker, a helper process that ignores SIGTERM and ends when this process closes the pipe
to it — which plain Python does at exit. ``hold=true``: after the first ``Parallel``, the job logs
``parallel.ready`` and waits in a second one whose tasks never end, for a signal.
"""

from __future__ import annotations

import time

from dependency_injector import containers, providers
from pydantic import BaseModel

import jobframe

log = jobframe.get_logger("zoo.parallel")


def square(x: int) -> int:
    return x * x


def forever(x: int) -> None:
    time.sleep(600)


class Params(BaseModel):
    hold: bool = False


class Squares:
    """Squares 0..19 on two loky workers."""

    def execute(self, params: Params) -> int:
        from joblib import Parallel, delayed

        total = sum(Parallel(n_jobs=2)(delayed(square)(i) for i in range(20)))
        if params.hold:
            log.info("parallel.ready")
            Parallel(n_jobs=2)(delayed(forever)(i) for i in range(2))
        return total


class Container(containers.DeclarativeContainer):
    squares = providers.Factory(Squares)
