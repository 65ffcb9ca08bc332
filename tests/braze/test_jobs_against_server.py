"""The default app's Braze jobs as real processes, over real sockets, against the loopback fake.

Each test starts :class:`FakeBrazeServer` in this process (key: the canary), runs
``python -m jobframe`` through :func:`tests.conftest.run_cli` (which fails the test if the canary
reaches stdout or stderr) with ``BRAZE__BASE_URL`` pointing at the server, and checks what the
server received, the exit code, the log, and that no connection to the server is left open.

Retry backoff is shrunk to milliseconds through ``BRAZE__RETRY__*`` so the failure paths are fast.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jobframe.braze.fake import FakeBrazeServer
from tests.conftest import CANARY, Ran, run_cli

pytestmark = pytest.mark.process

FAST_RETRY = {
    "BRAZE__RETRY__MAX_ATTEMPTS": "3",
    "BRAZE__RETRY__BACKOFF_BASE": "0.001",
    "BRAZE__RETRY__BACKOFF_CAP": "0.005",
}
DUPLICATE_HINT = "duplicate possible"  # jobframe.braze._exchange._UNSAFE_HINT starts with this


@pytest.fixture
def server() -> Iterator[FakeBrazeServer]:
    with FakeBrazeServer(api_key=CANARY) as srv:
        srv.app.seed_campaigns(3)
        yield srv


def run_job(base_url: str, job: str, *args: str, **env: str) -> Ran:
    return run_cli(
        ["--job-name", job, *args],
        env={"BRAZE__BASE_URL": base_url, **FAST_RETRY, **env},
        timeout=30,
    )


def assert_closed_cleanly(ran: Ran, server: FakeBrazeServer, resource: str) -> None:
    """The job closed its client itself, and the server ends with no connection open."""
    assert server.total_connections >= 1  # the job really talked to the server over a socket
    assert [e["resource"] for e in ran.named("resource.closed")] == [resource], ran.stdout
    assert ran.named("resource.unmanaged") == [] and ran.named("process.lingering") == []
    assert server.wait_for_connections(0, timeout=5), f"{server.connection_count} connection(s) left open"


def retries(ran: Ran, endpoint: str) -> list[dict[str, Any]]:
    return [e for e in ran.named("braze.retry") if e.get("endpoint") == endpoint]


def test_some_job_lists_and_sends_over_real_sockets(server: FakeBrazeServer) -> None:
    # DEBUG logs every request with its (masked) headers: the canary check covers them too.
    ran = run_job(server.url, "SomeJob", "--log-level", "DEBUG")

    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.one("job.finished")["status"] == "succeeded"
    assert ran.one("campaigns.listed")["count"] == 3
    (listed,) = server.app.requests_to("/campaigns/list")
    (sent,) = server.app.requests_to("/messages/send")
    # The fake answers 401 unless "Bearer <canary>" came in; it records the value masked.
    assert listed.headers["authorization"] == sent.headers["authorization"] == "Bearer ***"
    assert sent.json["external_user_ids"] == ["user-1", "user-2", "user-3"]
    assert ran.one("push.sent")["recipients"] == 3
    requests = ran.named("braze.request")
    assert {r["endpoint"] for r in requests} == {"/campaigns/list", "/messages/send"}
    assert {r["headers"]["authorization"] for r in requests} == {"***"}
    # httpcore's own DEBUG events: the pooled connection was closed by teardown, not by exit.
    names = [e["event"] for e in ran.events]
    assert names.index("job.finished") < names.index("close.complete") < names.index("resource.closed")
    assert_closed_cleanly(ran, server, "braze.client")


def test_5xx_on_a_send_is_not_repeated_and_exits_75(server: FakeBrazeServer) -> None:
    server.app.fail_next("/messages/send", status=500, times=1)

    ran = run_job(server.url, "SomeJob")

    assert ran.code == 75, ran.stdout + ran.stderr
    assert len(server.app.requests_to("/messages/send")) == 1  # Braze may have sent it: never twice
    finished = ran.one("job.finished")
    assert finished["exit_code"] == 75
    assert finished["error_type"] == "jobframe.braze._errors.BrazeServerDuplicatePossibleError"
    assert DUPLICATE_HINT in finished["error_message"] and "/messages/send" in finished["error_message"]
    assert ran.one("braze.duplicate_possible")["status"] == 500
    assert retries(ran, "/messages/send") == []
    assert ran.named("push.sent") == []
    assert_closed_cleanly(ran, server, "braze.client")


def test_5xx_on_a_read_is_retried_and_the_job_succeeds(server: FakeBrazeServer) -> None:
    server.app.fail_next("/campaigns/list", status=500, times=1)

    ran = run_job(server.url, "SomeJob")

    assert ran.code == 0, ran.stdout + ran.stderr
    assert len(server.app.requests_to("/campaigns/list")) == 2
    (retry,) = retries(ran, "/campaigns/list")
    assert retry["attempt"] == 1 and "HTTP 500" in retry["reason"]
    assert ran.one("campaigns.listed")["count"] == 3
    assert len(server.app.requests_to("/messages/send")) == 1
    assert_closed_cleanly(ran, server, "braze.client")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, closed: connecting is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as check:
        if check.connect_ex(("127.0.0.1", port)) == 0:  # pragma: no cover - port reused meanwhile
            pytest.skip(f"port {port} was taken again before the test could use it")
    return port


def test_connection_refused_is_retried_then_exits_75() -> None:
    ran = run_job(f"http://127.0.0.1:{closed_port()}", "SomeJob")

    assert ran.code == 75, ran.stdout + ran.stderr
    found = retries(ran, "/campaigns/list")
    assert [r["attempt"] for r in found] == [1, 2]  # max_attempts=3: two retries, then give up
    assert all("ConnectError" in r["reason"] for r in found)
    finished = ran.one("job.finished")
    assert finished["error_type"] == "jobframe.braze._errors.BrazeTransportError"
    assert "gave up after 3 attempts" in finished["error_message"]
    assert DUPLICATE_HINT not in finished["error_message"]  # nothing reached Braze: a plain retry
    assert ran.named("braze.duplicate_possible") == []


def test_update_user_attributes_streams_151_objects_in_three_requests(
    server: FakeBrazeServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.jsonl"
    users.write_text("".join(json.dumps({"external_id": f"u{i}", "tier": i % 3}) + "\n" for i in range(151)))

    ran = run_job(server.url, "UpdateUserAttributes", "--param", f"path={users}")

    assert ran.code == 0, ran.stdout + ran.stderr
    tracked = server.app.requests_to("/users/track")
    assert sorted(len(r.json["attributes"]) for r in tracked) == [1, 75, 75]
    assert {r.headers["authorization"] for r in tracked} == {"Bearer ***"}
    assert len(server.app.users) == 151 and server.app.users["u150"] == {"tier": 0}
    assert ran.one("job.finished")["status"] == "succeeded"
    assert_closed_cleanly(ran, server, "braze.async_client")


def test_a_bulk_job_failing_mid_stream_reports_its_delivery_in_job_finished(tmp_path: Path) -> None:
    from .test_delivery import FailsOnce  # noqa: PLC0415

    fake = FailsOnce(4, {"status": 503, "delay": 0.05}, api_key=CANARY, delay=0.02)
    users = tmp_path / "users.jsonl"
    users.write_text("".join(json.dumps({"external_id": f"u{i}"}) + "\n" for i in range(75 * 40)))
    with FakeBrazeServer(fake) as server:
        ran = run_job(server.url, "UpdateUserAttributes", "--param", f"path={users}")
        assert ran.code == 75, ran.stdout[-3000:] + ran.stderr
        assert_closed_cleanly(ran, server, "braze.async_client")
    finished = ran.one("job.finished")
    delivery = finished["delivery"]
    failed = fake.failed_batch
    assert delivery["endpoint"] == "/users/track"
    (unknown,) = delivery["unknown"]
    assert unknown["batch"] == failed and unknown["items"] == {"attributes": [75 * failed, 75 * failed + 75]}
    assert unknown["ids"] == [f"u{i}" for i in range(75 * failed, 75 * failed + 75)]
    confirmed = sorted(b for b, status, _ in fake.answers if status == 201)
    assert delivery["delivered"]["batches"] == len(confirmed)
    assert delivery["delivered"]["items"] == 75 * len(confirmed)
    # Every batch is told once: delivered, unknown, taken but never sent (held back once the
    # stream failed), or in the rest of the input never taken. What is called never sent never
    # reached the server; the rest is counted in objects because the file was counted.
    never_sent = delivery["never_sent"]
    held = [b["batch"] for b in never_sent["batches"]]
    rest = never_sent["rest_from"]
    assert rest is not None and never_sent["rest_items"] == 75 * (40 - rest["batch"])
    told = [*confirmed, failed, *held, *range(rest["batch"], 40)]
    assert sorted(told) == list(range(40)), told
    answered = {b for b, _, _ in fake.answers}
    assert answered.isdisjoint([*held, *range(rest["batch"], 40)]), (answered, held, rest)
    assert "outcome unknown" in finished["error_message"] and "never sent" in finished["error_message"]


def test_a_wrong_key_is_sent_once_and_the_push_job_exits_78(server: FakeBrazeServer, tmp_path: Path) -> None:
    users = tmp_path / "users.txt"
    users.write_text("".join(f"u{i}\n" for i in range(500)))

    ran = run_job(
        server.url,
        "SendPushFromFile",
        *("--param", f"path={users}", "--param", "title=Hi", "--param", "body=x"),
        BRAZE__API_KEY="wrong-key-123",
    )

    assert ran.code == 78, ran.stdout + ran.stderr
    assert len(server.app.requests_to("/messages/send")) == 1  # the probe; nothing after it
    delivery = ran.one("job.finished")["delivery"]
    assert [b["batch"] for b in delivery["failed"]] == [0] and delivery["unknown"] == []
    assert delivery["never_sent"]["rest_from"]["batch"] == 1
    assert delivery["never_sent"]["rest_items"] == 450
