"""What the rendered manifests ask of a cluster, besides the step itself: the oldest Argo they
are written for (v3.7, tested against its own schema), the CronWorkflow's zone and missed-run
deadline, clean-up, Argo's own metrics, the pod shape from job metadata and a render
configuration file, synchronization — and ``jobframe-argo render``/``lint`` on bad input: one
line, a non-zero exit, never a traceback."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from jobframe._app import App, load_app
from jobframe.argo.files import render_app
from jobframe.argo.plan import RenderOptions
from jobframe.argo.render import MINIMUM_ARGO
from tests.argo.conftest import run_argo

TEST_APP = "tests.argo.apps.argoapp:ArgoApp"
V3_7 = json.loads(
    gzip.decompress((Path(__file__).parent / "schema/argo-workflows-v3.7.0.schema.json.gz").read_bytes())
)
"""Argo v3.7.0's api/jsonschema/schema.json (commit d1d689b3, Apache-2.0)."""
DEF = "io.argoproj.workflow.v1alpha1."
CONFIG = """\
pod_start: 300
pod_gc: OnWorkflowCompletion
ttl_after_success: 600
ttl_after_failure: null
pod:
  node_selector: {pool: general}
  tolerations: [{key: spot, operator: Exists}]
  image_pull_secrets: [registry]
  labels: {team: platform, cost-center: "42"}
  annotations: {sidecar.istio.io/inject: "false"}
jobs:
  Placed:
    pod: {node_selector: {pool: dedicated}, service_account: placed-override}
"""


@pytest.fixture(scope="module")
def test_app() -> App:
    return load_app(TEST_APP)


def _render(app: App, options: RenderOptions | None = None) -> dict[str, list[dict[str, Any]]]:
    files = render_app(app, options or RenderOptions())
    rendered = {name: list(yaml.safe_load_all(text)) for name, text in files.items()}
    return {docs[0]["metadata"]["labels"]["jobframe/job"]: docs for docs in rendered.values()}


def _spec(document: dict[str, Any]) -> dict[str, Any]:
    return document["spec"].get("workflowSpec", document["spec"])


def _template(document: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    spec = _spec(document)
    return next(t for t in spec["templates"] if t["name"] == (name or spec["entrypoint"]))


def _options_with_config(tmp_path: Path, app: App) -> RenderOptions:
    from jobframe.argo.config import apply_config, load_config  # noqa: PLC0415

    path = tmp_path / "render.yaml"
    path.write_text(CONFIG)
    return apply_config(RenderOptions(), load_config(path), path, set(app.jobs))


# -- the oldest Argo: v3.7 -----------------------------------------------------------------------


def _unknown_fields(node: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields of ``node`` that ``schema`` (Argo v3.7.0's) does not define: newer than v3.7."""
    while "$ref" in schema:
        schema = V3_7["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    found = []
    if isinstance(node, dict):
        properties = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, value in node.items():
            if properties is not None and key in properties:
                found += _unknown_fields(value, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += _unknown_fields(value, extra, f"{path}.{key}")
            elif properties is not None:
                found.append(f"{path}.{key}")
    elif isinstance(node, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(node):
            found += _unknown_fields(item, schema["items"], f"{path}[{index}]")
    return found


def _documents_of_every_shape(test_app: App, tmp_path: Path) -> list[dict[str, Any]]:
    every = [
        *_render(load_app("jobs:MainContainer")).values(),
        *_render(test_app).values(),
        *_render(test_app, _options_with_config(tmp_path, test_app)).values(),
    ]
    return [doc for docs in every for doc in docs]


def test_the_manifests_are_written_for_argo_3_7_and_its_schema_knows_every_field(
    test_app: App, tmp_path: Path
) -> None:
    assert MINIMUM_ARGO == (3, 7)
    documents = _documents_of_every_shape(test_app, tmp_path)
    for document in documents:
        kind = {"$ref": f"#/definitions/{DEF}{document['kind']}", "definitions": V3_7["definitions"]}
        jsonschema.Draft202012Validator(kind).validate(document)
        assert _unknown_fields(document, {"$ref": f"#/definitions/{DEF}{document['kind']}"}) == []
    # and nothing older would do: backoff.cap is new in v3.7, schedules (a list) in v3.6
    strategies = [
        t["retryStrategy"] for d in documents for t in _spec(d)["templates"] if "retryStrategy" in t
    ]
    assert any("cap" in s["backoff"] for s in strategies)
    assert any("schedules" in d["spec"] for d in documents if d["kind"] == "CronWorkflow")


def test_the_field_check_is_not_a_rubber_stamp() -> None:
    document = {"kind": "Workflow", "spec": {"templates": [{"name": "x", "retryStrategy": {"backof": {}}}]}}
    assert _unknown_fields(document, {"$ref": f"#/definitions/{DEF}Workflow"}) == [
        ".spec.templates[0].retryStrategy.backof"
    ]
    v4_only = {"kind": "Workflow", "spec": {"templates": [{"name": "x", "podResources": {}}]}}  # v4's
    assert _unknown_fields(v4_only, {"$ref": f"#/definitions/{DEF}Workflow"}) == [
        ".spec.templates[0].podResources"
    ]


# -- CronWorkflow, clean-up, metrics, deadline -------------------------------------------------------


def test_a_cron_workflow_says_its_zone_and_runs_what_it_missed(test_app: App) -> None:
    default_app = _render(load_app("jobs:MainContainer"))
    stats = default_app["CollectCampaignStats"][0]
    assert stats["kind"] == "CronWorkflow"
    # unset, Argo would use the controller's zone; a run missed while the controller was down
    # still starts within the hour (Argo's default 0 skips it)
    assert (stats["spec"]["timezone"], stats["spec"]["startingDeadlineSeconds"]) == ("UTC", 3600)
    rendered = _render(test_app)
    assert rendered["Nightly"][0]["spec"]["timezone"] == "Europe/Paris"
    assert "startingDeadlineSeconds" not in rendered["Placed"][0]["spec"]  # starting_deadline=None


def test_workflows_clean_up_after_themselves_by_default_and_as_configured(
    test_app: App, tmp_path: Path
) -> None:
    for docs in _render(load_app("jobs:MainContainer")).values():
        for document in docs:
            spec = _spec(document)
            assert spec["podGC"] == {"strategy": "OnPodSuccess"}  # a failed pod stays for its logs
            assert spec["ttlStrategy"] == {"secondsAfterSuccess": 86400, "secondsAfterFailure": 604800}
    configured = _render(test_app, _options_with_config(tmp_path, test_app))["Typed"][0]["spec"]
    assert configured["podGC"] == {"strategy": "OnWorkflowCompletion"}
    assert configured["ttlStrategy"] == {"secondsAfterSuccess": 600}
    none = _render(test_app, RenderOptions(pod_gc=None, ttl_after_success=None, ttl_after_failure=None))
    assert not {"podGC", "ttlStrategy"} & set(none["Typed"][0]["spec"])


def test_every_job_template_has_argos_metrics(test_app: App) -> None:
    for job, docs in _render(test_app).items():
        for document in docs:
            for template in _spec(document)["templates"]:
                if "container" not in template:
                    continue
                metrics = {m["name"]: m for m in template["metrics"]["prometheus"]}
                assert set(metrics) == {
                    "jobframe_argo_step_duration_seconds",
                    "jobframe_argo_step_total",
                    "jobframe_argo_step_exit_code",
                }
                for metric in metrics.values():
                    assert metric["help"]  # Argo drops a metric without help
                    labels = {label["key"]: label["value"] for label in metric["labels"]}
                    assert labels["job"] == job and labels["step"] == template["name"]
                duration = metrics["jobframe_argo_step_duration_seconds"]
                assert duration["gauge"] == {"value": "{{duration}}", "realtime": False}
                assert {"key": "status", "value": "{{status}}"} in duration["labels"]
                assert metrics["jobframe_argo_step_total"]["counter"] == {"value": "1"}
                # alone: a lost pod has no exit code, and Argo drops a metric it cannot resolve
                exit_code = metrics["jobframe_argo_step_exit_code"]
                assert exit_code["gauge"]["value"] == "{{exitCode}}"
                assert not any("{{" in label["value"] for label in exit_code["labels"])


def test_a_metric_name_has_one_help_and_one_type_in_every_rendered_template(test_app: App) -> None:
    # the controller registers a metric once, by name, and refuses (MetricsError, not emitted) one
    # whose help or type differs from the first (matchExistingMetric in metrics_custom.go)
    seen: dict[str, tuple[str, frozenset[str]]] = {}
    for app in (load_app("jobs:MainContainer"), test_app):
        for docs in _render(app).values():
            for document in docs:
                for template in _spec(document)["templates"]:
                    for metric in (template.get("metrics") or {}).get("prometheus", []):
                        said = (metric["help"], frozenset(metric) & {"gauge", "counter", "histogram"})
                        assert seen.setdefault(metric["name"], said) == said
    assert len(seen) == 3
    # and between releases: a controller still running holds the help it first saw, so a changed
    # text silences the metric until it restarts (docs/argo.md). Changing one is a decision.
    assert {name: help_ for name, (help_, _) in seen.items()} == {
        "jobframe_argo_step_duration_seconds": "Seconds a jobframe job's retried attempt, or its whole "
        "step when it ends, took (docs/argo.md).",
        "jobframe_argo_step_total": "Attempts of a jobframe job by status, the last one counted when "
        "its step ends (docs/argo.md).",
        "jobframe_argo_step_exit_code": "Exit code of the last finished attempt of a jobframe job "
        "(docs/argo.md).",
    }


def test_argos_retry_variables_appear_only_where_argo_sets_them(test_app: App) -> None:
    # {{retries}} and {{lastRetry.*}} are in a template's scope only when it has a retryStrategy
    # (executeTemplate in operator.go); elsewhere Argo leaves the tag as text, and jobframe would
    # refuse `--retry-number {{retries}}` (exit 2)
    apps = (load_app("jobs:MainContainer"), test_app, load_app("tests.argo.apps.onceapp:OnceApp"))
    checked = 0
    for app in apps:
        for docs in _render(app).values():
            for document in docs:
                for template in _spec(document)["templates"]:
                    text = json.dumps(template.get("container"))
                    if "{{retries}}" in text or "{{lastRetry." in text:
                        checked += 1
                        assert "retryStrategy" in template, (document["metadata"]["name"], template["name"])
    assert checked >= 4  # the default app's resumable steps say it: the check has something to check


def test_the_kubelets_deadline_leaves_room_for_the_pods_start(test_app: App, tmp_path: Path) -> None:
    for options, start in ((RenderOptions(), 120), (_options_with_config(tmp_path, test_app), 300)):
        template = _template(_render(test_app, options)["Typed"][0])
        args = template["container"]["args"]
        assert args[args.index("--timeout") + 1] == "900"
        assert template["activeDeadlineSeconds"] == str(900 + start)


# -- the pod's shape, synchronization -----------------------------------------------------------


def test_the_pod_shape_comes_from_the_job(test_app: App) -> None:
    document = _render(test_app)["Placed"][0]
    template = _template(document)
    assert template["nodeSelector"] == {"pool": "batch"}
    assert template["tolerations"] == [{"key": "batch", "operator": "Exists", "effect": "NoSchedule"}]
    assert (
        template["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"]
        == 1
    )
    assert template["priorityClassName"] == "batch-high"
    assert template["serviceAccountName"] == "placed-jobs"
    assert template["metadata"] == {
        "labels": {"team": "growth", "jobframe/job": "Placed"},
        "annotations": {"sidecar.istio.io/inject": "false"},
    }
    assert _spec(document)["imagePullSecrets"] == [{"name": "registry"}]
    plain = _template(_render(test_app)["Plain"][0])
    assert not {"nodeSelector", "tolerations", "affinity", "priorityClassName", "serviceAccountName"} & set(
        plain
    )


def test_the_config_files_pod_is_every_jobs_and_the_job_and_its_entry_win(
    test_app: App, tmp_path: Path
) -> None:
    rendered = _render(test_app, _options_with_config(tmp_path, test_app))
    plain = _template(rendered["Plain"][0])
    assert plain["nodeSelector"] == {"pool": "general"}
    assert plain["tolerations"] == [{"key": "spot", "operator": "Exists"}]
    assert plain["metadata"]["labels"] == {"team": "platform", "cost-center": "42", "jobframe/job": "Plain"}
    placed = _template(rendered["Placed"][0])
    assert placed["nodeSelector"] == {"pool": "dedicated"}  # the file's entry for the job wins
    assert placed["serviceAccountName"] == "placed-override"
    assert placed["metadata"]["labels"]["team"] == "growth"  # the job's own wins over the file's default
    job_toleration = {"key": "batch", "operator": "Exists", "effect": "NoSchedule"}
    assert placed["tolerations"] == [{"key": "spot", "operator": "Exists"}, job_toleration]
    assert _spec(rendered["Placed"][0])["imagePullSecrets"] == [{"name": "registry"}]


def test_jobs_share_a_semaphore_and_hold_a_mutex_from_their_metadata(test_app: App) -> None:
    document = _render(test_app)["Placed"][0]
    assert _template(document)["synchronization"] == {
        "semaphores": [{"configMapKeyRef": {"name": "jobframe-semaphores", "key": "braze-workspace"}}]
    }  # per attempt: the pods running at once
    assert _spec(document)["synchronization"] == {"mutexes": [{"name": "placed"}]}  # the whole run
    assert "synchronization" not in _template(_render(test_app)["Plain"][0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"semaphore": None, "mutex": None}, "give a semaphore, a mutex or both"),
        ({"semaphore": "has space"}, "is not a ConfigMap key"),
    ],
)
def test_a_sync_that_cannot_work_fails_at_import(kwargs: dict[str, Any], message: str) -> None:
    import jobframe  # noqa: PLC0415

    with pytest.raises(ValueError, match=message):
        jobframe.Sync(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"node_selector": {"pool": 1}}, "keys and values are strings"),
        ({"tolerations": ({},)}, "each a mapping"),
        ({"tolerations": ({"key": "batch", "toleration_seconds": 5},)}, "each a mapping of key, operator"),
        ({"image_pull_secrets": ("Bad_Name",)}, "not Kubernetes names"),
        ({"priority_class": "UPPER"}, "not Kubernetes names"),
    ],
)
def test_a_pod_shape_that_cannot_work_fails_at_import(kwargs: dict[str, Any], message: str) -> None:
    import jobframe  # noqa: PLC0415

    with pytest.raises(ValueError, match=message):
        jobframe.Pod(**kwargs)


# -- the command line: --config and --check, bad input ---------------------------------------------


@pytest.mark.process
def test_check_compares_with_a_render_from_the_same_config(tmp_path: Path) -> None:
    config = tmp_path / "render.yaml"
    text = CONFIG.replace("Placed", "SendPushFromFile")  # a job of the default app
    config.write_text(text)
    out = tmp_path / "deploy"
    assert run_argo("render", "--config", str(config), "--out", str(out)).returncode == 0
    assert "--config" in (out / "some-job.yaml").read_text().splitlines()[0]
    assert run_argo("render", "--config", str(config), "--out", str(out), "--check").returncode == 0
    stale = run_argo("render", "--out", str(out), "--check")  # the same jobs, without the file
    assert stale.returncode == 1 and "stale" in stale.stderr
    config.write_text(text.replace("pool: general", "pool: other"))
    changed = run_argo("render", "--config", str(config), "--out", str(out), "--check")
    assert changed.returncode == 1 and f"--config {config}" in changed.stderr


BAD = [
    (["render", "--image", ""], 2, "is not an image reference"),
    (["render", "--image", "Bad Image!!"], 2, "is not an image reference"),
    (["render", "--image", "registry.example/acme jobs:1"], 2, "is not an image reference"),
    (["render", "--out", "deploy/some-job.yaml"], 2, "is a file; give a directory"),
    (["render", "--namespace", "Prod_NS"], 2, "is not a Kubernetes name"),
    (["render", "--secret", ""], 2, "is not a Kubernetes name"),
    (["render", "--prefix", "Acme-"], 2, "a name prefix"),
    (["render", "--profile", " "], 2, "give the settings profile"),
    (["render", "--job", "Nope"], 2, "unknown job 'Nope'"),
    (["render", "--ledger-volume", "lots"], 2, "is not a Kubernetes quantity"),
    (["render", "--config", "missing.yaml"], 2, "cannot read"),
    (["render", "--check"], 2, "give --out DIR"),
    (["lint"], 2, "the following arguments are required"),
    (["lint", "missing.yaml"], 2, "cannot read"),
    (["combine", "--shards", "0", "--results", "[]"], 2, "--shards must be >= 1"),
    (["render", "--out", f"/tmp/{'a' * 300}"], 2, "File name too long"),
    (["render", "--out", f"/tmp/{'a' * 300}", "--check"], 2, "File name too long"),
    (["combine", "--shards", "1", "--results", '[{"a": 1}]', "--output", "/tmp"], 2, "is a directory"),
    (
        ["combine", "--shards", "1", "--results", '[{"a": 1}]', "--output", "/nonexistent/r.json"],
        2,
        "does not exist",
    ),
]


@pytest.mark.process
@pytest.mark.parametrize(("args", "code", "phrase"), BAD, ids=[" ".join(b[0]) or "none" for b in BAD])
def test_bad_input_is_one_line_and_a_non_zero_exit(args: list[str], code: int, phrase: str) -> None:
    proc = run_argo(*args)
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and phrase in proc.stderr, proc.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("pod_gc: Sometimes\n", "pod_gc: Input should be"),
        ("pod: {nodeSelector: {a: b}}\n", "pod.nodeSelector: Extra inputs are not permitted"),
        ("jobs: {SomeJb: {pod: {}}}\n", "the app has no job SomeJb"),
        ("pod: {image_pull_secrets: [Bad_Name]}\n", "not Kubernetes names"),
        ("- a list\n", "expected a mapping"),
        ("pod: [unclosed\n", "not YAML"),
    ],
)
def test_a_render_config_that_cannot_work_is_one_line(text: str, phrase: str, tmp_path: Path) -> None:
    config = tmp_path / "render.yaml"
    config.write_text(text)
    proc = run_argo("render", "--config", str(config))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and phrase in proc.stderr, proc.stderr


@pytest.mark.process
@pytest.mark.parametrize(
    "content", ["", "just some text\n", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"]
)
def test_lint_of_files_without_an_argo_workflow_says_so_and_fails(content: str, tmp_path: Path) -> None:
    file = tmp_path / "not-a-workflow.yaml"
    file.write_text(content)
    proc = run_argo("lint", str(file))
    assert proc.returncode == 1 and "0 problems" not in proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1 and "no Argo workflow" in proc.stderr, proc.stderr
    # next to a workflow, such a file is named and skipped, not a failure
    mixed = run_argo("lint", str(file), "deploy/sleep.yaml")
    assert mixed.returncode == 0 and f"{file}: note: no Argo workflow in this file: skipped" in mixed.stdout


@pytest.mark.parametrize(
    ("affinity", "message"),
    [
        ({"nodeAffinty": {}}, "fields Kubernetes does not know"),
        ({"nodeAffinity": 1}, "pod tolerations/affinity"),
    ],
)
def test_an_affinity_kubernetes_would_not_read_is_refused(test_app: App, affinity: Any, message: str) -> None:
    import jobframe  # noqa: PLC0415
    from jobframe.errors import UsageError  # noqa: PLC0415

    with pytest.raises(UsageError, match=message):
        render_app(test_app, RenderOptions(pod=jobframe.Pod(affinity=affinity)), jobs=["Plain"])
