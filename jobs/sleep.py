"""``Sleep``: a long-running job that holds a resource, for trying signals, deadlines and progress."""

from __future__ import annotations

import threading

import httpx
from pydantic import BaseModel, Field

from jobframe import RunContext

__all__ = ["Sleep", "SleepParams"]


class SleepParams(BaseModel):
    seconds: float = Field(30.0, ge=0, allow_inf_nan=False)


class Sleep:
    """Wait for a while holding an HTTP client, reporting progress every second."""

    def __init__(self, http: httpx.Client, run: RunContext) -> None:
        self._http = http
        self._run = run

    def execute(self, params: SleepParams) -> dict[str, float]:
        total = max(int(params.seconds), 1)
        tick = params.seconds / total
        never = threading.Event()  # waits are interruptible: a signal cancels the job mid-wait
        for done in range(total):
            never.wait(tick)
            self._run.progress.update(done + 1, total)
        return {"slept_s": params.seconds}
