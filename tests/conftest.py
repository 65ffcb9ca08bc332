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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

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
) -> Ran:
    """Run ``python -m jobframe ARGS`` to completion; assert the canary secret never appears."""
    proc = subprocess.run(
        [sys.executable, "-m", "jobframe", *args],
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
