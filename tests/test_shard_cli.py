"""``--shard INDEX/COUNT`` on the command line: refused for a job that is not shardable and for
what is not a shard (exit 2), given to a shardable job as ``RunContext.shard``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jobframe.shard import shard_of

pytestmark = pytest.mark.process  # every test here starts jobframe as a process


def test_a_job_that_is_not_shardable_refuses_a_shard(cli: Any) -> None:
    ran = cli(["--job-name", "SomeJob", "--shard", "1/4"])
    assert ran.code == 2
    assert "--shard 1/4: job SomeJob is not shardable" in ran.stderr
    assert "Traceback" not in ran.stderr and not ran.named("job.started")


@pytest.mark.parametrize("value", ["4/4", "1", "x/2", "0/0"])
def test_what_is_not_a_shard_is_a_usage_error(cli: Any, value: str) -> None:
    ran = cli(["--job-name", "SendPushFromFile", "--shard", value])
    assert ran.code == 2
    assert "--shard" in ran.stderr and "Traceback" not in ran.stderr


def test_the_whole_input_is_accepted_by_any_job(cli: Any, tmp_path: Path) -> None:
    ran = cli(["--job-name", "SomeJob", "--shard", "0/1"])
    assert ran.code == 0, ran.stderr
    assert "shard" not in ran.one("job.started")


def test_a_shardable_job_sends_only_its_part(cli: Any, tmp_path: Path) -> None:
    ids = [f"user-{i:04d}" for i in range(240)]
    users = tmp_path / "users.txt"
    users.write_text("\n".join(ids) + "\n")
    recipients = 0
    for index in range(3):
        output = tmp_path / f"result-{index}.json"
        ran = cli(
            [
                "--job-name", "SendPushFromFile", "--shard", f"{index}/3", "--output", str(output),
                "--param", f"path={users}", "--param", "title=Hi", "--param", "body=There",
            ]
        )  # fmt: skip
        assert ran.code == 0, ran.stdout + ran.stderr
        assert ran.one("job.started")["shard"] == f"{index}/3"
        mine = sum(1 for i in ids if shard_of(i, 3) == index)
        assert json.loads(output.read_text())["recipients"] == mine
        recipients += mine
    assert recipients == len(ids)
