"""Progress of long operations: throttled log lines with rate and ETA, Argo's N/M, who owns the figure."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import structlog

from jobframe import Counted, RunContext
from jobframe.observe import Observer
from jobframe.observe.progress import Progress, Tracker
from tests.conftest import run_cli


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_tracker_logs_at_most_every_interval_with_rate_and_eta(tmp_path: Path) -> None:
    clock = Clock()
    progress = Progress(tmp_path / "p", interval=0.0)
    tracker = Tracker("/users/track", 1_300, progress=progress, log_interval=5.0, clock=clock)
    with structlog.testing.capture_logs() as logs:
        for _ in range(26):  # 50 objects every 0.5 s: 100 objects/s for 13 s
            clock.now += 0.5
            tracker.advance(50)
        tracker.finish()
    lines = [e for e in logs if e["event"] == "progress"]
    assert [line["done"] for line in lines] == [500, 1000, 1300]
    assert [line["finished"] for line in lines] == [False, False, True]
    first = lines[0]
    assert (first["total"], first["percent"], first["rate_per_s"], first["eta_s"]) == (1300, 38.5, 100.0, 8.0)
    assert first["operation"] == "/users/track" and first["elapsed_s"] == 5.0
    assert lines[-1]["eta_s"] == 0.0
    assert (tmp_path / "p").read_text() == "1300/1300\n"


def test_tracker_without_a_total_counts_and_never_writes_n_of_m(tmp_path: Path) -> None:
    clock = Clock()
    progress = Progress(tmp_path / "p")
    tracker = Tracker("/messages/send", None, progress=progress, log_interval=1.0, clock=clock)
    with structlog.testing.capture_logs() as logs:
        clock.now += 2
        tracker.advance(50)
        tracker.finish()  # one step only, but a line was logged along the way: a final line too
    assert [(e["done"], e["total"], e["eta_s"], e["percent"]) for e in logs] == [(50, None, None, None)] * 2
    assert not (tmp_path / "p").exists() and progress.last is None


def test_a_short_single_step_operation_logs_nothing() -> None:
    tracker = Tracker("/messages/send", 3, log_interval=5.0, clock=Clock())
    with structlog.testing.capture_logs() as logs:
        tracker.advance(3)
        tracker.finish()
    assert logs == []


def test_a_total_that_was_an_underestimate_is_raised_to_what_was_done(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p", interval=0.0)
    tracker = Tracker("/users/track", 10, progress=progress, clock=Clock())
    tracker.advance(15)
    assert progress.last == (15, 15)


def test_the_job_owns_the_figure_once_it_reports_its_own(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p", interval=0.0)
    progress.offer(5, 10)
    assert progress.last == (5, 10)
    progress.update(1, 2)
    progress.offer(9, 10)
    assert progress.last == (1, 2) and (tmp_path / "p").read_text() == "1/2\n"
    progress.offer(3, 0)  # nonsense from a library is ignored, never raised
    assert progress.last == (1, 2)


def test_an_operation_reports_to_the_progress_of_its_own_run_and_no_other() -> None:
    context = RunContext(job="J", run_id="run-1", progress=Progress(None))
    other = RunContext(job="J", run_id="run-2", progress=Progress(None))
    assert context.observer.progress is context.progress
    assert context.observer.operation("/x", 5)._progress is context.progress
    assert other.observer.operation("/x", 5)._progress is other.progress is not context.progress
    with structlog.contextvars.bound_contextvars(run_id="run-1"):  # the log context plays no part
        assert other.observer.operation("/x", 5)._progress is other.progress


def test_an_observer_made_outside_a_run_reports_to_nobody(tmp_path: Path) -> None:
    tracker = Observer().operation("/x", 5)
    tracker.advance(5)
    tracker.finish()
    assert tracker._progress is not None and tracker._progress.path is None
    assert list(tmp_path.iterdir()) == []


def test_two_runs_in_one_process_each_write_their_own_progress_file(tmp_path: Path) -> None:
    """Runs on two threads at once: each bulk call's N/M lands in its own run's file."""
    contexts = [
        RunContext(job="J", run_id=f"run-{n}", progress=Progress(tmp_path / f"p{n}", interval=0.0))
        for n in (0, 1)
    ]
    both_started = threading.Barrier(2)

    def bulk(context: RunContext, total: int) -> None:
        tracker = context.observer.operation("/users/track", total)
        both_started.wait(timeout=30)
        for _ in range(total):
            tracker.advance(1)
        tracker.finish()

    threads = [threading.Thread(target=bulk, args=(c, t)) for c, t in zip(contexts, (30, 70), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert (tmp_path / "p0").read_text() == "30/30\n"
    assert (tmp_path / "p1").read_text() == "70/70\n"


def test_counted_counts_once_on_demand_and_iterates_again() -> None:
    counts = []

    def count() -> int:
        counts.append(1)
        return 3

    items = Counted(lambda: iter("abc"), count)
    assert counts == []
    assert len(list(items)) == 3 and list(items) == ["a", "b", "c"]
    assert items.__length_hint__() == 3 and items.__length_hint__() == 3 and counts == [1]


@pytest.mark.process
def test_a_job_reporting_its_own_progress_is_not_overridden_by_the_client(tmp_path: Path) -> None:
    progress = tmp_path / "progress"
    ran = run_cli(["--job-name", "SomeJob", "--param", "users=a"], env={"ARGO_PROGRESS_FILE": str(progress)})
    assert ran.code == 0, ran.stdout + ran.stderr
    assert progress.read_text() == "2/2\n"  # SomeJob writes 1/2 then 2/2 itself
