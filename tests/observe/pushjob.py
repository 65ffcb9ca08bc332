"""The default app's ``SendPushFromFile`` as the observability tests run it (local profile: fake Braze)."""

from __future__ import annotations

from pathlib import Path

__all__ = ["push_args", "write_ids"]


def write_ids(directory: Path, count: int) -> Path:
    """A file of ``count`` external ids (``user-0`` …)."""
    path = directory / "ids.txt"
    path.write_text("".join(f"user-{i}\n" for i in range(count)))
    return path


def malformed_ids(directory: Path) -> Path:
    """A file of ids whose last line is not UTF-8: the job starts, then fails (exit 2) before sending."""
    path = directory / "malformed.txt"
    path.write_bytes(b"user-0\nuser-\xff\n")
    return path


def push_args(path: Path) -> list[str]:
    """The command line sending a push to every id in ``path`` (:func:`malformed_ids` fails the job)."""
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
