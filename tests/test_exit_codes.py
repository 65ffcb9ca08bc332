"""Each exit code of the contract that a run can end with before any signal or deadline."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.process

APP = ["--app", "acme_jobs:Container"]


def test_success_is_0(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app)
    assert ran.code == 0
    assert ran.one("job.finished")["status"] == "succeeded"


def test_unexpected_error_is_1_with_one_structured_traceback(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Fail"], cwd=ext_app)
    assert ran.code == 1
    finished = ran.one("job.finished")
    assert finished["status"] == "failed"
    assert finished["exit_code"] == 1
    assert finished["error_type"] == "builtins.ValueError"
    assert finished["error_message"] == "the numbers do not add up"
    (exc,) = finished["exception"]
    assert exc["exc_type"] == "ValueError"
    assert any(frame["name"] == "execute" for frame in exc["frames"])
    assert "locals" not in exc["frames"][-1], "locals may hold secrets"
    assert sum("exception" in e for e in ran.events) == 1, "the traceback is logged once"
    assert "Traceback" not in ran.stderr


def test_retryable_error_is_75(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Transient"], cwd=ext_app)
    assert ran.code == 75
    finished = ran.one("job.finished")
    assert finished["exit_code"] == 75
    assert finished["error_type"] == "jobframe.errors.RetryableError"


def test_invalid_setting_is_78_naming_each_field(ext_app: Path) -> None:
    (ext_app / "config" / "local.yaml").write_text("db:\n  host: [1, 2]\nunknown_key: 1\n")
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app)
    assert ran.code == 78
    assert "db.host: Input should be a valid string" in ran.stderr
    assert "unknown_key: Extra inputs are not permitted" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert not ran.named("job.started")


def test_secret_value_never_in_settings_error(ext_app: Path) -> None:
    # The canary goes into a field that rejects it: the error names the field, never the value.
    (ext_app / "config" / "local.yaml").write_text("db:\n  host: x\n")
    ran = run_cli(
        [*APP, "--job-name", "Echo"],
        cwd=ext_app,
        env={"DB__PASSWORD": "", "A": "x", "DB": "canary-3f9c2e7d1b"},
    )
    assert ran.code == 78
    assert "environment variable DB: not valid JSON" in ran.stderr  # names the variable, not the value
    assert "canary-3f9c2e7d1b" not in ran.stderr + ran.stdout


def test_missing_profile_is_78(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo", "--env", "staging"], cwd=ext_app)
    assert ran.code == 78
    assert "no profile 'staging'" in ran.stderr
    assert "local" in ran.stderr and "production" in ran.stderr


def test_broken_yaml_is_78_with_position(ext_app: Path) -> None:
    (ext_app / "config" / "local.yaml").write_text("a: [unclosed\n")
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app)
    assert ran.code == 78
    assert "local.yaml" in ran.stderr and "line 1" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_missing_secrets_dir_is_78(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo", "--secrets-dir", "nope"], cwd=ext_app)
    assert ran.code == 78
    assert "secrets directory 'nope' does not exist" in ran.stderr


def test_production_without_api_key_is_78() -> None:
    ran = run_cli(["--job-name", "SomeJob", "--env", "production"], env={"BRAZE__API_KEY": ""})
    assert ran.code == 78, ran.stdout + ran.stderr
    assert "braze.api_key: Value error, required when base_url is not" in ran.stderr
    assert not ran.named("job.started"), "a missing key is found before the job starts"
    assert "Traceback" not in ran.stderr


def test_unwritable_progress_file_never_fails_the_job() -> None:
    ran = run_cli(["--job-name", "SomeJob"], env={"ARGO_PROGRESS_FILE": "/nonexistent/dir/progress"})
    assert ran.code == 0, ran.stdout
    failed = ran.one("progress.write_failed")
    assert failed["path"] == "/nonexistent/dir/progress"
