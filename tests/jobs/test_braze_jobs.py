"""The Braze example jobs, run through the toolkit against the in-process fake Braze."""

from __future__ import annotations

import json
from pathlib import Path

from jobframe import ExitCode
from jobframe.braze.fake import FakeBraze
from jobframe.testing.plugin import JobRunner


def test_send_push_from_file_batches_the_listed_users(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze, tmp_path: Path
) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# exported ids\n" + "\n".join(f"u{i}" for i in range(120)) + "\n\n")

    result = jobframe_run("SendPushFromFile", {"path": str(users), "title": "Hi", "body": "There"})

    assert result.exit_code is ExitCode.SUCCEEDED
    assert result.result == {"recipients": 120, "batches": 3, "dispatches": 3}
    sends = jobframe_braze.requests_to("/messages/send")
    assert [len(s.json["external_user_ids"]) for s in sends] == [50, 50, 20]
    assert sends[0].json["messages"]["android_push"]["title"] == "Hi"
    assert result.resources_closed == ["braze.client"]


def test_send_push_stops_with_exit_75_on_a_rate_limit(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze, tmp_path: Path
) -> None:
    users = tmp_path / "users.txt"
    users.write_text("a\nb\n")
    jobframe_braze.set_rate_limit("/messages/send", 0, 3600)  # every send answered 429, reset far away

    result = jobframe_run("SendPushFromFile", {"path": str(users), "title": "Hi", "body": "x"})

    assert result.exit_code == 75
    assert result.event("job.finished")["status"] == "failed"


def test_send_push_rejects_a_blank_title(jobframe_run: JobRunner, tmp_path: Path) -> None:
    result = jobframe_run("SendPushFromFile", {"path": str(tmp_path / "u.txt"), "title": "", "body": "x"})
    assert result.exit_code is ExitCode.USAGE
    assert "title" in str(result.error)


def test_update_user_attributes_streams_a_csv(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze, tmp_path: Path
) -> None:
    csv_file = tmp_path / "users.csv"
    csv_file.write_text("external_id,first_name,plan\n" + "".join(f"u{i},N{i},\n" for i in range(100)))

    result = jobframe_run("UpdateUserAttributes", {"path": str(csv_file)})

    assert result.exit_code is ExitCode.SUCCEEDED
    assert result.result["processed"] == 100 and result.result["rejected"] == 0
    assert jobframe_braze.users["u7"] == {"first_name": "N7"}  # the empty "plan" cell is not sent
    assert result.resources_opened == result.resources_closed == ["braze.async_client"]
    json.dumps(result.result)


def test_update_user_attributes_reports_rejected_rows(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze, tmp_path: Path
) -> None:
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_text(json.dumps({"external_id": "ok", "vip": True}) + "\n" + json.dumps({"vip": True}) + "\n")

    result = jobframe_run("UpdateUserAttributes", {"path": str(jsonl), "max_errors_reported": 5})

    assert result.succeeded
    assert result.result["rejected"] == 1
    assert result.result["errors"][0]["line_index"] == 1
    assert jobframe_braze.users["ok"] == {"vip": True}


def test_collect_campaign_stats_pages_only_as_far_as_needed(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze
) -> None:
    jobframe_braze.seed_campaigns(250)

    result = jobframe_run("CollectCampaignStats", {"campaigns": 3, "days": 2})

    assert result.succeeded
    assert [c["id"] for c in result.result["campaigns"]] == [
        "campaign-00000",
        "campaign-00001",
        "campaign-00002",
    ]
    assert len(jobframe_braze.requests_to("/campaigns/list")) == 1
    assert len(jobframe_braze.requests_to("/campaigns/data_series")) == 3


def test_collect_campaign_stats_fails_on_an_invalid_key(
    jobframe_run: JobRunner, jobframe_braze: FakeBraze
) -> None:
    jobframe_braze.fail_next("/campaigns/list", status=401, body={"message": "Invalid API key"})

    result = jobframe_run("CollectCampaignStats")

    assert result.exit_code is ExitCode.CONFIG
    assert result.resources_closed == ["braze.client"]
