"""The command-line contract, on real processes: listing, checking, running, and every early exit."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.process

APP = ["--app", "acme_jobs:Container"]


def test_version() -> None:
    ran = run_cli(["--version"])
    assert ran.code == 0
    assert ran.stdout.startswith("jobframe ")


def test_default_app_lists_some_job_with_description() -> None:
    ran = run_cli(["--list"])
    assert ran.code == 0, ran.stderr
    jobs = {line.split()[0]: line for line in ran.stdout.splitlines() if line[:1].isalpha()}
    assert "SomeJob" in jobs
    assert "List recent campaigns" in jobs["SomeJob"]
    assert "Sleep" in jobs


def test_some_job_runs_offline_and_logs_start_and_finish() -> None:
    ran = run_cli(["--job-name", "SomeJob"])
    assert ran.code == 0, ran.stdout + ran.stderr
    started = ran.one("job.started")
    finished = ran.one("job.finished")
    assert started["job"] == finished["job"] == "SomeJob"
    assert started["run_id"] == finished["run_id"]
    assert finished["status"] == "succeeded"
    assert finished["exit_code"] == 0
    assert isinstance(finished["duration_s"], float)
    assert started["timestamp"].endswith("Z")
    assert any("fake" in e["event"] for e in ran.events), "the log must say the fake Braze was used"
    assert ran.events[-1]["event"] == "process.exit"


def test_list_external_app(ext_app: Path) -> None:
    ran = run_cli([*APP, "--list"], cwd=ext_app)
    assert ran.code == 0, ran.stderr
    assert "Echo       Return the settings and params it was given." in ran.stdout


def test_app_from_environment_variable(ext_app: Path) -> None:
    ran = run_cli(["--list"], cwd=ext_app, env={"JOBFRAME_APP": "acme_jobs:Container"})
    assert ran.code == 0, ran.stderr
    assert "Transient" in ran.stdout


def test_check_passes_for_good_wiring(ext_app: Path) -> None:
    ran = run_cli([*APP, "--check"], cwd=ext_app)
    assert ran.code == 0, ran.stderr
    assert "4 jobs wired" in ran.stdout


def test_check_default_app() -> None:
    ran = run_cli(["--check"])
    assert ran.code == 0, ran.stderr


def test_check_reports_broken_wiring_with_78(ext_app: Path) -> None:
    ran = run_cli(["--app", "acme_jobs:Broken", "--check"], cwd=ext_app)
    assert ran.code == 78
    assert "NeedsClient" in ran.stderr
    assert "missing a required argument: 'client'" in ran.stderr
    assert "missing: dependency is not provided" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_unknown_job_names_close_matches(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Ecko"], cwd=ext_app)
    assert ran.code == 2
    assert "unknown job 'Ecko'" in ran.stderr
    assert "'Echo'" in ran.stderr
    assert "--list" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_missing_job_name_is_usage_error() -> None:
    ran = run_cli([])
    assert ran.code == 2
    assert "--job-name" in ran.stderr


def test_bad_app_reference_is_usage_error(tmp_path: Path) -> None:
    for ref, message in [
        ("nope", "expected MODULE:ATTR"),
        ("no_such_module:X", "no module named 'no_such_module'"),
        ("json:NoSuchThing", "has no attribute"),
        ("json:dumps", "not a dependency-injector DeclarativeContainer"),
    ]:
        ran = run_cli(["--app", ref, "--list"], cwd=tmp_path)
        assert ran.code == 2, (ref, ran.stderr)
        assert message in ran.stderr, (ref, ran.stderr)


def test_params_are_typed_and_repeatable(ext_app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    ran = run_cli(
        [
            *APP,
            "--job-name",
            "Echo",
            "--param",
            "count=3",
            "--param",
            "names=x",
            "--param",
            "names=y",
            "--param",
            "ratio=0.25",
            "--output",
            str(out),
        ],
        cwd=ext_app,
    )
    assert ran.code == 0, ran.stdout
    result = json.loads(out.read_text())
    assert (result["count"], result["names"], result["ratio"]) == (3, ["x", "y"], 0.25)
    assert ran.one("job.started")["params"] == {"count": 3, "names": ["x", "y"], "ratio": 0.25}


def test_json_list_param(ext_app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    ran = run_cli(
        [*APP, "--job-name", "Echo", "--param", 'names=["a","b"]', "--output", str(out)], cwd=ext_app
    )
    assert ran.code == 0
    assert json.loads(out.read_text())["names"] == ["a", "b"]


def test_bad_params_exit_2_naming_field_and_reason(ext_app: Path) -> None:
    cases = [
        (["--param", "count"], "expected KEY=VALUE"),
        (["--param", "=3"], "expected KEY=VALUE"),
        (["--param", "cuont=3"], "unknown parameter 'cuont' (did you mean 'count'?)"),
        (["--param", "count=many"], "count: Input should be a valid integer"),
        (["--param", "ratio=high"], "ratio: Input should be a valid number"),
    ]
    for extra, message in cases:
        ran = run_cli([*APP, "--job-name", "Echo", *extra], cwd=ext_app)
        assert ran.code == 2, (extra, ran.stderr)
        assert message in ran.stderr, (extra, ran.stderr)
        assert "Traceback" not in ran.stderr
        assert not ran.named("job.started"), "params are validated before anything runs"


def test_job_without_params_rejects_params(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Fail", "--param", "x=1"], cwd=ext_app)
    assert ran.code == 2
    assert "takes no parameters" in ran.stderr


def test_bad_option_value_is_usage_error() -> None:
    for args in (["--timeout", "soon"], ["--deadline", "tomorrow"], ["--log-format", "xml"]):
        ran = run_cli([*args, "--job-name", "SomeJob"])
        assert ran.code == 2, args
        assert "Traceback" not in ran.stderr


def test_single_value_for_a_list_param(ext_app: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    ran = run_cli([*APP, "--job-name", "Echo", "--param", "names=solo", "--output", str(out)], cwd=ext_app)
    assert ran.code == 0, ran.stderr
    assert json.loads(out.read_text())["names"] == ["solo"]


def test_app_that_fails_to_import_is_one_line_usage_error(tmp_path: Path) -> None:
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom at import')\n")
    (tmp_path / "badsyntax.py").write_text("def f(:\n")
    (tmp_path / "missingdep.py").write_text("import no_such_dependency_xyz\n")
    for ref, message in [
        ("raises:C", "RuntimeError: boom at import"),
        ("badsyntax:C", "SyntaxError"),
        ("missingdep:C", "No module named 'no_such_dependency_xyz'"),
    ]:
        ran = run_cli(["--app", ref, "--list"], cwd=tmp_path)
        assert ran.code == 2, (ref, ran.stderr)
        assert message in ran.stderr and "importing" in ran.stderr, (ref, ran.stderr)
        assert "Traceback" not in ran.stderr
        assert len(ran.stderr.strip().splitlines()) == 1


def test_unwritable_output_is_refused_before_the_job_runs(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo", "--output", "/nonexistent/dir/out.json"], cwd=ext_app)
    assert ran.code == 2
    assert "directory '/nonexistent/dir' does not exist" in ran.stderr
    assert not ran.named("job.started")


def test_garbage_argo_deadline_is_configuration_error(ext_app: Path) -> None:
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app, env={"ARGO_DEADLINE": "tomorrow-ish"})
    assert ran.code == 78
    assert "ARGO_DEADLINE" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_unrelated_dotenv_keys_are_ignored_but_typos_in_settings_fail(ext_app: Path, tmp_path: Path) -> None:
    (ext_app / ".env").write_text("COMPOSE_PROJECT_NAME=acme\nC=dotenv\n")
    out = tmp_path / "out.json"
    ran = run_cli([*APP, "--job-name", "Echo", "--output", str(out)], cwd=ext_app)
    assert ran.code == 0, ran.stderr
    assert json.loads(out.read_text())["c"] == "dotenv"
    (ext_app / ".env").write_text("DB__HOTS=typo\n")
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app)
    assert ran.code == 78
    assert "db.hots: Extra inputs are not permitted" in ran.stderr


def test_a_wiring_gap_is_refused_by_a_run_before_the_job_starts(ext_app: Path) -> None:
    ran = run_cli(["--app", "acme_jobs:Broken", "--job-name", "NeedsClient"], cwd=ext_app)
    assert ran.code == 78, ran.stdout
    assert ran.events == [], "refused as --check would refuse it: nothing built, nothing logged"
    assert ran.stderr.startswith("jobframe: error: wiring check failed:")
    assert "NeedsClient: missing: dependency is not provided" in ran.stderr


def test_top_level_yaml_must_be_a_mapping(ext_app: Path) -> None:
    (ext_app / "config" / "local.yaml").write_text("- a\n- b\n")
    ran = run_cli([*APP, "--job-name", "Echo"], cwd=ext_app)
    assert ran.code == 78
    assert "local.yaml" in ran.stderr and "mapping" in ran.stderr
    assert "Traceback" not in ran.stderr


def test_app_raising_configuration_error_at_import_keeps_78(tmp_path: Path) -> None:
    (tmp_path / "strict.py").write_text(
        "import jobframe\nraise jobframe.ConfigurationError('DATABASE_URL is required')\n"
    )
    ran = run_cli(["--app", "strict:C", "--list"], cwd=tmp_path)
    assert ran.code == 78
    assert "DATABASE_URL is required" in ran.stderr


def test_import_failure_points_at_the_apps_own_line(tmp_path: Path) -> None:
    (tmp_path / "badjson.py").write_text("import json\n\nCONFIG = json.loads('{not json')\n")
    ran = run_cli(["--app", "badjson:C", "--list"], cwd=tmp_path)
    assert ran.code == 2
    assert "JSONDecodeError" in ran.stderr
    assert "badjson.py:3)" in ran.stderr


def test_check_rejects_a_malformed_argo_deadline(ext_app: Path) -> None:
    ran = run_cli([*APP, "--check"], cwd=ext_app, env={"ARGO_DEADLINE": "soon"})
    assert ran.code == 78
    assert "ARGO_DEADLINE" in ran.stderr


def test_dotenv_reads_fields_by_validation_alias(tmp_path: Path) -> None:
    (tmp_path / "aliased.py").write_text(
        "from dependency_injector import containers, providers\n"
        "from pydantic import Field\n"
        "import jobframe\n"
        "class S(jobframe.Settings):\n"
        "    db_url: str = Field('unset', validation_alias='DATABASE_URL')\n"
        "class Show:\n"
        "    '''Return the setting.'''\n"
        "    def __init__(self, s: S) -> None:\n"
        "        self.s = s\n"
        "    def execute(self) -> str:\n"
        "        return self.s.db_url\n"
        "class C(containers.DeclarativeContainer):\n"
        "    settings = providers.Dependency(instance_of=S)\n"
        "    show = providers.Factory(Show, s=settings)\n"
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "local.yaml").write_text("{}\n")
    (tmp_path / ".env").write_text("DATABASE_URL=postgres://db\nUNRELATED=1\n")
    out = tmp_path / "out.json"
    ran = run_cli(["--app", "aliased:C", "--job-name", "Show", "--output", str(out)], cwd=tmp_path)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert json.loads(out.read_text()) == "postgres://db"


# -- --check --job-name: the one job a run would build, with its --param and --shard ------------


@pytest.mark.parametrize(
    "args",
    [
        ["--job-name", "SomeJob", "--param", "max_campaigns=lots"],
        ["--job-name", "SomeJob", "--param", "colour=red"],
        ["--job-name", "SomeJob", "--param", "title=a", "--param", "title=b"],
        ["--job-name", "SomeJob", "--param", "users="],
        ["--job-name", "somejob"],
        ["--job-name", "SomeJob", "--shard", "0/2"],
    ],
    ids=["wrong-type", "unknown-name", "twice", "empty", "case", "not-shardable"],
)
def test_check_with_a_job_name_refuses_what_the_run_would_refuse(args: list[str]) -> None:
    checked = run_cli(["--check", *args])
    ran = run_cli(args)
    assert ran.code == 2, (ran.stderr, ran.stdout[-2000:])
    assert (checked.code, checked.stderr, checked.stdout) == (ran.code, ran.stderr, ""), checked.stderr
    assert ran.stderr.startswith("jobframe: error: ") and len(ran.stderr.strip().splitlines()) == 1


def test_check_with_a_job_name_says_ok_for_a_command_line_that_runs() -> None:
    args = ["--job-name", "SomeJob", "--param", "users=u1", "--param", "max_campaigns=2"]
    checked = run_cli(["--check", *args])
    assert (checked.code, checked.stderr) == (0, ""), checked.stderr
    assert checked.stdout == "ok: settings valid (local), job SomeJob wired, its parameters valid\n"
    assert run_cli(args).code == 0


def test_check_never_ignores_params_it_cannot_tie_to_a_job() -> None:
    ran = run_cli(["--check", "--param", "max_campaigns=lots"])
    assert ran.code == 2
    assert ran.stderr == (
        "jobframe: error: --check --param: parameters belong to one job: give --job-name NAME too\n"
    )


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A loopback server nobody answers: a connection attempt waits in its backlog, so whether
    a process connected is read after it ended, without a clock."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        yield sock


def _connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
    except BlockingIOError:
        return False
    return True


def test_check_never_connects_sends_or_writes_the_ledger(listener: socket.socket, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    ledger = tmp_path / "ledger" / "ledger.sqlite3"
    env = {"BRAZE__BASE_URL": url, "HTTP__BASE_URL": url, "LEDGER__PATH": str(ledger)}
    job = ["--job-name", "SomeJob", "--param", "users=u1", "--run-key", "k1"]
    reporting = ["--env", "production", "--pushgateway", url, "--output", str(tmp_path / "out.json")]
    for args in (["--check"], ["--check", *job]):
        ran = run_cli([*args, *reporting], env=env)  # run_cli: the API key never appears
        assert ran.code == 0, ran.stderr
        assert not _connected(listener), f"{args}: --check connected"
    assert list(tmp_path.iterdir()) == [], "--check wrote nothing: no ledger, no output"
    ran = run_cli([*job, *reporting, "--timeout", "2"], env=env)  # the same, run: it does connect
    assert ran.code in (75, 124), ran.stdout[-2000:]  # the silent server: a deadline or a retry
    assert _connected(listener)
    assert ledger.exists()
