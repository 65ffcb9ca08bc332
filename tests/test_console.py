"""The console format at a terminal: a real jobframe process on a pseudo-terminal (pty)."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobframe.console import progress_text, summary_line, use_colors
from jobframe.observe import EndpointCounts
from tests.conftest import CANARY, REPO, clean_env
from tests.observe.pushjob import malformed_ids, push_args, write_ids

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def on_a_terminal(
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 60,
    sigterm_after: bytes | None = None,
) -> tuple[int, str]:
    """Run ``python -m jobframe ARGS`` with stdout and stderr on a pty; its exit code and output.

    ``sigterm_after``: send SIGTERM once the output shows these bytes (an event, not a delay).
    """
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "jobframe", *args],
        cwd=REPO,
        env=clean_env({"TERM": "xterm", **(env or {})}),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
        if sigterm_after is not None and sigterm_after in b"".join(chunks):
            proc.send_signal(signal.SIGTERM)
            sigterm_after = None
    os.close(master)
    code = proc.wait(timeout)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    assert CANARY not in text
    return code, text


@pytest.mark.process
def test_at_a_terminal_the_log_ends_with_one_sentence(tmp_path: Path) -> None:
    code, text = on_a_terminal(push_args(write_ids(tmp_path, 120)), env={"NO_COLOR": ""})
    assert code == 0
    lines = [line for line in ANSI.sub("", text).splitlines() if line.strip()]
    assert "process.exit" in lines[-2]
    assert re.fullmatch(r"SendPushFromFile succeeded in \d+\.\d s — 120 recipients, 0 rejected", lines[-1]), (
        lines[-1]
    )
    assert ANSI.search(text)  # colours on a terminal (NO_COLOR empty counts as unset)


@pytest.mark.process
def test_no_color_and_none_fields(tmp_path: Path) -> None:
    code, text = on_a_terminal(push_args(write_ids(tmp_path, 120)), env={"NO_COLOR": "1"})
    assert code == 0
    assert not ANSI.search(text) and "\x1b[" not in text
    assert "=None" not in text  # job.started has no deadline here: deadline=None is left out
    started = next(line for line in text.splitlines() if "job.started" in line)
    assert "deadline" not in started and "params=" in started
    (progress,) = [line for line in text.splitlines() if "progress" in line and "/messages/send" in line]
    assert re.search(r"progress /messages/send 120/120 \(100\.0 %\), [\d.]+/s, done in \d", progress), (
        progress
    )


@pytest.mark.process
def test_a_failure_says_so_in_the_last_sentence(tmp_path: Path) -> None:
    args = push_args(malformed_ids(tmp_path))
    code, text = on_a_terminal(args, env={"NO_COLOR": "1"})
    assert code == 2
    last = text.strip().splitlines()[-1]
    assert re.fullmatch(r"SendPushFromFile failed in \d+\.\d s \(exit 2\)", last), last


@pytest.mark.process
def test_a_signal_during_the_run_is_named_in_the_last_sentence() -> None:
    """``Sleep terminated in 0.1 s (exit 143, SIGTERM)``: the signal is in ``job.finished``'s reason."""
    args = ["--job-name", "Sleep", "--param", "seconds=60"]
    code, text = on_a_terminal(args, env={"NO_COLOR": "1"}, sigterm_after=b"job.started")
    assert code == 143
    last = text.strip().splitlines()[-1]
    assert re.fullmatch(r"Sleep terminated in \d+\.\d s \(exit 143, SIGTERM\)", last), text


@pytest.mark.process
@pytest.mark.parametrize("value", ["0", "false", " "])
def test_any_no_color_but_the_empty_string_turns_colours_off(tmp_path: Path, value: str) -> None:
    """no-color.org: "when present and not an empty string", whatever its value."""
    code, text = on_a_terminal(["--job-name", "SomeJob"], env={"NO_COLOR": value})
    assert code == 0 and "SomeJob succeeded in" in text
    assert "\x1b[" not in text


@pytest.mark.process
@pytest.mark.parametrize(
    "how", [["--log-format", "json"], ["--log-format", "console"]], ids=["json", "console"]
)
def test_an_explicit_format_wins_over_the_terminal(how: list[str]) -> None:
    """JSON asked for at a terminal is JSON to the last line: no colour, no sentence."""
    code, text = on_a_terminal(["--job-name", "SomeJob", *how])
    lines = [line for line in text.splitlines() if line.strip()]
    assert code == 0
    if how[1] == "json":
        assert all(line.startswith("{") and line.endswith("}") for line in lines), lines
        assert '"process.exit"' in lines[-1] and "\x1b[" not in text
    else:
        assert lines[-1].startswith("SomeJob succeeded in")


def test_the_sentence_names_what_was_sent() -> None:
    finished = {"job": "Sync", "status": "succeeded", "duration_s": 75.25, "exit_code": 0}
    track = {"/users/track": EndpointCounts(objects_sent=70, objects_rejected=5, ledger_skipped=10)}
    assert summary_line(finished, track, {"exit_code": 0}) == (
        "Sync succeeded in 1 min 15 s — 70 objects, 5 rejected, 10 skipped (sent before)"
    )
    sends = {
        "/messages/send": EndpointCounts(objects_sent=4950, objects_ambiguous=50),
        "/campaigns/list": EndpointCounts(requests=1),
    }
    interrupted = {"job": "Push", "status": "terminated", "duration_s": 3.04, "exit_code": 143}
    assert summary_line(interrupted, sends, {"exit_code": 143, "signal": "SIGTERM"}) == (
        "Push terminated in 3.0 s (exit 143, SIGTERM) — 4950 recipients, 0 rejected, 50 unknown"
    )
    assert summary_line(
        {"job": "Sleep", "status": "deadline_exceeded", "duration_s": 7200}, {}, {"exit_code": 124}
    ) == ("Sleep deadline exceeded in 2 h 0 min (exit 124)")
    during = {**interrupted, "reason": "SIGINT", "exit_code": 130}
    assert summary_line(during, {}, {"exit_code": 130}) == "Push terminated in 3.0 s (exit 130, SIGINT)"
    failed = {"job": "Push", "status": "failed", "reason": "Braze said no", "exit_code": 1}
    assert summary_line(failed, {}, {"exit_code": 1}) == "Push failed (exit 1)"


def test_progress_reads_done_total_rate_then_eta() -> None:
    fields = {
        "operation": "/users/track",
        "done": 5000,
        "total": 20000,
        "percent": 25.0,
        "rate_per_s": 1234.5,
    }
    assert (
        progress_text({**fields, "eta_s": 12.2, "finished": False})
        == "/users/track 5000/20000 (25.0 %), 1234.5/s, ETA 12.2 s"
    )
    assert (
        progress_text({**fields, "total": None, "percent": None, "eta_s": None})
        == "/users/track 5000, 1234.5/s"
    )


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "colors"),
    [(True, {}, True), (False, {}, False), (True, {"NO_COLOR": "1"}, False), (True, {"NO_COLOR": ""}, True)],
)
def test_colours_only_on_a_terminal_and_never_with_no_color(
    tty: bool, environ: dict[str, str], colors: bool
) -> None:
    assert use_colors(_Stream(tty), environ) is colors
