"""``jobframe-argo lint``: exit 0 on the rendered manifests and on a correct hand-written one; exit 1
on each broken manifest — one fault planted in the correct one each time — with exactly one
finding that names the file, the path inside the document, the fault and the fix."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobframe._app import load_app
from jobframe.argo.cli import main
from jobframe.argo.files import render_job
from jobframe.argo.lint import lint_documents
from jobframe.argo.manifests import Document
from jobframe.argo.plan import RenderOptions
from tests.argo.conftest import run_argo
from tests.conftest import REPO

BASE = Path(__file__).parent / "manifests" / "nightly-some-job.yaml"
APP = "tests.argo.apps.lintapp:LintApp"
"""The app the hand-written manifests are written for (its SomeJob may be retried)."""
T = "spec.templates[0]"
ARGS = f"{T}.container.args"

Doc = dict[str, Any]


def _base() -> list[Doc]:
    return list(yaml.safe_load_all(BASE.read_text()))


def _t(doc: Doc) -> Doc:
    return doc["spec"]["templates"][0]


def _args(doc: Doc) -> list[str]:
    return _t(doc)["container"]["args"]


def _replace(old: str, new: str | None) -> Callable[[Doc], None]:
    def fault(doc: Doc) -> None:
        args = _args(doc)
        index = args.index(old)
        if new is None:
            del args[index]
        else:
            args[index] = new

    return fault


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def fault(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = _t(doc)
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            del node[last]
        else:
            node[last] = value

    return fault


def _spec_set(key: str, value: Any) -> Callable[[Doc], None]:
    def fault(doc: Doc) -> None:
        doc["spec"][key] = value

    return fault


def _drop_pair(option: str) -> Callable[[Doc], None]:
    def fault(doc: Doc) -> None:
        args = _args(doc)
        index = args.index(option)
        del args[index : index + 2]

    return fault


def _python_m(doc: Doc) -> None:
    container = _t(doc)["container"]
    container["command"] = ["python", "-m", "jobframe"]
    container["args"][container["args"].index("--timeout=1200")] = "--timeout=3000"


def _send_push(doc: Doc) -> None:
    """The step runs SendPushFromFile (resumable, 7200 s attempts) instead, right but for the run key."""
    template = doc["spec"]["templates"][0]
    template["container"]["args"] = [
        "--job-name", "SendPushFromFile", "--timeout", "7200", "--output", "/tmp/out.json",
        "--param", "path=/data/u.txt", "--param", "title=t", "--param", "body=b",
    ]  # fmt: skip
    template["activeDeadlineSeconds"] = "7320"
    strategy = template["retryStrategy"]
    strategy["expression"] = 'asInt(lastRetry.exitCode) == 75 || lastRetry.exitCode in ["-1", "137", "143"]'
    del strategy["backoff"]["maxDuration"]


def _cron_without_schedules(doc: Doc) -> None:
    spec = doc["spec"]
    doc["kind"] = "CronWorkflow"
    doc["spec"] = {"schedule": "0 2 * * *", "workflowSpec": spec}  # v3.5's singular field


FAULTS: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("unknown job", _replace("--job-name=SomeJob", "--job-name=SomeJb"), ARGS, "did you mean 'SomeJob'"),
    ("unknown parameter", _replace("users=ada", "user=ada"), ARGS, "no parameter 'user'"),
    (
        "invalid literal",
        _replace("max_campaigns={{inputs.parameters.campaigns}}", "max_campaigns=-3"),
        ARGS,
        "max_campaigns='-3' is invalid",
    ),
    (
        "invalid input default",
        lambda d: _t(d)["inputs"]["parameters"][1].update(default="lots"),
        ARGS,
        "max_campaigns='lots' is invalid",
    ),
    (
        "undeclared input",
        _replace("title={{inputs.parameters.title}}", "title={{inputs.parameters.titel}}"),
        ARGS,
        "inputs.parameters.titel, which is not declared",
    ),
    (
        "bad jobframe argument",
        _replace("--timeout=1200", "--timeout=soon"),
        ARGS,
        "would refuse its arguments",
    ),
    ("no --timeout", _replace("--timeout=1200", None), ARGS, "no --timeout"),
    (
        "--timeout past the kubelet's",
        _replace("--timeout=1200", "--timeout=1500"),
        ARGS,
        "later than activeDeadlineSeconds",
    ),
    (
        "attempt shorter than the job needs",
        lambda d: (_set("activeDeadlineSeconds", "12")(d), _replace("--timeout=1200", "--timeout=12")(d)),
        f"{T}.activeDeadlineSeconds",
        "needs at least 15 s",
    ),
    (
        "maxDuration trap",
        _set("retryStrategy.backoff.maxDuration", "40m"),
        f"{T}.retryStrategy.backoff.maxDuration",
        "retry 2 can start with only",
    ),
    (
        "workflow deadline trap",
        _spec_set("activeDeadlineSeconds", 1300),
        "spec.activeDeadlineSeconds",
        "retry 2 can start with only 0 s",
    ),
    (
        "retries 1",
        _set("retryStrategy.expression", 'lastRetry.exitCode != "0"'),
        f"{T}.retryStrategy.expression",
        "retries exit codes 1, 2, 78",
    ),
    (
        "misses 75 (number vs string)",
        _set("retryStrategy.expression", "lastRetry.exitCode == 75"),
        f"{T}.retryStrategy.expression",
        "does not retry exit code 75",
    ),
    (
        "Always without expression",
        lambda d: (_set("retryStrategy.expression", None)(d), _set("retryStrategy.retryPolicy", "Always")(d)),
        f"{T}.retryStrategy.retryPolicy",
        "retryPolicy Always without an expression",
    ),
    (
        "OnFailure by default",
        _set("retryStrategy.expression", None),
        f"{T}.retryStrategy.retryPolicy",
        "retries exit codes 1, 2, 78",
    ),
    (
        "OnError never retries 75",
        _set("retryStrategy.retryPolicy", "OnError"),
        f"{T}.retryStrategy.expression",
        "does not retry exit code 75",
    ),
    ("no limit", _set("retryStrategy.limit", None), f"{T}.retryStrategy.limit", "without a limit"),
    (
        "unreadable expression",
        _set("retryStrategy.expression", "sprig.has(lastRetry.exitCode)"),
        f"{T}.retryStrategy.expression",
        "cannot tell which exit codes",
    ),
    (
        "grace too short",
        _set("podSpecPatch", '{"terminationGracePeriodSeconds": 5}'),
        f"{T}.podSpecPatch",
        "terminationGracePeriodSeconds 5",
    ),
    (
        "workflow-level grace too short",
        lambda d: (
            _set("podSpecPatch", None)(d),
            _spec_set("podSpecPatch", "terminationGracePeriodSeconds: 8")(d),
        ),
        "spec.podSpecPatch",
        "terminationGracePeriodSeconds 8",
    ),
    (
        "default grace shorter than a long teardown",
        lambda d: (_set("podSpecPatch", None)(d), _args(d).extend(["--shutdown-timeout", "40"])),
        f"{T}.podSpecPatch",
        "Kubernetes default",
    ),
    (
        "output without default",
        _set("outputs.parameters", [{"name": "result", "valueFrom": {"path": "/tmp/out.json"}}]),
        f"{T}.outputs.parameters[0].valueFrom",
        "without a default",
    ),
    (
        "IntOrString as an integer",
        _set("activeDeadlineSeconds", 1200),
        f"{T}.activeDeadlineSeconds",
        "schema: 1200 is not of type 'string'",
    ),
    (
        "--shard on a job that is not shardable",
        lambda d: _args(d).extend(["--shard", "0/2"]),
        ARGS,
        "not shardable",
    ),
    ("a resumable job retried without a run key", _send_push, ARGS, "no --run-key"),
    (
        "one run key for every workflow run",
        lambda d: (_send_push(d), _args(d).extend(["--run-key", "nightly"])),
        ARGS,
        "same for every run of this template",
    ),
    (
        "a retried step that forgets its ledger",
        lambda d: (_send_push(d), _args(d).extend(["--run-key", "{{workflow.uid}}", "--fresh-run"])),
        ARGS,
        "every retry forgets what the failed attempt recorded",
    ),
    (
        "a retried step that repeats ambiguous sends",
        lambda d: _args(d).extend(["--resend-ambiguous"]),
        ARGS,
        "every retry repeats the batches whose outcome is unknown",
    ),
    (
        "a SQLite ledger on the pod's own disk",
        lambda d: (
            _send_push(d),
            _args(d).extend(["--run-key", "{{workflow.uid}}"]),
            _set("container.env", [{"name": "LEDGER__PATH", "value": "/tmp/ledger.sqlite3"}])(d),
        ),
        f"{T}.container.env",
        "not on a persistent volume",
    ),
    (
        "a required parameter missing",
        lambda d: (_send_push(d), _set("retryStrategy", None)(d), _drop_pair("--param")(d)),
        ARGS,
        "requires path",
    ),
    ("python -m jobframe, late timeout", _python_m, ARGS, "later than activeDeadlineSeconds"),
    ("v3.5 CronWorkflow schedule", _cron_without_schedules, "spec", "'schedules' is a required property"),
]


def _lint(tmp_path: Path, documents: list[Doc], capsys: Any) -> tuple[int, str, Path]:
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    code = main(["lint", "--app", APP, str(file)])
    return code, capsys.readouterr().out, file


def test_the_hand_written_manifest_is_clean(tmp_path: Path, capsys: Any) -> None:
    code, out, _ = _lint(tmp_path, _base(), capsys)
    assert (code, out) == (0, "0 problems in 1 file\n")


@pytest.mark.parametrize(("fault", "path", "phrase"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_each_planted_fault_is_found_named_and_fixed(
    fault: Callable[[Doc], None], path: str, phrase: str, tmp_path: Path, capsys: Any
) -> None:
    documents = _base()
    broken = copy.deepcopy(documents)
    fault(broken[0])
    assert broken != documents
    code, out, file = _lint(tmp_path, broken, capsys)
    assert code == 1, out
    assert out.endswith("1 problem in 1 file\n"), out
    first, fix = out.splitlines()[:2]
    assert first.startswith(f"{file}: document 1 (")
    assert f": {path}: " in first, first
    assert phrase in first, first
    assert fix.startswith("  fix: ") and len(fix) > len("  fix: ") + 3


@pytest.mark.process
def test_rendered_manifests_are_clean_through_the_command_line() -> None:
    files = sorted(str(p) for p in (REPO / "deploy").glob("*.yaml"))
    assert len(files) == 5
    proc = run_argo("lint", *files)
    assert (proc.returncode, proc.stdout) == (0, "0 problems in 5 files\n"), proc.stdout + proc.stderr


@pytest.mark.process
def test_a_broken_file_fails_through_the_command_line(tmp_path: Path) -> None:
    documents = _base()
    _set("retryStrategy.expression", None)(documents[0])
    file = tmp_path / "w.yaml"
    file.write_text(yaml.safe_dump_all(documents))
    proc = run_argo("lint", "--app", APP, str(file))
    assert proc.returncode == 1
    assert (
        f"{file}: document 1 (WorkflowTemplate/nightly-some-job): {T}.retryStrategy.retryPolicy:"
        in proc.stdout
    )
    assert 'fix: expression: \'lastRetry.exitCode in ["75", "124", "137", "143"]\'' in proc.stdout


def test_several_faults_are_all_reported_in_document_order(capsys: Any) -> None:
    documents = _base()
    _replace("--timeout=1200", None)(documents[0])
    _set("retryStrategy.expression", None)(documents[0])
    findings = lint_documents(load_app(APP), [Document(Path("x.yaml"), 0, documents[0])])
    assert [f.path for f in findings] == [ARGS, f"{T}.retryStrategy.retryPolicy"]


def test_unreadable_files_and_apps_are_usage_errors(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "bad.yaml").write_text("key: [unclosed\n")
    assert main(["lint", "--app", APP, str(tmp_path / "bad.yaml")]) == 2
    assert "not YAML" in capsys.readouterr().err
    assert main(["lint", "--app", APP, str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["lint", "--app", "nowhere:App", str(BASE)]) == 2


def test_a_job_chosen_at_submit_time_is_not_guessed(tmp_path: Path, capsys: Any) -> None:
    documents = _base()
    _replace("--job-name=SomeJob", "--job-name={{workflow.parameters.job}}")(documents[0])
    code, out, _ = _lint(tmp_path, documents, capsys)
    assert code == 0, out


def test_a_templated_timeout_is_left_alone_but_its_default_is_checked(tmp_path: Path, capsys: Any) -> None:
    documents = _base()
    _replace("--timeout=1200", "--timeout={{inputs.parameters.timeout}}")(documents[0])
    _t(documents[0])["inputs"]["parameters"].append({"name": "timeout"})
    code, out, _ = _lint(tmp_path, documents, capsys)
    assert code == 0, out
    _t(documents[0])["inputs"]["parameters"][-1]["default"] = "5000"
    code, out, _ = _lint(tmp_path, documents, capsys)
    assert code == 1 and "--timeout 5000 is later than activeDeadlineSeconds 1200" in out


def test_the_app_is_the_one_given(tmp_path: Path, capsys: Any) -> None:
    code, _, file = _lint(tmp_path, _base(), capsys)
    assert code == 0
    assert main(["lint", "--app", "tests.argo.apps.argoapp:ArgoApp", str(file)]) == 1
    assert "unknown job 'SomeJob'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("activeDeadlineSeconds", "an hour"),
        ("retryStrategy.limit", "three"),
        ("retryStrategy.backoff", ["1m"]),
    ],
)
def test_a_field_of_the_wrong_shape_is_a_finding_not_a_traceback(
    field: str, value: Any, tmp_path: Path, capsys: Any
) -> None:
    documents = _base()
    _set(field, value)(documents[0])
    code, out, _ = _lint(tmp_path, documents, capsys)
    assert code == 1
    named = f"{T}.{field}: " in out and "  fix: " in out  # what it must be, at its own path
    assert named or f"{T}: cannot check this step" in out or "schema:" in out, out


def test_a_job_declared_never_to_be_retried_must_not_be(capsys: Any) -> None:
    documents = _base()
    _args(documents[0])[:] = ["--job-name", "Never", "--timeout", "3600", "--output", "/tmp/out.json"]
    _set("activeDeadlineSeconds", "3720")(documents[0])
    app = load_app("tests.argo.apps.argoapp:ArgoApp")
    findings = lint_documents(app, [Document(Path("x.yaml"), 0, documents[0])])
    assert [(f.path, "declares no retries" in f.message) for f in findings] == [
        (f"{T}.retryStrategy", True)
    ], findings


def _fanout_shard(documents: list[Doc]) -> Doc:
    fanout = next(d for d in documents if d["metadata"]["name"].endswith("-fanout"))
    return next(t for t in fanout["spec"]["templates"] if t["name"] == "shard")


def test_shards_sharing_one_run_key_are_found() -> None:
    documents = list(yaml.safe_load_all((REPO / "deploy" / "send-push-from-file.yaml").read_text()))
    args = _fanout_shard(documents)["container"]["args"]
    assert args[args.index("--run-key") + 1] == "{{workflow.uid}}-{{inputs.parameters.shard}}"
    args[args.index("--run-key") + 1] = "{{workflow.uid}}"
    app = load_app("jobs:MainContainer")
    findings = lint_documents(app, [Document(Path("x.yaml"), i, d) for i, d in enumerate(documents)])
    assert ["every shard runs with --run-key" in f.message for f in findings] == [True], findings
    assert "{{workflow.uid}}-{{inputs.parameters.shard}}" in findings[0].fix


@pytest.mark.parametrize("volume", ["1Gi", None])
def test_a_rendered_resumable_job_resumes_from_a_volume_that_outlives_its_pods(volume: str | None) -> None:
    app = load_app("jobs:MainContainer")
    text = render_job(app, "SendPushFromFile", RenderOptions(ledger_volume=volume))
    documents = list(yaml.safe_load_all(text))
    single_doc, fanout = documents
    # parallel shards never share one ReadWriteOnce claim: the fan-out keeps ledgers in PostgreSQL
    assert "volumeClaimTemplates" not in fanout["spec"]
    shard = _fanout_shard(documents)["container"]
    assert {e["name"]: e.get("value") for e in shard["env"]}["LEDGER__STORE"] == "postgres"
    assert "jobframe-ledger" not in {v["name"] for v in shard["volumeMounts"]}
    for document in [single_doc]:
        claims = document["spec"].get("volumeClaimTemplates")
        if volume is None:
            assert claims is None and "volumeClaimGC" not in document["spec"]
        else:
            assert [c["spec"]["resources"]["requests"]["storage"] for c in claims] == ["1Gi"]
            # a failed workflow keeps it: `argo retry` must find what the failed attempts recorded
            assert document["spec"]["volumeClaimGC"] == {"strategy": "OnWorkflowSuccess"}
    single = documents[0]["spec"]["templates"][0]["container"]
    assert single["args"][single["args"].index("--run-key") + 1] == "{{workflow.uid}}"
    env = {e["name"]: e.get("value") for e in single.get("env") or []}
    mounts = {v["name"]: v["mountPath"] for v in single["volumeMounts"]}
    if volume is None:  # the profile's PostgreSQL, never a file that dies with the pod
        assert "LEDGER__PATH" not in env and "jobframe-ledger" not in mounts
        assert env["LEDGER__STORE"] == "postgres"
    else:
        assert env["LEDGER__PATH"].startswith(mounts["jobframe-ledger"] + "/")
    findings = lint_documents(app, [Document(Path("x.yaml"), i, d) for i, d in enumerate(documents)])
    assert findings == []


def _without_register(document: Doc, *, keep_registered: bool = False) -> None:
    """The document as a hand-written manifest without the register step would be (and so,
    unless ``keep_registered``, without the job's ``--registered``)."""
    spec = document["spec"]
    templates = [t for t in spec["templates"] if t["name"] != "register-ledger"]
    for template in templates:
        container = template.get("container") or {}
        if "args" in container and not keep_registered:
            container["args"] = [a for a in container["args"] if a != "--registered"]
        tasks = (template.get("dag") or {}).get("tasks") or []
        template.get("dag", {})["tasks"] = [t for t in tasks if t["name"] != "register-ledger"]
        for task in tasks:
            if task.get("depends") == "register-ledger":
                del task["depends"]
    spec["templates"] = templates


def test_a_resumable_step_without_a_register_step_is_a_note_not_a_fault(tmp_path: Path, capsys: Any) -> None:
    documents = list(yaml.safe_load_all((REPO / "deploy" / "send-push-from-file.yaml").read_text()))
    for document in documents:
        _without_register(document)
    app = load_app("jobs:MainContainer")
    findings = lint_documents(app, [Document(Path("x.yaml"), i, d) for i, d in enumerate(documents)])
    # the single step and the fan-out's shard: each can be refused after a pod lost before main
    assert [(f.document, f.note) for f in findings] == [(0, True), (1, True)], findings
    assert all("no step of this workflow registers its run key" in f.message for f in findings)
    assert all("jobframe.ledger register" in f.fix for f in findings)
    path = tmp_path / "send-push.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    assert main(["lint", "--app", "jobs:MainContainer", str(path)]) == 0  # a note is not a fault
    assert "note:" in capsys.readouterr().out


def _job_steps(document: Doc) -> list[dict[str, Any]]:
    return [
        t for t in document["spec"]["templates"] if "--job-name" in (t.get("container") or {}).get("args", [])
    ]


@pytest.mark.parametrize(
    ("told", "fault"),
    [("flag", True), ("yes", True), ("1", True), ("no", False), ("0", False)],
    ids=["--registered", "JOBFRAME_REGISTERED=yes", "JOBFRAME_REGISTERED=1", "=no", "=0"],
)
def test_registered_without_a_register_step_is_a_fault(
    told: str, fault: bool, tmp_path: Path, capsys: Any
) -> None:
    # told the key was registered, with no step that registers it: every attempt refuses (78)
    documents = list(yaml.safe_load_all((REPO / "deploy" / "send-push-from-file.yaml").read_text()))
    for document in documents:
        _without_register(document, keep_registered=told == "flag")
        if told != "flag":
            for step in _job_steps(document):
                step["container"].setdefault("env", []).append({"name": "JOBFRAME_REGISTERED", "value": told})
    app = load_app("jobs:MainContainer")
    findings = lint_documents(app, [Document(Path("x.yaml"), i, d) for i, d in enumerate(documents)])
    faults = [f for f in findings if not f.note]
    if not fault:
        assert faults == [], faults
        return
    # the single step and the fan-out's shard
    assert [f.document for f in faults] == [0, 1], findings
    assert all("no step of this workflow registers its run key" in f.message for f in faults)
    assert all("refused (78)" in f.message and "jobframe.ledger register" in f.fix for f in faults)
    path = tmp_path / "send-push.yaml"
    path.write_text(yaml.safe_dump_all(documents))
    assert main(["lint", "--app", "jobs:MainContainer", str(path)]) == 1
    assert "refused (78)" in capsys.readouterr().out


def test_the_rendered_register_step_satisfies_registered_and_a_step_without_a_key_is_a_fault() -> None:
    documents = list(yaml.safe_load_all((REPO / "deploy" / "send-push-from-file.yaml").read_text()))
    app = load_app("jobs:MainContainer")
    assert all("--registered" in step["container"]["args"] for d in documents for step in _job_steps(d))
    assert lint_documents(app, [Document(Path("x.yaml"), i, d) for i, d in enumerate(documents)]) == []
    # --registered without --run-key: jobframe refuses the arguments (exit 2)
    for document in documents:
        for step in _job_steps(document):
            args = step["container"]["args"]
            at = args.index("--run-key")
            del args[at : at + 2]
    findings = lint_documents(app, [Document(Path("x.yaml"), i, d) for i, d in enumerate(documents)])
    keyless = [f for f in findings if "--registered but no --run-key" in f.message]
    assert [f.document for f in keyless] == [0, 1] and not any(f.note for f in keyless), findings
