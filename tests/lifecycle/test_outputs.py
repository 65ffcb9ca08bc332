"""--output is written atomically on success only; ARGO_PROGRESS_FILE gets N/M."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .jobproc import running

pytestmark = pytest.mark.process


def test_output_written_on_success_and_progress_reported(tmp_path: Path) -> None:
    out_dir, progress = tmp_path / "out", tmp_path / "progress"
    out_dir.mkdir()
    out = out_dir / "result.json"
    env = {"ARGO_PROGRESS_FILE": str(progress)}
    with running("Reports", "--output", str(out), env=env) as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    assert json.loads(out.read_text()) == {"done": 4, "label": "ok"}
    assert sorted(p.name for p in out_dir.iterdir()) == ["result.json"]  # no temporary file left
    assert progress.read_text().strip().splitlines()[-1] == "4/4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "progress"]


def test_no_output_on_failure(tmp_path: Path) -> None:
    out, progress = tmp_path / "result.json", tmp_path / "progress"
    env = {"ARGO_PROGRESS_FILE": str(progress)}
    with running("Reports", "--output", str(out), params={"fail": True}, env=env) as proc:
        code = proc.wait(10)
    assert code == 1, proc.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress"]
    assert progress.read_text().strip() == "4/4"  # the progress the job reported before failing


def test_no_output_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with running(
        "Holder", "--output", str(out), "--timeout", "1.5", "--deadline-margin", "1", params={"seconds": 30}
    ) as proc:
        code = proc.wait(10)
    assert code == 124, proc.output
    assert list(tmp_path.iterdir()) == []


def test_output_of_a_successful_async_job(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with running("AsyncHolder", "--output", str(out), params={"seconds": 0}) as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    assert json.loads(out.read_text()) == {"resources": ["aa", "ab", "ac", "c"]}
