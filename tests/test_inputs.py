"""``jobframe.inputs``: almost-right input files are read as meant, or refused at ``file:line``."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from jobframe import Counted, ExitCode, UsageError
from jobframe.inputs import (
    FILE_CHECKS,
    InputError,
    InputFile,
    csv_rows,
    json_objects,
    numbered_lines,
    unreadable_reason,
)


def write(tmp_path: Path, data: bytes, name: str = "in.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(read: Any, path: Path) -> InputError:
    with pytest.raises(InputError) as caught:
        list(read(path))
    return caught.value


# -- lines ----------------------------------------------------------------------------------------


def test_lines_drop_a_bom_keep_endings_and_number_from_one(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbfa\r\nb\n\nc")
    assert list(numbered_lines(path)) == [(1, "a\r\n"), (2, "b\n"), (3, "\n"), (4, "c")]


def test_a_bom_later_than_the_first_line_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, b"a\n\xef\xbb\xbfb\n")
    assert [text for _, text in numbered_lines(path)] == ["a\n", "\ufeffb\n"]


def test_a_line_that_is_not_utf8_is_named_with_its_byte(tmp_path: Path) -> None:
    path = write(tmp_path, "é\nok\n".encode() + b"ab\xff\n")
    error = refused(numbered_lines, path)
    assert (error.path, error.line, error.problem) == (str(path), 3, "not UTF-8 (byte 0xff at column 3)")
    assert str(error) == f"{path}:3: not UTF-8 (byte 0xff at column 3)"
    assert isinstance(error, UsageError) and error.exit_code is ExitCode.USAGE


def test_latin1_text_is_refused_not_misread(tmp_path: Path) -> None:
    error = refused(numbered_lines, write(tmp_path, "ok\ncafé\n".encode("latin-1")))
    assert error.line == 2 and "0xe9" in error.problem


# -- JSONL ----------------------------------------------------------------------------------------


def test_jsonl_with_crlf_bom_and_trailing_blank_lines_reads_every_object(tmp_path: Path) -> None:
    path = write(tmp_path, b'\xef\xbb\xbf{"external_id": "a"}\r\n\r\n  {"external_id": "b"}  \r\n\n \n')
    assert list(json_objects(path)) == [{"external_id": "a"}, {"external_id": "b"}]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"[1, 2]", "expected a JSON object, got an array"),
        (b"42", "expected a JSON object, got a number"),
        (b"1.5", "expected a JSON object, got a number"),
        (b'"u1"', "expected a JSON object, got a string"),
        (b"null", "expected a JSON object, got null"),
        (b"true", "expected a JSON object, got true/false"),
        (b"# a comment", "not JSON (Expecting value at column 1)"),
        (b"{'external_id': 'a'}", "not JSON (Expecting property name enclosed in double quotes at column 2)"),
        (b'{"external_id": "a"', "not JSON (Expecting ',' delimiter at column 20)"),
        (b'{"a": 1} {"b": 2}', "not JSON (Extra data at column 10)"),
        (b'{"a": 1},', "not JSON (Extra data at column 9)"),
        (b'{"a": NaN}', "not JSON (NaN is no JSON number)"),
        (b'{"a": [-Infinity]}', "not JSON (-Infinity is no JSON number)"),
        (b'{"a": {"b": Infinity}}', "not JSON (Infinity is no JSON number)"),
        (b'{"a": 1e999}', "not JSON (a number out of range)"),
        (b'{"a": -1E+400}', "not JSON (a number out of range)"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not JSON (a number out of range)"),
    ],
)
def test_a_jsonl_line_that_is_no_object_is_named(tmp_path: Path, line: bytes, problem: str) -> None:
    path = write(tmp_path, b'{"external_id": "a"}\n\n' + line + b'\n{"external_id": "c"}\n', "in.jsonl")
    error = refused(json_objects, path)
    assert str(error) == f"{path}:3: {problem}"


def test_a_jsonl_error_never_quotes_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, b'{"email": "secret@example.com"\n', "in.jsonl")
    assert "secret" not in str(refused(json_objects, path))


# -- CSV ------------------------------------------------------------------------------------------


def test_csv_with_bom_crlf_spaced_header_and_blank_lines(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf external_id , tier,\r\nu1,2,\r\n\r\nu2,,\r\n\r\n")
    assert list(csv_rows(path, keys=["external_id"])) == [
        {"external_id": "u1", "tier": "2"},
        {"external_id": "u2"},
    ]


def test_csv_quoted_cells_may_hold_commas_and_newlines(tmp_path: Path) -> None:
    path = write(tmp_path, b'external_id,note\nu1,"a, b"\nu2,"two\nlines"\nu3,x,y\n')
    error = refused(lambda p: csv_rows(p, keys=["external_id"]), path)
    assert str(error) == f"{path}:5: 3 cells, but the header names 2 columns"
    rows = list(
        csv_rows(write(tmp_path, b'external_id,note\nu1,"a, b"\nu2,"two\nlines"\n'), keys=["external_id"])
    )
    assert rows == [{"external_id": "u1", "note": "a, b"}, {"external_id": "u2", "note": "two\nlines"}]


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [
        (
            b"name,tier\nx,1\n",
            1,
            "the header needs one of the columns external_id, email (it has: name, tier)",
        ),
        (
            b"externalid,tier\nx,1\n",
            1,
            "the header needs one of the columns external_id, email (it has: externalid, tier)",
        ),
        (b"", 1, "no header line (the first line names the columns)"),
        (b"\n\n", 1, "no header line (the first line names the columns)"),
        (b"external_id\nu1\nu2,extra\n", 3, "2 cells, but the header names 1 columns"),
        (b'external_id\nu1\n"u2\n', 3, "not CSV (unexpected end of data)"),
        (b"external_id\nu1\n\xff\n", 3, "not UTF-8 (byte 0xff at column 1)"),
    ],
)
def test_a_csv_without_the_key_or_with_a_broken_row_is_named(
    tmp_path: Path, data: bytes, line: int, problem: str
) -> None:
    path = write(tmp_path, data, "in.csv")
    error = refused(lambda p: csv_rows(p, keys=["external_id", "email"]), path)
    assert (error.line, error.problem) == (line, problem)
    assert str(error) == f"{path}:{line}: {problem}"  # the file is named, whatever the problem


def test_a_csv_header_without_the_one_key_asked_for_names_it(tmp_path: Path) -> None:
    path = write(tmp_path, b"user,tier\nx,1\n", "in.csv")
    error = refused(lambda p: csv_rows(p, keys=["external_id"]), path)
    assert str(error) == f"{path}:1: the header needs the column external_id (it has: user, tier)"


def test_a_csv_row_shorter_than_the_header_leaves_its_missing_cells_out(tmp_path: Path) -> None:
    path = write(tmp_path, b"external_id,tier,city\nu1,gold\nu2\nu3,,Oslo\n")
    assert list(csv_rows(path, keys=["external_id"])) == [
        {"external_id": "u1", "tier": "gold"},
        {"external_id": "u2"},
        {"external_id": "u3", "city": "Oslo"},
    ]


def test_a_csv_header_naming_any_one_key_is_enough(tmp_path: Path) -> None:
    path = write(tmp_path, b"email,tier\na@b.c,1\n")
    assert list(csv_rows(path, keys=["external_id", "email"])) == [{"email": "a@b.c", "tier": "1"}]


# -- the counting pass checks every line ----------------------------------------------------------


def test_counted_without_a_count_counts_by_reading_so_it_checks_first(tmp_path: Path) -> None:
    good = write(tmp_path, b'{"a": 1}\n\n{"a": 2}\n', "good.jsonl")
    assert Counted(lambda: json_objects(good)).__length_hint__() == 2
    bad = write(tmp_path, b'{"a": 1}\n' * 1000 + b"[]\n", "bad.jsonl")
    with pytest.raises(InputError, match=r"bad\.jsonl:1001: expected a JSON object, got an array"):
        Counted(lambda: json_objects(bad)).__length_hint__()


# -- the parameter type ---------------------------------------------------------------------------


class Params(BaseModel):
    path: InputFile


def test_input_file_accepts_a_readable_file(tmp_path: Path) -> None:
    path = write(tmp_path, b"x\n")
    assert Params(path=str(path)).path == path  # type: ignore[arg-type]
    assert unreadable_reason(path) is None


def test_input_file_refuses_missing_directory_and_special_files(tmp_path: Path) -> None:
    for path, reason in [
        (tmp_path / "nope.csv", "no such file"),
        (tmp_path, "is a directory, not a file"),
        (Path("/dev/null"), "is not a regular file"),
        (tmp_path / ("a" * 300), "cannot be looked up: File name too long"),
        (tmp_path / "file.txt" / "below", "no such file"),
    ]:
        if path.name == "below":
            (tmp_path / "file.txt").write_text("x\n")
        with pytest.raises(ValidationError) as caught:
            Params(path=path)
        (err,) = caught.value.errors(include_url=False)
        assert err["loc"] == ("path",) and err["msg"] == f"{path}: {reason}"
        assert err["type"] in FILE_CHECKS  # a check of this machine's files: linters leave it to the pod


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_input_file_refuses_a_file_it_may_not_read(tmp_path: Path) -> None:
    path = write(tmp_path, b"x\n")
    path.chmod(0)
    assert unreadable_reason(path) == "cannot be read: Permission denied"


def test_a_file_the_process_may_not_open_is_refused_with_the_reason_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a process that is not root sees (the test above); as root, its refusal is simulated.
    The reason is the system's words, not the exception's repr (errno, path quoted again)."""
    path = write(tmp_path, b'{"a": 1}\n', "locked.jsonl")

    def refuse(self: Path, *args: object, **kwargs: object) -> object:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert unreadable_reason(path) == "cannot be read: Permission denied"
    error = refused(json_objects, path)
    assert (error.path, error.line, str(error)) == (
        str(path),
        0,
        f"{path}: cannot be read: Permission denied",
    )


def test_a_file_gone_since_the_parameters_were_checked_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "gone.jsonl"
    error = refused(json_objects, path)
    assert error.line == 0  # the file as a whole, not one of its lines
    assert str(error) == f"{path}: cannot be read: No such file or directory"
