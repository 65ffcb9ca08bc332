"""Settings precedence across all five sources, on a real process, secrets included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CANARY, run_cli

pytestmark = pytest.mark.process

APP = ["--app", "acme_jobs:Container"]


def _echo(ext_app: Path, tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> dict[str, object]:
    out = tmp_path / "echo.json"
    ran = run_cli([*APP, "--job-name", "Echo", "--output", str(out), *extra], cwd=ext_app, env=env)
    assert ran.code == 0, ran.stdout + ran.stderr
    result: dict[str, object] = json.loads(out.read_text())
    return result


def test_each_source_overrides_the_one_before(ext_app: Path, tmp_path: Path) -> None:
    # default.yaml sets a..e, local.yaml b..e, .env c..e, environment d..e, secrets dir e.
    (ext_app / ".env").write_text("C=dotenv\nD=dotenv\nE=dotenv\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "e").write_text("secret-file")
    result = _echo(ext_app, tmp_path, "--secrets-dir", str(secrets), env={"D": "environ", "E": "environ"})
    assert (result["a"], result["b"], result["c"], result["d"], result["e"]) == (
        "default",
        "local",
        "dotenv",
        "environ",
        "secret-file",
    )


def test_env_selects_profile_and_nested_keys_use_double_underscore(ext_app: Path, tmp_path: Path) -> None:
    assert _echo(ext_app, tmp_path, "--env", "production")["db_host"] == "db.prod"
    assert _echo(ext_app, tmp_path, env={"JOBFRAME_ENV": "production"})["db_host"] == "db.prod"
    assert _echo(ext_app, tmp_path, env={"DB__HOST": "db.env"})["db_host"] == "db.env"


def test_nested_secret_file_and_env_var_for_secrets_dir(ext_app: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "mounted"
    secrets.mkdir()
    (secrets / "db__host").write_text("db.from-secret\n")
    result = _echo(ext_app, tmp_path, env={"JOBFRAME_SECRETS_DIR": str(secrets), "DB__HOST": "db.env"})
    assert result["db_host"] == "db.from-secret"


def test_config_dir_from_flag_and_env(ext_app: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "default.yaml").write_text("a: elsewhere\n")
    (other / "local.yaml").write_text("{}\n")
    assert _echo(ext_app, tmp_path, "--config-dir", str(other))["a"] == "elsewhere"
    assert _echo(ext_app, tmp_path, env={"JOBFRAME_CONFIG_DIR": str(other)})["a"] == "elsewhere"


def test_secret_from_secrets_dir_never_logged(ext_app: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "api_token").write_text(CANARY)
    # Chatty logs the token through stdlib logging, in a header and in an exception message;
    # run_cli fails the test if the canary appears in any output.
    ran = run_cli([*APP, "--job-name", "Chatty", "--secrets-dir", str(secrets)], cwd=ext_app)
    assert ran.code == 1
    assert ran.named("request")[0]["headers"]["Authorization"] == "***"
    assert "***" in ran.one("job.finished")["error_message"]
    assert any(e.get("logger") == "acme.lib" for e in ran.events), "stdlib logs go through the pipeline"
