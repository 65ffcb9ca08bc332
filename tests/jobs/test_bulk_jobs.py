"""The bulk example jobs at sizes far past every batch, slot and pool limit, offline.

Through the testing toolkit's fake and as real processes on the ``local`` profile (the
in-process fake): every object reaches the fake exactly once, the run reports progress as it
goes (Argo's ``N/M`` and throttled ``progress`` lines with counts, rate and ETA) and the log is
not one line per request.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from jobframe import ExitCode
from jobframe.braze.fake import FakeBraze
from jobframe.testing.plugin import JobRunner
from tests.conftest import run_cli

IDS = 10_000
OBJECTS = 100_000


def _ids_file(tmp_path: Path) -> Path:
    path = tmp_path / "users.txt"
    path.write_text("# exported ids\n" + "".join(f"u{i}\n" for i in range(IDS)) + "\n")
    return path


def _jsonl(tmp_path: Path) -> Path:
    path = tmp_path / "users.jsonl"
    path.write_text(
        "".join(json.dumps({"external_id": f"u{i}", "tier": i % 3}) + "\n" for i in range(OBJECTS))
    )
    return path


def test_send_push_to_10000_ids_through_the_toolkit_fake(
    jobframe_run: JobRunner, fake_braze: FakeBraze, tmp_path: Path
) -> None:
    fake_braze.requests = type(fake_braze.requests)(maxlen=None)
    result = jobframe_run("SendPushFromFile", {"path": str(_ids_file(tmp_path)), "title": "Hi", "body": "x"})

    assert result.exit_code is ExitCode.SUCCEEDED, result.error
    assert result.result == {"recipients": IDS, "batches": IDS // 50, "dispatches": IDS // 50}
    sent = Counter(i for r in fake_braze.requests_to("/messages/send") for i in r.json["external_user_ids"])
    assert sent == Counter(f"u{i}" for i in range(IDS))  # each id exactly once
    final = result.events("progress", finished=True)
    assert [(e["done"], e["total"], e["percent"]) for e in final] == [(IDS, IDS, 100.0)]
    assert final[0]["operation"] == "/messages/send" and final[0]["rate_per_s"] > 0


def test_update_100000_attributes_through_the_toolkit_fake(
    jobframe_run: JobRunner, fake_braze: FakeBraze, tmp_path: Path
) -> None:
    fake_braze.store_users = False
    result = jobframe_run("UpdateUserAttributes", {"path": str(_jsonl(tmp_path))})

    assert result.exit_code is ExitCode.SUCCEEDED, result.error
    assert result.result["processed"] == OBJECTS and result.result["rejected"] == 0
    assert fake_braze.counters.by_path["/users/track"] == -(-OBJECTS // 75)
    (final,) = result.events("progress", finished=True)
    assert (final["done"], final["total"], final["eta_s"]) == (OBJECTS, OBJECTS, 0.0)


def _progress_lines(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in events if e.get("event") == "progress"]


@pytest.mark.process
def test_both_bulk_jobs_run_offline_on_the_local_profile_with_progress(tmp_path: Path) -> None:
    progress = tmp_path / "progress"
    runs = {
        "SendPushFromFile": (
            ["--param", f"path={_ids_file(tmp_path)}", "--param", "title=Hi", "--param", "body=x"],
            IDS,
        ),
        "UpdateUserAttributes": (["--param", f"path={_jsonl(tmp_path)}"], OBJECTS),
    }
    for job, (params, total) in runs.items():
        ran = run_cli(
            ["--job-name", job, "--env", "local", *params],
            env={"ARGO_PROGRESS_FILE": str(progress)},
            timeout=240,
        )
        assert ran.code == 0, ran.stdout[-3000:] + ran.stderr
        assert progress.read_text() == f"{total}/{total}\n"
        lines = _progress_lines(ran.events)
        assert lines and lines[-1]["finished"] is True and lines[-1]["done"] == total
        assert all({"done", "total", "rate_per_s", "eta_s", "elapsed_s"} <= line.keys() for line in lines)
        duration = float(ran.one("job.finished")["duration_s"])
        assert len(lines) <= duration / 5 + 2  # throttled: one line per 5 s at most, plus the last
        assert not [e for e in ran.events if str(e.get("event", "")).startswith("HTTP Request")]
        assert len(ran.events) < 40  # not one line per request (there were hundreds)


def test_the_toolkit_shows_the_delivery_report_in_job_finished(
    jobframe_run: JobRunner, fake_braze: FakeBraze, tmp_path: Path
) -> None:
    path = tmp_path / "users.txt"
    path.write_text("".join(f"u{i}\n" for i in range(500)))
    fake_braze.fail_next("/messages/send", status=503)  # the first (probe) send

    result = jobframe_run("SendPushFromFile", {"path": str(path), "title": "Hi", "body": "x"})

    assert result.exit_code == 75
    delivery = result.event("job.finished")["delivery"]
    assert delivery["delivered"]["batches"] == 0
    assert [(b["batch"], b["ids"][:2]) for b in delivery["unknown"]] == [(0, ["u0", "u1"])]
    assert delivery["never_sent"]["rest_from"] == {"batch": 1, "items": {"external_user_ids": [50, None]}}
    assert delivery["never_sent"]["rest_items"] == 450
    assert len(fake_braze.requests_to("/messages/send")) == 1
