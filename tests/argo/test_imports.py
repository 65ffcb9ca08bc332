"""A job's run imports nothing of Hera, jsonschema or the renderer — nor does the combine step,
which runs in the job image where the ``argo`` extra is not installed. Checked on real processes
with ``python -X importtime``, which names every module a process imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, clean_env

pytestmark = pytest.mark.process  # every test here starts jobframe as a process

RENDER_ONLY = ("jobframe.argo.render", "jobframe.argo.files", "jobframe.argo.lint", "jobframe.argo.schema")


def _imported(args: list[str]) -> tuple[int, set[str]]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "jobframe" in modules, proc.stderr[-2000:]  # importtime really listed the imports
    return proc.returncode, modules


def _forbidden(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in ("hera", "jsonschema") or m in RENDER_ONLY)


def test_a_job_run_imports_no_hera(tmp_path: Path) -> None:
    code, modules = _imported(["-m", "jobframe", "--job-name", "SomeJob"])
    assert code == 0
    assert not _forbidden(modules)
    assert "pydantic" in modules and "jobs.container" in modules


def test_a_sharded_run_imports_no_hera(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("a\nb\nc\n")
    code, modules = _imported(
        ["-m", "jobframe", "--job-name", "SendPushFromFile", "--shard", "1/3",
         "--param", f"path={users}", "--param", "title=t", "--param", "body=b"]
    )  # fmt: skip
    assert code == 0
    assert "jobframe.shard" in modules
    assert not _forbidden(modules)


def test_the_combine_step_imports_no_hera(tmp_path: Path) -> None:
    results = json.dumps([json.dumps({"n": 1}), json.dumps({"n": 2})])
    output = tmp_path / "result.json"
    code, modules = _imported(
        ["-m", "jobframe.argo", "combine", "--shards", "2", "--results", results, "--output", str(output)]
    )
    assert code == 0 and json.loads(output.read_text()) == {"n": 3}
    assert not _forbidden(modules)
    assert "jobs" not in modules  # the app is not even imported


def test_the_check_sees_hera_where_it_is_imported() -> None:
    code, modules = _imported(["-m", "jobframe.argo", "render", "--job", "SomeJob"])
    assert code == 0
    assert {"hera", "jobframe.argo.render"} <= set(_forbidden(modules))
