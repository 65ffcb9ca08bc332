"""The app's manifests as files: one YAML file per job, checked by lint before it is written.

Each file holds the job's ``WorkflowTemplate`` (a ``CronWorkflow`` for a scheduled job) and, for
a shardable job, its fan-out ``WorkflowTemplate``. Rendering lints its own output against the app
(schema and every rule): a job whose metadata cannot make a valid manifest fails here, not on the
cluster. ``check_directory`` is the staleness check CI runs on ``deploy/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from jobframe._app.discovery import App
from jobframe.argo.lint import lint_documents
from jobframe.argo.manifests import Document
from jobframe.argo.plan import RenderOptions, k8s_name, plan_step
from jobframe.argo.render import render_plan
from jobframe.errors import JobframeError, UsageError

__all__ = ["RenderError", "check_directory", "render_app", "write_directory"]

HEADER = """\
# Rendered by `jobframe-argo render --app {app}{config}` from job {job}: do not edit.
# Change the job's @jobframe.job(...) or the render configuration and render again;
# `jobframe-argo lint` checks hand edits.
"""


class RenderError(JobframeError):
    """The job's metadata cannot make a valid manifest (exit 1: the job's code must change)."""


def _check_job(app: App, name: str) -> None:
    spec = app.jobs[name].spec
    if spec.deployment.schedule is None or spec.params_model is None:
        return
    required = [n for n, info in spec.params_model.model_fields.items() if info.is_required()]
    if required:
        raise UsageError(
            f"job {name} has a schedule but parameter{'s' if len(required) > 1 else ''} "
            f"{', '.join(required)} without a default: a scheduled run cannot give them"
        )


def render_job(app: App, name: str, options: RenderOptions) -> str:
    """The YAML file of one job, linted."""
    _check_job(app, name)
    spec = app.jobs[name].spec
    plan = plan_step(app, spec, options)
    shard_plan = plan_step(app, spec, options, sharded=True) if spec.deployment.shardable else None
    documents = render_plan(plan, shard_plan)
    findings = lint_documents(
        app, [Document(Path(f"{plan.name}.yaml"), i, d) for i, d in enumerate(documents)]
    )
    if findings:
        raise RenderError(f"job {name}: the rendered manifest fails lint:\n" + "\n".join(map(str, findings)))
    body = yaml.safe_dump_all(documents, sort_keys=False, width=120)
    config = f" --config {options.config}" if options.config else ""
    return HEADER.format(app=options.app, config=config, job=name) + body


def render_app(app: App, options: RenderOptions, jobs: Iterable[str] | None = None) -> dict[str, str]:
    """File name → YAML for the selected jobs (all by default), in name order."""
    names = sorted(app.jobs) if jobs is None else [app.job(j).spec.name for j in jobs]
    files: dict[str, str] = {}
    for name in names:
        file = f"{k8s_name(name)}.yaml"
        if file in files:
            raise UsageError(f"jobs {name} and another both render to {file}: rename one")
        files[file] = render_job(app, name, options)
    return files


def write_directory(directory: Path, files: Mapping[str, str]) -> list[Path]:
    """Write every file into ``directory`` (created if needed); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_directory(directory: Path, files: Mapping[str, str]) -> list[str]:
    """What differs between ``directory`` and a fresh render: missing, stale and extra files."""
    problems = []
    for name, text in files.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{name}: stale (differs from a fresh render)")
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        if path.name not in files and path.read_text(encoding="utf-8").startswith(
            "# Rendered by `jobframe-argo"
        ):
            problems.append(f"{path.name}: rendered for a job that no longer exists")
    return problems
