"""The log contract: JSON lines with the documented fields, console on request, one pipeline."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.process

APP = ["--app", "acme_jobs:Container"]


def test_json_lines_have_the_contract_fields(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo", "--param", "count=2"], cwd=ext_app)
    assert ran.code == 0
    lines = ran.stdout.splitlines()
    assert lines and all(line.startswith("{") for line in lines), "stdout is JSON lines only"
    for event in ran.events:
        assert {"timestamp", "level", "event"} <= event.keys()
        assert datetime.fromisoformat(event["timestamp"]).utcoffset().total_seconds() == 0
    started = ran.one("job.started")
    assert started["level"] == "info"
    assert {"job", "run_id", "params"} <= started.keys()
    assert len(started["run_id"]) == 32
    finished = ran.one("job.finished")
    assert {"job", "run_id", "status", "exit_code", "duration_s"} <= finished.keys()
    assert [e["event"] for e in ran.events][-1] == "process.exit"


def test_console_format_is_readable(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo", "--log-format", "console"], cwd=ext_app)
    assert ran.code == 0
    assert "job.started" in ran.stdout
    assert not ran.stdout.lstrip().startswith("{")


def test_log_level_filters_and_env_sets_format(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo", "--log-level", "warning"], cwd=ext_app)
    assert ran.code == 0
    assert not ran.named("job.started")
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app, env={"JOBFRAME_LOG_FORMAT": "console"})
    assert "job.started" in ran.stdout and not ran.stdout.startswith("{")


def test_params_with_secret_types_are_masked_in_job_started(tmp_path: Path) -> None:
    pkg = tmp_path / "secretparams"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from dependency_injector import containers, providers\n"
        "from pydantic import BaseModel, SecretStr\n"
        "class P(BaseModel):\n    token: SecretStr\n    password: str = 'x'\n"
        "class UsesToken:\n    '''Use a token.'''\n    def execute(self, params: P) -> None:\n        pass\n"
        "class C(containers.DeclarativeContainer):\n    job = providers.Factory(UsesToken)\n"
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "local.yaml").write_text("{}\n")
    ran = run_cli(
        [
            "--app",
            "secretparams:C",
            "--job-name",
            "UsesToken",
            "--param",
            "token=canary-3f9c2e7d1b",
            "--param",
            "password=hunter2",
        ],
        cwd=tmp_path,
    )
    assert ran.code == 0, ran.stderr
    params = ran.one("job.started")["params"]
    assert params["token"] != "canary-3f9c2e7d1b"
    assert params["password"] == "***"
