"""Argo template fields beyond what the step runs: Argo's own metrics, the pod's placement and
marks (from the job's ``pod=`` and the render configuration), and the semaphore it takes.

Hera models throughout, like :mod:`jobframe.argo.render`, which imports this; never a job's run.
"""

from __future__ import annotations

from typing import Any

from hera.workflows import models as m

from jobframe.argo.plan import StepPlan
from jobframe.errors import UsageError

__all__ = ["metrics", "pod_fields", "semaphore"]


def metrics(job: str, step: str) -> m.Metrics:
    """Argo's own Prometheus metrics, one emission per attempt: a cluster that scrapes the
    controller sees every job with nothing else deployed.

    The controller emits a template's metrics for each attempt that is retried and, instead of
    the last attempt's, once for the step (its retry node) when it ends: the step's status, its
    whole duration (back-off waits included) and the last attempt's exit code
    (``executeTemplate`` in ``workflow/controller/operator.go``). A step without retries has one
    node and one emission. The exit code is its own metric: ``{{exitCode}}`` is unset for a pod
    lost before its main container ran, and Argo skips a metric whose variables do not resolve.
    Argo refuses a metric whose help differs from the one it first registered under that name
    (``matchExistingMetric``), until the controller restarts: the help texts never change.
    """
    labels = [m.MetricLabel(key="job", value=job), m.MetricLabel(key="step", value=step)]
    status = [*labels, m.MetricLabel(key="status", value="{{status}}")]
    return m.Metrics(
        prometheus=[
            m.Prometheus(
                name="jobframe_argo_step_duration_seconds",
                help="Seconds a jobframe job's retried attempt, or its whole step when it ends, took "
                "(docs/argo.md).",
                labels=status,
                gauge=m.Gauge(value="{{duration}}", realtime=False),
            ),
            m.Prometheus(
                name="jobframe_argo_step_total",
                help="Attempts of a jobframe job by status, the last one counted when its step ends "
                "(docs/argo.md).",
                labels=status,
                counter=m.Counter(value="1"),
            ),
            m.Prometheus(
                name="jobframe_argo_step_exit_code",
                help="Exit code of the last finished attempt of a jobframe job (docs/argo.md).",
                labels=labels,
                gauge=m.Gauge(value="{{exitCode}}", realtime=False),
            ),
        ]
    )


def pod_fields(plan: StepPlan) -> dict[str, Any]:
    """The pod shape a template carries (image pull secrets are the workflow's)."""
    pod = plan.pod
    try:
        tolerations = [m.Toleration.model_validate(t) for t in pod.tolerations]
        affinity = m.Affinity.model_validate(pod.affinity) if pod.affinity else None
    except ValueError as exc:  # pydantic's ValidationError: a field of the wrong type
        first = str(exc).splitlines()[:3]
        raise UsageError(f"job {plan.spec.name}: pod tolerations/affinity: {' '.join(first)}") from None
    if affinity is not None and affinity.model_dump(by_alias=True, exclude_none=True) != pod.affinity:
        raise UsageError(  # the model drops what it does not know: a misspelled field would vanish
            f"job {plan.spec.name}: pod affinity has fields Kubernetes does not know: {pod.affinity}"
        )
    return {
        "node_selector": pod.node_selector or None,
        "tolerations": tolerations or None,
        "affinity": affinity,
        "priority_class_name": pod.priority_class,
        "service_account_name": pod.service_account,
        "annotations": pod.annotations or None,
    }


def semaphore(plan: StepPlan) -> m.Synchronization | None:
    sync = plan.deployment.sync
    if sync is None or sync.semaphore is None:
        return None
    ref = m.ConfigMapKeySelector(name=plan.options.semaphores, key=sync.semaphore)
    return m.Synchronization(semaphores=[m.SemaphoreRef(config_map_key_ref=ref)])
