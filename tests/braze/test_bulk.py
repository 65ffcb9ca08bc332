"""Batches at Braze's limits, streaming from generators, and the stricter-plan settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jobframe.braze import BrazeClient
from jobframe.braze._bulk import chunked, track_batches
from jobframe.braze.fake import FakeBraze, FakeBrazeServer

from .conftest import make_settings

PUSH = {"apple_push": {"alert": "hello"}}


@pytest.mark.parametrize(("count", "sizes"), [(49, [49]), (50, [50]), (51, [50, 1]), (101, [50, 50, 1])])
def test_send_recipients_split_at_50(
    client: BrazeClient, fake: FakeBraze, count: int, sizes: list[int]
) -> None:
    result = client.send_message(PUSH, external_user_ids=(f"u{i}" for i in range(count)))
    sent = [len(r.json["external_user_ids"]) for r in fake.requests_to("/messages/send")]
    assert sent == sizes and result.recipients == count and len(result.dispatch_ids) == len(sizes)


def test_ids_and_aliases_share_the_50_budget(client: BrazeClient, fake: FakeBraze) -> None:
    aliases = [{"alias_name": f"a{i}", "alias_label": "l"} for i in range(30)]
    client.send_message(PUSH, external_user_ids=[f"u{i}" for i in range(40)], user_aliases=aliases)
    bodies = [r.json for r in fake.requests_to("/messages/send")]
    assert [len(b.get("external_user_ids", [])) + len(b.get("user_aliases", [])) for b in bodies] == [50, 20]


@pytest.mark.parametrize(("count", "sizes"), [(49, [49]), (50, [50]), (51, [50, 1])])
def test_trigger_recipients_and_export_ids_split_at_50(
    client: BrazeClient, fake: FakeBraze, count: int, sizes: list[int]
) -> None:
    client.trigger_campaign("c", recipients=({"external_user_id": f"u{i}"} for i in range(count)))
    client.trigger_canvas("cv", recipients=({"external_user_id": f"u{i}"} for i in range(count)))
    result = client.export_users(f"u{i}" for i in range(count))
    assert [len(r.json["recipients"]) for r in fake.requests_to("/campaigns/trigger/send")] == sizes
    assert [len(r.json["recipients"]) for r in fake.requests_to("/canvas/trigger/send")] == sizes
    assert [len(r.json["external_ids"]) for r in fake.requests_to("/users/export/ids")] == sizes
    assert result.batches == len(sizes) and len(result.invalid_user_ids) == count


@pytest.mark.parametrize(("count", "sizes"), [(74, [74]), (75, [75]), (76, [75, 1]), (151, [75, 75, 1])])
def test_track_arrays_split_at_75(client: BrazeClient, fake: FakeBraze, count: int, sizes: list[int]) -> None:
    result = client.track_users(attributes=({"external_id": f"u{i}"} for i in range(count)))
    assert [len(r.json["attributes"]) for r in fake.requests_to("/users/track")] == sizes
    assert result.attributes_processed == result.attributes_sent == count and result.ok


def test_track_arrays_advance_side_by_side(client: BrazeClient, fake: FakeBraze) -> None:
    events = [{"external_id": "u", "name": "e", "time": "2024-01-01T00:00:00Z"}] * 80
    client.track_users(attributes=[{"external_id": "u"}] * 10, events=events)
    bodies = [r.json for r in fake.requests_to("/users/track")]
    assert [(len(b.get("attributes", [])), len(b.get("events", []))) for b in bodies] == [(10, 75), (0, 5)]


def test_stricter_plan_total_cap(server: FakeBrazeServer, fake: FakeBraze) -> None:
    fake.track_per_request = 50  # the fake now rejects more than 50 objects in total
    settings = make_settings(server.url, batch={"track_per_request": 50, "recipients": 20})
    events = [{"external_id": "u", "name": "e", "time": "t"}] * 60
    with BrazeClient.from_settings(settings) as client:
        result = client.track_users(attributes=[{"external_id": "u"}] * 30, events=events)
        client.send_message(PUSH, external_user_ids=[f"u{i}" for i in range(45)])
    totals = [sum(len(v) for v in r.json.values()) for r in fake.requests_to("/users/track")]
    assert totals == [50, 40] and result.events_processed == 60 and result.attributes_processed == 30
    assert [len(r.json["external_user_ids"]) for r in fake.requests_to("/messages/send")] == [20, 20, 5]


def test_fake_rejects_oversized_requests_with_braze_messages() -> None:
    fake = FakeBraze()  # accepts any key
    answer = fake.handle("POST", "/users/track", {}, b'{"attributes": [' + b",".join([b"{}"] * 76) + b"]}")
    assert answer.status == 400 and b"Max Input Length Exceeded" in answer.body
    ids = ",".join(f'"u{i}"' for i in range(51)).encode()
    answer = fake.handle(
        "POST", "/messages/send", {}, b'{"messages": {}, "external_user_ids": [' + ids + b"]}"
    )
    assert answer.status == 400 and b"max number of external_ids" in answer.body


def test_input_is_pulled_lazily(client: BrazeClient, fake: FakeBraze) -> None:
    pulled = 0
    pulled_when_sent: list[int] = []

    def source() -> Iterator[dict[str, str]]:
        nonlocal pulled
        for i in range(300):
            pulled += 1
            pulled_when_sent.append(len(fake.requests_to("/users/track")))
            yield {"external_id": f"u{i}"}

    client.track_users(attributes=source())
    # object i was pulled after i // 75 requests had been made: never more than one batch ahead
    assert pulled == 300
    assert all(sent == i // 75 for i, sent in enumerate(pulled_when_sent))


def test_chunked_and_track_batches_units() -> None:
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ValueError, match="size"):
        list(chunked([1], 0))
    batches = list(track_batches(range(3), range(5), [], per_array=2, per_request=3))
    assert [b.arrays for b in batches][:2] == [
        {"attributes": [0, 1], "events": [0], "purchases": []},
        {"attributes": [2], "events": [1, 2], "purchases": []},
    ]
    assert [b.offsets["events"] for b in batches] == [0, 1, 3]


def test_attributes_classed_apart_are_cut_into_contiguous_batches_of_one_class() -> None:
    inc = {"external_id": "i", "logins": {"inc": 1}}
    plain = {"external_id": "p", "tier": "gold"}
    attributes = [plain, plain, inc, inc, inc, plain, inc, plain, plain, plain]
    batches = list(track_batches(attributes, [], [], per_array=2, attributes_alike=lambda o: "logins" in o))
    cut = [b.arrays["attributes"] for b in batches]
    assert cut == [[plain, plain], [inc, inc], [inc], [plain], [inc], [plain, plain], [plain]]
    # still contiguous slices of the input, so positions (and a resume's skipping) stay exact
    assert [b.offsets["attributes"] for b in batches] == [0, 2, 4, 5, 6, 7, 9]
    assert [b.index for b in batches] == list(range(7))
    # without a class every batch is full, as before
    assert [len(b.arrays["attributes"]) for b in track_batches(attributes, [], [], per_array=4)] == [4, 4, 2]
    # events advance beside the attributes however they are cut
    mixed = list(
        track_batches([plain, inc], [1, 2, 3], [], per_array=2, attributes_alike=lambda o: "logins" in o)
    )
    assert [(b.arrays["attributes"], b.arrays["events"]) for b in mixed] == [([plain], [1, 2]), ([inc], [3])]
