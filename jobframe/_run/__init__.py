"""One run of one job, from start to exit code.

``prepare`` picks and builds it (:func:`run_job` is the entry point); ``run`` is the one object
that owns its life (:class:`Run`); ``drivers`` drive a sync or async job; ``interrupts`` and
``reactions`` turn signals and the deadline into cancellation; ``supervisor`` keeps the clock;
``outcome`` maps what happened to the exit code; ``options`` holds the data going in and out.
"""

from jobframe._run.options import ProcessControl, RunOptions, RunResult
from jobframe._run.prepare import prepare, run_job
from jobframe._run.run import Run

__all__ = ["ProcessControl", "Run", "RunOptions", "RunResult", "prepare", "run_job"]
