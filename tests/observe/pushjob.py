"""The default app's ``SendPushFromFile`` as the observability tests run it (local profile: fake Braze)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["push_args", "write_ids"]


def write_ids(directory: Path, count: int) -> Path:
    """A file of ``count`` external ids (``user-0`` …)."""
    path = directory / "ids.txt"
    path.write_text("".join(f"user-{i}\n" for i in range(count)))
    return path


def push_args(path: Path) -> list[str]:
    """The command line sending a push to every id in ``path`` (a missing file fails the job: exit 1)."""
    return [
        "--job-name",
        "SendPushFromFile",
        "--param",
        f"path={path}",
        "--param",
        "title=Hi",
        "--param",
        "body=Yo",
    ]
