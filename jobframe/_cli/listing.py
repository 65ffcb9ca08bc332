"""``jobframe --list``: every job with its description and the whole of its parameter contract.

Each parameter shows its type, whether it is required or its default, its constraints and its
description, so the command line can be written without reading the job's source.
"""

from __future__ import annotations

from jobframe._app import App
from jobframe._app.params import ParamDoc, describe_params

__all__ = ["render_jobs"]

FOOTER = (
    "Set a parameter with --param KEY=VALUE. A list parameter takes a repeated key or one JSON "
    'array (KEY=\'["a","b"]\'); more in jobframe --help.'
)


def _param_line(doc: ParamDoc, width: int) -> str:
    facts = [doc.type]
    facts.append("required" if doc.required else f"default {doc.default}")
    if doc.constraints:
        facts.append(doc.constraints)
    if doc.repeatable:
        facts.append("repeatable")
    line = f"    {doc.key:<{width}}  {'; '.join(facts)}"
    return f"{line}  - {doc.description}" if doc.description else line


def render_jobs(app: App) -> str:
    """The ``--list`` text: one block per job, sorted by name, then a one-line reminder."""
    if not app.jobs:
        return "no jobs: the container exposes no providers.Factory of a class with execute()\n"
    width = max(len(name) for name in app.jobs)
    lines: list[str] = []
    for name, entry in sorted(app.jobs.items()):
        lines.append(f"{name:<{width}}  {entry.spec.description}".rstrip())
        docs = describe_params(entry.spec.params_model)
        key_width = max((len(d.key) for d in docs), default=0)
        lines += [_param_line(doc, key_width) for doc in docs]
    lines += ["", FOOTER]
    return "\n".join(lines) + "\n"
