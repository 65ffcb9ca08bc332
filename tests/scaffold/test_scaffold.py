"""``jobframe new``: the README's own app, written out; it checks clean, runs and passes its tests as is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from jobframe.errors import UsageError
from jobframe.scaffold import create
from tests.conftest import REPO, clean_env, run_cli

APP = "acme.container:MainContainer"


def readme_files() -> dict[str, str]:
    """Every README code block whose first line is ``# <path>`` (or ``# <path>: ...``), by path."""
    blocks = re.findall(r"```[a-z]*\n(.*?)```", (REPO / "README.md").read_text(), flags=re.DOTALL)
    files = {}
    for block in blocks:
        first = block.splitlines()[0]
        match = re.fullmatch(r"# ([\w./]+\.(?:py|yaml|toml))(?::.*)?", first)
        if match:
            files[match.group(1)] = block
    return files


def test_the_readme_shows_the_scaffolds_files_verbatim(tmp_path: Path) -> None:
    written = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in create("acme", tmp_path)}
    shown = readme_files()
    assert set(shown) == {
        "acme/jobs.py",
        "acme/container.py",
        "config/local.yaml",
        "config/test.yaml",
        "tests/test_jobs.py",
        "pyproject.toml",
    }
    for path, text in shown.items():
        assert written[path] == text, f"README's {path} differs from what `jobframe new acme` writes"


def test_create_writes_a_complete_app_with_the_name_everywhere(tmp_path: Path) -> None:
    files = {p.relative_to(tmp_path).as_posix() for p in create("welcome_jobs", tmp_path / "app")}
    assert files == {
        f"app/{name}"
        for name in (
            ".dockerignore",
            ".gitignore",
            "Dockerfile",
            "README.md",
            "pyproject.toml",
            "config/local.yaml",
            "config/test.yaml",
            "config/production.yaml",
            "tests/test_jobs.py",
            "welcome_jobs/__init__.py",
            "welcome_jobs/container.py",
            "welcome_jobs/jobs.py",
        )
    }
    for path in (tmp_path / "app").rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert "{{" not in text, path
            assert "acme" not in text, path
    assert (
        'jobframe_app = "welcome_jobs.container:MainContainer"'
        in (tmp_path / "app/pyproject.toml").read_text()
    )


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("Acme", "lowercase identifier"),
        ("my-app", "lowercase identifier"),
        ("1app", "lowercase identifier"),
        ("class", "lowercase identifier"),
        ("", "lowercase identifier"),
        ("json", "exists already"),
        ("jobframe", "exists already"),
        ("pydantic", "exists already"),
        ("tests", "exists already"),
    ],
)
def test_names_that_cannot_be_a_new_package_are_refused(tmp_path: Path, name: str, needle: str) -> None:
    with pytest.raises(UsageError, match=needle):
        create(name, tmp_path / "app")
    assert not (tmp_path / "app").exists()


def test_an_existing_non_empty_directory_is_never_written_into(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="exists and is not an empty directory"):
        create("acme", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    create("acme", tmp_path / "empty")  # an empty one is fine
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="exists and is not an empty directory"):
        create("acme", tmp_path / "file")


# -- the generated app, run as a user would ------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> Path:
    ran = run_cli(["new", "acme"], cwd=tmp_path)
    assert ran.code == 0, ran.stderr
    assert "export JOBFRAME_APP=acme.container:MainContainer" in ran.stdout
    return tmp_path / "acme"


@pytest.mark.process
def test_the_new_app_checks_clean_and_runs(app: Path, tmp_path: Path) -> None:
    env = {"JOBFRAME_APP": APP}
    ran = run_cli(["--check"], cwd=app, env=env)
    assert ran.code == 0, ran.stderr
    assert "1 job wired: SendWelcome" in ran.stdout
    out = tmp_path / "result.json"
    ran = run_cli(
        ["--job-name", "SendWelcome", "--param", "users=u1", "--output", str(out)], cwd=app, env=env
    )
    assert ran.code == 0, ran.stderr
    assert ran.one("job.finished")["result"] == {"recipients": 1, "dry_run": False}
    assert out.read_text().strip() == '{"dry_run": false, "recipients": 1}'
    ran = run_cli(
        ["--job-name", "SendWelcome", "--param", "users=u1", "--param", "dry_run=true"], cwd=app, env=env
    )
    assert ran.one("job.finished")["result"] == {"recipients": 0, "dry_run": True}
    assert ran.named("welcome.dry_run")
    ran = run_cli(["--job-name", "SendWelcome", "--param", "users="], cwd=app, env=env)
    assert ran.code == 2
    assert "users.0: String should have at least 1 character" in ran.stderr
    ran = run_cli(
        ["--job-name", "SendWelcome", "--param", "users=u1"],
        cwd=app,
        env={**env, "JOBFRAME_ENV": "production", "BRAZE__API_KEY": ""},
    )
    assert ran.code == 78
    assert "braze.api_key" in ran.stderr


@pytest.mark.process
def test_the_new_apps_own_tests_pass(app: Path) -> None:
    env = clean_env()
    env.pop("PYTHONPATH")  # the app's pyproject.toml alone makes it importable
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout


@pytest.mark.process
def test_jobframe_new_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    for args, needle in [
        (["new"], "the following arguments are required: name"),
        (["new", "Acme"], "lowercase identifier"),
        (["new", "acme", "--bogus"], "unrecognized arguments: --bogus"),
    ]:
        ran = run_cli(args, cwd=tmp_path)
        assert ran.code == 2, (args, ran.stderr)
        assert ran.stderr.startswith("jobframe: error: ") and ran.stderr.count("\n") == 1, ran.stderr
        assert needle in ran.stderr
    assert list(tmp_path.iterdir()) == []
