"""Argo's retry of a rendered resumable step continues the failed attempt, through real processes.

The rendered ``SendPushFromFile`` template is run the way Argo would (``tests/argo/expand.py``):
every attempt a new jobframe process with the workflow's uid as its run key and the SQLite ledger
on the workflow's claim-template volume. Braze answers one send 503 (outcome unknown): the attempt
exits 75, Argo's ``retryStrategy`` retries it, and the retry skips what was delivered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobframe._app import load_app
from jobframe.argo.files import render_job
from jobframe.argo.plan import RenderOptions
from tests.argo.expand import Cluster, Workflow

from .harness import KEY, fake_braze, write_ids

pytestmark = pytest.mark.process

IDS = 3000


def _finished(pod: Any) -> dict[str, Any]:
    lines = [json.loads(line) for line in pod.stdout.splitlines() if '"job.finished"' in line]
    assert len(lines) == 1, pod.stdout[-3000:] + pod.stderr[-3000:]
    return dict(lines[0])


def test_argo_retries_a_failed_send_and_the_retry_reaches_no_one_twice(tmp_path: Path) -> None:
    ids = write_ids(tmp_path / "ids.txt", IDS)
    text = render_job(load_app("jobs:MainContainer"), "SendPushFromFile", RenderOptions())
    template = next(iter(yaml.safe_load_all(text)))
    with fake_braze() as (fake, server):
        fake.fail_at = 20  # the 20th send: applied by Braze, answered 503
        cluster = Cluster(
            arguments={"path": "/data/ids.txt", "title": "Hello", "body": "Once"},
            secrets={("jobframe", "braze__api_key"): KEY},
            claims={"jobframe-input": tmp_path},
            env={"BRAZE__BASE_URL": server.url},
        )
        workflow = Workflow(template, cluster)
        workflow.run()
        sent = fake.ids_sent()
    register, first, retry = cluster.pods
    assert (register.template, register.exit_code) == ("register-ledger", 0), register.stderr
    assert (first.exit_code, retry.exit_code) == (75, 0), first.stdout[-2000:] + retry.stdout[-2000:]
    keys = {pod.args[pod.args.index("--run-key") + 1] for pod in cluster.pods}
    assert keys == {workflow.uid}  # one key for every retry of the step, and the register step's
    # Argo's {{retries}}: the retry knows it is one, and would refuse a lost ledger
    assert [pod.args[pod.args.index("--retry-number") + 1] for pod in (first, retry)] == ["0", "1"]
    resume = _finished(retry)["resume"]
    assert resume["attempt"] == 2
    assert resume["skipped"] == {"batches": 19, "objects": 19 * 50}
    ambiguous = {i for batch in resume["ambiguous"] for i in batch["ids"]}
    assert [batch["batch"] for batch in resume["ambiguous"]] == [19]
    assert [i for i, n in sent.items() if n > 1] == []
    assert set(ids) - set(sent) - ambiguous == set()
    # the ledger lives on the workflow's volume, not in a pod
    assert list(workflow.claim_templates["jobframe-ledger"].glob("*.sqlite3"))


def test_a_new_submission_is_a_new_run(tmp_path: Path) -> None:
    write_ids(tmp_path / "ids.txt", 120)
    text = render_job(load_app("jobs:MainContainer"), "SendPushFromFile", RenderOptions())
    template = next(iter(yaml.safe_load_all(text)))
    with fake_braze() as (fake, server):
        for _ in range(2):
            cluster = Cluster(
                arguments={"path": "/data/ids.txt", "title": "Hello", "body": "Again"},
                secrets={("jobframe", "braze__api_key"): KEY},
                claims={"jobframe-input": tmp_path},
                env={"BRAZE__BASE_URL": server.url},
            )
            Workflow(template, cluster).run()
            register, pod = cluster.pods
            assert register.exit_code == 0 and pod.template == "send-push-from-file"
            assert pod.exit_code == 0 and _finished(pod)["resume"]["attempt"] == 1
        sent = fake.ids_sent()
    assert set(sent.values()) == {2}  # a second workflow sends again: that is what it was asked to do
