"""What a running job may know about its own run, injected like any other dependency."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobframe.deadline import Deadline
from jobframe.observe.observer import Observer
from jobframe.observe.progress import Progress
from jobframe.shard import Shard

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """The run's identity, deadline, progress reporter and shard (``--shard``; the whole input by default).

    Declare ``run = providers.Dependency(instance_of=RunContext)`` in the main container and pass
    ``run`` to the jobs that want it; jobframe fills it in for every run.
    """

    job: str
    run_id: str
    deadline: Deadline | None = None
    progress: Progress = field(default_factory=lambda: Progress(None))
    run_key: str | None = None
    """``--run-key``: what a run ledger records this run under, so a retry resumes it."""
    fresh_run: bool = False
    """``--fresh-run``: forget what the ledger recorded under ``run_key`` and start over."""
    resend_ambiguous: bool = False
    """``--resend-ambiguous``: repeat batches that may have been delivered, even sends."""
    retry_number: int = 0
    """``--retry-number`` (Argo's ``{{retries}}``): 0 on a first attempt, 1 on the first retry..."""
    new_run: bool = False
    """``--new-run``: start ``run_key`` even though an unfinished earlier run key sent the same input."""
    registered: bool = False
    """``--registered``: the workflow recorded ``run_key`` before any attempt; a ledger without it refuses."""
    fingerprint: str = ""
    """What this run was asked to do (job and parameters); a ledger refuses another under its key."""
    shard: Shard = field(default_factory=Shard)
    observer: Observer = field(default_factory=Observer, repr=False)
    """What the run counts and traces (Braze requests, objects, the ledger): docs/observability.md."""
    _summaries: list[Callable[[], Mapping[str, Any] | None]] = field(default_factory=list, repr=False)

    _run_key_claimed_by: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # The observer is what modules are injected with (BrazeModule.observer): the Braze clients'
        # bulk calls report progress through it, so it carries the run's reporter and deadline.
        self.observer.progress = self.progress
        self.observer.deadline = self.deadline

    def claim_run_key(self, by: str) -> str | None:
        """``run_key``, taken by ``by`` (the run ledger) to record the run under it.

        A run given ``--run-key`` that nothing claims warns ``ledger.unused`` when it finishes:
        the retry would start from the beginning.
        """
        if self.run_key is not None:
            self._run_key_claimed_by = by
        return self.run_key

    @property
    def run_key_claimed_by(self) -> str | None:
        """Who claimed ``run_key`` (:meth:`claim_run_key`), or ``None``."""
        return self._run_key_claimed_by

    def add_summary(self, fields: Callable[[], Mapping[str, Any] | None]) -> None:
        """Add ``fields()`` to ``job.finished`` (called when the job finishes; ``None`` adds nothing)."""
        self._summaries.append(fields)

    def summary(self) -> dict[str, Any]:
        """Every field added with :meth:`add_summary`, as they are when the job finishes."""
        merged: dict[str, Any] = {}
        for fields in self._summaries:
            merged.update(fields() or {})
        return merged

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the effective deadline, or ``None`` without one: check it before long steps."""
        return None if self.deadline is None else self.deadline.seconds_left(now)
