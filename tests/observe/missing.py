"""A real jobframe process in which an optional extra (``metrics``, ``otel``) is not installed."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["without"]


def without(directory: Path, *packages: str) -> dict[str, str]:
    """An environment in which importing ``packages`` fails as if they were not installed.

    A package of each name that raises ``ModuleNotFoundError``, first on ``PYTHONPATH``: the
    process is a real one, only its ``import`` is told the extra is missing.
    """
    for package in packages:
        (directory / package).mkdir(parents=True)
        (directory / package / "__init__.py").write_text(
            f"raise ModuleNotFoundError({f'No module named {package!r}'!r}, name={package!r})\n"
        )
    repo = Path(__file__).resolve().parents[2]
    return {"PYTHONPATH": os.pathsep.join([str(directory), str(repo)])}
