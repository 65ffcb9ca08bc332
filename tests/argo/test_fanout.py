"""The rendered fan-out, run the way Argo would (``expand.py``) with every shard a real jobframe
process against the fake Braze on a loopback socket: each object delivered exactly once — nothing
missing, nothing twice — and the combine step's result is what one whole run reports.

The fake is served from this process (``FakeBrazeServer``, the app behind ``python -m
jobframe.braze.fake``) so the test can read its log of every request it received: that log, not
the jobs' own counts, is the truth about delivery.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobframe._app import load_app
from jobframe.argo.files import render_job
from jobframe.argo.plan import RenderOptions
from jobframe.braze.fake import FakeBraze, FakeBrazeServer
from jobframe.shard import shard_of
from tests.argo.expand import Cluster, Workflow
from tests.ledger.stores import fresh_database

pytestmark = pytest.mark.process  # every test here starts jobframe as a process

KEY = "fanout-test-key"
OBJECTS = 10_400
SHARDS = 4
REJECTED_AT = (17, 5_003, 10_398)  # objects without any user key: Braze rejects them


@pytest.fixture
def ledger_dsn(postgres_dsn: str, request: pytest.FixtureRequest) -> str:
    """A fresh database: the shards of a resumable fan-out keep their ledgers in PostgreSQL
    (parallel pods never share one ReadWriteOnce claim)."""
    return fresh_database(postgres_dsn, f"fanout{abs(hash(request.node.nodeid))}")


@pytest.fixture
def fake() -> Iterator[FakeBrazeServer]:
    with FakeBrazeServer(FakeBraze(api_key=KEY, record_limit=None)) as server:
        yield server


def _fanout(job: str) -> dict[str, Any]:
    text = render_job(load_app("jobs:MainContainer"), job, RenderOptions())
    documents = list(yaml.safe_load_all(text))
    assert [d["metadata"]["name"] for d in documents][1].endswith("-fanout")
    return documents[1]


def _cluster(fake: FakeBrazeServer, data: Path, arguments: dict[str, str], dsn: str) -> Cluster:
    return Cluster(
        arguments=arguments,
        # the Secret the manifest names
        secrets={("jobframe", "braze__api_key"): KEY, ("jobframe", "ledger__dsn"): dsn},
        claims={"jobframe-input": data},
        env={"BRAZE__BASE_URL": fake.url},  # the production profile, pointed at the loopback fake
    )


def _shard_pods(cluster: Cluster) -> list[Any]:
    pods = [p for p in cluster.pods if p.template == "shard"]
    assert sorted(int(p.item) for p in pods) == list(range(SHARDS)), [p.item for p in pods]
    for pod in pods:
        assert pod.exit_code == 0, pod.stdout[-3000:] + pod.stderr[-3000:]
        started = [json.loads(line) for line in pod.stdout.splitlines() if '"job.started"' in line]
        assert started[0]["shard"] == f"{pod.item}/{SHARDS}"
        assert pod.args[pod.args.index("--shard") + 1] == f"{pod.item}/{SHARDS}"
    return pods


def test_update_user_attributes_fans_out_over_four_shards_exactly_once(
    fake: FakeBrazeServer, tmp_path: Path, ledger_dsn: str
) -> None:
    ids = [f"user-{i:06d}" for i in range(OBJECTS)]
    lines = []
    for index, external_id in enumerate(ids):
        if index in REJECTED_AT:
            lines.append(json.dumps({"plan": "gold", "line": index}))  # no external_id: rejected
        else:
            lines.append(json.dumps({"external_id": external_id, "line": index}))
    (tmp_path / "users.jsonl").write_text("\n".join(lines) + "\n")
    cluster = _cluster(fake, tmp_path, {"path": "/data/users.jsonl", "shards": str(SHARDS)}, ledger_dsn)

    outputs = Workflow(_fanout("UpdateUserAttributes"), cluster).run()

    pods = _shard_pods(cluster)
    tracked = [r for r in fake.app.requests if r.path == "/users/track"]
    delivered = Counter(
        obj["external_id"] for r in tracked for obj in r.json["attributes"] if "external_id" in obj
    )
    expected = {external_id for i, external_id in enumerate(ids) if i not in REJECTED_AT}
    assert set(delivered) == expected, "an object is missing or unexpected"
    assert max(delivered.values()) == 1, [k for k, n in delivered.items() if n > 1][:5]
    # each shard sent only the users it owns
    for pod in pods:
        mine = {i for i in expected if shard_of(i, SHARDS) == int(pod.item)}
        assert json.loads(pod.outputs["result"])["processed"] == len(mine)

    result = json.loads(outputs["result"])
    assert result["sent"] == OBJECTS
    assert result["processed"] == len(expected)
    assert result["rejected"] == len(REJECTED_AT)
    assert result["batches"] == len(tracked)
    assert sorted(e["line_index"] for e in result["errors"]) == list(REJECTED_AT)  # places in the whole file
    combine = [p for p in cluster.pods if p.template == "combine"]
    assert len(combine) == 1 and combine[0].exit_code == 0


def test_send_push_fans_out_over_four_shards_exactly_once(
    fake: FakeBrazeServer, tmp_path: Path, ledger_dsn: str
) -> None:
    ids = [f"user-{i:06d}" for i in range(OBJECTS)]
    (tmp_path / "users.txt").write_text("# header comment\n" + "\n".join(ids) + "\n")
    cluster = _cluster(
        fake,
        tmp_path,
        {
            "path": "/data/users.txt",
            "title": "Hi",
            "body": "There",
            "campaign_id": "c-1",
            "shards": str(SHARDS),
        },
        ledger_dsn,
    )

    workflow = Workflow(_fanout("SendPushFromFile"), cluster)
    outputs = workflow.run()

    _shard_pods(cluster)
    # the combined result is the workflow's output (globalName); no shard's result is
    assert workflow.outputs == {"result": outputs["result"]}
    sends = [r for r in fake.app.requests if r.path == "/messages/send"]
    delivered = Counter(i for r in sends for i in r.json["external_user_ids"])
    assert set(delivered) == set(ids)
    assert max(delivered.values()) == 1
    assert {r.json["campaign_id"] for r in sends} == {"c-1"}  # the optional parameter reached every shard
    result = json.loads(outputs["result"])
    assert result == {"recipients": OBJECTS, "batches": len(sends), "dispatches": len(sends)}


def test_an_optional_parameter_left_empty_stays_unset(
    fake: FakeBrazeServer, tmp_path: Path, ledger_dsn: str
) -> None:
    (tmp_path / "users.txt").write_text("\n".join(f"u{i}" for i in range(120)) + "\n")
    arguments = {"path": "/data/users.txt", "title": "T", "body": "B", "shards": "2"}
    cluster = _cluster(fake, tmp_path, arguments, ledger_dsn)
    outputs = Workflow(_fanout("SendPushFromFile"), cluster).run()
    sends = [r for r in fake.app.requests if r.path == "/messages/send"]
    assert sends and all("campaign_id" not in r.json for r in sends)
    assert json.loads(outputs["result"])["recipients"] == 120


def test_a_missing_secret_fails_every_shard_with_78_and_nothing_is_combined(
    tmp_path: Path, ledger_dsn: str
) -> None:
    # The fake expects another key: the shards are refused (401 → configuration error, 78), which
    # the rendered retry expression does not retry; the DAG fails before the combine step.
    with FakeBrazeServer(FakeBraze(api_key="another-key")) as server:
        users = [json.dumps({"external_id": f"u{i}"}) for i in range(40)]  # both shards have some
        (tmp_path / "users.jsonl").write_text("\n".join(users) + "\n")
        cluster = _cluster(server, tmp_path, {"path": "/data/users.jsonl", "shards": "2"}, ledger_dsn)
        with pytest.raises(AssertionError, match="failed"):
            Workflow(_fanout("UpdateUserAttributes"), cluster).run()
    assert [(p.template, p.exit_code) for p in cluster.pods[:1]] == [("register-ledger", 0)]
    shards = [p for p in cluster.pods if p.template == "shard"]
    assert {p.exit_code for p in shards} == {78}
    assert len(shards) == 2  # one attempt each: 78 is never retried
    assert not [p for p in cluster.pods if p.template == "combine"]
