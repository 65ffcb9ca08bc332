"""Manifests from plans, built with Hera (the Argo project's Python SDK).

Imported only by ``python -m jobframe.argo render`` — never by a job's run (Hera costs about a
second to import and is an optional extra, ``jobframe[argo]``). Integer-or-string fields are
passed as strings (``activeDeadlineSeconds: "3600"``, ``limit: "3"``, ``factor: "2"``): Kubernetes
takes either, and Argo's JSON schema accepts only strings.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hera.workflows import (
    DAG,
    Container,
    CronWorkflow,
    Parameter,
    RetryStrategy,
    Task,
    WorkflowTemplate,
)
from hera.workflows import models as m

from jobframe._app.deployment import Retry
from jobframe.argo.plan import (
    LEDGER_CLAIM,
    LEDGER_MOUNT,
    NO_RESULT,
    OUTPUT_PATH,
    REGISTER_STEP,
    InputParam,
    StepPlan,
)
from jobframe.argo.retries import INFRASTRUCTURE, expression_for
from jobframe.argo.template_extras import metrics, pod_fields, semaphore

__all__ = ["COMBINE_TIMEOUT", "MINIMUM_ARGO", "REGISTER_TIMEOUT", "RESULT", "render_plan"]

COMBINE_TIMEOUT = 300
"""Seconds for the combine step: it only merges the shards' small JSON results."""
REGISTER_TIMEOUT = 120
"""Seconds for the ``register-ledger`` step's pod after it starts: one small transaction."""
REGISTER_RETRIED = (INFRASTRUCTURE, 75)
"""What the register step retries: a lost pod, a store briefly unreachable (it sends nothing)."""
LABEL = "jobframe/job"
MANAGED = {"app.kubernetes.io/managed-by": "jobframe"}
RESULT = "result"
"""The job's result: the step's output parameter and, through ``globalName``, the workflow's."""
MINIMUM_ARGO = (3, 7)
"""The oldest Argo Workflows the manifests are written for: ``retryStrategy.backoff.cap`` is new
in v3.7 (``schedules`` in v3.6, ``synchronization.semaphores``/``mutexes`` lists in v3.6)."""


def _seconds(value: float) -> str:
    whole = math.ceil(value)
    return f"{whole}s"


def _retry_strategy(plan: StepPlan) -> RetryStrategy | None:
    retry: Retry = plan.deployment.retry
    if not retry.limit:
        return None
    return RetryStrategy(
        limit=str(retry.limit),
        retry_policy="Always",
        expression=plan.retry_expression,
        backoff=m.Backoff(
            duration=_seconds(retry.backoff),
            factor=str(retry.factor),
            cap=None if retry.max_backoff is None else _seconds(retry.max_backoff),
            max_duration=None if retry.max_duration is None else _seconds(retry.max_duration),
        ),
    )


def _parameters(inputs: tuple[InputParam, ...], *, workflow: bool) -> list[Parameter]:
    """Workflow arguments (``value``) or template inputs (``default``); no value: required."""
    out = []
    for param in inputs:
        description = param.description
        if param.unset_when_empty:
            note = "optional: empty leaves it unset"
            description = f"{description} ({note})" if description else note.capitalize() + "."
        given: dict[str, Any] = {}  # Hera writes an explicit None as the string "null"
        if param.default is not None:
            given["value" if workflow else "default"] = param.default
        out.append(
            Parameter(
                name=param.name,
                description=description,
                enum=list(param.enum) if param.enum else None,
                **given,
            )
        )
    return out


def _security(plan: StepPlan) -> tuple[m.SecurityContext, m.PodSecurityContext]:
    uid = plan.options.uid
    container = m.SecurityContext(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        capabilities=m.Capabilities(drop=["ALL"]),
    )
    pod = m.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=uid,
        run_as_group=uid,
        fs_group=uid,
        seccomp_profile=m.SeccompProfile(type="RuntimeDefault"),
    )
    return container, pod


def _env_and_volumes(
    plan: StepPlan, *, job_volumes: bool = True
) -> tuple[list[m.EnvVar], list[m.Volume], list[m.VolumeMount]]:
    options = plan.options
    env = [m.EnvVar(name=name, value=value) for name, value in sorted(plan.extras.env.items())]
    volumes = [m.Volume(name="tmp", empty_dir=m.EmptyDirVolumeSource())]
    mounts = [m.VolumeMount(name="tmp", mount_path="/tmp")]  # noqa: S108 - the pod's own emptyDir
    if plan.secrets and options.secrets_as == "env":
        env += [
            m.EnvVar(
                name=ref.env,
                value_from=m.EnvVarSource(
                    secret_key_ref=m.SecretKeySelector(
                        name=options.secret, key=ref.key, optional=True if ref.optional else None
                    )
                ),
            )
            for ref in plan.secrets
        ]
    elif plan.secrets:
        volumes.append(m.Volume(name="secrets", secret=m.SecretVolumeSource(secret_name=options.secret)))
        mounts.append(m.VolumeMount(name="secrets", mount_path=options.secrets_dir, read_only=True))
    if plan.extras.ledger_volume is not None:
        mounts.append(m.VolumeMount(name=LEDGER_CLAIM, mount_path=LEDGER_MOUNT))
    for volume in plan.extras.volumes if job_volumes else ():
        claim = m.PersistentVolumeClaimVolumeSource(claim_name=volume.claim, read_only=volume.read_only)
        volumes.append(m.Volume(name=volume.claim, persistent_volume_claim=claim))
        mounts.append(
            m.VolumeMount(name=volume.claim, mount_path=volume.mount_path, read_only=volume.read_only)
        )
    return env, volumes, mounts


def _result_output(*, workflow_output: bool = True) -> Parameter:
    """The result file as an output; ``workflow_output``: also the workflow's ``result`` (Argo
    sets ``status.outputs`` and ``{{workflow.outputs.parameters.result}}`` only with a
    ``globalName``). A shard's is not: every shard would overwrite the same global."""
    return Parameter(
        name=RESULT,
        value_from=m.ValueFrom(path=OUTPUT_PATH, default=NO_RESULT),
        global_name=RESULT if workflow_output else None,
    )


def _job_container(plan: StepPlan, name: str, *, extra_inputs: list[Parameter] | None = None) -> Container:
    env, volumes, mounts = _env_and_volumes(plan)
    container_security, pod_security = _security(plan)
    resources = plan.deployment.resources
    return Container(
        name=name,
        image=plan.options.image,
        command=list(plan.options.command),
        args=list(plan.args),
        inputs=[*_parameters(plan.inputs, workflow=False), *(extra_inputs or [])],
        outputs=[_result_output(workflow_output=extra_inputs is None)],
        env=env or None,
        resources=m.ResourceRequirements(
            requests={"cpu": resources.cpu, "memory": resources.memory}, limits={"memory": resources.memory}
        ),
        active_deadline_seconds=str(plan.active_deadline),
        retry_strategy=_retry_strategy(plan),
        pod_spec_patch=json.dumps({"terminationGracePeriodSeconds": plan.termination_grace}),
        security_context=container_security,
        pod_security_context=pod_security,
        volumes=volumes,
        volume_mounts=mounts,
        labels={**plan.pod.labels, LABEL: plan.spec.name},
        metrics=metrics(plan.spec.name, name),
        synchronization=semaphore(plan),
        **pod_fields(plan),
    )


def _register_container(plan: StepPlan, inputs: list[Parameter] | None = None) -> Container:
    """``register-ledger``: records the run key(s) before the job's step starts, in the job's own
    store (same image, environment, Secret and ledger volume), so a retry of the job whose earlier
    pods were lost before their main container ran is not taken for a lost ledger (docs/resume.md)."""
    env, volumes, mounts = _env_and_volumes(plan, job_volumes=False)
    prefix = f"{plan.extras.ledger_prefix or 'LEDGER'}__"
    env = [var for var in env if var.name.startswith(prefix)]  # the ledger's settings only
    args = list(plan.extras.register)
    if plan.options.secrets_as == "dir":
        args += ["--secrets-dir", plan.options.secrets_dir]
    container_security, pod_security = _security(plan)
    return Container(
        name=REGISTER_STEP,
        image=plan.options.image,
        command=list(plan.options.register_command),
        args=args,
        inputs=inputs,
        env=env or None,
        resources=m.ResourceRequirements(
            requests={"cpu": "50m", "memory": "64Mi"}, limits={"memory": "128Mi"}
        ),
        active_deadline_seconds=str(REGISTER_TIMEOUT + plan.options.pod_start),
        retry_strategy=RetryStrategy(
            limit="5",
            retry_policy="Always",
            expression=expression_for(REGISTER_RETRIED),
            backoff=m.Backoff(duration="5s", factor="2", cap="60s"),
        ),
        security_context=container_security,
        pod_security_context=pod_security,
        volumes=volumes,
        volume_mounts=mounts,
        labels={**plan.pod.labels, LABEL: plan.spec.name},
        **pod_fields(plan),
    )


def _passed(inputs: tuple[InputParam, ...]) -> dict[str, str]:
    return {p.name: f"{{{{inputs.parameters.{p.name}}}}}" for p in inputs}


def _registered_run(plan: StepPlan) -> None:
    """A resumable job's entrypoint: ``register-ledger``, then the job's step (in the caller's
    workflow context); its result is the job's."""
    job = _job_container(plan, plan.name)
    register = _register_container(plan)
    with DAG(
        name=RUN_DAG,
        inputs=_parameters(plan.inputs, workflow=False),
        outputs=[
            Parameter(
                name=RESULT,
                value_from=m.ValueFrom(parameter=f"{{{{tasks.{plan.name}.outputs.parameters.result}}}}"),
            )
        ],
    ):
        first = Task(name=REGISTER_STEP, template=register)
        step = Task(name=plan.name, template=job, arguments=_passed(plan.inputs) or None)
        first >> step


RUN_DAG = "run"
"""A resumable job's entrypoint DAG: ``register-ledger``, then the job."""


def _job_step(plan: StepPlan) -> None:
    if plan.extras.register:
        _registered_run(plan)
    else:
        _job_container(plan, plan.name)


def _metadata(plan: StepPlan, name: str) -> dict[str, Any]:
    options = plan.options
    annotations = (
        {"workflows.argoproj.io/description": plan.spec.description} if plan.spec.description else None
    )
    return {
        "name": options.prefix + name,
        "namespace": options.namespace,
        "labels": {**MANAGED, LABEL: plan.spec.name},
        "annotations": annotations,
    }


def _ledger_claims(plan: StepPlan) -> dict[str, Any]:
    """The workflow-scoped ledger volume: created with the workflow, shared by its retries, and
    kept when the workflow fails (``argo retry`` resumes from it), deleted when it succeeds."""
    size = plan.extras.ledger_volume
    if size is None:
        return {}
    claim = m.PersistentVolumeClaim(
        metadata=m.ObjectMeta(name=LEDGER_CLAIM),
        spec=m.PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"],
            resources=m.VolumeResourceRequirements(requests={"storage": m.Quantity(size)}),
            storage_class_name=plan.options.ledger_storage_class,
        ),
    )
    return {
        "volume_claim_templates": [claim],
        "volume_claim_gc": m.VolumeClaimGC(strategy="OnWorkflowSuccess"),
    }


def _cleanup(plan: StepPlan) -> dict[str, Any]:
    """``podGC`` and ``ttlStrategy``: nothing a workflow leaves behind lives forever. The ledger
    claim is owned by its workflow, so the failure TTL bounds how long a failed run can be
    ``argo retry``-ed from it."""
    options = plan.options
    ttl = m.TTLStrategy(
        seconds_after_success=options.ttl_after_success, seconds_after_failure=options.ttl_after_failure
    )
    return {
        "pod_gc": m.PodGC(strategy=options.pod_gc) if options.pod_gc else None,
        "ttl_strategy": ttl if ttl.seconds_after_success or ttl.seconds_after_failure else None,
    }


def _workflow_level(plan: StepPlan) -> dict[str, Any]:
    """What only the workflow can say: image pull secrets, a mutex held for the whole run."""
    sync = plan.deployment.sync
    mutex = None
    if sync is not None and sync.mutex is not None:
        mutex = m.Synchronization(mutexes=[m.Mutex(name=sync.mutex)])
    return {
        "service_account_name": plan.options.service_account,
        "image_pull_secrets": [m.LocalObjectReference(name=n) for n in plan.pod.image_pull_secrets] or None,
        "synchronization": mutex,
        **_cleanup(plan),
        **_ledger_claims(plan),
    }


def _workflow_spec(plan: StepPlan) -> dict[str, Any]:
    return {
        "entrypoint": RUN_DAG if plan.extras.register else plan.name,
        "arguments": _parameters(plan.inputs, workflow=True) or None,
        **_workflow_level(plan),
    }


def _single(plan: StepPlan) -> WorkflowTemplate | CronWorkflow:
    deployment = plan.deployment
    if deployment.schedule is None:
        with WorkflowTemplate(**_metadata(plan, plan.name), **_workflow_spec(plan)) as template:
            _job_step(plan)
        return template
    with CronWorkflow(
        **_metadata(plan, plan.name),
        **_workflow_spec(plan),
        schedules=[deployment.schedule],
        timezone=deployment.timezone or "UTC",  # unset, Argo uses the controller's zone
        starting_deadline_seconds=deployment.starting_deadline,
        concurrency_policy="Forbid",
    ) as cron:
        _job_step(plan)
    return cron


def _fanout(shard_plan: StepPlan) -> WorkflowTemplate:
    """N shard steps (``withSequence``) at most ``parallelism`` at once, then the combine step."""
    deployment = shard_plan.deployment
    options = shard_plan.options
    name = f"{shard_plan.name}-fanout"
    shards = Parameter(name="shards", default=str(deployment.shards), description="How many shards.")
    index = Parameter(name="shard", description="This shard's index, from 0.")
    inputs = [*_parameters(shard_plan.inputs, workflow=False), shards]
    arguments = [
        *_parameters(shard_plan.inputs, workflow=True),
        Parameter(name="shards", value=str(deployment.shards)),
    ]
    container_security, pod_security = _security(shard_plan)
    with WorkflowTemplate(
        **_metadata(shard_plan, name),
        entrypoint="fanout",
        arguments=arguments,
        **_workflow_level(shard_plan),
    ) as template:
        shard = _job_container(shard_plan, "shard", extra_inputs=[index, Parameter(name="shards")])
        register = (
            _register_container(shard_plan, inputs=[Parameter(name="shards")])
            if shard_plan.extras.register
            else None
        )
        combine = Container(
            name="combine",
            image=options.image,
            command=list(options.combine_command),
            args=[
                "--shards",
                "{{inputs.parameters.shards}}",
                "--results",
                "{{inputs.parameters.results}}",
                "--output",
                OUTPUT_PATH,
            ],
            inputs=[Parameter(name="shards"), Parameter(name="results")],
            outputs=[_result_output()],
            metrics=metrics(shard_plan.spec.name, "combine"),
            resources=m.ResourceRequirements(
                requests={"cpu": "50m", "memory": "64Mi"}, limits={"memory": "128Mi"}
            ),
            active_deadline_seconds=str(COMBINE_TIMEOUT),
            security_context=container_security,
            pod_security_context=pod_security,
            volumes=[m.Volume(name="tmp", empty_dir=m.EmptyDirVolumeSource())],
            volume_mounts=[m.VolumeMount(name="tmp", mount_path="/tmp")],  # noqa: S108
            labels={LABEL: shard_plan.spec.name},
        )
        with DAG(
            name="fanout",
            inputs=inputs,
            parallelism=deployment.parallelism or deployment.shards,
            outputs=[
                Parameter(
                    name=RESULT,
                    value_from=m.ValueFrom(parameter="{{tasks.combine.outputs.parameters.result}}"),
                )
            ],
        ):
            passed = _passed(shard_plan.inputs)
            first = (
                Task(
                    name=REGISTER_STEP,
                    template=register,
                    arguments={"shards": "{{inputs.parameters.shards}}"},
                )
                if register is not None
                else None
            )
            shard_task = Task(
                name="shard",
                template=shard,
                with_sequence=m.Sequence(count="{{inputs.parameters.shards}}"),
                arguments={**passed, "shard": "{{item}}", "shards": "{{inputs.parameters.shards}}"},
            )
            combine_task = Task(
                name="combine",
                template=combine,
                arguments={
                    "shards": "{{inputs.parameters.shards}}",
                    "results": "{{tasks.shard.outputs.parameters.result}}",
                },
            )
            shard_task >> combine_task
            if first is not None:
                first >> shard_task
    return template


def render_plan(plan: StepPlan, shard_plan: StepPlan | None = None) -> list[dict[str, Any]]:
    """The job's documents: its WorkflowTemplate (or CronWorkflow), and the fan-out when sharded."""
    documents = [_single(plan).to_dict()]
    if shard_plan is not None:
        documents.append(_fanout(shard_plan).to_dict())
    return documents
