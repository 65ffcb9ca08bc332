"""Input files a job reads: refused before the job starts when they cannot be read, and checked line
by line before anything is sent.

A bulk job reads a file named on the command line, so a file that is missing or malformed is a
mistake in the command line (exit 2), found before the first request: ``InputFile`` refuses a path
that cannot be read while the parameters are validated, and the readers here raise
:class:`InputError` naming ``file:line`` and what is wrong. Give them to :class:`jobframe.Counted`
without a ``count``: its counting pass then reads, and so checks, every line before anything is sent::

    class Params(BaseModel):
        path: InputFile

    Counted(lambda: json_objects(params.path), fingerprint=lambda: file_fingerprint(params.path))

Lines are UTF-8; a byte-order mark on the first line is dropped, ``\\r\\n`` endings are fine.
"""

from __future__ import annotations

import csv
import json
import math
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from jobframe.errors import UsageError

__all__ = [
    "FILE_CHECKS",
    "InputError",
    "InputFile",
    "csv_rows",
    "json_objects",
    "numbered_lines",
    "unreadable_reason",
]

FILE_CHECKS = frozenset({"input_file", "path_not_file", "path_not_directory", "path_exists"})
"""The pydantic error types of checks made on this machine's files (``InputFile``, ``FilePath``,
``DirectoryPath``, ``NewPath``): what a manifest linter leaves to the pod, whose volumes hold them."""


class InputError(UsageError):
    """A line of an input file named on the command line is malformed (exit 2): ``path:line: problem``.

    ``line`` is 1-based; ``0`` when the problem is the file as a whole. The message never quotes the
    line: it may hold a user's data.
    """

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}")


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file, found by opening it; ``None`` when it can."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "no such file"
    except OSError as exc:  # a name too long, a loop of links, a directory not searchable
        return f"cannot be looked up: {exc.strerror or exc}"
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    try:
        path.open("rb").close()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None


def _readable(path: Path) -> Path:
    reason = unreadable_reason(path)
    if reason is not None:
        raise PydanticCustomError("input_file", "{path}: {reason}", {"path": str(path), "reason": reason})
    return path


class _ReadableFile(AfterValidator):
    """The validator of :data:`InputFile`; ``jobframe --list`` shows it as ``a readable file``."""

    constraint = "a readable file"

    def __init__(self) -> None:
        super().__init__(_readable)


InputFile = Annotated[Path, _ReadableFile()]
"""A path parameter that must name a readable file: anything else is a bad ``--param`` (exit 2)
naming the parameter and the path, before the job starts."""


def numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line, its ending kept; a line that is not UTF-8 raises
    :class:`InputError` there. Read one line at a time, so files of any size stream."""
    try:
        handle = path.open("rb")
    except OSError as exc:  # gone, or changed, since the parameters were validated
        raise InputError(path, 0, f"cannot be read: {exc.strerror or exc}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    path, number, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
                ) from None
            yield number, text


def _kind(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


class _NumberError(ValueError):
    """What Python's ``json`` accepts as a number but JSON does not, or a float cannot hold."""


def _no_constant(name: str) -> float:
    raise _NumberError(f"{name} is no JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: JSON by its grammar, but no request could carry it
        raise _NumberError("a number out of range")
    return value


def _whole(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits())
        raise _NumberError("a number out of range") from None


def json_objects(path: Path) -> Iterator[dict[str, Any]]:
    """One JSON object per line (JSONL); blank lines are skipped. A line that is not JSON (with
    ``NaN``, ``Infinity`` or a number too large for a float: no request body could carry it), or
    is JSON but no object (an array, a number...), raises :class:`InputError` naming it."""
    for number, text in numbered_lines(path):
        if not text.strip():
            continue
        try:
            value = json.loads(
                text.rstrip("\r\n"), parse_constant=_no_constant, parse_float=_finite, parse_int=_whole
            )
        except json.JSONDecodeError as exc:
            raise InputError(path, number, f"not JSON ({exc.msg} at column {exc.colno})") from None
        except _NumberError as exc:
            raise InputError(path, number, f"not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise InputError(path, number, f"expected a JSON object, got {_kind(value)}")
        yield value


def csv_rows(path: Path, *, keys: Iterable[str] = ()) -> Iterator[dict[str, str]]:
    """The rows of a CSV file as ``{column: cell}``, by its header line (names stripped of spaces).

    ``keys``: the header must name at least one of these columns (say, the user key), else
    :class:`InputError` at line 1. Blank lines are skipped; empty cells are left out (not
    cleared); a row with more cells than the header has columns raises :class:`InputError`.
    """
    wanted = tuple(keys)
    lines = numbered_lines(path)
    at = 0

    def text() -> Iterator[str]:
        nonlocal at
        for at, line in lines:  # noqa: B007 - `at` is read by the rows below: where a row starts
            yield line

    reader = csv.reader(text(), strict=True)
    header = [name.strip() for name in next(reader, [])]
    if not any(header):
        raise InputError(path, 1, "no header line (the first line names the columns)")
    if wanted and not set(wanted) & set(header):
        needed = f"the column {wanted[0]}" if len(wanted) == 1 else f"one of the columns {', '.join(wanted)}"
        raise InputError(path, 1, f"the header needs {needed} (it has: {', '.join(header)})")
    while True:
        start = at + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            raise InputError(path, start, f"not CSV ({exc})") from None
        if row is None:
            return
        if not row:
            continue
        if len(row) > len(header):
            raise InputError(path, start, f"{len(row)} cells, but the header names {len(header)} columns")
        yield {name: cell for name, cell in zip(header, row, strict=False) if name and cell}
