"""A job that ends itself the ways Python code can still exits with one of the documented codes,
its resources closed and ``process.exit`` last: ``sys.exit`` with any value, a
``KeyboardInterrupt`` of its own (README, "Exit codes"). Real processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .jobproc import running

pytestmark = pytest.mark.process

APP = "hostile:Container"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("null", 0),  # sys.exit(): success, as in plain Python
        ("0", 0),
        ("false", 0),
        ("true", 1),  # every other value is a failure, never a code of the job's own:
        ("3", 1),
        ("75", 1),  # not "retryable": only jobframe.RetryableError says that
        ("143", 1),  # not "terminated": no SIGTERM came
        ("256", 1),  # plain Python: 256 & 0xff, success
        ("-1", 1),  # plain Python: 255
        ('"a message"', 1),  # plain Python prints it and exits 1
        ("ctrl-c", 130),  # a KeyboardInterrupt of its own: how Python reports a SIGINT
    ],
)
def test_a_job_ending_itself_exits_with_a_documented_code(tmp_path: Path, value: str, code: int) -> None:
    with running("EndsItself", app=APP, params={"value": value}, record=tmp_path / "r") as proc:
        assert proc.wait(20) == code, proc.output
    finished = proc.one("job.finished")
    assert finished["exit_code"] == code
    assert finished["status"] == {0: "succeeded", 1: "failed", 130: "interrupted"}[code]
    assert proc.order()[-1] == "process.exit" and proc.one("process.exit")["exit_code"] == code
    rec = proc.record()
    assert rec.opened and rec.still_open() == [], proc.output
    assert all(json.loads(line.raw) for line in proc.lines if line.raw)  # JSON lines only
