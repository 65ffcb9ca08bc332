"""Shared helpers for tests that run jobframe as a real process.

Every run goes through :func:`run_cli`, which plants a canary API key in the environment and
fails the test if the canary shows up anywhere in stdout or stderr: secrets-never-printed is
checked by every process-level test, not by one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.ledger.stores import ledger_settings, postgres_dsn, store_name  # noqa: F401 - the ledger's stores

REPO = Path(__file__).resolve().parent.parent
CANARY = "canary-3f9c2e7d1b"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without anything that configures jobframe or Argo."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBFRAME_", "BRAZE__", "HTTP__", "ARGO_")) and k != "PYTHONPATH"
    }
    env["BRAZE__API_KEY"] = CANARY
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


@dataclass
class Ran:
    """A finished jobframe process: exit code, raw output and the parsed JSON log events."""

    code: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.stdout.splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]

    def one(self, event: str) -> dict[str, Any]:
        found = self.named(event)
        assert len(found) == 1, f"expected one {event!r}, got {len(found)}:\n{self.stdout}\n{self.stderr}"
        return found[0]


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    canary: str = CANARY,
    wrap: Sequence[str] = (),
) -> Ran:
    """Run ``python -m jobframe ARGS`` to completion; assert the canary secret never appears.

    ``wrap`` runs it through another command first (``setpriv ...``, ``sh -c 'exec "$@" 1>&-' sh``).
    """
    proc = subprocess.run(
        [*wrap, sys.executable, "-m", "jobframe", *args],
        cwd=cwd,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    ran = Ran(proc.returncode, proc.stdout, proc.stderr)
    assert canary not in ran.stdout, f"secret leaked to stdout:\n{ran.stdout}"
    assert canary not in ran.stderr, f"secret leaked to stderr:\n{ran.stderr}"
    return ran


@pytest.fixture
def cli() -> Any:
    return run_cli


# -- the fast default and the process-level suite ------------------------------------------------
#
# `pytest` runs the fast suite: everything in-process. `pytest --process` adds every test marked
# `process` — real jobframe subprocesses, signals, sockets, servers — and is what CI runs too.
# A test that starts a process without the marker fails, so the fast suite stays fast.

PROCESS = "process"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--process",
        action="store_true",
        default=False,
        help="also run the process-level tests (marked 'process': real subprocesses, signals, sockets)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(PROCESS)  # stress-style tests are process-level tests too
    if config.getoption("--process"):
        return
    deselected = [item for item in items if item.get_closest_marker(PROCESS) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker(PROCESS) is None]
        config.stash[_DESELECTED] = len(deselected)


_DESELECTED = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    count = config.stash.get(_DESELECTED, 0)
    if count:
        terminalreporter.write_line(
            f"{count} process-level tests (marker 'process') not run: add --process to run them too"
        )


@pytest.fixture(autouse=True)
def _processes_need_the_marker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting a process in a test without the ``process`` marker fails the test, naming the fix."""
    if request.node.get_closest_marker(PROCESS) is not None:
        return
    started = subprocess.Popen.__init__

    def refuse(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        pytest.fail(
            f"{request.node.nodeid} starts a process ({args!r}): mark it @pytest.mark.process "
            "so that it runs with the process-level suite (pytest --process)",
            pytrace=False,
        )
        started(self, args, *rest, **kwargs)  # pragma: no cover - fail() raises

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)


# A user's own app, unknown to jobframe, written to a temp directory: proves ``--app`` works for code
# outside this repo (tests/cli, tests/test_settings.py, tests/test_logs.py, tests/test_exit_codes.py).
EXT_APP = '''
"""acme_jobs: a user's own app, unknown to jobframe."""
import logging

from dependency_injector import containers, providers
from pydantic import BaseModel, ConfigDict, Field, SecretStr

import jobframe


class Db(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    password: SecretStr | None = None


class AcmeSettings(jobframe.Settings):
    a: str = "code"
    b: str = "code"
    c: str = "code"
    d: str = "code"
    e: str = "code"
    db: Db = Db()
    api_token: SecretStr | None = None


class EchoParams(BaseModel):
    count: int = 1
    names: list[str] = Field(default_factory=list)
    ratio: float = 0.5


class Echo:
    """Return the settings and params it was given."""

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def execute(self, params: EchoParams) -> dict:
        s = self.settings
        return {"a": s.a, "b": s.b, "c": s.c, "d": s.d, "e": s.e, "db_host": s.db.host,
                "count": params.count, "names": params.names, "ratio": params.ratio}


class Fail:
    """Raise an unexpected error."""

    def execute(self) -> None:
        raise ValueError("the numbers do not add up")


class Transient:
    """Raise a retryable error."""

    def execute(self) -> None:
        raise jobframe.RetryableError("upstream busy, try later")


class Chatty:
    """Log through stdlib logging and structlog, secrets included."""

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def execute(self) -> None:
        token = self.settings.api_token.get_secret_value() if self.settings.api_token else ""
        logging.getLogger("acme.lib").info("calling with token %s", token)
        jobframe.get_logger("acme").info("request", headers={"Authorization": "Bearer " + token}, url="/x")
        raise RuntimeError(f"failed with {token}")


class NeedsClient:
    """Needs a client the container forgets to pass."""

    def __init__(self, client: object, retries: int) -> None:
        self.client = client

    def execute(self) -> None:
        pass


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AcmeSettings)
    echo = providers.Factory(Echo, settings=settings)
    fail = providers.Factory(Fail)
    transient = providers.Factory(Transient)
    chatty = providers.Factory(Chatty, settings=settings)


class Broken(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AcmeSettings)
    missing = providers.Dependency(instance_of=int)
    echo = providers.Factory(Echo, settings=settings)
    needs_client = providers.Factory(NeedsClient, retries=missing)
'''


@pytest.fixture
def ext_app(tmp_path: Path) -> Path:
    """A directory holding package ``acme_jobs`` and its ``config/`` profiles."""
    pkg = tmp_path / "acme_jobs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(EXT_APP))
    config = tmp_path / "config"
    config.mkdir()
    (config / "default.yaml").write_text("a: default\nb: default\nc: default\nd: default\ne: default\n")
    (config / "local.yaml").write_text("b: local\nc: local\nd: local\ne: local\n")
    (config / "production.yaml").write_text("db:\n  host: db.prod\n")
    return tmp_path
