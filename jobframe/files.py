"""Atomic file writes: a reader (Argo's wait container) sees the old content or the new, never half."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["unwritable_reason", "write_atomic", "write_json_atomic"]


def unwritable_reason(path: Path) -> str | None:
    """Why :func:`write_atomic` could not write ``path``, found by doing what it does; ``None`` if it can.

    Checked before a job runs, so a job whose result cannot be written is refused before it has
    any effect: a retry would otherwise repeat everything the job did.
    """
    if not str(path) or path == Path("."):
        return "an empty path"
    try:
        return _unwritable_reason(path)
    except OSError as exc:  # looking itself failed: a name too long, a directory not searchable
        return exc.strerror or str(exc)


def _unwritable_reason(path: Path) -> str | None:
    if path.is_dir():
        return "is a directory"
    if path.exists() and not path.is_file():
        return "exists and is not a regular file"
    directory = path.parent
    if not directory.is_dir():
        return f"directory {str(directory)!r} does not exist"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=directory)
    except OSError as exc:
        return f"cannot create a file in {str(directory)!r}: {exc.strerror or exc}"
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)
    return None


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, value: Any) -> None:
    """Serialise ``value`` as JSON (raises ``TypeError`` if it cannot be) and write it atomically."""
    write_atomic(path, json.dumps(value, ensure_ascii=False, sort_keys=True) + "\n")
