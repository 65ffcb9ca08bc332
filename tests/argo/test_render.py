"""``jobframe-argo render``: every document valid against its kind's schema (Draft 2020-12), and
— since the schema accepts unknown and misspelled fields — the fields that carry the promise
asserted one by one, read from the YAML as Argo would read it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from dependency_injector import containers, providers
from pydantic import BaseModel, SecretStr

import jobframe
from jobframe._app import App, load_app
from jobframe._app.deployment import Deployment
from jobframe.argo.cli import main
from jobframe.argo.files import RenderError, check_directory, render_app
from jobframe.argo.plan import REGISTER_STEP, RenderOptions, k8s_name, secret_settings
from jobframe.argo.retries import retried_codes
from jobframe.deadline import Budget
from tests.argo.conftest import run_argo
from tests.conftest import REPO

TEST_APP = "tests.argo.apps.argoapp:ArgoApp"
SCHEMA = json.loads((REPO / "jobframe/argo/schema/argo-workflows.schema.json").read_text())


def _documents(app: App, options: RenderOptions | None = None) -> dict[str, list[dict[str, Any]]]:
    files = render_app(app, options or RenderOptions(app="x"))
    return {name: list(yaml.safe_load_all(text)) for name, text in files.items()}


def _by_job(app: App, options: RenderOptions | None = None) -> dict[str, list[dict[str, Any]]]:
    return {docs[0]["metadata"]["labels"]["jobframe/job"]: docs for docs in _documents(app, options).values()}


@pytest.fixture(scope="module")
def default_app() -> App:
    return load_app("jobs:MainContainer")


@pytest.fixture(scope="module")
def test_app() -> App:
    return load_app(TEST_APP)


def _validate(document: dict[str, Any]) -> None:
    kind = document["kind"]
    schema = {
        "$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}",
        "definitions": SCHEMA["definitions"],
    }
    jsonschema.Draft202012Validator(schema).validate(document)


def _spec(document: dict[str, Any]) -> dict[str, Any]:
    return document["spec"].get("workflowSpec", document["spec"])


def _template(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in _spec(document)["templates"] if t["name"] == name)


def _arg(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


def _params(args: list[str]) -> dict[str, str]:
    pairs = [args[i + 1] for i, a in enumerate(args) if a == "--param"]
    return dict(p.split("=", 1) for p in pairs)


@pytest.mark.parametrize("app_ref", ["jobs:MainContainer", TEST_APP])
def test_every_document_validates_against_its_kind(app_ref: str) -> None:
    app = load_app(app_ref)
    documents = [d for docs in _documents(app).values() for d in docs]
    assert {d["kind"] for d in documents} == {"WorkflowTemplate", "CronWorkflow"}
    for document in documents:
        _validate(document)


def test_the_schema_check_is_not_a_rubber_stamp() -> None:
    # Hera's own integer IntOrString would fail: what the string quirk is about.
    bad = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "WorkflowTemplate",
        "metadata": {"name": "x"},
        "spec": {"templates": [{"name": "t", "activeDeadlineSeconds": 600}]},
    }
    with pytest.raises(jsonschema.ValidationError, match="not of type 'string'"):
        _validate(bad)


def _check_step(template: dict[str, Any], spec_of_job: Any, deployment: Deployment) -> None:
    """What every rendered jobframe step must mean, from the job's own declaration."""
    container = template["container"]
    args = container["args"]
    assert container["command"] == ["/opt/venv/bin/jobframe"]
    assert _arg(args, "--job-name") == spec_of_job.name
    assert _arg(args, "--env") == "production"
    # the job is told its timeout; the kubelet's deadline adds what the pod does before main runs
    assert _arg(args, "--timeout") == str(math.ceil(deployment.timeout))
    pod_start = int(template["activeDeadlineSeconds"]) - math.ceil(deployment.timeout)
    assert pod_start == RenderOptions().pod_start >= 60
    # the result: written by --output, read back with a default for a failed attempt; the
    # workflow's own output too (globalName), except a shard's (the combine step's is)
    (result,) = template["outputs"]["parameters"]
    assert result["name"] == "result"
    assert result["valueFrom"] == {"path": _arg(args, "--output"), "default": "null"}
    assert result.get("globalName") == (None if "--shard" in args else "result")
    # the grace period covers the teardown of the budget the step's own flags give
    budget_args = [a for a in deployment.args]
    shutdown = float(_arg(budget_args, "--shutdown-timeout")) if "--shutdown-timeout" in budget_args else 5.0
    grace = json.loads(template["podSpecPatch"])["terminationGracePeriodSeconds"]
    assert grace >= 2.0 + shutdown + 2.0  # cancel grace + teardown + exit grace (the CLI's defaults)
    assert grace == math.ceil(Budget(shutdown_timeout=shutdown).stop_grace(2.0))
    # retries: exactly the declared codes, never 1, 2 or 78; none for a job that must not repeat
    retry = deployment.retry
    if retry.limit == 0:
        assert "retryStrategy" not in template
    else:
        strategy = template["retryStrategy"]
        assert strategy["limit"] == str(retry.limit)
        # a resumable step also retries a pod lost before/while main ran (exit code "-1")
        assert retried_codes(strategy).codes == {*retry.on, *((-1,) if deployment.resumable else ())}
        assert strategy["backoff"]["duration"] == f"{math.ceil(retry.backoff)}s"
        assert strategy["backoff"]["factor"] == str(retry.factor)
    # non-root, as the image's user; nothing writable but /tmp
    pod, box = template["securityContext"], container["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001 and pod["runAsGroup"] == 10001
    assert box["runAsUser"] == 10001 and box["readOnlyRootFilesystem"] is True
    assert box["allowPrivilegeEscalation"] is False and box["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in template["volumes"]}
    assert volumes[mounts["/tmp"]] == {"name": "tmp", "emptyDir": {}}
    for volume in deployment.volumes:
        claim = volumes[volume.claim]["persistentVolumeClaim"]
        assert claim == {"claimName": volume.claim, "readOnly": volume.read_only}
        assert mounts[volume.mount_path] == volume.claim
    resources = container["resources"]
    assert resources["requests"] == {"cpu": deployment.resources.cpu, "memory": deployment.resources.memory}
    assert resources["limits"] == {"memory": deployment.resources.memory}
    env = {e["name"]: e for e in container.get("env") or []}
    for name, value in deployment.env.items():
        assert env[name] == {"name": name, "value": value}


def _check_inputs(template: dict[str, Any], model: type[BaseModel] | None) -> None:
    """One input per parameter; a default that the job's model reads back as its own default."""
    inputs = {p["name"]: p for p in (template.get("inputs") or {}).get("parameters") or []}
    args = template["container"]["args"]
    passed = _params(args)
    if model is None:
        assert not passed
        return
    for name, info in model.model_fields.items():
        key = info.alias or name
        param = inputs[key]
        if info.is_required():
            assert "default" not in param
            assert passed[key] == f"{{{{inputs.parameters.{key}}}}}"
            continue
        default = info.get_default(call_default_factory=True)
        if default is None:
            assert param["default"] == ""
            tag = next(a for a in args if a.startswith("{{=") and f"inputs.parameters.{key}" in a)
            assert f"'--param={key}='" in tag
            continue
        assert passed[key] == f"{{{{inputs.parameters.{key}}}}}"
        raw = param["default"]
        value: Any = json.loads(raw) if raw[:1] in "[{" else raw
        assert getattr(model.model_validate({**_required_fill(model), key: value}), name) == default


def _required_fill(model: type[BaseModel]) -> dict[str, Any]:
    # a readable file's path: fills text and path parameters alike, an `InputFile` too
    return {(i.alias or n): __file__ for n, i in model.model_fields.items() if i.is_required()}


@pytest.mark.parametrize("app_ref", ["jobs:MainContainer", TEST_APP])
def test_each_step_means_what_its_job_declares(app_ref: str) -> None:
    app = load_app(app_ref)
    rendered = _by_job(app)
    assert set(rendered) == set(app.jobs)
    for name, documents in rendered.items():
        spec = app.jobs[name].spec
        single = documents[0]
        assert single["metadata"]["labels"] == {
            "app.kubernetes.io/managed-by": "jobframe",
            "jobframe/job": name,
        }
        # a resumable job's entrypoint registers its run key, then runs the job's step
        entry = _template(single, k8s_name(name))
        assert _spec(single)["entrypoint"] == ("run" if spec.deployment.resumable else k8s_name(name))
        _check_step(entry, spec, spec.deployment)
        _check_inputs(entry, spec.params_model)
        arguments = {p["name"]: p for p in (_spec(single).get("arguments") or {}).get("parameters") or []}
        inputs = {p["name"]: p for p in (entry.get("inputs") or {}).get("parameters") or []}
        assert set(arguments) == set(inputs)
        for key, param in inputs.items():
            assert arguments[key].get("value") == param.get("default")


def test_scheduled_jobs_are_cron_workflows(test_app: App, default_app: App) -> None:
    nightly = _by_job(test_app)["Nightly"]
    assert len(nightly) == 1
    cron = nightly[0]
    assert cron["kind"] == "CronWorkflow"
    assert cron["spec"]["schedules"] == ["30 1 * * *"]  # v4's list form
    assert "schedule" not in cron["spec"]
    assert cron["spec"]["timezone"] == "Europe/Paris"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    rendered = _by_job(default_app)
    (stats,) = rendered.pop("CollectCampaignStats")
    assert stats["kind"] == "CronWorkflow" and stats["spec"]["schedules"] == ["0 6 * * *"]
    assert {d["kind"] for docs in rendered.values() for d in docs} == {"WorkflowTemplate"}


def test_secrets_come_from_the_kubernetes_secret(test_app: App) -> None:
    entry = _template(_by_job(test_app)["Plain"][0], "plain")
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in entry["container"]["env"]}
    assert env == {  # both settings have defaults: optional keys
        "API_KEY": {"name": "jobframe", "key": "api_key", "optional": True},
        "VAULT__TOKEN": {"name": "jobframe", "key": "vault__token", "optional": True},
    }
    assert not [m for m in entry["container"]["volumeMounts"] if m["name"] == "secrets"]


def test_a_required_secret_setting_is_a_required_secret_key() -> None:
    class Nested(BaseModel):
        password: SecretStr
        token: SecretStr | None = None

    class RequiredSettings(jobframe.Settings):
        key: SecretStr
        db: Nested

    class Main(containers.DeclarativeContainer):
        settings = providers.Dependency(instance_of=RequiredSettings)

    refs = secret_settings(App.from_container(Main))
    assert [(r.env, r.key, r.optional) for r in refs] == [
        ("KEY", "key", False),
        ("DB__PASSWORD", "db__password", False),
        ("DB__TOKEN", "db__token", True),
    ]


def test_secrets_as_a_mounted_secrets_directory(test_app: App) -> None:
    options = RenderOptions(app="x", secret="acme-secrets", secrets_as="dir")
    entry = _template(_by_job(test_app, options)["Plain"][0], "plain")
    args = entry["container"]["args"]
    directory = _arg(args, "--secrets-dir")
    mount = next(m for m in entry["container"]["volumeMounts"] if m["mountPath"] == directory)
    assert mount["readOnly"] is True
    volume = next(v for v in entry["volumes"] if v["name"] == mount["name"])
    assert volume["secret"] == {"secretName": "acme-secrets"}
    assert "env" not in entry["container"]


def test_the_default_app_reads_its_secret_settings_from_the_secret(default_app: App) -> None:
    # every SecretStr setting (the Braze key, the ledger's PostgreSQL DSN), each optional since the
    # settings have defaults: a Secret without a key starts the pod, and jobframe says what is missing
    wanted = [
        {
            "name": f"{key.upper()}",
            "valueFrom": {"secretKeyRef": {"name": "jobframe", "key": key, "optional": True}},
        }
        for key in ("braze__api_key", "ledger__dsn")
    ]
    for documents in _by_job(default_app).values():
        for document in documents:
            for template in _spec(document)["templates"]:
                if template.get("container", {}).get("command") == ["/opt/venv/bin/jobframe"]:
                    assert [e for e in template["container"]["env"] if "valueFrom" in e] == wanted


def test_the_fan_out_template(test_app: App) -> None:
    spec = test_app.jobs["Sharded"].spec
    single, fanout = _by_job(test_app)["Sharded"]
    assert single["metadata"]["name"] == "sharded" and fanout["metadata"]["name"] == "sharded-fanout"
    dag_template = _template(fanout, _spec(fanout)["entrypoint"])
    assert dag_template["parallelism"] == 3  # an integer field
    arguments = {p["name"]: p.get("value") for p in _spec(fanout)["arguments"]["parameters"]}
    assert arguments == {"path": None, "shards": "8"}
    tasks = {t["name"]: t for t in dag_template["dag"]["tasks"]}
    shard_task, combine_task = tasks["shard"], tasks["combine"]
    assert shard_task["withSequence"] == {"count": "{{inputs.parameters.shards}}"}
    passed = {p["name"]: p["value"] for p in shard_task["arguments"]["parameters"]}
    assert passed == {
        "path": "{{inputs.parameters.path}}",
        "shard": "{{item}}",
        "shards": "{{inputs.parameters.shards}}",
    }
    assert combine_task["depends"] == "shard"
    results = {p["name"]: p["value"] for p in combine_task["arguments"]["parameters"]}
    assert results["results"] == "{{tasks.shard.outputs.parameters.result}}"
    assert dag_template["outputs"]["parameters"] == [
        {"name": "result", "valueFrom": {"parameter": "{{tasks.combine.outputs.parameters.result}}"}}
    ]
    shard = _template(fanout, shard_task["template"])
    _check_step(shard, spec, spec.deployment)  # each shard has its own deadline and retries
    assert (
        _arg(shard["container"]["args"], "--shard")
        == "{{inputs.parameters.shard}}/{{inputs.parameters.shards}}"
    )
    combine = _template(fanout, combine_task["template"])
    assert combine["container"]["command"] == ["/opt/venv/bin/jobframe-argo", "combine"]
    args = combine["container"]["args"]
    assert _arg(args, "--results") == "{{inputs.parameters.results}}"
    assert combine["outputs"]["parameters"][0]["valueFrom"]["path"] == _arg(args, "--output")
    assert combine["securityContext"]["runAsNonRoot"] is True
    assert "--shard" not in _template(single, "sharded")["container"]["args"]  # one whole run


def _register_matches_the_job(register: dict[str, Any], job: dict[str, Any], *, keys: list[str]) -> None:
    """The register step runs in the job's store with the job's key(s), and cannot fail for long."""
    container = register["container"]
    assert container["command"] == ["/opt/venv/bin/python", "-m", "jobframe.ledger", "register"]
    args = container["args"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "--run-key"] == keys
    assert container["image"] == job["container"]["image"]
    ledger_env = [e for e in job["container"].get("env") or [] if e["name"].startswith("LEDGER__")]
    assert container.get("env") == ledger_env  # its store's settings and Secret key, nothing else
    job_mounts = {m["mountPath"]: m for m in job["container"]["volumeMounts"]}
    ledger_mounts = [m for m in container["volumeMounts"] if m["mountPath"] != "/tmp"]
    assert all(job_mounts[m["mountPath"]] == m for m in ledger_mounts)
    assert [m["name"] for m in ledger_mounts] == [
        m["name"] for m in job["container"]["volumeMounts"] if m["name"] == "jobframe-ledger"
    ]
    strategy = register["retryStrategy"]
    assert retried_codes(strategy).codes == {-1, 75} and int(strategy["limit"]) >= 3
    assert container["resources"]["limits"] == {"memory": "128Mi"}
    assert register["securityContext"]["runAsNonRoot"] is True


def test_a_resumable_job_registers_its_run_key_before_its_step(default_app: App) -> None:
    for name, documents in _by_job(default_app).items():
        spec = default_app.jobs[name].spec
        single = documents[0]
        templates = {t["name"] for t in _spec(single)["templates"]}
        if not spec.deployment.resumable:
            assert REGISTER_STEP not in templates
            continue
        job = _template(single, k8s_name(name))
        run = _template(single, "run")
        tasks = {t["name"]: t for t in run["dag"]["tasks"]}
        assert tasks[k8s_name(name)]["depends"] == REGISTER_STEP and "depends" not in tasks[REGISTER_STEP]
        assert run["outputs"]["parameters"][0]["valueFrom"]["parameter"] == (
            f"{{{{tasks.{k8s_name(name)}.outputs.parameters.result}}}}"
        )
        assert _arg(job["container"]["args"], "--retry-number") == "{{retries}}"
        # registered before any attempt: an attempt that finds no record of its key refuses,
        # whatever its retry number (argo retry restarts the step at 0)
        assert "--registered" in job["container"]["args"]
        _register_matches_the_job(
            _template(single, REGISTER_STEP), job, keys=[_arg(job["container"]["args"], "--run-key")]
        )
        if len(documents) == 2:  # the fan-out registers every shard's key in one step
            fanout = documents[1]
            dag = _template(fanout, "fanout")
            tasks = {t["name"]: t for t in dag["dag"]["tasks"]}
            assert tasks["shard"]["depends"] == REGISTER_STEP
            shard = _template(fanout, "shard")
            assert (
                _arg(shard["container"]["args"], "--run-key")
                == "{{workflow.uid}}-{{inputs.parameters.shard}}"
            )
            assert "--registered" in shard["container"]["args"]  # each shard's own key
            register = _template(fanout, REGISTER_STEP)
            _register_matches_the_job(register, shard, keys=["{{workflow.uid}}"])
            assert _arg(register["container"]["args"], "--shards") == "{{inputs.parameters.shards}}"


def test_only_shardable_jobs_get_a_fan_out(default_app: App) -> None:
    counts = {name: len(docs) for name, docs in _by_job(default_app).items()}
    assert counts == {
        "CollectCampaignStats": 1,
        "SendPushFromFile": 2,
        "Sleep": 1,
        "SomeJob": 1,
        "UpdateUserAttributes": 2,
    }


def test_render_options_reach_every_document(test_app: App) -> None:
    options = RenderOptions(
        app="x",
        image="registry.invalid/acme:1.2",
        namespace="batch",
        service_account="runner",
        prefix="acme-",
    )
    for documents in _by_job(test_app, options).values():
        for document in documents:
            assert document["metadata"]["name"].startswith("acme-")
            assert document["metadata"]["namespace"] == "batch"
            assert _spec(document)["serviceAccountName"] == "runner"
            assert {t["container"]["image"] for t in _spec(document)["templates"] if "container" in t} == {
                "registry.invalid/acme:1.2"
            }


def test_deploy_is_the_fresh_render_of_the_default_app(default_app: App) -> None:
    files = render_app(default_app, RenderOptions())
    assert check_directory(REPO / "deploy", files) == []
    assert sorted(p.name for p in (REPO / "deploy").glob("*.yaml")) == sorted(files)


def test_check_names_missing_stale_and_orphaned_files(default_app: App, tmp_path: Path, capsys: Any) -> None:
    assert main(["render", "--out", str(tmp_path)]) == 0
    assert main(["render", "--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "sleep.yaml").write_text((tmp_path / "sleep.yaml").read_text().replace("'3600'", "'60'"))
    (tmp_path / "some-job.yaml").unlink()
    (tmp_path / "gone.yaml").write_text(
        "# Rendered by `jobframe-argo render --app jobs:MainContainer` from job Gone\n"
    )
    (tmp_path / "hand-written.yaml").write_text("kind: ConfigMap\n")  # not ours: left alone
    capsys.readouterr()
    assert main(["render", "--out", str(tmp_path), "--check"]) == 1
    err = capsys.readouterr().err
    assert (
        "sleep.yaml: stale" in err
        and "some-job.yaml: missing" in err
        and "gone.yaml: rendered for a job" in err
    )
    assert "hand-written" not in err and "jobframe-argo render --app jobs:MainContainer --out" in err


def test_stdout_is_the_files_in_order(default_app: App, capsys: Any) -> None:
    assert main(["render"]) == 0
    out = capsys.readouterr().out
    assert out == "---\n".join(render_app(default_app, RenderOptions()).values())
    names = [d["metadata"]["name"] for d in yaml.safe_load_all(out)]
    assert names[0] == "collect-campaign-stats" and "update-user-attributes-fanout" in names


def test_render_errors_are_one_line_with_exit_2(capsys: Any) -> None:
    assert main(["render", "--job", "SomeJb"]) == 2
    assert "did you mean 'SomeJob'" in capsys.readouterr().err
    assert main(["render", "--app", "nowhere:App"]) == 2
    assert main(["render", "--check"]) == 2


def test_a_profile_the_app_does_not_have_is_refused_before_any_manifest(tmp_path: Path, capsys: Any) -> None:
    # every pod would exit 78 ("no profile 'prodution'"): the render refuses it, naming those there are
    assert main(["render", "--profile", "prodution", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "--profile 'prodution'" in err and "config/prodution.yaml" in err
    assert "local, production, test" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "staging.yaml").write_text("{}\n")
    assert main(["render", "--profile", "staging", "--config-dir", str(profiles)]) == 0
    assert "--env" in capsys.readouterr().out
    assert main(["render", "--profile", "production", "--config-dir", str(profiles)]) == 2
    assert "known: staging" in capsys.readouterr().err
    assert main(["render", "--profile", "staging", "--config-dir", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_without_the_profiles_at_hand_any_profile_renders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    # rendered away from the app's config/ (the image has it, this directory does not)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))
    assert main(["render", "--profile", "anything", "--job", "SomeJob"]) == 0
    assert "anything" in capsys.readouterr().out


@pytest.mark.process
def test_a_scheduled_job_needs_defaults_for_every_parameter(tmp_path: Path) -> None:
    app = tmp_path / "cronapp.py"
    app.write_text(
        "from dependency_injector import containers, providers\n"
        "from pydantic import BaseModel\nimport jobframe\n"
        "class P(BaseModel):\n    who: str\n"
        "@jobframe.job(schedule='@daily')\nclass Cron:\n    def execute(self, params: P) -> None: ...\n"
        "class App(containers.DeclarativeContainer):\n    cron = providers.Factory(Cron)\n"
    )
    proc = run_argo("render", "--app", "cronapp:App", cwd=tmp_path)
    assert proc.returncode == 2
    assert "job Cron has a schedule but parameter who without a default" in proc.stderr
    assert "Traceback" not in proc.stderr


def _app_with(tmp_path: Path, decorator: str) -> App:
    name = f"app_{tmp_path.name}"  # one module per test: imports are cached by name
    module = tmp_path / f"{name}.py"
    module.write_text(
        "from dependency_injector import containers, providers\nimport jobframe\n"
        f"@jobframe.job({decorator})\nclass Bounded:\n    def execute(self) -> None: ...\n"
        "class App(containers.DeclarativeContainer):\n    bounded = providers.Factory(Bounded)\n"
    )
    return load_app(f"{name}:App", search_path=tmp_path)


def test_a_max_duration_that_holds_every_attempt_is_rendered(tmp_path: Path) -> None:
    # 2 retries of pods of 600 + 120 s (the pod's start is on the kubelet's clock), waits 10 and
    # 20 s: the last may start at 1470 s and needs 15 s
    app = _app_with(tmp_path, "timeout=600, retry=jobframe.Retry(limit=2, backoff=10, max_duration=1485)")
    (document,) = _by_job(app)["Bounded"]
    backoff = _template(document, "bounded")["retryStrategy"]["backoff"]
    assert backoff == {"duration": "10s", "factor": "2", "cap": "600s", "maxDuration": "1485s"}


def test_a_max_duration_that_lets_a_retry_start_short_is_refused(tmp_path: Path) -> None:
    app = _app_with(tmp_path, "timeout=600, retry=jobframe.Retry(limit=2, backoff=10, max_duration=1484)")
    with pytest.raises(RenderError, match=r"retry 2 can start with only 14 s left of maxDuration 1484 s"):
        render_app(app, RenderOptions())
