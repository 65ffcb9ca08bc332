"""Helpers of the Argo tests: ``jobframe-argo`` as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, clean_env


def run_argo(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``python -m jobframe.argo ARGS`` to completion, in a clean environment."""
    return subprocess.run(
        [sys.executable, "-m", "jobframe.argo", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
