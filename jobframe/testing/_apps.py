"""Which app a test session tests: one rule, shared by the fixtures and their documentation."""

from __future__ import annotations

import os
from pathlib import Path

from jobframe._app import DEFAULT_APP, App, load_app

__all__ = ["app_reference", "load_test_app"]


def app_reference(option: str | None, ini: str | None) -> str:
    """``--jobframe-app``, else the ini ``jobframe_app``, else ``JOBFRAME_APP``, else ``jobs:MainContainer``.

    The project's own configuration (command line, ini file) wins over the environment, so an
    exported ``JOBFRAME_APP`` meant for the CLI cannot silently retarget a repository's tests.
    """
    return option or ini or os.environ.get("JOBFRAME_APP") or DEFAULT_APP


def load_test_app(reference: str, rootdir: Path) -> App:
    """Import the app like the CLI does, with the test session's root directory importable."""
    return load_app(reference, search_path=rootdir)
