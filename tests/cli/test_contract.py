"""What a user reads without the source: ``--help``, ``--list``, and bounded params/result in the log."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

pytestmark = pytest.mark.process

APP = ["--app", "acme_jobs:Container"]


def test_help_tells_the_environment_the_param_rules_and_the_exit_codes() -> None:
    ran = run_cli(["--help"])
    assert ran.code == 0
    for needle in (
        "JOBFRAME_APP",
        "JOBFRAME_ENV",
        "JOBFRAME_CONFIG_DIR",
        "JOBFRAME_ENV_FILE",
        "JOBFRAME_SECRETS_DIR",
        "JOBFRAME_LOG_FORMAT",
        "JOBFRAME_LOG_LEVEL",
        "ARGO_DEADLINE",
        "ARGO_PROGRESS_FILE",
        "BRAZE__API_KEY",
        "Repeating a key makes a list",
        "is JSON",
        "jobframe new NAME",
    ):
        assert needle in ran.stdout, needle
    codes = re.findall(r"\b(\d+) [a-zA-Z]", ran.stdout.split("exit codes:")[1].split("\n\n")[0])
    assert codes == ["0", "1", "2", "75", "78", "124", "130", "143"]


def test_the_exit_codes_in_help_are_the_readmes() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Exit codes")[1].split("\n## ")[0]
    documented = re.findall(r"^\|\s*(\d+)\s*\|", table, flags=re.MULTILINE)
    assert documented == ["0", "1", "2", "75", "78", "124", "130", "143"]


def test_list_shows_every_parameter_with_type_default_and_required(ext_app: Path) -> None:
    ran = run_cli([*APP, "--list"], cwd=ext_app)
    assert ran.code == 0, ran.stderr
    assert "    count  int; default 1" in ran.stdout
    assert "    names  list[str]; default []; repeatable" in ran.stdout
    assert "    ratio  float; default 0.5" in ran.stdout
    assert "repeated key or one JSON array" in ran.stdout
    ran = run_cli(["--list"])
    assert "    path          Path; required" in ran.stdout
    assert "    users          list[str]; default [" in ran.stdout


def test_job_names_are_exact_and_a_case_slip_is_named(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "echo"], cwd=ext_app)
    assert ran.code == 2
    assert "unknown job 'echo'; did you mean 'Echo'? (job names are case-sensitive)" in ran.stderr
    assert not ran.events


def test_the_default_app_missing_says_what_to_do(tmp_path: Path) -> None:
    ran = run_cli(["--list"], cwd=tmp_path, env={"PYTHONPATH": ""})
    assert ran.code == 2
    assert "no module named 'jobs'" in ran.stderr
    assert "run from the directory that holds your app's package, or set PYTHONPATH" in ran.stderr
    assert "--app MODULE:ATTR or JOBFRAME_APP" in ran.stderr


@pytest.mark.parametrize(
    ("layout", "needle"),
    [
        ({}, "config directory 'config' does not exist"),
        ({"config/default.yaml": "{}\n"}, "no profile 'local' in 'config': create config/local.yaml"),
    ],
)
def test_missing_profiles_say_what_to_create(ext_app: Path, layout: dict[str, str], needle: str) -> None:
    for path in (ext_app / "config").iterdir():
        path.unlink()
    (ext_app / "config").rmdir()
    for name, text in layout.items():
        (ext_app / name).parent.mkdir(exist_ok=True)
        (ext_app / name).write_text(text)
    ran = run_cli([*APP, "--check"], cwd=ext_app)
    assert ran.code == 78
    assert needle in ran.stderr


def test_an_empty_profile_is_an_empty_mapping(ext_app: Path) -> None:
    (ext_app / "config" / "local.yaml").write_text("# nothing to set here\n")
    ran = run_cli([*APP, "--check"], cwd=ext_app)
    assert ran.code == 0, ran.stderr


def test_a_missing_setting_says_where_to_set_it(tmp_path: Path) -> None:
    (tmp_path / "local.yaml").write_text("{}\n")
    ran = run_cli(["--check", "--config-dir", str(tmp_path)])  # BRAZE__API_KEY is set, base_url is not
    assert ran.code == 78
    needle = f"braze.base_url: Field required (set it in {tmp_path}/local.yaml or as BRAZE__BASE_URL"
    assert needle in ran.stderr
    (tmp_path / "local.yaml").write_text("braze: {base_url: https://rest.example.com}\n")
    ran = run_cli(["--check", "--config-dir", str(tmp_path)], env={"BRAZE__API_KEY": ""})
    assert ran.code == 78
    assert "braze.api_key: Value error" in ran.stderr
    assert "(from environment variable BRAZE__API_KEY)" in ran.stderr


# -- rows 12 and 13 ------------------------------------------------------------------------------


def test_huge_params_are_cut_in_job_started_with_their_sizes() -> None:
    value = "u" * 100_000
    args = [a for i in range(10) for a in ("--param", f"users={value}{i}")]
    ran = run_cli(["--job-name", "SomeJob", "--param", "title=" + "t" * 100_000, *args])
    assert ran.code == 0, ran.stderr
    line = next(line for line in ran.stdout.splitlines() if '"job.started"' in line)
    assert len(line) < 8000
    params = json.loads(line)["params"]
    assert params["title"].endswith("…[100000 chars]")
    assert len(params["users"]) <= 11
    assert all(u.endswith(("…[100001 chars]", "chars]")) for u in params["users"][:-1])
    assert params["body"] == "Your batch job ran."


def test_job_finished_carries_the_result() -> None:
    ran = run_cli(["--job-name", "SomeJob"])
    assert ran.code == 0, ran.stderr
    result = ran.one("job.finished")["result"]
    assert (result["campaigns"], result["recipients"]) == (3, 3)
    assert len(result["dispatch_ids"]) == 1


def test_a_huge_result_is_summarised(ext_app: Path) -> None:
    names = json.dumps([f"name-{i}" for i in range(5000)])
    ran = run_cli([*APP, "--job-name", "Echo", "--param", f"names={names}"], cwd=ext_app)
    assert ran.code == 0, ran.stderr
    finished = next(line for line in ran.stdout.splitlines() if '"job.finished"' in line)
    assert len(finished) < 4000
    result = json.loads(finished)["result"]
    assert result["names"][:2] == ["name-0", "name-1"]
    assert result["names"][-1] == "…[5000 items]"
    assert result["count"] == 1


def test_a_secret_cut_by_the_bound_is_still_masked(ext_app: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    secret = "canary-secret-" + "z" * 30
    (secrets / "api_token").write_text(secret)
    names = json.dumps(["x" * 190 + secret])  # the 200-character cut falls inside the secret
    ran = run_cli(
        [*APP, "--job-name", "Echo", "--param", f"names={names}", "--secrets-dir", str(secrets)],
        cwd=ext_app,
        canary="canary-secret",
    )
    assert ran.code == 0, ran.stderr
    assert ran.one("job.started")["params"]["names"][0].endswith("***")
