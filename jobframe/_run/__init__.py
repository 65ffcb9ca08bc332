"""One run of one job, from start to exit code.

``prepare`` picks and builds it (:func:`run_job` is the entry point); ``run`` is the one object
that owns its life and writes its outcome (:class:`Run`, with the one teardown tail); ``drivers``
wait for a sync or async job and say how it ended; ``interrupts`` and ``reactions`` turn signals
and the deadline into cancellation, reaching an async job through ``loop_binding`` and bounding
each close with ``close_timers``; ``handlers`` installs and puts back what a run hooks into the
process, ``signal_guard`` keeping SIGTERM/SIGINT jobframe's; ``supervisor`` keeps the clock, its
timers named in ``timers``; ``forks`` keeps all of this out of a child the job forks; ``outcome``
decides the exit code; ``options`` holds the data going in and out.
"""

from jobframe._run.options import ProcessControl, RunOptions, RunResult
from jobframe._run.prepare import prepare, run_job
from jobframe._run.run import Run

__all__ = ["ProcessControl", "Run", "RunOptions", "RunResult", "prepare", "run_job"]
