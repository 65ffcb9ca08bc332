"""Every endpoint through the sync client against the loopback fake server."""

from __future__ import annotations

import pytest
import structlog

from jobframe.braze import BrazeClient, Messages, Recipient, UserAlias
from jobframe.braze.fake import FakeBraze

PUSH = {"apple_push": {"alert": "hello"}}


def test_messages_send_returns_dispatch_id_and_sends_auth(client: BrazeClient, fake: FakeBraze) -> None:
    result = client.send_message(Messages(apple_push={"alert": "hi"}), external_user_ids=["u1", "u2"])
    assert result.batches == 1 and result.recipients == 2 and len(result.dispatch_ids) == 1
    [request] = fake.requests_to("/messages/send")
    assert request.json == {"messages": {"apple_push": {"alert": "hi"}}, "external_user_ids": ["u1", "u2"]}
    assert request.headers["authorization"] == "Bearer ***"  # the fake saw (and checked) the real key


def test_messages_send_aliases_and_broadcast(client: BrazeClient, fake: FakeBraze) -> None:
    client.send_message(PUSH, user_aliases=[UserAlias(alias_name="a", alias_label="l")])
    client.send_message(PUSH, broadcast=True, segment_id="seg-1")
    first, second = fake.requests_to("/messages/send")
    assert first.json["user_aliases"] == [{"alias_name": "a", "alias_label": "l"}]
    assert second.json["broadcast"] is True and "external_user_ids" not in second.json
    with pytest.raises(ValueError, match="broadcast excludes"):
        client.send_message(PUSH, broadcast=True, external_user_ids=["x"])


def test_campaign_trigger(client: BrazeClient, fake: FakeBraze) -> None:
    recipients = [
        Recipient(external_user_id="u1"),
        {"email": "a@example.com", "trigger_properties": {"x": 1}},
    ]
    result = client.trigger_campaign("c-1", recipients=recipients, trigger_properties={"k": "v"})
    assert len(result.dispatch_ids) == 1
    [request] = fake.requests_to("/campaigns/trigger/send")
    assert request.json["campaign_id"] == "c-1"
    assert request.json["recipients"][1] == {"email": "a@example.com", "trigger_properties": {"x": 1}}
    with pytest.raises(ValueError, match="exactly one"):
        client.trigger_campaign("c-1", recipients=[{"external_user_id": "u", "email": "e"}])


def test_canvas_notice_is_surfaced(client: BrazeClient, fake: FakeBraze) -> None:
    fake.paused_canvases.add("cv-paused")
    with structlog.testing.capture_logs() as logs:
        result = client.trigger_canvas("cv-paused", recipients=[{"external_user_id": "u1"}], context={"a": 1})
    assert result.notices and "paused" in result.notices[0]
    assert any(e["event"] == "braze.canvas_notice" and e["log_level"] == "warning" for e in logs)
    assert client.trigger_canvas("cv-live", broadcast=True).notices == []


def test_users_track_partial_errors_are_located(client: BrazeClient) -> None:
    attributes = [{"external_id": f"u{i}", "n": i} for i in range(80)]
    attributes[77] = {"no_identifier": True}
    events = [{"external_id": "u1", "name": "opened", "time": "2024-01-01T00:00:00Z"}, {"external_id": "u2"}]
    purchases = [
        {
            "external_id": "u1",
            "product_id": "p",
            "currency": "EUR",
            "price": 1.0,
            "time": "2024-01-01T00:00:00Z",
        }
    ]
    result = client.track_users(attributes, events, purchases)
    assert result.batches == 2
    assert (result.attributes_processed, result.events_processed, result.purchases_processed) == (79, 1, 1)
    located = {(e.input_array, e.batch, e.index, e.input_index) for e in result.errors}
    assert located == {("attributes", 1, 2, 77), ("events", 0, 1, 1)}
    assert not result.ok


def test_users_export_ids(client: BrazeClient) -> None:
    client.track_users(attributes=[{"external_id": "known", "first_name": "Ada"}])
    result = client.export_users(["known", "unknown"], fields_to_export=["first_name"])
    assert result.users == [{"external_id": "known", "first_name": "Ada"}]
    assert result.invalid_user_ids == ["unknown"]
    client.export_users(email_address="a@example.com")


def test_sends_id_create_and_data_series(client: BrazeClient, fake: FakeBraze) -> None:
    [cid] = fake.seed_campaigns(1)
    send = client.create_send_id(cid, "my-send")
    assert send.send_id == "my-send"
    series = client.campaign_data_series(cid, length=3, ending_at="2024-01-02T00:00:00Z")
    assert len(series.data) == 3 and series.total("sent") == 100 + 101 + 102
    assert client.send_data_series(cid, "my-send", length=2).total("opens") == 10 + 11
    [request] = fake.requests_to("/sends/data_series")
    assert request.query == {"campaign_id": cid, "send_id": "my-send", "length": "2"}
    with pytest.raises(ValueError, match="length"):
        client.campaign_data_series(cid, length=101)


def test_campaign_details(client: BrazeClient, fake: FakeBraze) -> None:
    [cid] = fake.seed_campaigns(1)
    details = client.campaign_details(cid)
    assert details.name == "Campaign 0" and details.channels == ["ios_push"] and details.archived is False


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (99, 1), (100, 2), (250, 3)])
def test_campaigns_list_paginates_lazily(
    client: BrazeClient, fake: FakeBraze, count: int, pages: int
) -> None:
    fake.seed_campaigns(count, archived=min(count, 3))
    ids = [c.id for c in client.iter_campaigns(include_archived=True)]
    assert len(ids) == count == len(set(ids))
    requested = [r.query["page"] for r in fake.requests_to("/campaigns/list")]
    assert requested == [str(p) for p in range(pages)]
    if count:
        assert len(list(client.iter_campaigns())) == count - min(count, 3)


def test_campaign_iteration_stops_fetching_when_caller_stops(client: BrazeClient, fake: FakeBraze) -> None:
    fake.seed_campaigns(300)
    iterator = client.iter_campaigns()
    assert next(iterator).id
    assert len(fake.requests_to("/campaigns/list")) == 1
