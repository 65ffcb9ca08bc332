"""The three example jobs, constructed directly with clients on the in-process fake."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jobframe.braze import AsyncBrazeClient, BrazeClient, BrazeSettings
from jobframe.braze.fake import FakeBraze
from jobs.braze_attributes import UpdateAttributesParams, UpdateUserAttributes
from jobs.braze_push import SendPushFromFile, SendPushParams
from jobs.braze_stats import CampaignStatsParams, CollectCampaignStats

FAKE = BrazeSettings(base_url="fake://braze")


def test_send_push_from_file(tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# header\n" + "\n".join(f"u{i}" for i in range(120)) + "\n\n")
    fake = FakeBraze()
    with BrazeClient.from_settings(FAKE, transport=fake.transport()) as braze:
        result = SendPushFromFile(braze).execute(SendPushParams(path=users, title="Hi", body="There"))
    assert result == {"recipients": 120, "batches": 3, "dispatches": 3}
    first = fake.requests_to("/messages/send")[0].json
    assert first["external_user_ids"][0] == "u0" and first["messages"]["apple_push"]["alert"]["title"] == "Hi"
    json.dumps(result)


def test_update_attributes_from_csv_and_jsonl(tmp_path: Path) -> None:
    csv_file = tmp_path / "users.csv"
    csv_file.write_text(
        "external_id,first_name,plan\n" + "".join(f"u{i},N{i},\n" for i in range(100)) + ",x,y\n"
    )
    jsonl = tmp_path / "users.jsonl"
    jsonl.write_text("\n".join(json.dumps({"external_id": f"j{i}", "vip": True}) for i in range(80)) + "\n")
    fake = FakeBraze()

    async def run() -> tuple[dict[str, object], dict[str, object]]:
        async with AsyncBrazeClient.from_settings(FAKE, transport=fake.transport()) as braze:
            job = UpdateUserAttributes(braze)
            return (
                await job.execute(UpdateAttributesParams(path=csv_file)),
                await job.execute(UpdateAttributesParams(path=jsonl)),
            )

    from_csv, from_jsonl = asyncio.run(run())
    assert from_csv["sent"] == 101 and from_csv["processed"] == 100 and from_csv["rejected"] == 1
    assert from_csv["errors"] == [{"line_index": 100, "type": from_csv["errors"][0]["type"]}]  # type: ignore[index]
    assert fake.users["u7"] == {"first_name": "N7"}  # the empty "plan" cell was not sent
    assert from_jsonl["processed"] == 80 and fake.users["j3"] == {"vip": True}
    json.dumps([from_csv, from_jsonl])


def test_collect_campaign_stats() -> None:
    fake = FakeBraze()
    fake.seed_campaigns(150)
    with BrazeClient.from_settings(FAKE, transport=fake.transport()) as braze:
        result = CollectCampaignStats(braze).execute(CampaignStatsParams(campaigns=3, days=2))
    assert [c["id"] for c in result["campaigns"]] == ["campaign-00000", "campaign-00001", "campaign-00002"]
    assert result["campaigns"][0]["sent"] == 100 + 101 and result["total_sent"] == 3 * 201
    assert len(fake.requests_to("/campaigns/list")) == 1  # stopped paging early
    json.dumps(result)
