"""What a running job may know about its own run, injected like any other dependency."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from jobframe.deadline import Deadline
from jobframe.progress import Progress, register_run
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
    shard: Shard = field(default_factory=Shard)

    def __post_init__(self) -> None:
        # Libraries (the Braze clients' bulk calls) find the run's reporter through its run id.
        register_run(self.run_id, self.progress)

    def seconds_left(self, now: datetime | None = None) -> float | None:
        """Seconds until the effective deadline, or ``None`` without one: check it before long steps."""
        return None if self.deadline is None else self.deadline.seconds_left(now)
