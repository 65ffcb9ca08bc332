"""`--shutdown-timeout` bounds the safety net too: a close that hangs on an object nobody managed
properly is abandoned like a hanging resource, and the process still ends on time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.process

APP = '''
import time
from dependency_injector import containers, providers


class Conn:
    """Says it is open; its close() hangs for a minute."""

    is_closed = False

    def close(self) -> None:
        time.sleep(60)


def leaky():
    yield Conn()  # no try/finally: the value is left open, the safety net finds it


async def aleaky():
    yield Conn()


class UsesLeaky:
    """Holds a resource whose value stays open."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def execute(self) -> None:
        pass


class AsyncUsesLeaky:
    """Async job holding an async resource whose value stays open."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    async def execute(self) -> None:
        pass


class UsesSingleton:
    """Holds a closeable object from a plain Singleton."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def execute(self) -> None:
        pass


class Container(containers.DeclarativeContainer):
    uses_leaky = providers.Factory(UsesLeaky, conn=providers.Resource(leaky))
    async_uses_leaky = providers.Factory(AsyncUsesLeaky, conn=providers.Resource(aleaky))
    uses_singleton = providers.Factory(UsesSingleton, conn=providers.Singleton(Conn))
'''


@pytest.fixture
def hangapp(tmp_path: Path) -> Path:
    (tmp_path / "hangapp.py").write_text(APP)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "local.yaml").write_text("{}\n")
    return tmp_path


@pytest.mark.parametrize("job", ["UsesLeaky", "AsyncUsesLeaky", "UsesSingleton"])
def test_a_hanging_safety_net_close_is_abandoned_within_the_budget(hangapp: Path, job: str) -> None:
    started = time.monotonic()
    ran = run_cli(["--app", "hangapp:Container", "--job-name", job, "--shutdown-timeout", "1"], cwd=hangapp)
    elapsed = time.monotonic() - started
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.one("teardown.timeout")["action"] == "abandoned"
    assert ran.one("resource.unmanaged")["type"] == "hangapp.Conn"
    assert ran.events[-1]["event"] == "process.exit"
    assert elapsed < 10, f"teardown was not bounded: {elapsed:.1f}s"
