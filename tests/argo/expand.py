"""Run a rendered template the way Argo would, for the shapes ``render`` emits, with real processes.

No cluster here, so this does Argo's part by hand, for what the rendered manifests use and
nothing more: workflow arguments bound to the entrypoint's inputs (defaults otherwise, required
ones enforced); a DAG whose tasks run in ``depends`` order; ``withSequence`` expanded into items;
``{{inputs.parameters.x}}``, ``{{item}}``, ``{{tasks.X.outputs.parameters.y}}`` and ``{{= expr }}``
substituted, and ``{{workflow.uid}}`` (one per submission, shared by every pod and retry of it);
at most ``parallelism`` pods at once; each pod's container command run as a local
process (the image's entrypoint mapped to this checkout), its env built from ``value`` and
``secretKeyRef``, its volumes mapped to host directories (``/tmp`` a fresh one per pod, as an
``emptyDir``, a ``volumeClaimTemplates`` volume one directory per workflow, shared by its pods and
retries); ``retryStrategy`` limit and expression (for every container step, a resumable job's
``register-ledger`` too: its pod can be lost and retried like any other), and ``{{retries}}`` only
in a template that has one (elsewhere Argo leaves the tag as text); ``argo retry`` of a failed
workflow (:meth:`Workflow.retry`: the same uid and claim volumes, succeeded tasks and items kept
with their outputs, a failed step started again from attempt 0 with its whole limit); output
parameters read from ``valueFrom.path`` after exit (one trailing newline stripped, ``default``
when missing); the outputs of an expanded task aggregated as a JSON array of the succeeded
items' values, in item order. Anything else in a manifest is an error here, so a render change
cannot slip past.

Also as the controller does (argo-workflows v4.1.2, the functions named): a pod lost before its
main container ran (``Cluster.lost``) has no exit code, so ``lastRetry.exitCode`` is ``"-1"``,
its status ``Error`` and ``retryPolicy`` decides by that phase (``buildRetryStrategyLocalScope``,
``processNodeRetries``); aggregated outputs are a JSON array of the parsed values when every item
is a JSON object or array, else of strings (``aggregatedJSONValueList``); an output with a
``globalName`` becomes the workflow's output (``addParamToGlobalScope``); and when a pod's
arguments exceed 128 KiB as JSON, each single argument over 128 KiB reaches the process as
``@<tmp>/argo_arg_N.txt`` (``workflowpod.go`` and ``cmd/argoexec/commands/emissary.go``).
Fields only a cluster acts on (metrics, podGC, ttlStrategy, synchronization, pod placement) are
not emulated.

``python tests/argo/expand.py step FILE -p NAME=VALUE --secret SECRET/KEY=VALUE`` prints the
entrypoint container step's resolved command, arguments and environment as JSON (the container
test runs them inside the image).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from jobframe.argo.expressions import evaluate

REPO = Path(__file__).resolve().parents[2]
LOCAL_COMMANDS = {
    "/opt/venv/bin/jobframe": [sys.executable, "-m", "jobframe"],
    "/opt/venv/bin/jobframe-argo": [sys.executable, "-m", "jobframe.argo"],
    "/opt/venv/bin/python": [sys.executable],  # the register-ledger step: python -m jobframe.ledger
}
_SIMPLE = re.compile(r"\{\{\s*([A-Za-z0-9_.\-]+)\s*\}\}")
_EXPR = re.compile(r"\{\{=(.*?)\}\}", re.DOTALL)


class ExpandError(AssertionError):
    """The manifest uses something this expansion (and so ``render``) is not meant to emit."""


def substitute(text: str, scope: Mapping[str, str]) -> str:
    """Argo's tag substitution: ``{{= expr }}`` first, then simple tags; unknown tags are errors."""

    def expression(match: re.Match[str]) -> str:
        variables: dict[str, Any] = {}
        for key, value in scope.items():
            node = variables
            *parents, last = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        return str(evaluate(match.group(1), variables))

    def simple(match: re.Match[str]) -> str:
        if match.group(1) not in scope:
            raise ExpandError(f"unresolved {match.group(0)} (known: {sorted(scope)})")
        return scope[match.group(1)]

    return _SIMPLE.sub(simple, _EXPR.sub(expression, text))


@dataclass
class Pod:
    """One container run: what it was given and what came of it."""

    template: str
    item: str | None
    attempt: int
    command: list[str]
    args: list[str]
    env: dict[str, str]
    exit_code: int = -1
    stdout: str = ""
    stderr: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Cluster:
    """What Argo would be given: the submitted arguments, Secrets and the volumes' contents."""

    arguments: Mapping[str, str]
    secrets: Mapping[tuple[str, str], str]
    claims: Mapping[str, Path] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of every pod (what the cluster adds, e.g. a test's Braze URL)."""
    timeout: float = 300
    lost: set[tuple[str, str | None, int]] = field(default_factory=set)
    """Pods (template, item, attempt) deleted before their main container ran: exit code -1."""
    pods: list[Pod] = field(default_factory=list)
    before_pod: Callable[[Workflow, str, str | None, int], None] | None = None
    """Called before each pod (template, item, attempt) starts: what happens around the run
    between attempts (a test deletes the ledger volume's contents here)."""


class Workflow:
    """One submitted WorkflowTemplate (or CronWorkflow run), executed locally."""

    def __init__(self, document: Mapping[str, Any], cluster: Cluster) -> None:
        spec = document["spec"]
        self.spec = spec.get("workflowSpec", spec)
        self.templates = {t["name"]: t for t in self.spec["templates"]}
        self.cluster = cluster
        self.uid = str(uuid.uuid4())
        self.outputs: dict[str, str] = {}
        """The workflow's own outputs (``status.outputs``): outputs with a ``globalName``."""
        self.succeeded: dict[tuple[str, str, str | None], dict[str, str]] = {}
        """Outputs of each (DAG, task, item) that succeeded: what ``argo retry`` keeps."""
        self.claim_templates: dict[str, Path] = {}
        for claim in self.spec.get("volumeClaimTemplates") or []:
            claim_spec = claim["spec"]
            if set(claim_spec) - {"accessModes", "resources", "storageClassName"} or not claim_spec[
                "resources"
            ]["requests"].get("storage"):
                raise ExpandError(f"volumeClaimTemplates {claim}: not rendered")
            self.claim_templates[claim["metadata"]["name"]] = Path(tempfile.mkdtemp(prefix="claim-"))

    # -- parameters ----------------------------------------------------------------------------

    def workflow_parameters(self) -> dict[str, str]:
        declared = (self.spec.get("arguments") or {}).get("parameters") or []
        unknown = set(self.cluster.arguments) - {p["name"] for p in declared}
        if unknown:
            raise ExpandError(f"argo submit would refuse unknown parameters {sorted(unknown)}")
        values = {}
        for param in declared:
            if param["name"] in self.cluster.arguments:
                values[param["name"]] = self.cluster.arguments[param["name"]]
            elif "value" in param:
                values[param["name"]] = str(param["value"])
            else:
                raise ExpandError(f"parameter {param['name']!r} is required (no value)")
        return values

    @staticmethod
    def bind_inputs(template: Mapping[str, Any], given: Mapping[str, str]) -> dict[str, str]:
        bound = {}
        for param in (template.get("inputs") or {}).get("parameters") or []:
            name = param["name"]
            if name in given:
                bound[name] = given[name]
            elif "default" in param:
                bound[name] = str(param["default"])
            else:
                raise ExpandError(f"template {template['name']}: input {name!r} not given and has no default")
            if param.get("enum") and bound[name] not in param["enum"]:
                raise ExpandError(f"input {name}={bound[name]!r} is not one of {param['enum']}")
        return bound

    # -- running -------------------------------------------------------------------------------

    def run(self) -> dict[str, str]:
        """Run the entrypoint with the workflow's arguments; its output parameters."""
        entry = self.templates[self.spec["entrypoint"]]
        return self.run_template(entry, self.workflow_parameters(), item=None)

    def retry(self) -> dict[str, str]:
        """``argo retry`` of this failed workflow: run it again in place — the same workflow, so
        the same ``{{workflow.uid}}`` and claim-template volumes; succeeded tasks (and items of an
        expanded task) are kept with their outputs and not run again; a failed step's attempts are
        gone and it starts again from attempt 0, with its whole ``limit`` (``FormulateRetryWorkflow``
        in ``workflow/util/util.go`` resets its retry node)."""
        return self.run()

    def _once(self, key: tuple[str, str, str | None], run: Callable[[], Any]) -> Any:
        """``run`` unless ``key`` already succeeded (kept by ``argo retry``); a success is kept."""
        if key in self.succeeded:
            return self.succeeded[key]
        outputs = run()
        if outputs is not None:
            self.succeeded[key] = outputs
        return outputs

    def run_template(
        self, template: Mapping[str, Any], given: Mapping[str, str], item: str | None
    ) -> dict[str, str]:
        inputs = self.bind_inputs(template, given)
        if "dag" in template:
            return self.run_dag(template, inputs)
        if "container" in template:
            return self.run_container(template, inputs, item)
        raise ExpandError(f"template {template['name']}: only dag and container templates are rendered")

    def run_dag(self, template: Mapping[str, Any], inputs: Mapping[str, str]) -> dict[str, str]:
        scope = {f"inputs.parameters.{k}": v for k, v in inputs.items()}
        done: set[str] = set()
        tasks = {t["name"]: t for t in template["dag"]["tasks"]}
        parallelism = int(template.get("parallelism") or 1_000)
        while len(done) < len(tasks):
            ready = [t for n, t in tasks.items() if n not in done and set(self.depends(t)) <= done]
            if not ready:
                raise ExpandError(f"DAG {template['name']}: a dependency cycle or unknown task")
            for task in ready:
                scope.update(self.run_task(task, scope, parallelism, dag=template["name"]))
                done.add(task["name"])
        outputs = {}
        for param in (template.get("outputs") or {}).get("parameters") or []:
            outputs[param["name"]] = substitute(param["valueFrom"]["parameter"], scope)
        return outputs

    @staticmethod
    def depends(task: Mapping[str, Any]) -> list[str]:
        if "depends" in task:
            names = re.findall(r"[A-Za-z0-9_-]+", task["depends"])
            if any("." in part for part in task["depends"].split()):
                raise ExpandError(f"task {task['name']}: only plain task names in depends")
            return names
        return list(task.get("dependencies") or [])

    def run_task(
        self, task: Mapping[str, Any], scope: Mapping[str, str], parallelism: int, *, dag: str = ""
    ) -> dict[str, str]:
        template = self.templates[task["template"]]
        arguments = (task.get("arguments") or {}).get("parameters") or []
        sequence = task.get("withSequence")
        if sequence is None:
            given = {p["name"]: substitute(str(p["value"]), scope) for p in arguments}
            outputs = self._once(
                (dag, task["name"], None), lambda: self.run_template(template, given, item=None)
            )
            if outputs is None:
                raise ExpandError(f"task {task['name']} failed")
            return {f"tasks.{task['name']}.outputs.parameters.{k}": v for k, v in outputs.items()}
        if set(sequence) - {"count", "start"}:
            raise ExpandError(f"withSequence {sequence}: only count/start are rendered")
        count = int(substitute(str(sequence["count"]), scope))
        start = int(substitute(str(sequence.get("start", "0")), scope))
        items = [str(start + i) for i in range(count)]

        def one(item: str) -> dict[str, str]:
            local = {**scope, "item": item}
            given = {p["name"]: substitute(str(p["value"]), local) for p in arguments}
            return self._once(
                (dag, task["name"], item), lambda: self.run_template(template, given, item=item)
            )

        with ThreadPoolExecutor(max_workers=min(parallelism, max(count, 1))) as pool:
            results = list(pool.map(one, items))
        failed = [item for item, out in zip(items, results, strict=True) if out is None]
        if failed:
            last = [p for p in self.cluster.pods if p.template == template["name"] and p.exit_code][-1:]
            tail = (
                f"; last exit {last[0].exit_code}: {last[0].stdout[-1500:]}{last[0].stderr[-1500:]}"
                if last
                else ""
            )
            raise ExpandError(f"task {task['name']}: items {failed} failed{tail}")
        names = dict.fromkeys(k for out in results for k in out)
        return {
            f"tasks.{task['name']}.outputs.parameters.{name}": aggregated([out[name] for out in results])
            for name in names
        }

    def run_container(self, template: Mapping[str, Any], inputs: Mapping[str, str], item: str | None) -> Any:
        scope = {"workflow.uid": self.uid, **{f"inputs.parameters.{k}": v for k, v in inputs.items()}}
        strategy = template.get("retryStrategy")
        limit = int(strategy["limit"]) if strategy else 0
        for attempt in range(limit + 1):
            # {{retries}} exists only with a retryStrategy (executeTemplate): without one it is unresolved
            given = {**scope, "retries": str(attempt)} if strategy else scope
            pod = self.start_pod(template, given, item, attempt)
            if pod.exit_code == 0:
                return pod.outputs
            if not strategy or not self.retries(strategy, pod):
                return None
        return None

    @staticmethod
    def retries(strategy: Mapping[str, Any], pod: Pod) -> bool:
        if strategy.get("retryPolicy") != "Always" or "expression" not in strategy:
            raise ExpandError(f"retryStrategy {strategy}: render emits Always + expression")
        lost = pod.exit_code == LOST
        last = {
            "exitCode": str(pod.exit_code),
            "status": "Error" if lost else "Failed",  # Always retries both phases
            "duration": "1",
            "message": "pod deleted" if lost else "",
        }
        return bool(evaluate(strategy["expression"], {"lastRetry": last, "retries": str(pod.attempt)}))

    def mounts(self, template: Mapping[str, Any], tmp: Path) -> dict[str, Path]:
        volumes = {v["name"]: v for v in template.get("volumes") or []}
        mounts = {}
        for mount in template["container"].get("volumeMounts") or []:
            if mount["name"] in self.claim_templates and mount["name"] not in volumes:
                mounts[mount["mountPath"]] = self.claim_templates[mount["name"]]
                continue
            volume = volumes[mount["name"]]
            if "emptyDir" in volume:
                mounts[mount["mountPath"]] = tmp
            elif "persistentVolumeClaim" in volume:
                mounts[mount["mountPath"]] = self.cluster.claims[volume["persistentVolumeClaim"]["claimName"]]
            elif "secret" in volume:
                directory = tmp.parent / f"{tmp.name}-secret"
                directory.mkdir()
                for (secret, key), value in self.cluster.secrets.items():
                    if secret == volume["secret"]["secretName"]:
                        (directory / key).write_text(value)
                mounts[mount["mountPath"]] = directory
            else:
                raise ExpandError(f"volume {volume}: not rendered")
        return mounts

    @staticmethod
    def local_path(text: str, mounts: Mapping[str, Path]) -> str:
        """A container path in an argument (``/tmp/x``, ``path=/data/y``) as the host directory."""
        if not mounts:
            return text
        longest_first = sorted(mounts, key=len, reverse=True)
        pattern = rf"(^|=)({'|'.join(map(re.escape, longest_first))})(?=/|$)"
        return re.sub(pattern, lambda m: m.group(1) + str(mounts[m.group(2)]), text)  # one pass

    def env_of(self, container: Mapping[str, Any]) -> dict[str, str]:
        env = {}
        for var in container.get("env") or []:
            if "value" in var:
                env[var["name"]] = str(var["value"])
            else:
                ref = var["valueFrom"]["secretKeyRef"]
                found = self.cluster.secrets.get((ref["name"], ref["key"]))
                if found is not None:
                    env[var["name"]] = found
                elif not ref.get("optional"):  # the kubelet would not start the container
                    raise ExpandError(f"Secret {ref['name']} has no key {ref['key']} (not optional)")
        return env

    def start_pod(
        self, template: Mapping[str, Any], scope: Mapping[str, str], item: str | None, attempt: int
    ) -> Pod:
        container = template["container"]
        if self.cluster.before_pod is not None:
            self.cluster.before_pod(self, template["name"], item, attempt)
        if (template["name"], item, attempt) in self.cluster.lost:
            pod = Pod(template["name"], item, attempt, [], [], {}, exit_code=LOST)
            self.cluster.pods.append(pod)
            return pod
        with tempfile.TemporaryDirectory(prefix="pod-") as tmp_name:
            tmp = Path(tmp_name) / "tmp"
            tmp.mkdir()
            mounts = self.mounts(template, tmp)
            command = [substitute(str(c), scope) for c in container["command"]]
            args = [substitute(str(a), scope) for a in container.get("args") or []]
            env = self.env_of(container)
            pod = Pod(template["name"], item, attempt, command, args, env)
            local = LOCAL_COMMANDS[command[0]] + command[1:]
            process_env = {
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("JOBFRAME_", "BRAZE__", "HTTP__", "ARGO_"))
            }
            from_secrets = {v["name"] for v in container.get("env") or [] if "valueFrom" in v}
            args = offload_args(args, tmp, before=len(command) - 1)
            local_env = {  # the manifest's paths into volumes; a Secret's values as they are
                k: v if k in from_secrets else self.local_path(v, mounts) for k, v in env.items()
            }
            process_env.update({"PYTHONPATH": str(REPO), **self.cluster.env, **local_env})
            proc = subprocess.run(
                local + [a if a.startswith("@") else self.local_path(a, mounts) for a in args],
                cwd=REPO,
                env=process_env,
                capture_output=True,
                text=True,
                timeout=self.cluster.timeout,
                check=False,
            )
            pod.exit_code, pod.stdout, pod.stderr = proc.returncode, proc.stdout, proc.stderr
            for param in (template.get("outputs") or {}).get("parameters") or []:
                source = param["valueFrom"]
                path = Path(self.local_path(source["path"], mounts))
                if path.is_file():
                    text = path.read_text()
                    pod.outputs[param["name"]] = text[:-1] if text.endswith("\n") else text
                elif "default" in source:
                    pod.outputs[param["name"]] = str(source["default"])
                else:
                    raise ExpandError(
                        f"output {param['name']}: no file and no default (the step would error)"
                    )
        self.cluster.pods.append(pod)
        if pod.exit_code == 0:
            for param in (template.get("outputs") or {}).get("parameters") or []:
                if param.get("globalName"):
                    self.outputs[param["globalName"]] = pod.outputs[param["name"]]
        return pod


LOST = -1
"""The exit code Argo reports for a pod deleted before (or while) its main container ran."""
ARG_LIMIT = 131072
"""``common.MaxEnvVarLen``: 128 KiB, for the arguments as JSON and for one argument."""


def offload_args(args: list[str], tmp: Path, *, before: int = 0) -> list[str]:
    """What the emissary hands the process when the arguments are too long for exec: each one
    over the limit as ``@FILE``, ``N`` its index after the command's first word (``before``
    words of the command come first)."""
    if len(json.dumps(args)) <= ARG_LIMIT:
        return args
    out = []
    for index, arg in enumerate(args, start=before):
        if len(arg.encode()) > ARG_LIMIT:
            path = tmp / f"argo_arg_{index}.txt"
            path.write_text(arg)
            out.append(f"@{path}")
        else:
            out.append(arg)
    return out


def aggregated(values: list[str]) -> str:
    """Argo's aggregated output: parsed values when every one is a JSON object or array, else strings."""
    parsed = []
    for value in values:
        try:
            item = json.loads(value)
        except ValueError:
            return json.dumps(values)
        if not isinstance(item, dict | list):
            return json.dumps(values)
        parsed.append(item)
    return json.dumps(parsed)


def step_of(
    document: Mapping[str, Any], arguments: Mapping[str, str], secrets: Mapping[tuple[str, str], str]
) -> dict[str, Any]:
    """The entrypoint container's resolved command, arguments, environment and output paths."""
    workflow = Workflow(document, Cluster(arguments, secrets))
    entry = workflow.templates[workflow.spec["entrypoint"]]
    if "container" not in entry:
        raise ExpandError("the entrypoint is not a container template")
    scope = {
        "workflow.uid": workflow.uid,
        **{
            f"inputs.parameters.{k}": v
            for k, v in workflow.bind_inputs(entry, workflow.workflow_parameters()).items()
        },
    }
    container = entry["container"]
    return {
        "command": [substitute(str(c), scope) for c in container["command"]],
        "args": [substitute(str(a), scope) for a in container.get("args") or []],
        "env": workflow.env_of(container),
        "outputs": {
            p["name"]: p["valueFrom"]["path"] for p in (entry.get("outputs") or {}).get("parameters") or []
        },
        "user": (entry.get("securityContext") or {}).get("runAsUser"),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Resolve a rendered step as Argo would.")
    parser.add_argument("what", choices=["step"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--document", type=int, default=0)
    parser.add_argument("-p", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--secret", action="append", default=[], metavar="SECRET/KEY=VALUE")
    args = parser.parse_args(argv)
    document = list(yaml.safe_load_all(args.file.read_text()))[args.document]
    arguments = dict(p.split("=", 1) for p in args.p)
    secrets = {}
    for spec in args.secret:
        ref, _, value = spec.partition("=")
        name, _, key = ref.partition("/")
        secrets[(name, key)] = value
    print(json.dumps(step_of(document, arguments, secrets)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
