"""What a controller does with rendered manifests, as read in Argo v4.1.2's source and emulated by
``expand.py``: the result is the workflow's output (``globalName``); a pod lost before its main
container ran (``lastRetry.exitCode`` "-1") is retried for a resumable job and for no other; an
argument over 128 KiB reaches the job through Argo's ``@file``; aggregated outputs come as
objects or strings and the combine step reads both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobframe._app import load_app
from jobframe._cli.args import argo_arg_files
from jobframe.argo.combine import parse_results
from jobframe.argo.files import render_job
from jobframe.argo.plan import REGISTER_STEP, RenderOptions
from jobframe.errors import UsageError
from jobframe.ledger import LedgerSettings, runs
from jobframe.ledger.store import open_store
from jobframe.shard import shard_of
from tests.argo.expand import ARG_LIMIT, LOST, Cluster, ExpandError, Workflow, aggregated, offload_args
from tests.ledger.stores import fresh_database
from tests.resume.harness import KEY, fake_braze, write_ids

TEST_APP = "tests.argo.apps.argoapp:ArgoApp"
ONCE_APP = "tests.argo.apps.onceapp:OnceApp"


def _template(app: str, job: str) -> dict[str, Any]:
    return next(iter(yaml.safe_load_all(render_job(load_app(app), job, RenderOptions()))))


# -- pure parts of the emulation and of jobframe's side ------------------------------------------


def test_aggregated_outputs_are_objects_when_every_item_is_json_else_strings() -> None:
    # aggregatedJSONValueList: every item a JSON object/array → the parsed values, else the strings
    assert json.loads(aggregated(['{"a": 1}', "[2]"])) == [{"a": 1}, [2]]
    assert json.loads(aggregated(['{"a": 1}', "null"])) == ['{"a": 1}', "null"]  # a failed shard's default
    assert json.loads(aggregated(["7", "x"])) == ["7", "x"]
    # the combine step reads both forms the same way, and names a shard without a result
    assert parse_results(aggregated(['{"n": 1}', '{"n": 2}']), 2) == [{"n": 1}, {"n": 2}]
    with pytest.raises(ValueError, match="shard 1 gave no result"):
        parse_results(aggregated(['{"n": 1}', "null"]), 2)


def test_only_arguments_over_the_limit_are_offloaded_and_only_when_all_are_too_long(tmp_path: Path) -> None:
    short = ["--param", "x=1"]
    assert offload_args(short, tmp_path) == short
    big = "users=" + "u" * ARG_LIMIT
    out = offload_args(["--job-name", "J", "--param", big], tmp_path, before=0)
    assert out[:3] == ["--job-name", "J", "--param"]
    assert out[3] == f"@{tmp_path / 'argo_arg_3.txt'}" and (tmp_path / "argo_arg_3.txt").read_text() == big


def test_jobframe_reads_argos_file_of_a_long_argument_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "argo_arg_4.txt").write_text("users=a\nb")  # the argument's text, newlines and all
    argv = ["--param", f"@{tmp_path / 'argo_arg_4.txt'}", "--param", "title=@home", "@notes.txt"]
    assert argo_arg_files(argv) == ["--param", "users=a\nb", "--param", "title=@home", "@notes.txt"]
    with pytest.raises(UsageError, match=r"argo_arg_9\.txt"):
        argo_arg_files([f"@{tmp_path / 'argo_arg_9.txt'}"])


# -- real processes ------------------------------------------------------------------------------


@pytest.mark.process
def test_the_result_is_the_workflows_output_and_survives_an_argument_over_128_kib(tmp_path: Path) -> None:
    name = "n" * (ARG_LIMIT + 10)  # one argument longer than exec takes: Argo passes it as @file
    (tmp_path / "production.yaml").write_text("")  # the test app's profile: its defaults
    env = {"JOBFRAME_APP": TEST_APP, "JOBFRAME_CONFIG_DIR": str(tmp_path)}
    cluster = Cluster(arguments={"name": name}, secrets={}, env=env)
    workflow = Workflow(_template(TEST_APP, "Typed"), cluster)
    outputs = workflow.run()
    (pod,) = cluster.pods
    assert pod.exit_code == 0, pod.stdout[-2000:] + pod.stderr[-2000:]
    assert json.loads(outputs["result"]) == {"name": name}
    # globalName: `argo get`'s outputs, {{workflow.outputs.parameters.result}}
    assert workflow.outputs == {"result": outputs["result"]}


def _push_cluster(tmp_path: Path, url: str, **given: Any) -> Cluster:
    return Cluster(
        arguments={"path": "/data/ids.txt", "title": "Hello", "body": "Once"},
        secrets={("jobframe", "braze__api_key"): KEY},
        claims={"jobframe-input": tmp_path},
        env={"BRAZE__BASE_URL": url},
        **given,
    )


JOB = "send-push-from-file"


@pytest.mark.process
@pytest.mark.parametrize(
    "lost",
    [
        {(JOB, None, 0)},  # node drained before the container started
        {(JOB, None, 0), (JOB, None, 1)},  # and its first retry too
        {(REGISTER_STEP, None, 0), (JOB, None, 0)},  # the register step's own pod lost, then the job's
    ],
    ids=["job-retry-0", "job-retries-0-and-1", "register-and-job"],
)
def test_a_pod_lost_before_main_of_a_resumable_job_is_retried_and_sent_once(
    tmp_path: Path, lost: set[tuple[str, str | None, int]]
) -> None:
    ids = write_ids(tmp_path / "ids.txt", 300)
    template = _template("jobs:MainContainer", "SendPushFromFile")
    with fake_braze() as (fake, server):
        cluster = _push_cluster(tmp_path, server.url, lost=lost)
        workflow = Workflow(template, cluster)
        outputs = workflow.run()
        sent = fake.ids_sent()
    registers = [p for p in cluster.pods if p.template == REGISTER_STEP]
    jobs = [p for p in cluster.pods if p.template == JOB]
    assert registers[-1].exit_code == 0 and all(p.exit_code == LOST for p in registers[:-1])
    assert cluster.pods.index(registers[-1]) < cluster.pods.index(jobs[0])  # registered before any attempt
    *gone, retry = jobs
    assert [p.exit_code for p in gone] == [LOST] * len(gone) and retry.exit_code == 0, retry.stdout[-2000:]
    assert "ledger.retry_of_registered_run" in retry.stdout + retry.stderr
    assert sorted(sent) == sorted(ids) and max(sent.values()) == 1
    assert json.loads(workflow.outputs["result"]) == json.loads(outputs["result"])


@pytest.mark.process
def test_a_ledger_volume_lost_between_attempts_is_still_refused(tmp_path: Path) -> None:
    # the register step ran and the first attempt's pod was lost; then the ledger volume's
    # contents went (a volume not kept): the retry finds a new, empty store and refuses (78)
    write_ids(tmp_path / "ids.txt", 300)
    template = _template("jobs:MainContainer", "SendPushFromFile")

    def lose_the_ledger(workflow: Workflow, name: str, item: str | None, attempt: int) -> None:
        if (name, attempt) == (JOB, 1):
            for directory in workflow.claim_templates.values():
                for path in directory.iterdir():
                    path.unlink()

    with fake_braze() as (fake, server):
        cluster = _push_cluster(tmp_path, server.url, lost={(JOB, None, 0)}, before_pod=lose_the_ledger)
        with pytest.raises(ExpandError, match=f"task {JOB} failed"):
            Workflow(template, cluster).run()
        sent = fake.ids_sent()
    assert [(p.template, p.exit_code) for p in cluster.pods] == [(REGISTER_STEP, 0), (JOB, LOST), (JOB, 78)]
    # told the key was registered before any attempt, it names that as what is missing
    assert "registered this key before any attempt" in cluster.pods[-1].stdout + cluster.pods[-1].stderr
    assert not sent


@pytest.mark.process
@pytest.mark.parametrize(("app", "job", "arguments"), [("jobs:MainContainer", "SomeJob", {}),
                                                      (TEST_APP, "Typed", {"name": "x"})])  # fmt: skip
def test_a_pod_lost_before_main_of_any_other_job_is_not_retried(
    app: str, job: str, arguments: dict[str, str]
) -> None:
    # SomeJob is never retried; Typed retries 75 only: neither can tell a lost pod from one that
    # sent half its pushes, so neither is retried on "-1"
    template = _template(app, job)
    cluster = Cluster(arguments=arguments, secrets={}, lost={(template["spec"]["entrypoint"], None, 0)})
    assert Workflow(template, cluster).run() is None
    assert [p.exit_code for p in cluster.pods] == [LOST]


@pytest.mark.process
def test_a_resumable_job_never_retried_runs_without_argos_retry_number(tmp_path: Path) -> None:
    # Argo sets {{retries}} only in a template with a retryStrategy (executeTemplate) and leaves
    # the tag as text elsewhere; jobframe would refuse `--retry-number {{retries}}` (exit 2)
    (tmp_path / "production.yaml").write_text("")
    env = {"JOBFRAME_APP": ONCE_APP, "JOBFRAME_CONFIG_DIR": str(tmp_path)}
    template = _template(ONCE_APP, "Once")
    job = next(t for t in template["spec"]["templates"] if t["name"] == "once")
    assert "retryStrategy" not in job
    cluster = Cluster(arguments={}, secrets={}, env=env)
    workflow = Workflow(template, cluster)
    workflow.run()
    assert [(p.template, p.exit_code) for p in cluster.pods] == [(REGISTER_STEP, 0), ("once", 0)], (
        cluster.pods[-1].stdout[-2000:] + cluster.pods[-1].stderr[-2000:]
    )
    assert json.loads(workflow.outputs["result"]) == {"ran": "once"}


# -- argo retry: the same uid, the register step kept, the failed step again from attempt 0 -------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.process)])
def retry_store(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """The single step's ledger: SQLite on the workflow's claim volume (the rendered default), or
    a real PostgreSQL database (rendered with ``--ledger-volume none``): (store, DSN)."""
    if request.param == "sqlite":
        return "sqlite", None
    dsn = fresh_database(request.getfixturevalue("postgres_dsn"), f"retry{abs(hash(request.node.nodeid))}")
    return "postgres", dsn


def _failed_push_workflow(tmp_path: Path, url: str, store: str, dsn: str | None) -> Workflow:
    """SendPushFromFile whose first attempt sends 2 batches, has the 3rd applied but answered 503
    (75), and whose every retry's pod is lost before main: the workflow fails."""
    options = RenderOptions() if store == "sqlite" else RenderOptions(ledger_volume=None)
    template = next(
        iter(yaml.safe_load_all(render_job(load_app("jobs:MainContainer"), "SendPushFromFile", options)))
    )
    job = next(t for t in template["spec"]["templates"] if t["name"] == JOB)
    limit = int(job["retryStrategy"]["limit"])
    cluster = _push_cluster(tmp_path, url, lost={(JOB, None, n) for n in range(1, limit + 1)})
    if dsn is not None:
        cluster.secrets = {**cluster.secrets, ("jobframe", "ledger__dsn"): dsn}
    workflow = Workflow(template, cluster)
    with pytest.raises(ExpandError, match=f"task {JOB} failed"):
        workflow.run()
    assert [(p.template, p.exit_code) for p in cluster.pods] == [
        (REGISTER_STEP, 0),
        (JOB, 75),
        *[(JOB, LOST)] * limit,
    ], cluster.pods[1].stdout[-2000:] + cluster.pods[1].stderr[-2000:]
    cluster.lost.clear()  # the node problem is over; the operator runs `argo retry`
    return workflow


def _lose_the_ledger(workflow: Workflow, store: str, dsn: str | None) -> None:
    """Between the failure and `argo retry`: the claim's files deleted (SQLite); the database
    replaced by one that holds another workflow's run (PostgreSQL) — not this key, whatever else."""
    if dsn is None:
        for directory in workflow.claim_templates.values():
            for path in directory.iterdir():
                path.unlink()
        return
    name = dsn.split("?", 1)[0].rsplit("/", 1)[-1]
    fresh_database(dsn.replace(f"/{name}?", "/postgres?"), name)  # dropped and created again
    other = open_store(LedgerSettings(store="postgres", dsn=dsn))
    try:
        assert other.transaction(lambda s: runs.register(s, "another-workflows-uid"))
    finally:
        other.close()


@pytest.mark.process
def test_argo_retry_after_the_ledger_was_lost_refuses_at_attempt_0_and_sends_nothing(
    tmp_path: Path, retry_store: tuple[str, str | None]
) -> None:
    store, dsn = retry_store
    write_ids(tmp_path / "ids.txt", 300)
    with fake_braze() as (fake, server):
        fake.fail_at = 3
        workflow = _failed_push_workflow(tmp_path, server.url, store, dsn)
        before = fake.ids_sent()
        assert len(before) == 150  # two batches delivered, the third applied and answered 503
        _lose_the_ledger(workflow, store, dsn)
        failed_pods = len(workflow.cluster.pods)
        with pytest.raises(ExpandError, match=f"task {JOB} failed"):
            workflow.retry()
        after = fake.ids_sent()
    retried = workflow.cluster.pods[failed_pods:]
    # the register step succeeded and is kept; the job's step starts again at attempt 0 and,
    # told its key was registered, finds no record of it: 78 (not retried), nothing sent
    assert [(p.template, p.attempt, p.exit_code) for p in retried] == [(JOB, 0, 78)], retried
    (pod,) = retried
    assert pod.args[pod.args.index("--run-key") + 1] == workflow.uid
    assert "--registered" in pod.args and pod.args[pod.args.index("--retry-number") + 1] == "0"
    said = pod.stdout + pod.stderr
    assert f"run key '{workflow.uid}'" in said and "registered this key before any attempt" in said
    assert "nothing was sent" in said and "--fresh-run" in said
    assert after == before


@pytest.mark.process
def test_argo_retry_with_the_ledger_intact_resumes_and_reaches_each_user_once(
    tmp_path: Path, retry_store: tuple[str, str | None]
) -> None:
    store, dsn = retry_store
    ids = write_ids(tmp_path / "ids.txt", 300)
    with fake_braze() as (fake, server):
        fake.fail_at = 3
        workflow = _failed_push_workflow(tmp_path, server.url, store, dsn)
        failed_pods = len(workflow.cluster.pods)
        outputs = workflow.retry()
        sent = fake.ids_sent()
    retried = workflow.cluster.pods[failed_pods:]
    assert [(p.template, p.attempt, p.exit_code) for p in retried] == [(JOB, 0, 0)], (
        retried[-1].stdout[-2000:] + retried[-1].stderr[-2000:]
    )
    finished = [json.loads(line) for line in retried[0].stdout.splitlines() if '"job.finished"' in line]
    resume = finished[0]["resume"]
    assert resume["attempt"] == 2 and resume["skipped"] == {"batches": 2, "objects": 100}
    assert [batch["batch"] for batch in resume["ambiguous"]] == [2]  # applied, answered 503: not repeated
    assert sorted(sent) == sorted(ids) and max(sent.values()) == 1
    assert json.loads(workflow.outputs["result"]) == json.loads(outputs["result"])


@pytest.mark.process
@pytest.mark.parametrize("ledger", ["intact", "replaced"])
def test_argo_retry_of_a_fanout_passes_registered_for_each_shards_key(
    tmp_path: Path, ledger: str, postgres_dsn: str
) -> None:
    # shard 1's pods are all lost (it never ran); the other shards succeed and are kept by
    # `argo retry`; shard 1 starts again at attempt 0 with its own key uid-1, registered
    dsn = fresh_database(postgres_dsn, f"fanretry{ledger}")
    ids = write_ids(tmp_path / "ids.txt", 400)
    documents = list(
        yaml.safe_load_all(render_job(load_app("jobs:MainContainer"), "SendPushFromFile", RenderOptions()))
    )
    fanout = documents[1]
    shard = next(t for t in fanout["spec"]["templates"] if t["name"] == "shard")
    limit = int(shard["retryStrategy"]["limit"])
    with fake_braze() as (fake, server):
        cluster = _push_cluster(tmp_path, server.url, lost={("shard", "1", n) for n in range(limit + 1)})
        cluster.arguments = {**cluster.arguments, "shards": "3"}
        cluster.secrets = {**cluster.secrets, ("jobframe", "ledger__dsn"): dsn}
        workflow = Workflow(fanout, cluster)
        with pytest.raises(ExpandError, match=r"items \['1'\] failed"):
            workflow.run()
        cluster.lost.clear()
        if ledger == "replaced":
            _lose_the_ledger(workflow, "postgres", dsn)
        failed_pods = len(cluster.pods)
        if ledger == "replaced":
            with pytest.raises(ExpandError, match=r"items \['1'\] failed"):
                workflow.retry()
        else:
            workflow.retry()
        sent = fake.ids_sent()
    retried = cluster.pods[failed_pods:]
    shards = [p for p in retried if p.template == "shard"]
    assert [(p.item, p.attempt) for p in shards] == [("1", 0)]  # the succeeded shards are kept
    (pod,) = shards
    assert pod.args[pod.args.index("--run-key") + 1] == f"{workflow.uid}-1" and "--registered" in pod.args
    mine = {i for i in ids if shard_of(i, 3) == 1}
    if ledger == "replaced":
        assert pod.exit_code == 78 and "registered this key before any attempt" in pod.stdout + pod.stderr
        assert set(sent) == set(ids) - mine  # shard 1 sent nothing
    else:
        assert pod.exit_code == 0, pod.stdout[-2000:] + pod.stderr[-2000:]
        assert sorted(sent) == sorted(ids)
    assert max(sent.values()) == 1
