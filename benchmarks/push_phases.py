"""``python -m jobframe`` with CPU timers around the ``--pushgateway`` path: where its cost goes.

Run by ``observability.py`` (its per-phase breakdown) as ``python push_phases.py JOBFRAME-ARGS``
with ``PUSH_PHASES_OUT`` naming a file: the run is the same as ``python -m jobframe`` — the
collector paused first, then ``jobframe.__main__.main`` — with jobframe's own functions wrapped
(never prometheus-client's), and one JSON line of process CPU nanoseconds written before the
process exits:

* ``startup``: everything before the run's reporting is set up (interpreter, jobframe, the app,
  the command line: ``--pushgateway``'s URL is checked here);
* ``reporting``: ``start_reporting`` — with ``--pushgateway``, loading jobframe's pushgateway
  module and importing prometheus-client (``import``), with the collector paused;
* ``run``: building, running and closing the job;
* ``report``: ``report_run`` — with ``--pushgateway`` the push thread: the run's families
  (``families``), the exposition text and the HTTP request (``send``), the rest being the
  thread and the bound (``thread``);
* the parent adds ``exit`` (from there to the end: the exit guard, ``os._exit``) from ``wait4``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from jobframe._process.collector import pause_collector

pause_collector()  # as python -m jobframe does first: the modules below load as in a real run

import jobframe.observe.report as report  # noqa: E402

cpu = time.process_time_ns  # the whole process: the push thread's CPU too
marks: dict[str, int] = {}


def _timed(module: Any, name: str, key: str) -> None:
    function: Callable[..., Any] = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = cpu()
        try:
            return function(*args, **kwargs)
        finally:
            marks[key] = marks.get(key, 0) + cpu() - started

    setattr(module, name, timed)


_start_reporting = report.start_reporting
_report_run = report.report_run


def start_reporting(*args: Any, **kwargs: Any) -> Any:
    marks["startup"] = cpu()
    if kwargs.get("pushgateway") is not None:  # loaded here, as start_reporting loads it
        import jobframe.observe.pushgateway as pushgateway  # noqa: PLC0415

        _timed(pushgateway, "require_client", "import")
        _timed(pushgateway, "registry_for", "families")
        _timed(pushgateway, "push", "push")
    try:
        return _start_reporting(*args, **kwargs)
    finally:
        marks["reporting"] = cpu() - marks["startup"]


def report_run(*args: Any, **kwargs: Any) -> None:
    started = cpu()
    marks["run"] = started - marks["startup"] - marks["reporting"]
    try:
        _report_run(*args, **kwargs)
    finally:
        marks["report"] = cpu() - started
        marks["until_exit"] = cpu()
        if "push" in marks:
            marks["send"] = marks["push"] - marks["families"]
            marks["thread"] = marks["report"] - marks["push"]
        with open(os.environ["PUSH_PHASES_OUT"], "w") as out:
            out.write(json.dumps(marks))


report.start_reporting = start_reporting
report.report_run = report_run

if __name__ == "__main__":
    from jobframe.__main__ import main

    sys.argv[0] = "jobframe"
    main()
