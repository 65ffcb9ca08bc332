"""The interpreter's exit hooks run before jobframe ends the process, bounded, and named when not done.

Real processes of ``apps/hostile.py``: ``atexit`` hooks that write a file or a socket (a library's
flush), one that hangs, one that raises; an idle ``ThreadPoolExecutor`` held by a Singleton; the
helper processes multiprocessing starts; and a worker CPython 3.11 calls "not alive" while it runs.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest

from .jobproc import CANARY, JobProcess, running

pytestmark = pytest.mark.process

APP = "hostile:Container"


def _run(
    tmp_path: Path, job: str, *args: str, env: dict[str, str] | None = None, **params: Any
) -> JobProcess:
    with running(job, *args, params=params, env=env, record=tmp_path / "record.txt", app=APP) as proc:
        proc.wait(30)
    return proc


def _after_finished(proc: JobProcess) -> float:
    assert proc.exited_at is not None
    return proc.exited_at - proc.wait_for("job.finished").at


class _Sink:
    """A loopback server that keeps what each connection sent (the OTLP collector of the test)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.received: list[bytes] = []
        self.got = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def address(self) -> str:
        host, port = self.server.getsockname()[:2]
        return f"{host}:{port}"

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
        self.received.append(data)
        self.got.set()


def test_atexit_hooks_run_their_flushes_before_the_exit(tmp_path: Path) -> None:
    sink = _Sink()
    env = {"HOSTILE_ATEXIT": "write,socket", "HOSTILE_SINK": sink.address}
    proc = _run(tmp_path, "StdlibJob", env=env, shape="atexit")
    assert proc.proc.returncode == 0, proc.output
    assert sink.got.wait(5) and sink.received == [b"flushed\n"], proc.output
    closed = proc.record().closed
    assert closed[-1] == "atexit-write" and "R1" in closed, "the file-writing hook ran, after teardown"
    assert not proc.named("exit.hook_timeout") and not proc.named("exit.hook_failed"), proc.output
    assert _after_finished(proc) < 0.5, proc.output
    assert proc.order()[-1] == "process.exit"


@pytest.mark.parametrize("raises", ["", f"boom-{CANARY}"], ids=["succeeds", "fails"])
def test_an_error_reporters_excepthook_gets_the_jobs_failure_before_its_flush(
    tmp_path: Path, raises: str
) -> None:
    # sentry-sdk, Rollbar, Bugsnag report an uncaught exception through their sys.excepthook and
    # send it from an atexit flush. A job's failure is caught by jobframe, so it never reached
    # them: a failing job was invisible to its error reporter (plain Python reports it). As the
    # interpreter does, the hook gets the exception before the atexit hooks run — only a failure,
    # and only a hook someone installed (Python's own would print what job.finished logged).
    # The hook chains to Python's own (as sentry-sdk does), which prints the traceback: the
    # secret in the failure's message is masked there as in every log line (wait() fails on it),
    # while the reporter itself gets the real exception.
    env = {"HOSTILE_ATEXIT": "reporter", "HOSTILE_RAISE": raises}
    proc = _run(tmp_path, "StdlibJob", env=env, shape="atexit")
    assert proc.proc.returncode == (1 if raises else 0), proc.output
    record = proc.record()
    assert record.closed[-1] == "reporter", proc.output  # flushed, after teardown
    assert record.exc_of("reporter") == (f"RuntimeError:{raises}" if raises else "-"), proc.output
    assert not proc.named("exit.hook_timeout") and not proc.named("exit.hook_failed"), proc.output
    if raises:  # printed by the hook the reporter chained to, the secret masked
        assert "Traceback" in proc.stderr and "RuntimeError: boom-***" in proc.stderr, proc.output
    else:
        assert "Traceback" not in proc.stderr, proc.output
    assert _after_finished(proc) < 0.5 + 1.0, proc.output  # a clean exit (+1 s: a loaded machine)


def test_a_hanging_atexit_hook_is_named_and_the_exit_stays_bounded(tmp_path: Path) -> None:
    # atexit runs newest first: "write" (registered last) runs, then "hang" is abandoned
    proc = _run(
        tmp_path, "StdlibJob", "--exit-grace", "1", env={"HOSTILE_ATEXIT": "hang,write"}, shape="atexit"
    )
    assert proc.proc.returncode == 0, proc.output
    timeout = proc.one("exit.hook_timeout")
    assert timeout["stage"] == "atexit" and timeout["hook"].endswith("hang"), timeout
    assert 0.9 <= timeout["waited_s"] < 1.5, "the real wait: the exit grace"
    assert "atexit-write" in proc.record().closed, "the hook before the hanging one ran"
    assert _after_finished(proc) < 1.0 + 0.5 + 0.5, proc.output  # grace (+ slack on a loaded machine)
    assert proc.order()[-1] == "process.exit"


def test_records_a_library_buffered_reach_their_file_at_the_exit(tmp_path: Path) -> None:
    # logging.shutdown is not run in an exit-hook thread (an abandoned one could keep a handler's
    # lock); jobframe flushes every handler itself, so what logging.shutdown would have written is
    # written
    log_file = tmp_path / "library.log"
    env = {"HOSTILE_ATEXIT": "buffered_log,write", "HOSTILE_LOG_FILE": str(log_file)}
    proc = _run(tmp_path, "StdlibJob", env=env, shape="atexit")
    assert proc.proc.returncode == 0, proc.output
    assert "kept in memory until the exit" in log_file.read_text(), proc.output
    assert proc.order()[-1] == "process.exit"


def test_a_raising_atexit_hook_is_named_and_the_others_still_run(tmp_path: Path) -> None:
    proc = _run(tmp_path, "StdlibJob", env={"HOSTILE_ATEXIT": "write,raise"}, shape="atexit")
    assert proc.proc.returncode == 0, proc.output
    failed = proc.one("exit.hook_failed")
    assert failed["hook"].endswith("fail") and failed["error_type"] == "RuntimeError", failed
    assert "atexit-write" in proc.record().closed, "the hook after the raising one still ran"
    assert "refuses" not in proc.stderr or "exit.hook_failed" in proc.output
    assert _after_finished(proc) < 0.5, proc.output


def test_an_idle_executor_held_by_a_singleton_costs_no_exit_grace(tmp_path: Path) -> None:
    proc = _run(tmp_path, "StdlibJob", "--exit-grace", "2", shape="executor")
    assert proc.proc.returncode == 0, proc.output
    assert "process.lingering" not in proc.order(), proc.output
    assert _after_finished(proc) < 0.5, f"{_after_finished(proc):.2f}s:\n{proc.output}"


@pytest.mark.parametrize("method", ["forkserver", "spawn"])
def test_multiprocessing_helper_processes_end_without_the_exit_grace(tmp_path: Path, method: str) -> None:
    proc = _run(tmp_path, "StdlibJob", "--exit-grace", "2", env={"HOSTILE_START": method}, shape="pool")
    assert proc.proc.returncode == 0, proc.output
    assert "process.lingering" not in proc.order(), proc.output
    # stopped after multiprocessing's own exit hook removed its temp dir (the fork server's socket
    # with it): the helper ended as it should, and nothing is reported as failed
    assert not proc.named("exit.hook_failed") and not proc.named("exit.hook_timeout"), proc.output
    assert _after_finished(proc) < 1.0, f"{_after_finished(proc):.2f}s:\n{proc.output}"


def test_a_worker_that_says_it_stopped_while_it_runs_is_still_named(tmp_path: Path) -> None:
    """CPython 3.11: the teardown timer interrupting ``shutdown(wait=True)`` marks the worker stopped."""
    args = ("--shutdown-timeout", "1", "--exit-grace", "1")
    proc = _run(tmp_path, "BusyExecutorJob", *args)
    assert proc.proc.returncode == 0, proc.output
    assert proc.one("teardown.timeout")["resource"] == "busy_executor"
    lingering = [t["name"] for t in proc.one("process.lingering")["threads"]]
    assert any(name.startswith("busy-worker") for name in lingering), proc.output
    assert any(name.startswith("busy-worker") for name in proc.one("process.exit")["abandoned_threads"])
    assert _after_finished(proc) < 1.0 + 1.0 + 0.5, proc.output  # teardown budget + exit grace


def test_a_fork_server_ended_by_a_sigterm_is_no_failed_hook(tmp_path: Path) -> None:
    """Argo's SIGTERM to the whole group ends the fork server too (it does not ignore SIGTERM), and
    the exit guard reaps it before it is told to stop: already gone, it stopped — no
    ``exit.hook_failed`` (``ChildProcessError`` from its ``waitpid``) for a run that ended well."""
    with running("ForkServerGone", record=tmp_path / "r.txt", app="outcomes:Container") as proc:
        proc.wait(30)
    assert proc.proc.returncode == 0, proc.output
    assert not proc.named("exit.hook_failed") and not proc.named("exit.hook_timeout"), proc.output
    assert _after_finished(proc) < 1.0, proc.output
    assert proc.order()[-1] == "process.exit"


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_non_daemon_multiprocessing_child_still_running_is_reported_once(
    tmp_path: Path, method: str
) -> None:
    """multiprocessing's own exit hook joins every non-daemon child it started — for ever, for one
    that does not end. Such a child is named once, as lingering (with its ``Process`` name), given
    the exit grace and then ended with the other descendants; it is no hung exit hook too."""
    exit_grace = 1.0
    env = {"HOSTILE_START": method}
    args = ("--exit-grace", f"{exit_grace:g}")
    proc = _run(tmp_path, "LibraryJob", *args, env=env, shape="child_ignoring_sigterm", seconds=0)
    assert proc.proc.returncode == 0, proc.output
    assert not proc.named("exit.hook_timeout") and not proc.named("exit.hook_failed"), proc.output
    (child,) = proc.one("process.lingering")["children"]
    started = [name for verb, name, _ in proc.record().lines if verb == "pid"]
    assert [child["pid"]] == [int(pid) for pid in started], proc.output
    assert child["multiprocessing"] == f"{method.capitalize()}Process-1", child
    # README (--exit-grace): the exit grace, the atexit hooks' 0.5 s floor, SIGTERM then SIGKILL 0.5 s
    # later; plus what a loaded machine adds to several waits in a row
    assert _after_finished(proc) < exit_grace + 0.5 + 0.5 + 0.5, (
        f"{_after_finished(proc):.2f}s:\n{proc.output}"
    )
    assert proc.order()[-1] == "process.exit"
