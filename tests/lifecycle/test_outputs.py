"""--output is written atomically on success only; ARGO_PROGRESS_FILE gets N/M; the log lines
outlive a job that closes stdout or configures logging its own way."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import clean_env

from .jobproc import JobProcess, running

pytestmark = pytest.mark.process


def test_output_written_on_success_and_progress_reported(tmp_path: Path) -> None:
    out_dir, progress = tmp_path / "out", tmp_path / "progress"
    out_dir.mkdir()
    out = out_dir / "result.json"
    env = {"ARGO_PROGRESS_FILE": str(progress)}
    with running("Reports", "--output", str(out), env=env) as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    assert json.loads(out.read_text()) == {"done": 4, "label": "ok"}
    assert sorted(p.name for p in out_dir.iterdir()) == ["result.json"]  # no temporary file left
    assert progress.read_text().strip().splitlines()[-1] == "4/4"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "progress"]


def test_no_output_on_failure(tmp_path: Path) -> None:
    out, progress = tmp_path / "result.json", tmp_path / "progress"
    env = {"ARGO_PROGRESS_FILE": str(progress)}
    with running("Reports", "--output", str(out), params={"fail": True}, env=env) as proc:
        code = proc.wait(10)
    assert code == 1, proc.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress"]
    assert progress.read_text().strip() == "4/4"  # the progress the job reported before failing


def test_no_output_when_interrupted(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with running(
        "Holder", "--output", str(out), "--timeout", "1.5", "--deadline-margin", "1", params={"seconds": 30}
    ) as proc:
        code = proc.wait(10)
    assert code == 124, proc.output
    assert list(tmp_path.iterdir()) == []


def test_output_of_a_successful_async_job(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    with running("AsyncHolder", "--output", str(out), params={"seconds": 0}) as proc:
        code = proc.wait(10)
    assert code == 0, proc.output
    assert json.loads(out.read_text()) == {"resources": ["aa", "ab", "ac", "c"]}


@pytest.mark.parametrize(
    ("shape", "where"),
    [
        ("closes_stdout", "stdout"),  # sys.stdout.close(): descriptor 1 is still there
        ("closes_stdout_fd", "stderr"),  # os.close(1): "if stdout is closed, log lines go to stderr"
    ],
)
@pytest.mark.parametrize("then", ["return", "sigterm"])
def test_a_job_closing_stdout_loses_no_line(tmp_path: Path, shape: str, where: str, then: str) -> None:
    # before: every line after the close was dropped, job.finished and process.exit with them
    params = {"shape": shape, "seconds": 600 if then == "sigterm" else 0}
    with running("LibraryJob", app="hostile:Container", params=params, record=tmp_path / "r") as proc:
        if then == "sigterm":
            proc.wait_for("job.started")
            _wait_for_line(proc, where, "app.working")
            proc.send_group(signal.SIGTERM)
        code = proc.wait(20)
    expected = 143 if then == "sigterm" else 0
    assert code == expected, proc.output
    lines = _json_lines(proc.output, where)
    events = [line["event"] for line in lines]
    assert "app.working" in events and events.count("job.finished") == 1, proc.output
    assert events[-1] == "process.exit" and lines[-1]["exit_code"] == expected, proc.output
    assert proc.record().still_open() == []


@pytest.mark.parametrize("then", ["return", "timeout", "sigterm"])
def test_a_handler_whose_filter_raises_never_changes_the_exit_code(tmp_path: Path, then: str) -> None:
    # before: the filter's AttributeError on process.exit escaped the exit: a traceback, exit 1
    params = {"shape": "raising_filter", "seconds": 0 if then == "return" else 600}
    args = ["--timeout", "4"] if then == "timeout" else []
    with running("LibraryJob", *args, app="hostile:Container", params=params, record=tmp_path / "r") as proc:
        if then == "sigterm":
            proc.wait_for("app.working")
            proc.send_group(signal.SIGTERM)
        code = proc.wait(20)
    expected = {"return": 0, "timeout": 124, "sigterm": 143}[then]
    assert code == expected, proc.output
    assert proc.one("job.finished")["exit_code"] == expected
    assert {e["resource"] for e in proc.named("resource.closed")} == {"r1", "r2"}, proc.output
    assert proc.order()[-1] == "process.exit" and proc.one("process.exit")["exit_code"] == expected
    assert "Traceback" not in proc.output, proc.output
    assert proc.record().still_open() == []


def _json_lines(output: str, where: str) -> list[dict[str, object]]:
    section = output.split("--- stderr ---")[0 if where == "stdout" else 1]
    return [json.loads(text) for text in section.splitlines() if text.startswith("{")]


def _wait_for_line(proc: JobProcess, where: str, event: str) -> None:
    """Wait until ``event`` was written to ``where`` (stderr has no reader that notifies)."""
    if where == "stdout":
        proc.wait_for(event)
        return
    deadline = time.monotonic() + 20
    while not any(line.get("event") == event for line in _json_lines(proc.output, where)):
        assert time.monotonic() < deadline and proc.proc.poll() is None, proc.output
        time.sleep(0.01)  # polling the pipe's reader, not waiting for time to pass


@pytest.mark.parametrize("shape", ["basic_config", "dict_config", "logging_disabled", "structlog_config"])
@pytest.mark.parametrize("then", ["return", "timeout"])
def test_a_job_configuring_logging_its_own_way_keeps_jobframes_lines(
    tmp_path: Path, shape: str, then: str
) -> None:
    # before: the job's configuration took job.finished, resource.closed and process.exit away
    params = {"shape": shape, "seconds": 600 if then == "timeout" else 0}
    args = ["--timeout", "4"] if then == "timeout" else []
    with running("LibraryJob", *args, app="hostile:Container", params=params, record=tmp_path / "r") as proc:
        code = proc.wait(20)
    expected = 124 if then == "timeout" else 0
    assert code == expected, proc.output
    finished = proc.one("job.finished")
    assert finished["exit_code"] == expected
    assert proc.one("logging.reconfigured")["undone"], proc.output
    order = proc.order()
    assert order.index("logging.reconfigured") < order.index("job.finished")
    assert {e["resource"] for e in proc.named("resource.closed")} == {"r1", "r2"}
    assert order[-1] == "process.exit" and proc.one("process.exit")["exit_code"] == expected
    assert proc.record().still_open() == []


FLOOD_JOB = '''
import logging
import os
import sys
import time

import jobframe
from dependency_injector import containers, providers


class Flood:
    """Logs far more than a pipe holds (through a handler of its own on stderr too, with
    FLOOD_OWN_HANDLER set), then works for a long time."""

    def execute(self) -> None:
        if os.environ.get("FLOOD_OWN_HANDLER"):
            logging.getLogger().addHandler(logging.StreamHandler(sys.stderr))
        log = jobframe.get_logger("acme.flood")
        for i in range(5000):
            log.info("line", i=i, padding="x" * 100)
        time.sleep(600)


class Container(containers.DeclarativeContainer):
    flood = providers.Factory(Flood)
'''


def _flood(
    ext_app: Path, *args: str, stderr: int, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    (ext_app / "acme_jobs" / "flood.py").write_text(FLOOD_JOB)
    command = ["--app", "acme_jobs.flood:Container", "--job-name", "Flood", "--log-format", "json", *args]
    return subprocess.Popen(
        [sys.executable, "-m", "jobframe", *command],
        cwd=ext_app,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


@pytest.mark.parametrize("until", ["deadline", "sigterm"])
def test_a_stdout_nobody_reads_never_keeps_the_job_past_its_end(ext_app: Path, until: str) -> None:
    # before: the log's write blocked on the full pipe, the deadline's line and every line after
    # it too (in the signal handler, under the handler's lock): the process never ended
    args = ["--timeout", "3"] if until == "deadline" else []
    proc = _flood(ext_app, *args, stderr=subprocess.DEVNULL)  # stdout held open, never read: it fills
    try:
        if until == "sigterm":
            assert proc.stdout is not None
            _wait_until_full(proc.stdout.fileno())
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)  # the promise: it ends; the bound only keeps a failure short
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == (124 if until == "deadline" else 143)


def _wait_until_full(fd: int) -> None:
    """Until the job's writes filled most of the pipe (nobody reads it: the rest fills at once)."""
    import fcntl  # noqa: PLC0415
    import termios  # noqa: PLC0415

    size = _pipe_size(fd)
    queued = bytearray(4)
    deadline = time.monotonic() + 60
    while True:
        fcntl.ioctl(fd, termios.FIONREAD, queued)
        if int.from_bytes(queued, sys.byteorder) >= size // 2:
            return
        assert time.monotonic() < deadline, "the job never filled its stdout"
        time.sleep(0.01)  # polling the pipe's fill level: nothing to wait on


def test_a_handler_of_the_jobs_on_a_pipe_nobody_reads_never_keeps_it_past_its_deadline(
    ext_app: Path,
) -> None:
    # before: the job's own line blocked in its handler's write (its choice); the deadline's
    # signal ended that, and then jobframe's own lines — the deadline's, teardown's,
    # process.exit — went to the same full pipe and blocked for ever
    # stderr held open, never read: the job's handler fills it
    proc = _flood(ext_app, "--timeout", "3", stderr=subprocess.PIPE, env={"FLOOD_OWN_HANDLER": "1"})
    out: list[bytes] = []
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()  # jobframe's own stream is read, as a collector would
    try:
        code = proc.wait(timeout=60)
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            assert stream is not None
            stream.close()
    assert code == 124
    events = [
        json.loads(line)["event"] for line in b"".join(out).decode().splitlines() if line.startswith("{")
    ]
    assert "deadline.reached" in events and events[-1] == "process.exit", events[-5:]


LONG_LINES_JOB = '''
import json
import os
import sys
import time

import jobframe
from dependency_injector import containers, providers


class LongLines:
    """Logs LONG_COUNT lines of LONG_SIZE bytes, timing each call, and says on stderr when that is
    done; with LONG_RESUME set, waits for a line on stdin (the reader is back) and logs one more.
    Then its work ends: it returns, or raises with LONG_END=raise."""

    def execute(self) -> None:
        log = jobframe.get_logger("acme.long")
        slowest = 0.0
        for n in range(int(os.environ["LONG_COUNT"])):
            started = time.monotonic()
            log.info("long", n=n, padding="x" * int(os.environ["LONG_SIZE"]))
            slowest = max(slowest, time.monotonic() - started)
        _say("logged", slowest)
        if os.environ.get("LONG_RESUME"):
            sys.stdin.readline()
            log.info("after")
        _say("work_done", True)
        if os.environ.get("LONG_END") == "raise":
            raise RuntimeError("the job's own failure")


def _say(key, value):
    print(json.dumps({key: value}), file=sys.stderr, flush=True)


class Container(containers.DeclarativeContainer):
    long_lines = providers.Factory(LongLines)
'''

LONG_SIZES = [10_000, 100_000, 1_000_000]
"""Log lines of 10 KB, 100 KB and 1 MB: each past a pipe's page (PIPE_BUF, 4 KiB), the last two
past a whole pipe (64 KiB by default)."""

STALLED_S = 1.0
"""The promise (docs/lifecycle.md): a line takes 1 s at most on a stdout nobody reads."""


class _Said:
    """What the job says on stderr (one JSON object a line), each with when the test read it."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._said: dict[str, tuple[float, object]] = {}
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            with contextlib.suppress(ValueError):
                said = json.loads(raw)
                with self._changed:
                    self._said.update({key: (time.monotonic(), v) for key, v in said.items()})
                    self._changed.notify_all()

    def wait_for(self, key: str) -> tuple[float, object]:
        with self._changed:
            assert self._changed.wait_for(lambda: key in self._said, timeout=60), f"never said {key}"
            return self._said[key]


@contextlib.contextmanager
def _long_lines(
    ext_app: Path, size: int, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], int, int, _Said]]:
    """The job on a stdout pipe nobody reads (the test holds its read end); yields the process,
    that read end, how many lines the job logs (enough to fill the pipe three times) and what
    the job says."""
    (ext_app / "acme_jobs" / "long_lines.py").write_text(LONG_LINES_JOB)
    read, write = os.pipe()
    count = 3 * _pipe_size(read) // size + 2
    for n in range(_pipe_size(read) // PAGE - 2):  # two pages left: less than any of the lines
        os.write(write, _prefill(n))
    command = ["--app", "acme_jobs.long_lines:Container", "--job-name", "LongLines", "--log-format", "json"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobframe", *command],
        cwd=ext_app,
        env=clean_env({"LONG_SIZE": str(size), "LONG_COUNT": str(count), **env}),
        stdin=subprocess.PIPE,
        stdout=write,
        stderr=subprocess.PIPE,
    )
    os.close(write)
    try:
        assert proc.stderr is not None
        yield proc, read, count, _Said(proc.stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdin, proc.stderr):
            with contextlib.suppress(OSError):
                stream.close()  # type: ignore[union-attr]
        os.close(read)


PAGE = 4096
"""A pipe's page (PIPE_BUF on Linux): a write of exactly this size fills a page of its own."""


def _prefill(n: int) -> bytes:
    """A JSON line of exactly one page, written before the job starts: the pipe's room is then
    less than one long line however the job's first lines fall into pages."""
    head = json.dumps({"prefill": n, "padding": ""})[:-2]
    return (head + "-" * (PAGE - len(head) - 3) + '"}\n').encode()


def _cut_apart(data: bytes) -> tuple[list[dict[str, Any]], list[bytes], bytes]:
    """The lines that parse, the lines that do not, and what follows the last newline."""
    *lines, tail = data.split(b"\n")
    parsed: list[dict[str, Any]] = []
    unreadable: list[bytes] = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            unreadable.append(line)
    return parsed, unreadable, tail


def _is_cut_long_line(text: bytes) -> bool:
    """The beginning of one of the job's long lines (cut by the stall at a 4 KiB piece)."""
    return text.startswith(b"{") and b'"padding": "' + b"x" * 1000 in text


@pytest.mark.parametrize("size", LONG_SIZES)
@pytest.mark.parametrize("end", ["return", "raise"])
def test_a_long_line_on_a_stdout_nobody_reads_never_keeps_the_job_past_its_end(
    ext_app: Path, size: int, end: str
) -> None:
    # before: a line past a pipe's page blocked part-way once the pipe filled, for ever (poll()
    # saying "writable" promises room for one page): the job never got past its logging call
    with _long_lines(ext_app, size, {"LONG_END": end}) as (proc, read, count, said):
        _, slowest = said.wait_for("logged")
        work_done, _ = said.wait_for("work_done")
        code = proc.wait(timeout=60)
        ended = time.monotonic()
        data = _read_to_end(read)  # read later: the reader was stalled all along
        past_the_pipe = size > _pipe_size(read)
    assert isinstance(slowest, float) and slowest <= STALLED_S + 5.0  # generous: a loaded machine
    assert ended - work_done <= STALLED_S + 10.0  # its last lines wait 1 s at most, all of them
    assert code == (0 if end == "return" else 1)
    parsed, unreadable, tail = _cut_apart(data)
    assert unreadable == []  # every line the reader got is a whole JSON line
    parsed = [line for line in parsed if "prefill" not in line]
    assert parsed[0]["event"] == "job.started", parsed[0]
    longs = [line["n"] for line in parsed if line["event"] == "long"]
    assert longs == list(range(len(longs))) and len(longs) < count
    assert tail == b"" or _is_cut_long_line(tail)  # the stall cut a line short: never finished
    if past_the_pipe:  # the first long line was cut, the others dropped
        assert longs == [] and _is_cut_long_line(tail)


@pytest.mark.parametrize("size", LONG_SIZES)
def test_a_line_cut_short_by_a_stalled_stdout_never_runs_into_the_next(ext_app: Path, size: int) -> None:
    with _long_lines(ext_app, size, {"LONG_RESUME": "1"}) as (proc, read, count, said):
        said.wait_for("logged")  # its stdout was full before its work went on
        written = _drain(read)  # the reader is back (the pipe is empty)
        rest: list[bytes] = []
        reader = threading.Thread(target=lambda: rest.append(_read_to_end(read)), daemon=True)
        reader.start()
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        work_done, _ = said.wait_for("work_done")
        code = proc.wait(timeout=60)
        ended = time.monotonic()
        reader.join(60)
        past_the_pipe = size > _pipe_size(read)
    assert ended - work_done <= STALLED_S + 10.0
    assert code == 0
    parsed, unreadable, tail = _cut_apart(written + b"".join(rest))
    assert tail == b""
    parsed = [line for line in parsed if "prefill" not in line]
    # the only line that does not parse is one the stall cut short; the line after it parses
    assert len(unreadable) <= 1 and all(_is_cut_long_line(line) for line in unreadable), unreadable
    if past_the_pipe:
        assert len(unreadable) == 1
    events = [line["event"] for line in parsed]
    longs = [line for line in parsed if line["event"] == "long"]
    dropped = [line for line in parsed if line["event"] == "log.lines_dropped"]
    assert len(dropped) == 1 and dropped[0]["lines"] == count - len(longs), dropped  # cut ones too
    assert events.index("log.lines_dropped") == events.index("after") - 1
    assert events[-1] == "process.exit" and parsed[-1]["exit_code"] == 0


def _pipe_size(fd: int) -> int:
    import fcntl  # noqa: PLC0415

    return fcntl.fcntl(fd, 1032)  # F_GETPIPE_SZ


def _drain(fd: int) -> bytes:
    """What the pipe holds now, without waiting for more."""
    import select  # noqa: PLC0415

    got = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        got += chunk
    return got


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)
