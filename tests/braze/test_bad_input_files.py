"""The bulk jobs given an input file that is missing or malformed: exit 2 and one line naming the
parameter or ``file:line``, before the first request — whole, sharded, or under a ``--run-key``.

The bad line is put last, after more objects than several batches hold: it can only be found
before the first send by the counting pass that reads every line, never by luck.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from jobframe.braze.fake import FakeBraze, FakeBrazeServer, FakeResponse
from tests.conftest import CANARY, Ran

from .test_jobs_against_server import run_job

pytestmark = pytest.mark.process

GOOD_OBJECTS = 400  # > 5 batches of /users/track (75 attributes) and 1 of /messages/send (50 ids) x 8
PUSH = ("--param", "title=Hi", "--param", "body=x")
NOT_JSON = "not JSON (Expecting property name enclosed in double quotes at column 2)"


@pytest.fixture
def server() -> Iterator[FakeBrazeServer]:
    with FakeBrazeServer(api_key=CANARY) as srv:
        yield srv


def jsonl(tmp_path: Path, last: bytes, name: str = "users.jsonl") -> Path:
    path = tmp_path / name
    good = "".join(json.dumps({"external_id": f"u{i}", "tier": i % 3}) + "\n" for i in range(GOOD_OBJECTS))
    path.write_bytes(good.encode() + last)
    return path


def assert_refused_before_sending(ran: Ran, server: FakeBrazeServer, message: str) -> None:
    """Exit 2; ``job.finished`` says ``message``, one line; the server was never asked anything."""
    assert ran.code == 2, ran.stdout[-3000:] + ran.stderr
    finished = ran.one("job.finished")
    assert finished["exit_code"] == 2 and finished["error_type"] == "jobframe.inputs.InputError"
    assert finished["error_message"] == message
    assert "\n" not in finished["error_message"]
    assert list(server.app.requests) == [], [r.path for r in server.app.requests]
    assert server.total_connections == 0  # not even a connection was opened


@pytest.mark.parametrize(
    ("last", "problem"),
    [
        (b"{not json}\n", NOT_JSON),
        (b'["u1", "u2"]\n', "expected a JSON object, got an array"),
        (b"17\n\n\n", "expected a JSON object, got a number"),
        (b'{"external_id": "caf\xe9"}\n', "not UTF-8 (byte 0xe9 at column 21)"),
        (b'{"external_id": "u9", "score": NaN}\n', "not JSON (NaN is no JSON number)"),
        (b'{"external_id": "u9", "score": 1e999}\n', "not JSON (a number out of range)"),
    ],
)
def test_a_bad_jsonl_line_stops_update_attributes_before_any_request(
    server: FakeBrazeServer, tmp_path: Path, last: bytes, problem: str
) -> None:
    users = jsonl(tmp_path, last)
    ran = run_job(server.url, "UpdateUserAttributes", "--param", f"path={users}")
    assert_refused_before_sending(ran, server, f"{users}:{GOOD_OBJECTS + 1}: {problem}")


def test_a_csv_without_a_user_key_column_is_refused_at_line_1(
    server: FakeBrazeServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.csv"
    users.write_text("user,tier\n" + "".join(f"u{i},1\n" for i in range(GOOD_OBJECTS)))
    ran = run_job(server.url, "UpdateUserAttributes", "--param", f"path={users}")
    keys = "external_id, braze_id, user_alias, email, phone"
    message = f"the header needs one of the columns {keys} (it has: user, tier)"
    assert_refused_before_sending(ran, server, f"{users}:1: {message}")


def test_a_csv_row_with_too_many_cells_is_refused(server: FakeBrazeServer, tmp_path: Path) -> None:
    users = tmp_path / "users.csv"
    rows = "".join(f"u{i},1\n" for i in range(GOOD_OBJECTS))
    users.write_text(f"\ufeffexternal_id , tier\r\n{rows}u9,1,2\n")
    ran = run_job(server.url, "UpdateUserAttributes", "--param", f"path={users}")
    assert_refused_before_sending(
        ran, server, f"{users}:{GOOD_OBJECTS + 2}: 3 cells, but the header names 2 columns"
    )


def test_a_push_file_with_a_line_that_is_not_utf8_sends_nothing(
    server: FakeBrazeServer, tmp_path: Path
) -> None:
    users = tmp_path / "users.txt"
    users.write_bytes("".join(f"u{i}\n" for i in range(GOOD_OBJECTS)).encode() + b"# ok\n\nu\xff\n")
    ran = run_job(server.url, "SendPushFromFile", "--param", f"path={users}", *PUSH)
    assert_refused_before_sending(
        ran, server, f"{users}:{GOOD_OBJECTS + 3}: not UTF-8 (byte 0xff at column 2)"
    )


@pytest.mark.parametrize("shard", ["0/2", "1/2"])
def test_every_shard_refuses_a_bad_line_before_any_request(
    server: FakeBrazeServer, tmp_path: Path, shard: str
) -> None:
    users = jsonl(tmp_path, b"[]\n")
    ran = run_job(server.url, "UpdateUserAttributes", "--shard", shard, "--param", f"path={users}")
    assert_refused_before_sending(
        ran, server, f"{users}:{GOOD_OBJECTS + 1}: expected a JSON object, got an array"
    )

    ids = tmp_path / "users.txt"
    ids.write_bytes(b"u1\nu2\n" * 200 + b"\xc3\n")
    ran = run_job(server.url, "SendPushFromFile", "--shard", shard, "--param", f"path={ids}", *PUSH)
    assert_refused_before_sending(ran, server, f"{ids}:401: not UTF-8 (byte 0xc3 at column 1)")


def test_under_a_run_key_a_bad_file_sends_nothing_and_the_fixed_file_is_sent_once(
    server: FakeBrazeServer, tmp_path: Path
) -> None:
    ledger = {"LEDGER__PATH": str(tmp_path / "ledger.sqlite3")}
    users = jsonl(tmp_path, b"{]\n")
    args = ("UpdateUserAttributes", "--run-key", "k1", "--param", f"path={users}")
    for _ in range(2):  # a retry of the refused attempt is refused the same way
        ran = run_job(server.url, *args, **ledger)
        assert_refused_before_sending(
            ran,
            server,
            f"{users}:{GOOD_OBJECTS + 1}: {NOT_JSON}",
        )

    jsonl(tmp_path, b"")  # the file is mended: the same key sends every object, once
    ran = run_job(server.url, *args, **ledger)
    assert ran.code == 0, ran.stdout[-3000:] + ran.stderr
    sent = [a["external_id"] for r in server.app.requests_to("/users/track") for a in r.json["attributes"]]
    assert sorted(sent) == sorted(f"u{i}" for i in range(GOOD_OBJECTS))


@pytest.mark.parametrize("job", ["UpdateUserAttributes", "SendPushFromFile"])
@pytest.mark.parametrize("where", ["missing.jsonl", "a-directory", "/dev/null"])
def test_a_path_that_is_no_readable_file_is_a_bad_param(
    server: FakeBrazeServer, tmp_path: Path, job: str, where: str
) -> None:
    (tmp_path / "a-directory").mkdir()
    path = tmp_path / where
    reason = {"missing.jsonl": "no such file", "a-directory": "is a directory, not a file"}.get(
        where, "is not a regular file"
    )
    extra = PUSH if job == "SendPushFromFile" else ()
    ran = run_job(server.url, job, "--param", f"path={path}", *extra)

    assert ran.code == 2, ran.stdout + ran.stderr
    assert ran.stderr.strip() == f"jobframe: error: job {job}: invalid parameters: path: {path}: {reason}"
    assert ran.named("job.started") == []  # refused before the job was built
    assert list(server.app.requests) == [] and server.total_connections == 0


# -- a line that becomes malformed while the job sends ----------------------------------------------

BIG = 6000  # lines: the bad one is far past what is read ahead while the first requests are held


class SpoilsTheFile(FakeBraze):
    """Before answering any request, overwrites line ``line`` of ``path`` with ``spoiled`` (same
    length, so line numbers hold): the counting pass checked the file, the sending pass has not
    reached that line, since no batch was answered yet."""

    def __init__(self, path: Path, line: int, spoiled: bytes) -> None:
        super().__init__(api_key=CANARY)
        self.path, self.line, self.spoiled = path, line, spoiled
        self._once = threading.Lock()
        self.spoiled_it = False

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> FakeResponse:
        with self._once:
            if not self.spoiled_it:
                data = self.path.read_bytes()
                lines = data.splitlines(keepends=True)
                old = lines[self.line - 1]
                assert len(old) == len(self.spoiled) + 1  # the newline stays
                at = len(b"".join(lines[: self.line - 1]))
                with self.path.open("r+b") as handle:  # in place: the job's open handle reads it
                    handle.seek(at)
                    handle.write(self.spoiled)
                self.spoiled_it = True
        return super().handle(method, target, headers, body)


def sent_ids(server: FakeBrazeServer, endpoint: str) -> list[str]:
    if endpoint == "/users/track":
        return [a["external_id"] for r in server.app.requests_to(endpoint) for a in r.json["attributes"]]
    return [i for r in server.app.requests_to(endpoint) for i in r.json["external_user_ids"]]


@pytest.mark.parametrize("job", ["UpdateUserAttributes", "SendPushFromFile"])
def test_a_line_spoiled_while_sending_ends_with_its_file_line_and_the_delivery_report(
    tmp_path: Path, job: str
) -> None:
    bad = 5001  # 5000 objects before it: /users/track sends 66 batches of 75 (4950), /messages/send 100 of 50
    if job == "UpdateUserAttributes":
        path = jsonl(tmp_path, b"", name="big.jsonl")
        path.write_text(
            "".join(json.dumps({"external_id": f"u{i}", "tier": i % 3}) + "\n" for i in range(BIG))
        )
        width = len(json.dumps({"external_id": "u5000", "tier": 2}))
        spoiled, problem, per_batch, endpoint = (
            b"[" + b" " * (width - 2) + b"]",
            "expected a JSON object, got an array",
            75,
            "/users/track",
        )
        extra: tuple[str, ...] = ()
    else:
        path = tmp_path / "big.txt"
        path.write_text("".join(f"u{i}\n" for i in range(BIG)))
        spoiled, problem, per_batch, endpoint = (
            b"u\xff000",
            "not UTF-8 (byte 0xff at column 2)",
            50,
            "/messages/send",
        )
        extra = PUSH
    fake = SpoilsTheFile(path, bad, spoiled)
    with FakeBrazeServer(fake) as server:
        ran = run_job(server.url, job, "--param", f"path={path}", *extra)
        assert fake.spoiled_it

    assert ran.code == 2, ran.stdout[-3000:] + ran.stderr
    finished = ran.one("job.finished")
    message = finished["error_message"]
    assert "\n" not in message
    assert f"{path}:{bad}: {problem}" in message and "nothing more was sent" in message, message
    taken = (bad - 1) // per_batch  # batches taken before the bad line: the one it fell in never was
    delivery = finished["delivery"]
    assert delivery["endpoint"] == endpoint
    assert delivery["unknown"] == [] and delivery["failed"] == []
    # Each batch taken is told once: delivered (what the server got, once), or never sent — one
    # taken while others were on the wire is held back once the input failed.
    delivered = {i for a, b in delivery["delivered"]["ranges"] for i in range(a, b + 1)}
    never_sent = {b["batch"] for b in delivery["never_sent"]["batches"]}
    assert delivered | never_sent == set(range(taken)) and not delivered & never_sent
    expected = [f"u{i}" for b in delivered for i in range(b * per_batch, (b + 1) * per_batch)]
    assert sorted(sent_ids(server, endpoint)) == sorted(expected)
    assert delivery["delivered"]["items"] == len(expected)
    assert f"delivered {len(delivered)} batches" in message, message
    assert delivery["never_sent"]["rest_from"]["batch"] == taken
    assert delivery["never_sent"]["rest_items"] == BIG - taken * per_batch
