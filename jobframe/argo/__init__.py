"""Argo Workflows for jobframe apps: manifests rendered from the jobs, a linter, sharded fan-out.

``python -m jobframe.argo render`` (or ``jobframe-argo``) writes a ``WorkflowTemplate`` per job —
a ``CronWorkflow`` for a scheduled one, plus a fan-out template for a shardable one — from what
the jobs declare with ``@jobframe.job(...)``; ``lint`` checks any manifest against the app;
``combine`` is the fan-out's last step. Rendering needs the ``argo`` extra (Hera, jsonschema);
nothing here is imported by a job's run. See docs/argo.md.
"""

__all__: list[str] = []
