"""Sleep: waits holding an HTTP client and reports progress."""

from __future__ import annotations

from pathlib import Path

from jobframe.embed import RunOptions
from jobframe.testing.plugin import JobRunner


def test_sleeps_reports_progress_and_closes_its_client(jobframe_run: JobRunner, tmp_path: Path) -> None:
    progress = tmp_path / "progress"
    result = jobframe_run("Sleep", {"seconds": 0.03}, options=RunOptions(progress_file=progress))
    assert result.succeeded
    assert result.result == {"slept_s": 0.03}
    assert result.resources_opened == result.resources_closed == ["network.client"]
    assert progress.read_text().strip() == "1/1"


def test_a_deadline_cancels_it_with_exit_124(jobframe_run: JobRunner) -> None:
    # The deadline is enforced by jobframe's clock and handlers, which a test run installs on request.
    # 1 s, not less: building the HTTP client (an SSL context) takes a while on a loaded machine.
    result = jobframe_run(
        "Sleep", {"seconds": 30}, options=RunOptions(timeout=1.0, deadline_margin=0.0), handle_signals=True
    )
    assert result.exit_code == 124
    assert result.status == "deadline_exceeded"
    assert result.resources_closed == ["network.client"]
    assert result.duration_s < 10.0  # cancelled at the deadline, long before the 30 s


def test_negative_seconds_are_rejected(jobframe_run: JobRunner) -> None:
    result = jobframe_run("Sleep", {"seconds": -1})
    assert result.exit_code == 2
    assert "seconds" in str(result.error)
    assert not result.started and result.resources_opened == []
