"""``python -m jobframe.ledger``: inspect a killed run, abandon it, forget it — real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from jobframe.errors import ConfigurationError
from jobframe.ledger import LedgerSettings, RunLedger
from jobframe.ledger.lease import LeaseLostError
from tests.lifecycle.jobproc import REPO
from tests.resume.harness import bulk_job, fake_braze, ledger_env, write_ids

pytestmark = pytest.mark.process

PUSH = {"title": "Hello", "body": "Once"}


def ledger_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobframe.ledger", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_a_killed_run_is_shown_abandoned_and_forgotten(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", 500)
    ledger = ledger_env("sqlite", tmp_path)
    path = ledger["LEDGER__PATH"]
    params = {"path": tmp_path / "ids.txt", **PUSH}
    with fake_braze() as (fake, server):
        bulk_job("SendPushFromFile", params, server, ledger, run_key="k", fake=fake, kill_on_request=3)
        shown = ledger_cli("show", "--path", path, "--run-key", "k", "--json")
        assert shown.returncode == 0, shown.stderr
        (run,) = [json.loads(line) for line in shown.stdout.splitlines()]
        assert (run["job"], run["status"], run["attempts"]) == ("SendPushFromFile", "open", 1)
        assert run["batches"] == {"delivered": 2, "started": 1}
        assert run["unconfirmed"] == [
            {"stream": 0, "batch": 2, "items": {"external_user_ids": [100, 150]}, "size": 50}
        ]
        listing = ledger_cli("show", "--path", path)
        assert listing.returncode == 0 and listing.stdout.startswith("k  SendPushFromFile  open"), listing

        abandoned = ledger_cli("abandon", "--path", path, "--run-key", "k")
        assert abandoned.returncode == 0, abandoned.stderr
        refused = bulk_job("SendPushFromFile", params, server, ledger, run_key="k")
        assert refused.code == 78 and "abandoned" in refused.output, refused.output

        forgotten = ledger_cli("forget", "--path", path, "--run-key", "k")
        assert forgotten.returncode == 0, forgotten.stderr
        again = bulk_job("SendPushFromFile", params, server, ledger, run_key="k")
        sent = fake.ids_sent()
    assert again.code == 0 and again.resume["attempt"] == 1
    assert sum(sent.values()) == 150 + len(ids)  # forgetting is starting over: that is what it means


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["show", "--run-key", "nope"], "no run 'nope'"),
        (["abandon"], "abandon needs --run-key"),
        (["forget", "--run-key", "nope"], "no run 'nope'"),
    ],
)
def test_bad_requests_exit_2_with_one_line(tmp_path: Path, args: list[str], phrase: str) -> None:
    path = tmp_path / "l.sqlite3"
    from jobframe.ledger import LedgerSettings  # noqa: PLC0415
    from jobframe.ledger.store import open_store  # noqa: PLC0415

    open_store(LedgerSettings(path=path)).close()
    done = ledger_cli(*args, "--path", str(path))
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1 and phrase in done.stderr, done.stderr
    assert done.stderr.startswith("jobframe.ledger: error: ") and "Traceback" not in done.stderr


def test_a_missing_ledger_file_is_named(tmp_path: Path) -> None:
    done = ledger_cli("show", "--path", str(tmp_path / "none.sqlite3"))
    assert done.returncode == 2 and "no ledger at" in done.stderr, done


def test_a_path_the_file_system_refuses_to_look_up_is_named_not_a_traceback(tmp_path: Path) -> None:
    done = ledger_cli("show", "--path", str(tmp_path / ("a" * 300)))
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1 and "no ledger at" in done.stderr, done.stderr
    assert "File name too long" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("secrets", ["missing", "a file"])
def test_register_refuses_a_secrets_directory_the_job_would_refuse(tmp_path: Path, secrets: str) -> None:
    """The step opens the store as the job does: a --secrets-dir the job refuses (78) is not skipped,
    or the step would register the key in another store (the default SQLite file) than the job's."""
    directory = tmp_path / "secrets"
    if secrets == "a file":
        directory.write_text("ledger__dsn=postgresql://x@db/j\n")
    path = tmp_path / "l.sqlite3"
    done = ledger_cli("register", "--run-key", "k", "--secrets-dir", str(directory), "--path", str(path))
    assert done.returncode == 78, done
    assert done.stderr.count("\n") == 1 and f"secrets directory '{directory}'" in done.stderr, done
    assert not path.exists()


def test_a_run_abandoned_while_an_attempt_holds_it_stops_that_attempt_and_stays_abandoned(
    tmp_path: Path,
) -> None:
    """``abandon`` is how a person stops a run: the attempt still running under the key may send
    nothing more, and its end does not undo the decision (its status is not written over it)."""
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    holder = RunLedger.open(settings, key="k", job="Job", fingerprint="f1")
    journal = holder.journal("/messages/send", "input-1")
    assert journal is not None
    abandoned = ledger_cli("abandon", "--path", str(settings.path), "--run-key", "k")
    assert abandoned.returncode == 0 and "abandoned" in abandoned.stdout, abandoned.stderr
    started = journal.before_send(0, {"external_user_ids": ["u0"]}, {"external_user_ids": (0, 1)}, 1)
    assert started is not None
    with pytest.raises(LeaseLostError, match="by hand"):  # not sent: its start cannot be recorded
        started.result(5)
    holder.finish(succeeded=True)
    with pytest.raises(ConfigurationError, match="abandoned"):
        RunLedger.open(settings, key="k", job="Job", fingerprint="f1", retry=1)


@pytest.mark.parametrize(
    ("registered_only", "job", "fingerprint"),
    [(True, "Job", "f1"), (False, "OtherJob", "f1"), (False, "Job", "f2")],
    ids=["registered-never-opened", "another-job", "other-parameters"],
)
def test_an_abandoned_key_is_refused_as_abandoned_whatever_attempt_comes(
    tmp_path: Path, registered_only: bool, job: str, fingerprint: str
) -> None:
    """An abandoned key refuses every later attempt, and says it was abandoned: also when it was
    abandoned before any attempt opened it (a registered key), or the attempt that comes has
    another job or other parameters — never "started with another job ()"."""
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    if registered_only:
        assert ledger_cli("register", "--path", str(settings.path), "--run-key", "k").returncode == 0
    else:
        RunLedger.open(settings, key="k", job="Job", fingerprint="f1").finish(succeeded=False)
    assert ledger_cli("abandon", "--path", str(settings.path), "--run-key", "k").returncode == 0
    with pytest.raises(ConfigurationError, match="was abandoned by hand") as refused:
        RunLedger.open(settings, key="k", job=job, fingerprint=fingerprint, retry=1, registered=True)
    assert "started with" not in str(refused.value)


@pytest.mark.parametrize("registered", [True, False])
def test_a_forgotten_key_is_started_over_by_the_next_attempt_whatever_its_retry(
    tmp_path: Path, registered: bool
) -> None:
    """``forget`` says the next attempt under the key starts from the first object: also when it
    is a retry of a rendered step (``--registered``, ``--retry-number N``) in a store that holds
    no other run — not refused as if the ledger were lost."""
    settings = LedgerSettings(path=tmp_path / "ledger.sqlite3")
    if registered:  # what the rendered workflow's register-ledger step does first
        assert ledger_cli("register", "--path", str(settings.path), "--run-key", "k").returncode == 0
    first = RunLedger.open(settings, key="k", job="Job", fingerprint="f1", registered=registered)
    journal = first.journal("/messages/send", "input-1")
    assert journal is not None
    started = journal.before_send(0, {"external_user_ids": ["u0"]}, {"external_user_ids": (0, 1)}, 1)
    assert started is not None
    started.result(5)
    first.finish(succeeded=False)
    forgotten = ledger_cli("forget", "--path", str(settings.path), "--run-key", "k")
    assert forgotten.returncode == 0 and "starts from the first object" in forgotten.stdout
    again = RunLedger.open(settings, key="k", job="Job", fingerprint="f1", retry=2, registered=registered)
    assert (again.attempt, again.resumed) == (1, False)
    journal = again.journal("/messages/send", "input-1")
    assert journal is not None and not journal.known  # nothing of the forgotten attempt is kept
    again.finish(succeeded=True)
