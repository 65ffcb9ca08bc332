"""Every configuration error names its source in one line, with its documented code, and nothing
runs: one subprocess test per kind of almost-right input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobframe._cli.args import parse_args
from tests.cli.test_bad_input import refused
from tests.conftest import CANARY, REPO, clean_env, run_cli

pytestmark = pytest.mark.process

SOME_JOB = ["--job-name", "SomeJob"]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A copy of the default app's profiles to spoil."""
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    return directory


@pytest.mark.parametrize("args", [SOME_JOB, ["--check"]])
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("HTTP__HEADERS", '{"a":'),
        ("BRAZE", "{bad"),
        ("HTTP__TIMEOUTS", "[1,"),
        ("HTTP__HEADERS", "X-Api-Key: k"),  # not JSON-looking: still read as JSON, and named
    ],
)
def test_json_that_does_not_parse_in_a_variable_names_the_variable(
    variable: str, value: str, args: list[str]
) -> None:
    ran = run_cli(args, env={variable: value})
    refused(ran, 78, f"environment variable {variable}: not valid JSON")
    assert value not in ran.stderr


def test_a_bad_value_in_a_profile_names_the_file_and_the_key(config: Path) -> None:
    (config / "typed.yaml").write_text("braze:\n  base_url: fake://braze\n  max_concurrency: lots\n")
    for args in (SOME_JOB, ["--check"]):
        ran = run_cli([*args, "--config-dir", str(config), "--env", "typed"])
        refused(ran, 78, "braze.max_concurrency: Input should be a valid integer")
        assert f"(from {config / 'typed.yaml'} key braze.max_concurrency)" in ran.stderr


def test_a_bad_value_in_the_default_profile_names_it_when_the_profile_does_not_override(
    config: Path,
) -> None:
    with (config / "default.yaml").open("a") as profile:
        profile.write("braze:\n  max_concurrency: lots\n")
    ran = run_cli([*SOME_JOB, "--config-dir", str(config)])
    refused(ran, 78, f"(from {config / 'default.yaml'} key braze.max_concurrency)")


@pytest.mark.parametrize("how", ["flag", "variable"])
@pytest.mark.parametrize("what", ["missing", "directory"])
def test_an_explicit_env_file_that_is_not_a_file_is_78_naming_it(tmp_path: Path, how: str, what: str) -> None:
    path = tmp_path / "prod.env"
    if what == "directory":
        path.mkdir()
    args, env = (
        ([*SOME_JOB, "--env-file", str(path)], {})
        if how == "flag"
        else (SOME_JOB, {"JOBFRAME_ENV_FILE": str(path)})
    )
    reason = "is a directory" if what == "directory" else "does not exist"
    refused(run_cli(args, env=env), 78, f"env file {str(path)!r} (--env-file / JOBFRAME_ENV_FILE) {reason}")


def test_the_implicit_env_file_may_be_missing(tmp_path: Path) -> None:
    ran = run_cli(
        ["--check", "--config-dir", str(REPO / "config")],
        cwd=tmp_path,
        env={"JOBFRAME_APP": "jobs:MainContainer"},
    )
    assert ran.code == 0, ran.stderr


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('HTTP__TIMEOUTS__READ=5\nBRAZE__MAX_CONCURRENCY="8\n', 2),
        ('# comment\n\n\n"bad\n', 4),
        ("OK=1\nexport X='unterminated\nY=2\n", 2),
    ],
)
def test_an_env_file_line_that_does_not_parse_names_file_and_line(
    tmp_path: Path, text: str, line: int
) -> None:
    (tmp_path / ".env").write_text(text)
    ran = run_cli([*SOME_JOB, "--config-dir", str(REPO / "config")], cwd=tmp_path)
    refused(ran, 78, f"'.env' line {line}: not KEY=VALUE")


@pytest.mark.parametrize("blank", ["   ", "\t", " \n "])
def test_a_blank_braze_key_in_production_is_78_as_in_a_secret_file(blank: str) -> None:
    ran = run_cli([*SOME_JOB, "--env", "production"], env={"BRAZE__API_KEY": blank}, canary="unused")
    refused(ran, 78, "braze.api_key:", "(from environment variable BRAZE__API_KEY)")


def test_a_profile_that_is_a_directory_says_so(config: Path) -> None:
    (config / "local.yaml").unlink()
    (config / "local.yaml").mkdir()
    ran = run_cli([*SOME_JOB, "--config-dir", str(config)])
    refused(ran, 78, f"profile {str(config / 'local.yaml')!r} is a directory")
    assert "no profile" not in ran.stderr


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        # the first value would be lost without a word: a profile is a mapping, each key once
        (
            "braze:\n  base_url: fake://braze\nbraze:\n  max_concurrency: 2\n",
            ["duplicate key 'braze'", "line 3"],
        ),
        ("braze:\n  base_url: fake://braze\n  base_url: fake://braze\n", ["duplicate key 'base_url'"]),
        # a tag whose value does not convert must not echo the value (it may be a secret)
        (f"braze:\n  base_url: fake://braze\n  api_key: !!int {CANARY}\n", ["!!int", "does not convert"]),
        (f"braze:\n  base_url: fake://braze\n  api_key: !!float {CANARY}\n", ["!!float", "does not convert"]),
        (f"braze:\n  base_url: fake://braze\n  api_key: !!timestamp 2026-{CANARY}\n", ["does not convert"]),
    ],
)
def test_a_profile_that_would_lose_or_echo_a_value_is_78_naming_the_file(
    config: Path, text: str, needles: list[str]
) -> None:
    (config / "local.yaml").write_text(text)
    ran = run_cli([*SOME_JOB, "--config-dir", str(config)], canary="unused")
    refused(ran, 78, str(config / "local.yaml"), *needles)
    assert CANARY not in ran.stderr + ran.stdout


def test_a_profile_of_a_hundred_megabytes_is_refused_before_it_is_parsed(config: Path) -> None:
    """Parsing it would take minutes before the first line of output; a profile holds settings."""
    with (config / "local.yaml").open("wb") as profile:
        profile.truncate(100 * 1024 * 1024)  # sparse: instant to write, slow only to parse
    ran = run_cli([*SOME_JOB, "--config-dir", str(config)])
    refused(ran, 78, str(config / "local.yaml"), "100.0 MB", "at most 1 MB")


def test_merge_keys_may_override_what_they_merge(config: Path) -> None:
    """``<<: {...}`` then one of its keys is an override YAML defines, not a duplicate."""
    (config / "local.yaml").write_text(
        "braze:\n  base_url: fake://braze\nhttp:\n  timeouts:\n    <<: {connect: 5, read: 30}\n    read: 10\n"
    )
    ran = run_cli([*SOME_JOB, "--config-dir", str(config)])
    assert ran.code == 0, ran.stderr


def test_a_scalar_param_given_twice_says_so() -> None:
    ran = run_cli([*SOME_JOB, "--param", "title=a", "--param", "title=b"])
    refused(ran, 2, "--param title was given 2 times, but title takes one value (str)")


def test_ten_thousand_unknown_params_are_one_bounded_line() -> None:
    args = [word for i in range(10_000) for word in ("--param", f"key{i}=v")]
    ran = run_cli([*SOME_JOB, *args])
    refused(ran, 2, "unknown parameter 'key0', 'key1', 'key2', 'key3', 'key4' and 9995 more")
    assert len(ran.stderr) < 400, len(ran.stderr)


def test_parsing_ten_thousand_params_is_linear_not_quadratic() -> None:
    def seconds(count: int) -> float:
        argv = [*SOME_JOB, *(w for i in range(count) for w in ("--param", f"k{i}=v"))]
        started = time.perf_counter()
        assert len(parse_args(argv).param) == count
        return time.perf_counter() - started

    # argparse alone took 14 s for 10,000 (quadratic); linear parsing takes milliseconds.
    assert seconds(10_000) < 2.0


@pytest.mark.parametrize(
    ("args", "env", "code", "needle"),
    [
        (["--timeout", "0"], {}, 2, "--timeout: '0' must be > 0"),
        (["--timeout", "0.0"], {}, 2, "must be > 0"),
        (
            ["--deadline", "2020-01-01T00:00:00Z"],
            {},
            124,
            "the deadline (--deadline, 2020-01-01T00:00:00Z) passed",
        ),
        (
            [],
            {"ARGO_DEADLINE": "2020-01-01T00:00:00Z"},
            124,
            "the deadline (ARGO_DEADLINE, 2020-01-01T00:00:00Z)",
        ),
    ],
)
def test_a_deadline_that_leaves_no_time_is_refused_before_anything_is_built(
    args: list[str], env: dict[str, str], code: int, needle: str
) -> None:
    refused(run_cli([*SOME_JOB, *args], env=env), code, needle)


def test_a_deadline_a_moment_ago_is_refused_too() -> None:
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    refused(run_cli([*SOME_JOB, "--deadline", past]), 124, "before job SomeJob could start: nothing was run")


@pytest.mark.parametrize("name", ["SomeJob", "Sleep"])
def test_a_positional_job_name_hints_at_job_name(name: str) -> None:
    refused(run_cli([name]), 2, f"unrecognized arguments: {name} (to run a job: --job-name {name})")


def test_new_into_a_closed_pipe_prints_no_traceback(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written: every write is EPIPE
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "jobframe", "new", "acme"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write)
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr and b"BrokenPipeError" not in proc.stderr, proc.stderr
    assert (tmp_path / "acme" / "acme" / "container.py").is_file()
    assert CANARY not in proc.stderr.decode()


def test_json_that_does_not_parse_in_the_env_file_names_the_file_and_key(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text('HTTP__HEADERS={"a":\n')
    ran = run_cli([*SOME_JOB, "--config-dir", str(REPO / "config")], cwd=tmp_path)
    refused(ran, 78, "'.env' key HTTP__HEADERS: not valid JSON")
