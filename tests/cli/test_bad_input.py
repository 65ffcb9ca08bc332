"""Bad input never runs a job nor prints a traceback: one ``jobframe: error:`` line, the documented code.

Each class of input is a matrix of almost-right values, run on a real process. "Nothing ran" is
checked on stdout: a run that got as far as building anything logs, and these must log nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, Ran, run_cli

pytestmark = pytest.mark.process

SOME_JOB = ["--job-name", "SomeJob"]


def refused(ran: Ran, code: int, *needles: str) -> None:
    """Exit ``code``, exactly one ``jobframe: error:`` line naming ``needles``, nothing run."""
    lines = ran.stderr.strip().splitlines()
    assert ran.code == code, (ran.code, ran.stderr, ran.stdout[-2000:])
    assert len(lines) == 1 and lines[0].startswith("jobframe: error: "), ran.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert "Traceback" not in ran.stderr + ran.stdout
    assert ran.events == [], "bad input must be refused before anything is built or logged"


# -- row 1: --output that cannot be written ------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "needle"),
    [
        ("/tmp", "is a directory"),
        ("", "an empty path"),
        ("   ", "an empty path"),
        (".", "an empty path"),
        ("/tmp/", "names a directory"),
        ("/proc/x", "cannot create a file in '/proc'"),
        ("/dev/null", "not a regular file"),
        ("/nonexistent/dir/out.json", "does not exist"),
        (f"{REPO / 'README.md'}/out.json", "does not exist"),
        (f"/tmp/{'a' * 300}.json", "File name too long"),
    ],
)
def test_output_that_cannot_be_written_is_refused_before_the_job_runs(output: str, needle: str) -> None:
    refused(run_cli([*SOME_JOB, "--output", output]), 2, "--output", needle)


def test_output_in_a_directory_without_write_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    ran = _run_without_privileges([*SOME_JOB, "--output", str(locked / "out.json")])
    refused(ran, 2, "cannot create a file in", "Permission denied")


def test_output_in_a_directory_that_cannot_be_searched(tmp_path: Path) -> None:
    """Even looking at the path fails (EACCES on stat): still the one line and 2, not a traceback."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o600)
    try:
        ran = _run_without_privileges([*SOME_JOB, "--output", str(locked / "out.json")])
    finally:
        locked.chmod(0o700)
    refused(ran, 2, "--output", "Permission denied")


# -- rows 2 and 3: --param values that are almost right ------------------------------------------


@pytest.mark.parametrize(
    "param",
    ["users=[1,", "users=[1,]", "users=[a]", "users=[", "users={", 'users={"a":', "max_campaigns=[1"],
)
def test_a_value_that_starts_like_json_but_is_not_is_a_usage_error(param: str) -> None:
    key = param.split("=", maxsplit=1)[0]
    refused(run_cli([*SOME_JOB, "--param", param]), 2, f"--param {key}", "not valid JSON")


@pytest.mark.parametrize(
    "params",
    [["users="], ["users= "], ["users=a", "users="], ['users=["a",""]'], ["title="]],
)
def test_empty_values_are_validated_like_any_other(params: list[str]) -> None:
    args = [a for p in params for a in ("--param", p)]
    refused(run_cli([*SOME_JOB, *args]), 2, "invalid parameters", "at least 1 character")


def test_a_string_parameter_takes_brackets_literally() -> None:
    ran = run_cli([*SOME_JOB, "--param", "title=[URGENT] {today}", "--param", 'users=["a","b"]'])
    assert ran.code == 0, ran.stderr
    params = ran.one("job.started")["params"]
    assert params["title"] == "[URGENT] {today}"
    assert params["users"] == ["a", "b"]


# -- row 4: numbers that are not finite ----------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [("--timeout", v) for v in ("nan", "inf", "-inf", "Infinity", "1e999", "-1", "", "soon")]
    + [
        (o, v)
        for o in ("--deadline-margin", "--shutdown-timeout", "--cancel-grace", "--exit-grace")
        for v in ("NaN", "inf")
    ],
)
def test_seconds_must_be_a_finite_non_negative_number(option: str, value: str) -> None:
    refused(run_cli([*SOME_JOB, option, value]), 2, f"argument {option}", "jobframe --help")


@pytest.mark.parametrize(
    ("option", "value"),
    [
        (o, v)
        for o in ("--timeout", "--deadline-margin", "--shutdown-timeout", "--cancel-grace", "--exit-grace")
        for v in ("1e308", "99999999999999999999", "315360001")
    ],
)
def test_seconds_past_ten_years_are_refused_not_overflowed(option: str, value: str) -> None:
    """A finite number too large for a clock or a timer (``1e308``) is a usage error like ``inf``,
    not an ``OverflowError`` in the run or a supervisor thread that dies."""
    refused(run_cli([*SOME_JOB, option, value]), 2, f"argument {option}", "at most 315360000")


@pytest.mark.parametrize(
    ("args", "env", "code", "needle"),
    [
        ([*SOME_JOB, "--deadline", "9999-12-31T23:59:59-14:00"], {}, 2, "argument --deadline"),
        (SOME_JOB, {"ARGO_DEADLINE": "9999-12-31T23:59:59-14:00"}, 78, "ARGO_DEADLINE"),
    ],
)
def test_a_timestamp_past_the_calendar_is_refused_with_its_code(
    args: list[str], env: dict[str, str], code: int, needle: str
) -> None:
    """Year 9999 in a zone west of UTC is past the last instant a ``datetime`` holds."""
    refused(run_cli(args, env=env), code, needle, "out of range")


# -- rows 5 and 6: JOBFRAME_* variables are checked like the flags they stand for ---------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("JOBFRAME_LOG_LEVEL", "bogus"),
        ("JOBFRAME_LOG_LEVEL", "verbose"),
        ("JOBFRAME_LOG_FORMAT", "bogus"),
        ("JOBFRAME_LOG_FORMAT", "xml"),
        ("JOBFRAME_APP", "   "),
        ("JOBFRAME_CONFIG_DIR", "  "),
        ("JOBFRAME_SECRETS_DIR", " "),
        ("JOBFRAME_ENV", "\t"),
    ],
)
def test_a_bad_variable_is_a_usage_error_naming_it(variable: str, value: str) -> None:
    refused(run_cli(SOME_JOB, env={variable: value}), 2, f"environment variable {variable}")


@pytest.mark.parametrize(("fmt", "json_lines"), [("JSON", True), ("Json", True), ("CONSOLE", False)])
def test_log_format_is_case_insensitive_from_flag_and_variable(fmt: str, json_lines: bool) -> None:
    from_flag = run_cli([*SOME_JOB, "--log-format", fmt])
    for ran in (from_flag, run_cli(SOME_JOB, env={"JOBFRAME_LOG_FORMAT": fmt})):
        assert ran.code == 0, ran.stderr
        lines = ran.stdout.splitlines()
        assert lines
        assert all(line.startswith("{") for line in lines) is json_lines, ran.stdout[:500]


def test_log_level_is_case_insensitive_and_the_flag_wins_over_the_variable() -> None:
    ran = run_cli([*SOME_JOB, "--log-level", "Warning"], env={"JOBFRAME_LOG_LEVEL": "bogus"})
    assert ran.code == 0, ran.stderr
    assert not ran.named("job.started")
    ran = run_cli(SOME_JOB, env={"JOBFRAME_LOG_LEVEL": "DeBuG"})
    assert ran.code == 0, ran.stderr
    assert any(e["level"] == "debug" for e in ran.events)


# -- row 7: stdout (or stderr) closed -------------------------------------------------------------


def _run_closed(args: list[str], *fds: int) -> Ran:
    """Run jobframe with the given standard descriptors closed, as ``>&-`` / ``2>&-`` would."""
    redirects = " ".join(f"{fd}>&-" for fd in fds)
    return run_cli(args, wrap=["sh", "-c", f'exec "$@" {redirects}', "sh"])


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--list"], 0, "SomeJob"),
        (["--check"], 0, "ok: settings valid"),
        (SOME_JOB, 0, '"event": "job.finished"'),
        (["--help"], 0, "environment:"),
        (["--job-name", "Nope"], 2, "jobframe: error: unknown job"),
    ],
)
def test_with_stdout_closed_output_goes_to_stderr_and_the_code_is_unchanged(
    args: list[str], code: int, needle: str
) -> None:
    ran = _run_closed(args, 1)
    assert ran.code == code, ran.stderr
    assert "Traceback" not in ran.stderr
    assert needle in ran.stderr
    assert ran.stdout == ""


@pytest.mark.parametrize(("args", "code"), [(["--list"], 0), (SOME_JOB, 0), (["--job-name", "Nope"], 2)])
def test_with_both_streams_closed_the_exit_code_still_says_it(args: list[str], code: int) -> None:
    assert _run_closed(args, 1, 2).code == code


def test_with_stderr_closed_an_error_goes_to_stdout() -> None:
    ran = _run_closed(["--timeout", "nan", *SOME_JOB], 2)
    assert ran.code == 2
    assert ran.stdout.startswith("jobframe: error: argument --timeout")


# -- rows 8 and 9: the secrets directory ---------------------------------------------------------


def _run_without_privileges(args: list[str]) -> Ran:
    """Run as a process that file permissions apply to: root loses its override capabilities."""
    if os.geteuid() != 0:
        return run_cli(args)
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: permissions cannot be enforced")
    return run_cli(args, wrap=[setpriv, "--bounding-set=-dac_override,-dac_read_search"])


@pytest.mark.parametrize("profile", ["local", "production"])
def test_an_unreadable_secrets_directory_is_78_naming_it_and_why(tmp_path: Path, profile: str) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "braze__api_key").write_text("from-the-secret")
    secrets.chmod(0)
    try:
        ran = _run_without_privileges([*SOME_JOB, "--env", profile, "--secrets-dir", str(secrets)])
    finally:
        secrets.chmod(0o700)
    refused(ran, 78, f"secrets directory '{secrets}'", "cannot be read: Permission denied")


@pytest.mark.parametrize("what", ["secret file", "env file"])
def test_an_unreadable_secret_or_env_file_is_78_naming_it(tmp_path: Path, what: str) -> None:
    target = tmp_path / ("braze__api_key" if what == "secret file" else "app.env")
    target.write_text("from-the-file" if what == "secret file" else "BRAZE__API_KEY=x\n")
    target.chmod(0)
    source = ["--secrets-dir", str(tmp_path)] if what == "secret file" else ["--env-file", str(target)]
    refused(_run_without_privileges([*SOME_JOB, *source]), 78, "Permission denied", str(target))


def test_a_secrets_directory_that_is_a_file_says_so(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.write_text("not a directory\n")
    refused(run_cli([*SOME_JOB, "--secrets-dir", str(secrets)]), 78, "is not a directory")
    ran = run_cli(SOME_JOB, env={"JOBFRAME_SECRETS_DIR": str(secrets)})
    refused(ran, 78, "is not a directory")
    refused(run_cli([*SOME_JOB, "--secrets-dir", str(tmp_path / "nope")]), 78, "does not exist")


# -- row 10: argparse's own errors ---------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus"],
        ["--job-name"],
        ["--list", "--check"],
        ["--job-name", "SomeJob", "--list"],
        ["--timeout"],
        ["--deadline", "tomorrow", *SOME_JOB],
        ["--log-level", "loud", *SOME_JOB],
        ["stray-positional"],
    ],
)
def test_argparse_errors_are_one_line_with_a_hint_to_help(args: list[str]) -> None:
    ran = run_cli(args)
    refused(ran, 2, "see jobframe --help")
    assert "usage:" not in ran.stderr


@pytest.mark.parametrize("second", ["Sleep", "someJob"])
def test_two_different_job_names_are_refused_not_the_last_one_run(second: str) -> None:
    refused(run_cli([*SOME_JOB, "--job-name", second]), 2, "--job-name", "'SomeJob'", repr(second))


def test_list_with_a_param_is_refused_rather_than_ignored() -> None:
    refused(run_cli(["--list", "--param", "users=a"]), 2, "--list --param", "--job-name")


def test_the_same_job_name_twice_runs_it() -> None:
    """What a rendered step's empty optional parameter does (docs/argo.md): a no-op repeat."""
    ran = run_cli([*SOME_JOB, "--job-name=SomeJob"])
    assert ran.code == 0, ran.stderr


# -- row 11: which keys are read -----------------------------------------------------------------


def test_keys_that_name_no_setting_are_ignored_in_every_source(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMPOSE_PROJECT_NAME=x\nHTTPS_PROXY=\nUNRELATED__KEY=1\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "database_password").write_text("unrelated")
    ran = run_cli(
        [*SOME_JOB, "--env-file", str(tmp_path / ".env"), "--secrets-dir", str(secrets)],
        env={"COMPOSE_PROJECT_NAME": "x", "HTTPX": "1", "BRAZEN__KEY": "1"},
    )
    assert ran.code == 0, ran.stderr


@pytest.mark.parametrize(
    ("source", "key", "needle"),
    [
        ("env", "HTTP__FOO", "http.foo: Extra inputs are not permitted (from environment variable HTTP__FOO"),
        ("env", "http__foo", "http.foo: Extra inputs are not permitted (from environment variable http__foo"),
        ("env", "HTTP", "http: Input should be a valid dictionary"),
        ("env", "BRAZE__APIKEY", "braze.apikey: Extra inputs are not permitted"),
        ("dotenv", "BRAZE__TIMEOUT", "braze.timeout: Extra inputs are not permitted (from"),
        ("secret", "http__foo", "http.foo: Extra inputs are not permitted (from secret file"),
    ],
)
def test_a_key_inside_a_setting_that_names_nothing_is_78_naming_its_source(
    tmp_path: Path, source: str, key: str, needle: str
) -> None:
    env: dict[str, str] = {}
    args = list(SOME_JOB)
    if source == "env":
        env[key] = "1"
    elif source == "dotenv":
        (tmp_path / "app.env").write_text(f"{key}=3\n")
        args += ["--env-file", str(tmp_path / "app.env")]
    else:
        (tmp_path / key).write_text("1")
        args += ["--secrets-dir", str(tmp_path)]
    refused(run_cli(args, env=env), 78, needle)


def test_a_misspelt_key_in_a_profile_is_78(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "local.yaml").write_text("braze:\n  base_url: fake://braze\n  max_concurency: 2\n")
    ran = run_cli([*SOME_JOB, "--config-dir", str(config)])
    refused(ran, 78, "braze.max_concurency: Extra inputs are not permitted (no such setting")
