"""Lint on manifests written the way teams write them by hand: several per class of fault that a
controller turns into lost data, a dead step or a retry that cannot work — each found, at its path,
with a fix — and valid manifests (``matches``, Sprig, ``asInt(lastRetry.duration)``, per-retry
memory, a shell that only execs jobframe) clean. What lint cannot tell is a note, not a fault; a
``jobframe/lint-ignore`` annotation silences a finding for its manifest only.

Each manifest is one of two hand-written bases (a morning stats job; a sharded attribute update
with its combine step) with one realistic edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jobframe.argo.cli import main

APP = "tests.argo.apps.lintapp:LintApp"

SINGLE = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: morning-stats
spec:
  entrypoint: stats
  templates:
    - name: stats
      activeDeadlineSeconds: "1920"
      retryStrategy:
        limit: "3"
        retryPolicy: Always
        expression: lastRetry.exitCode in ["75", "124", "137", "143"]
        backoff: {duration: 30s, factor: "2", cap: 10m}
      podSpecPatch: '{"terminationGracePeriodSeconds": 15}'
      container:
        image: registry.invalid/acme/jobs:2.3
        command: [/opt/venv/bin/jobframe]
        args: [--job-name, CollectCampaignStats, --env, production, --timeout, "1800",
               --output, /tmp/result.json, --param, campaigns=20]
        resources: {requests: {cpu: 100m, memory: 256Mi}, limits: {memory: 256Mi}}
      outputs:
        parameters:
          - name: result
            globalName: result
            valueFrom: {path: /tmp/result.json, default: "null"}
"""

FANOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: attributes-fanout
spec:
  entrypoint: fanout
  arguments:
    parameters:
      - {name: shards, value: "6"}
  templates:
    - name: fanout
      inputs: {parameters: [{name: shards}]}
      dag:
        tasks:
          - name: shard
            template: update
            withSequence: {count: "{{inputs.parameters.shards}}"}
            arguments:
              parameters:
                - {name: index, value: "{{item}}"}
                - {name: total, value: "{{inputs.parameters.shards}}"}
          - name: combine
            depends: shard
            template: combine
            arguments:
              parameters:
                - {name: n, value: "{{inputs.parameters.shards}}"}
                - {name: results, value: "{{tasks.shard.outputs.parameters.result}}"}
    - name: update
      inputs: {parameters: [{name: index}, {name: total}]}
      activeDeadlineSeconds: "3720"
      retryStrategy:
        limit: "3"
        retryPolicy: Always
        expression: lastRetry.exitCode in ["-1", "75", "124", "137", "143"]
      podSpecPatch: '{"terminationGracePeriodSeconds": 15}'
      container:
        image: registry.invalid/acme/jobs:2.3
        command: [/opt/venv/bin/jobframe]
        args: [--job-name, UpdateUserAttributes, --env, production, --timeout, "3600",
               --shard, "{{inputs.parameters.index}}/{{inputs.parameters.total}}",
               --run-key, "{{workflow.uid}}-{{inputs.parameters.index}}",
               --output, /tmp/result.json, --param, path=/data/users.jsonl]
        env: [{name: LEDGER__STORE, value: postgres}]
        resources: {requests: {memory: 256Mi}, limits: {memory: 512Mi}}
      outputs:
        parameters:
          - name: result
            valueFrom: {path: /tmp/result.json, default: "null"}
    - name: combine
      inputs: {parameters: [{name: n}, {name: results}]}
      container:
        image: registry.invalid/acme/jobs:2.3
        command: [/opt/venv/bin/jobframe-argo, combine]
        args: [--shards, "{{inputs.parameters.n}}", --results, "{{inputs.parameters.results}}",
               --output, /tmp/result.json]
      outputs:
        parameters:
          - name: result
            globalName: result
            valueFrom: {path: /tmp/result.json}
"""

STEPS = """\
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: attributes-
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - name: shard
            template: update
            withItems: [0, 1, 2]
            arguments:
              parameters: [{name: i, value: "{{item}}"}]
    - name: update
      inputs: {parameters: [{name: i}]}
      activeDeadlineSeconds: "3720"
      retryStrategy:
        limit: "2"
        expression: lastRetry.exitCode in ["-1", "75", "124", "137", "143"]
      podSpecPatch: '{"terminationGracePeriodSeconds": 15}'
      container:
        image: registry.invalid/acme/jobs:2.3
        command: [/opt/venv/bin/jobframe]
        args: [--job-name, UpdateUserAttributes, --timeout, "3600", --shard, "{{inputs.parameters.i}}/3",
               --run-key, "{{workflow.uid}}-{{inputs.parameters.i}}", --param, path=/data/users.jsonl]
        env: [{name: LEDGER__STORE, value: postgres}]
"""

T0, T1 = "spec.templates[0]", "spec.templates[1]"
FANOUT_TASK = f"{T0}.dag.tasks[0]"
UPDATE_ARGS = f"{T1}.container.args"
RWO_CLAIM = """\
  volumeClaimTemplates:
    - metadata: {name: ledger}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
  templates:"""
RWO_MOUNT = """        env: [{name: LEDGER__PATH, value: /ledger/l.sqlite3}]
        volumeMounts: [{name: ledger, mountPath: /ledger}]"""

STATS_COMMAND = """command: [/opt/venv/bin/jobframe]
        args: [--job-name, CollectCampaignStats, --env, production, --timeout, "1800",
               --output, /tmp/result.json, --param, campaigns=20]"""
GRACE = '{"terminationGracePeriodSeconds": 15}'
DEADLINE = '      activeDeadlineSeconds: "1920"\n'
MAIN = '    - name: main\n      container: {image: registry.invalid/acme/tools:1, command: ["true"]}\n'
EXPRESSION = 'lastRetry.exitCode in ["75", "124", "137", "143"]'
DAG_INPUTS = "      inputs: {parameters: [{name: shards}]}\n"
RUN_KEY = '"{{workflow.uid}}-{{inputs.parameters.index}}"'
STATS_STRATEGY = """\
      retryStrategy:
        limit: "3"
        retryPolicy: Always
        expression: lastRetry.exitCode in ["75", "124", "137", "143"]
        backoff: {duration: 30s, factor: "2", cap: 10m}
"""
STATS_PARAM = "--param, campaigns=20]"
STATS_RETRY_NUMBER = '--param, campaigns=20, --retry-number, "{{retries}}"]'
SEMAPHORE = "configMapKeyRef: {name: jobframe-semaphores, key: braze-workspace}"
RETRY_ENV = '        env: [{name: JOBFRAME_RETRY_NUMBER, value: "{{retries}}"}]\n'
ENTRY = "  entrypoint: stats\n"
DEFAULT_STRATEGY = "".join(["  templateDefaults:\n", *(line[2:] for line in STATS_STRATEGY.splitlines(True))])
SEMAPHORES = f"      synchronization:\n        semaphores: [{{{SEMAPHORE}}}]\n"

# (name, base, [(old, new), ...], path of the one finding, phrase in it)
FAULTS: list[tuple[str, str, list[tuple[str, str]], str, str]] = [
    # -- a fan-out whose items disagree with --shard I/N, or a combine step told another count
    (
        "sequence count literal",
        FANOUT,
        [('count: "{{inputs.parameters.shards}}"', 'count: "4"')],
        f"{FANOUT_TASK}.withSequence.count",
        "runs 4 items but tells each shard",
    ),
    (
        "sequence count of another parameter",
        FANOUT,
        [('count: "{{inputs.parameters.shards}}"', 'count: "{{workflow.parameters.shards}}"')],
        f"{FANOUT_TASK}.withSequence.count",
        "tells each shard --shard I/{{inputs.parameters.shards}}",
    ),
    (
        "sequence starts at 1",
        FANOUT,
        [('{count: "{{inputs.parameters.shards}}"}', '{start: "1", count: "{{inputs.parameters.shards}}"}')],
        f"{FANOUT_TASK}.withSequence.start",
        "shard 0 never runs",
    ),
    (
        "sequence end is inclusive",
        FANOUT,
        [('{count: "{{inputs.parameters.shards}}"}', '{end: "{{inputs.parameters.shards}}"}')],
        f"{FANOUT_TASK}.withSequence.end",
        "is inclusive",
    ),
    (
        "literal sequence 1..4 for 4 shards",
        FANOUT,
        [
            ('{count: "{{inputs.parameters.shards}}"}', '{start: "0", end: "4"}'),
            ('{name: total, value: "{{inputs.parameters.shards}}"}', '{name: total, value: "4"}'),
            ('{name: n, value: "{{inputs.parameters.shards}}"}', '{name: n, value: "4"}'),
        ],
        f"{FANOUT_TASK}.withSequence.end",
        "runs 5 items",
    ),
    (
        "items from 1",
        FANOUT,
        [
            ('withSequence: {count: "{{inputs.parameters.shards}}"}', "withItems: [1, 2, 3, 4]"),
            ('{name: total, value: "{{inputs.parameters.shards}}"}', '{name: total, value: "4"}'),
            ('{name: n, value: "{{inputs.parameters.shards}}"}', '{name: n, value: "4"}'),
        ],
        f"{FANOUT_TASK}.withItems",
        "not the shards 0 .. N-1",
    ),
    (
        "steps items from 1",
        STEPS,
        [("withItems: [0, 1, 2]", "withItems: [1, 2, 3]")],
        f"{T0}.steps[0][0].withItems",
        "not the shards 0 .. N-1",
    ),
    (
        "combine told another count",
        FANOUT,
        [('{name: n, value: "{{inputs.parameters.shards}}"}', '{name: n, value: "8"}')],
        f"{T0}.dag.tasks[1].arguments",
        "combine step is told --shards 8",
    ),
    (
        "every item the same shard",
        FANOUT,
        [('{name: index, value: "{{item}}"}', '{name: index, value: "0"}')],
        f"{FANOUT_TASK}.arguments",
        "every item of the fan-out runs --shard 0/",
    ),
    # -- a run key that changes on every retry or pod
    (
        "run key of the pod's name",
        FANOUT,
        [(RUN_KEY, '"{{pod.name}}"')],
        UPDATE_ARGS,
        "changes on every retry or pod ({{pod.name}})",
    ),
    (
        "run key with the retry number",
        FANOUT,
        [(RUN_KEY, RUN_KEY[:-1] + '-{{retries}}"')],
        UPDATE_ARGS,
        "({{retries}})",
    ),
    (
        "run key from a pod-name env var",
        FANOUT,
        [
            (RUN_KEY, '"$(POD_NAME)-{{inputs.parameters.index}}"'),
            (
                "env: [{name: LEDGER__STORE, value: postgres}]",
                "env: [{name: LEDGER__STORE, value: postgres}, "
                "{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]",
            ),
        ],
        UPDATE_ARGS,
        "$(POD_NAME), the pod's own name or uid",
    ),
    (
        "JOBFRAME_RUN_KEY from the pod's uid",
        FANOUT,
        [
            ('--run-key, "{{workflow.uid}}-{{inputs.parameters.index}}",', ""),
            (
                "env: [{name: LEDGER__STORE, value: postgres}]",
                "env: [{name: LEDGER__STORE, value: postgres}, "
                "{name: JOBFRAME_RUN_KEY, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}]",
            ),
        ],
        UPDATE_ARGS,
        "changes on every retry or pod",
    ),
    # -- podSpecPatch: a grace period as a string, a deadline that contradicts the template's
    (
        "grace as a JSON string",
        SINGLE,
        [(GRACE, '{"terminationGracePeriodSeconds": "15"}')],
        f"{T0}.podSpecPatch",
        "written as '15', not a number",
    ),
    (
        "grace as a YAML string",
        SINGLE,
        [
            (
                "podSpecPatch: '{\"terminationGracePeriodSeconds\": 15}'",
                'podSpecPatch: |\n        terminationGracePeriodSeconds: "60"',
            )
        ],
        f"{T0}.podSpecPatch",
        "the step never runs",
    ),
    (
        "podSpecPatch deadline shorter",
        SINGLE,
        [(GRACE, GRACE[:-1] + ', "activeDeadlineSeconds": 600}')],
        f"{T0}.podSpecPatch",
        "podSpecPatch sets activeDeadlineSeconds 600, the template 1920",
    ),
    (
        "podSpecPatch deadline as a string",
        SINGLE,
        [(GRACE, GRACE[:-1] + ', "activeDeadlineSeconds": "1920"}')],
        f"{T0}.podSpecPatch",
        "not a number",
    ),
    # -- a template's `timeout`: Argo writes what is left of it into the pod's activeDeadlineSeconds,
    # in place of the template's own (the pod build's checkTemplateTimeouts step, workflowpod.go)
    (
        "timeout shorter than --timeout (a Go duration)",
        SINGLE,
        [(DEADLINE, DEADLINE + "      timeout: 10m\n")],
        f"{T0}.timeout",
        "--timeout 1800 is later than the template's timeout 600 s",
    ),
    (
        "timeout shorter than --timeout (whole seconds)",
        SINGLE,
        [(DEADLINE, DEADLINE + '      timeout: "900"\n')],
        f"{T0}.timeout",
        "--timeout 1800 is later than the template's timeout 900 s",
    ),
    (
        "timeout shorter than --timeout, from templateDefaults",
        SINGLE,
        [("  entrypoint: stats\n", "  entrypoint: stats\n  templateDefaults:\n    timeout: 15m\n")],
        "spec.templateDefaults.timeout",
        "--timeout 1800 is later than the template's timeout 900 s",
    ),
    (
        "timeout the controller cannot parse",
        SINGLE,
        [(DEADLINE, DEADLINE + "      timeout: 10 minutes\n")],
        f"{T0}.timeout",
        "timeout '10 minutes' cannot be read",
    ),
    (
        "timeout shorter than the job needs",
        SINGLE,
        [(DEADLINE, DEADLINE + "      timeout: 10s\n"), ('--timeout, "1800"', '--timeout, "10"')],
        f"{T0}.timeout",
        "each attempt has 10 s; job CollectCampaignStats needs at least",
    ),
    # -- an attempt shorter than the job's declared timeout, a memory limit below its resources
    (
        "attempt deadline below the declared timeout",
        SINGLE,
        [('activeDeadlineSeconds: "1920"', 'activeDeadlineSeconds: "900"'), ('"1800"', '"900"')],
        f"{T0}.activeDeadlineSeconds",
        "less than the 1800 s job CollectCampaignStats declares",
    ),
    (
        "--timeout below the declared timeout",
        FANOUT,
        [('--timeout, "3600"', '--timeout, "1200"')],
        UPDATE_ARGS,
        "each attempt has 1200 s, less than the 3600 s",
    ),
    (
        "memory limit below the declared",
        FANOUT,
        [("limits: {memory: 512Mi}", "limits: {memory: 128Mi}")],
        f"{T1}.container.resources.limits.memory",
        "memory limit 128Mi is below the 256Mi",
    ),
    (
        "memory limit in bytes below the declared",
        SINGLE,
        [("limits: {memory: 256Mi}", 'limits: {memory: "200000000"}')],
        f"{T0}.container.resources.limits.memory",
        "is below the 256Mi",
    ),
    (
        "memory limit in podSpecPatch",
        SINGLE,
        [
            (
                GRACE,
                GRACE[:-1]
                + ', "containers": [{"name": "main", "resources": {"limits": {"memory": "64Mi"}}}]}',
            )
        ],
        f"{T0}.podSpecPatch",
        "memory limit 64Mi",
    ),
    # -- jobframe behind a shell or a script: looked through
    (
        "sh -c with exec",
        SINGLE,
        [
            (
                STATS_COMMAND,
                'command: [sh, -c]\n        args: ["exec jobframe --job-name CollectCampaignStats '
                "--timeout 1800 "
                '--output /tmp/result.json --param campaigns=2000"]',
            )
        ],
        f"{T0}.container.args[0]",
        "campaigns='2000' is invalid",
    ),
    (
        "job name only in the shell string",
        SINGLE,
        [
            (
                STATS_COMMAND,
                'command: [/bin/sh, -c, "python -m jobframe --job-name CollectCampaignStat --timeout 1800 '
                '--output /tmp/result.json"]',
            )
        ],
        f"{T0}.container.command[2]",
        "did you mean 'CollectCampaignStats'",
    ),
    (
        "script template",
        SINGLE,
        [
            (
                "      container:\n        image: registry.invalid/acme/jobs:2.3\n"
                "        command: [/opt/venv/bin/jobframe]\n"
                '        args: [--job-name, CollectCampaignStats, --env, production, --timeout, "1800",\n'
                "               --output, /tmp/result.json, --param, campaigns=20]",
                "      script:\n        image: registry.invalid/acme/jobs:2.3\n        command: [bash]\n"
                "        source: |\n          jobframe --job-name CollectCampaignStats --timeout 1800 "
                "--output /tmp/result.json --param days=1000",
            )
        ],
        f"{T0}.script.source",
        "days='1000' is invalid",
    ),
    # -- templateDefaults merged into templates field by field
    (
        "a retry policy inherited from templateDefaults",
        SINGLE,
        [
            (
                "  templates:\n",
                '  templateDefaults:\n    retryStrategy: {retryPolicy: OnFailure, expression: ""}\n'
                "  templates:\n",
            ),
            (
                "        retryPolicy: Always\n        expression: lastRetry.exitCode in "
                '["75", "124", "137", "143"]\n',
                "",
            ),
        ],
        "spec.templateDefaults.retryStrategy.retryPolicy",
        "retries exit codes 1, 2, 78",
    ),
    (
        "maxDuration inherited from templateDefaults",
        SINGLE,
        [
            (
                "  templates:\n",
                "  templateDefaults:\n    retryStrategy: {backoff: {maxDuration: 1h}}\n  templates:\n",
            )
        ],
        "spec.templateDefaults.retryStrategy.backoff.maxDuration",
        "retry 2 can start with only",
    ),
    (
        "grace inherited from templateDefaults",
        SINGLE,
        [
            (
                "  templates:\n",
                "  templateDefaults:\n    podSpecPatch: '{\"terminationGracePeriodSeconds\": 5}'\n"
                "  templates:\n",
            ),
            ("      podSpecPatch: '{\"terminationGracePeriodSeconds\": 15}'\n", ""),
        ],
        "spec.templateDefaults.podSpecPatch",
        "terminationGracePeriodSeconds 5",
    ),
    # the workflow's podSpecPatch is applied too, before the template's (processPodSpecPatch in
    # workflowpod.go): a template patch that sets only memory leaves the workflow's grace in force
    (
        "grace from the workflow's podSpecPatch under a template patch without one",
        SINGLE,
        [
            ("  templates:\n", "  podSpecPatch: '{\"terminationGracePeriodSeconds\": 5}'\n  templates:\n"),
            (
                GRACE,
                '{"containers": [{"name": "main", "resources": {"limits": {"memory": "256Mi"}}}]}',
            ),
        ],
        "spec.podSpecPatch",
        "terminationGracePeriodSeconds 5",
    ),
    (
        "deadline from the workflow's podSpecPatch under the template's",
        SINGLE,
        [("  templates:\n", "  podSpecPatch: '{\"activeDeadlineSeconds\": 600}'\n  templates:\n")],
        "spec.podSpecPatch",
        "podSpecPatch sets activeDeadlineSeconds 600, the template 1920",
    ),
    # -- exit handlers: the workflow's deadline binds the main flow's retries, not an exit handler's
    (
        "retries past the workflow's deadline in the main flow",
        SINGLE,
        [("  entrypoint: stats\n", "  entrypoint: stats\n  activeDeadlineSeconds: 3600\n")],
        "spec.activeDeadlineSeconds",
        "retry 2 can start with only",
    ),
    # -- a retry strategy or a deadline on a DAG or steps template
    (
        "deadline on the DAG",
        FANOUT,
        [(DAG_INPUTS, DAG_INPUTS + '      activeDeadlineSeconds: "7200"\n')],
        f"{T0}.activeDeadlineSeconds",
        "Argo refuses the workflow at submit",
    ),
    (
        "retries on the DAG",
        FANOUT,
        [(DAG_INPUTS, DAG_INPUTS + '      retryStrategy: {limit: "2"}\n')],
        f"{T0}.retryStrategy",
        "a retry strategy on the DAG template 'fanout'",
    ),
    (
        "retries on the steps template",
        STEPS,
        [("    - name: main\n", '    - name: main\n      retryStrategy: {limit: "1"}\n')],
        f"{T0}.retryStrategy",
        "on the steps template 'main'",
    ),
    # -- an output read from a path the step never writes
    (
        "output read elsewhere",
        SINGLE,
        [("valueFrom: {path: /tmp/result.json", "valueFrom: {path: /tmp/output.json")],
        f"{T0}.outputs.parameters[0].valueFrom.path",
        "never writes (the step's --output is /tmp/result.json)",
    ),
    (
        "no --output at all",
        SINGLE,
        [("               --output, /tmp/result.json, --param", "               --param")],
        f"{T0}.outputs.parameters[0].valueFrom.path",
        "the step passes no --output",
    ),
    # -- parallel shard pods sharing one ReadWriteOnce claim; a resumable step not retrying lost pods
    (
        "shared ReadWriteOnce ledger claim",
        FANOUT,
        [("  templates:", RWO_CLAIM), ("        env: [{name: LEDGER__STORE, value: postgres}]", RWO_MOUNT)],
        "spec.volumeClaimTemplates[0].spec.accessModes",
        "ReadWriteOnce claim 'ledger'",
    ),
    (
        "shared ReadWriteOnce claim in a steps fan-out",
        STEPS,
        [
            ("  templates:", RWO_CLAIM),
            ("        env: [{name: LEDGER__STORE, value: postgres}]", RWO_MOUNT),
        ],
        "spec.volumeClaimTemplates[0].spec.accessModes",
        "the shards of task 'shard' run in parallel",
    ),
    (
        "lost pods listed but the policy is OnFailure",
        FANOUT,
        [("        retryPolicy: Always\n", "        retryPolicy: OnFailure\n")],
        f"{T1}.retryStrategy.expression",
        "is not retried",
    ),
    (
        "lost pods of a resumable job not retried",
        FANOUT,
        [('["-1", "75", "124", "137", "143"]', '["75", "124", "137", "143"]')],
        f"{T1}.retryStrategy.expression",
        'lastRetry.exitCode "-1") is not retried',
    ),
    (  # Argo's docs' pattern: a deleted pod's message, not an evicted one's ("-1", phase Failed)
        "lost pods of a resumable job retried only by the deleted pod's message",
        FANOUT,
        [
            (
                'expression: lastRetry.exitCode in ["-1", "75", "124", "137", "143"]',
                "expression: \"lastRetry.exitCode in ['75', '124', '137', '143'] || "
                "lastRetry.message matches 'imminent node shutdown|pod deleted'\"",
            )
        ],
        f"{T1}.retryStrategy.expression",
        'lastRetry.exitCode "-1") is not retried',
    ),
    (  # a pod the kubelet evicts before main ends: "-1", but phase Failed (inferFailedReason)
        "lost pods of a resumable job retried only in phase Error",
        FANOUT,
        [
            (
                'expression: lastRetry.exitCode in ["-1", "75", "124", "137", "143"]',
                'expression: \'lastRetry.exitCode in ["75", "124", "137", "143"] '
                '|| lastRetry.status == "Error"\'',
            )
        ],
        f"{T1}.retryStrategy.expression",
        'lastRetry.exitCode "-1") is not retried',
    ),
    # -- Argo variables of retries where Argo sets none: the process gets the tag as text
    (
        "retry number without a retry strategy",
        SINGLE,
        [(STATS_STRATEGY, ""), (STATS_PARAM, STATS_RETRY_NUMBER)],
        f"{T0}.container.args[11]",
        "jobframe refuses --retry-number (exit 2)",
    ),
    (
        "retry number from the environment without a retry strategy",
        SINGLE,
        [(STATS_STRATEGY, ""), ("        resources:", RETRY_ENV + "        resources:")],
        f"{T0}.container.env[0].value",
        "so the process gets '{{retries}}'",
    ),
    # -- back-off values the controller cannot read: the step errors at its first retry
    (
        "backoff factor with a decimal",
        SINGLE,
        [('factor: "2", cap: 10m', 'factor: "1.5", cap: 10m')],
        f"{T0}.retryStrategy.backoff.factor",
        "'1.5' is not a whole number: Argo fails the step at its first retry",
    ),
    (
        "backoff duration with a point and no unit",
        SINGLE,
        [("{duration: 30s,", '{duration: "30.0",')],
        f"{T0}.retryStrategy.backoff.duration",
        "'30.0' is not a duration",
    ),
    (
        "retry limit with a space",
        SINGLE,
        [('limit: "3"\n        retryPolicy', 'limit: " 3"\n        retryPolicy')],
        f"{T0}.retryStrategy.limit",
        "' 3' is not a whole number: Argo fails the step at its first retry",
    ),
    (
        "retry limit with a decimal",
        SINGLE,
        [('limit: "3"\n        retryPolicy', 'limit: "1.5"\n        retryPolicy')],
        f"{T0}.retryStrategy.limit",
        "'1.5' is not a whole number",
    ),
    (
        "backoff without a duration",
        SINGLE,
        [("{duration: 30s, ", "{")],
        f"{T0}.retryStrategy.backoff",
        "a backoff without a duration",
    ),
    # -- fields an Argo v4 controller no longer reads
    (
        "a semaphore written the v3.5 way",
        SINGLE,
        [(STATS_STRATEGY, STATS_STRATEGY + f"      synchronization:\n        semaphore: {{{SEMAPHORE}}}\n")],
        f"{T0}.synchronization.semaphore",
        "synchronization.semaphore was removed in Argo v4",
    ),
    (
        "a workflow mutex written the v3.5 way",
        SINGLE,
        [(ENTRY, ENTRY + "  synchronization:\n    mutex: {name: stats}\n")],
        "spec.synchronization.mutex",
        "this mutex holds nothing back",
    ),
    (
        "podPriority",
        SINGLE,
        [(ENTRY, ENTRY + "  podPriority: 10\n")],
        "spec.podPriority",
        "podPriority was removed in Argo v4",
    ),
]

VALID: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("the stats job", SINGLE, []),
    # a timeout longer than --timeout, even longer than the activeDeadlineSeconds it replaces
    ("a timeout of 35m", SINGLE, [(DEADLINE, DEADLINE + "      timeout: 35m\n")]),
    ("a timeout of 1h", SINGLE, [(DEADLINE, DEADLINE + "      timeout: 1h\n")]),
    (  # an exit handler's pod gets neither the workflow's deadline in ARGO_DEADLINE nor its
        # clamp on activeDeadlineSeconds (getDeadline, the pod build: onExitPod): no retry starts short
        "an exit handler under a short workflow deadline",
        SINGLE,
        [
            (
                "  entrypoint: stats\n  templates:\n",
                "  entrypoint: main\n  activeDeadlineSeconds: 3600\n  onExit: stats\n  templates:\n" + MAIN,
            )
        ],
    ),
    (  # the same through steps the exit hook runs (the flag passes down: steps.go, dag.go)
        "a step of an exit handler's steps under a short workflow deadline",
        SINGLE,
        [
            (
                "  entrypoint: stats\n  templates:\n",
                "  entrypoint: main\n  activeDeadlineSeconds: 3600\n  hooks:\n    exit: {template: report}\n"
                "  templates:\n"
                + MAIN
                + "    - name: report\n      steps:\n        - - {name: stats, template: stats}\n",
            )
        ],
    ),
    (  # the template's patch applied after the workflow's: its grace wins
        "a workflow grace the template's patch raises",
        SINGLE,
        [("  templates:\n", "  podSpecPatch: '{\"terminationGracePeriodSeconds\": 5}'\n  templates:\n")],
    ),
    (
        "a retry number with the strategy from templateDefaults",
        SINGLE,
        [
            (STATS_STRATEGY, ""),
            ("  templates:\n", DEFAULT_STRATEGY + "  templates:\n"),
            (STATS_PARAM, STATS_RETRY_NUMBER),
        ],
    ),
    (
        "semaphores and mutexes as lists",
        SINGLE,
        [
            (ENTRY, ENTRY + "  synchronization:\n    mutexes: [{name: stats}]\n"),
            (STATS_STRATEGY, STATS_STRATEGY + SEMAPHORES),
        ],
    ),
    ("the fan-out", FANOUT, []),
    ("a steps fan-out", STEPS, []),
    ("matches", SINGLE, [(EXPRESSION, "lastRetry.exitCode matches '^(75|124|137|143)$'")]),
    (
        "sprig.contains",
        SINGLE,
        [
            (
                EXPRESSION,
                "sprig.contains('75', lastRetry.exitCode) || "
                'sprig.has(lastRetry.exitCode, sprig.list("124", "137", "143"))',
            )
        ],
    ),
    (
        "asInt(lastRetry.duration)",
        SINGLE,
        [
            (
                EXPRESSION,
                "asInt(lastRetry.duration) < 1900 && asInt(lastRetry.exitCode) in [75, 124, 137, 143]",
            )
        ],
    ),
    (
        "lost pods by message and by exit code",
        FANOUT,
        [
            (
                'lastRetry.exitCode in ["-1", "75", "124", "137", "143"]',
                "lastRetry.exitCode in ['-1', '75', '124', '137', '143'] || "
                "lastRetry.message matches 'imminent node shutdown|pod deleted'",
            )
        ],
    ),
    (
        "per-retry memory",
        FANOUT,
        [
            (
                GRACE,
                GRACE[:-1] + ', "containers": [{"name": "main", '
                '"resources": {"limits": {"memory": "{{=(asInt(retries) + 1) * 512}}Mi"}}}]}',
            )
        ],
    ),
    (
        "sequence with start 0 and end N-1",
        FANOUT,
        [
            ('{count: "{{inputs.parameters.shards}}"}', '{start: "0", end: "3"}'),
            ('{name: total, value: "{{inputs.parameters.shards}}"}', '{name: total, value: "4"}'),
            ('{name: n, value: "{{inputs.parameters.shards}}"}', '{name: n, value: "4"}'),
        ],
    ),
    (
        "a shell that execs jobframe",
        SINGLE,
        [
            (
                STATS_COMMAND,
                'command: [sh, -c]\n        args: ["exec jobframe --job-name CollectCampaignStats '
                "--timeout 1800 "
                '--output /tmp/result.json --param campaigns=20"]',
            )
        ],
    ),
    (
        "a ReadWriteMany claim shared by shards",
        FANOUT,
        [
            ("  templates:", RWO_CLAIM.replace("ReadWriteOnce", "ReadWriteMany")),
            ("        env: [{name: LEDGER__STORE, value: postgres}]", RWO_MOUNT),
        ],
    ),
    (
        "a finding silenced for this manifest",
        SINGLE,
        [
            (
                "  name: morning-stats\n",
                "  name: morning-stats\n  annotations:\n    jobframe/lint-ignore: |\n"
                "      spec.templates[0].retryStrategy.expression  # 2 is retried on purpose here\n",
            ),
            ('["75", "124", "137", "143"]', '["2", "75", "124", "137", "143"]'),
        ],
    ),
]


def _manifest(base: str, edits: list[tuple[str, str]]) -> str:
    text = base
    for old, new in edits:
        assert text.count(old) == 1, f"edit {old!r} must match the base exactly once"
        text = text.replace(old, new)
    return text


def _lint(tmp_path: Path, text: str, capsys: Any) -> tuple[int, str]:
    file = tmp_path / "hand-written.yaml"
    file.write_text(text)
    code = main(["lint", "--app", APP, str(file)])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    ("base", "edits", "path", "phrase"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS]
)
def test_each_fault_is_found_at_its_path_with_a_fix(
    base: str, edits: list[tuple[str, str]], path: str, phrase: str, tmp_path: Path, capsys: Any
) -> None:
    code, out = _lint(tmp_path, _manifest(base, edits), capsys)
    assert code == 1, out
    assert out.endswith("1 problem in 1 file\n"), out
    first, fix = out.splitlines()[:2]
    assert f": {path}: " in first, first
    assert phrase in first, first
    assert fix.startswith("  fix: ") and len(fix) > len("  fix: ") + 3


def test_the_planted_set_covers_every_class_several_times() -> None:
    assert len(FAULTS) >= 30 and len(VALID) >= 10


@pytest.mark.parametrize(("base", "edits"), [v[1:] for v in VALID], ids=[v[0] for v in VALID])
def test_each_valid_manifest_is_clean(
    base: str, edits: list[tuple[str, str]], tmp_path: Path, capsys: Any
) -> None:
    code, out = _lint(tmp_path, _manifest(base, edits), capsys)
    assert (code, out) == (0, "0 problems in 1 file\n")


@pytest.mark.parametrize(
    ("edits", "path", "phrase"),
    [
        (
            [
                (
                    EXPRESSION,
                    "jsonpath(lastRetry.message, '$.code') == '75' || "
                    "lastRetry.exitCode in ['124', '137', '143']",
                )
            ],
            f"{T0}.retryStrategy.expression",
            "unknown function 'jsonpath'",
        ),
        (
            [(EXPRESSION, "sprig.semverCompare('>=75', lastRetry.exitCode)")],
            f"{T0}.retryStrategy.expression",
            "unknown function 'sprig.semverCompare'",
        ),
        (
            [
                (
                    STATS_COMMAND,
                    "command: [sh, -c]\n        args: "
                    '["jobframe --job-name CollectCampaignStats $EXTRA | tee /tmp/log"]',
                )
            ],
            f"{T0}.container.args[0]",
            "cannot tell what this shell runs",
        ),
    ],
)
def test_what_lint_cannot_tell_is_a_note_not_a_fault(
    edits: list[tuple[str, str]], path: str, phrase: str, tmp_path: Path, capsys: Any
) -> None:
    code, out = _lint(tmp_path, _manifest(SINGLE, edits), capsys)
    assert code == 0, out
    first, check = out.splitlines()[:2]
    assert f": {path}: note: " in first and phrase in first, first
    assert check.startswith("  check: ")
    assert out.endswith("0 problems in 1 file (1 note: what lint cannot tell)\n"), out


def test_the_annotation_silences_only_its_own_manifest(tmp_path: Path, capsys: Any) -> None:
    silenced = _manifest(SINGLE, VALID[-1][2])
    other = silenced.replace("annotations:\n    jobframe/lint-ignore", "labels:\n    x-team")
    text = silenced + "---\n" + other.replace("morning-stats", "evening-stats")
    code, out = _lint(tmp_path, text, capsys)
    assert code == 1 and out.count("retries exit code 2") == 1 and "evening-stats" in out, out
