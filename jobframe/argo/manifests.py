"""Reading Argo manifests: documents, their workflow spec, and the steps that run jobframe.

A step runs jobframe when its container's command is jobframe (``/opt/venv/bin/jobframe``,
``jobframe``, ``python -m jobframe``) or, with no command (the image's entrypoint), when its
arguments name a job (``--job-name``). Everything carries its path inside the document, so a
finding can say exactly where it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Document", "Step", "jobframe_steps", "load_documents", "path_text"]

Path_ = tuple[str | int, ...]
_REF = re.compile(r"\{\{\s*(inputs|workflow)\.parameters\.([A-Za-z0-9_-]+)\s*\}\}")


def path_text(path: Path_) -> str:
    """``("spec", "templates", 0, "container")`` → ``spec.templates[0].container``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Document:
    """One YAML document of a file (``index`` from 0)."""

    file: Path
    index: int
    data: Any

    @property
    def kind(self) -> str | None:
        return self.data.get("kind") if isinstance(self.data, dict) else None

    @property
    def spec_path(self) -> Path_:
        """Where the workflow spec is: ``spec``, or ``spec.workflowSpec`` of a CronWorkflow."""
        return ("spec", "workflowSpec") if self.kind == "CronWorkflow" else ("spec",)

    @property
    def workflow_spec(self) -> Mapping[str, Any]:
        node: Any = self.data
        for key in self.spec_path:
            node = node.get(key) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}


@dataclass(frozen=True)
class Step:
    """A container template that runs jobframe."""

    document: Document
    path: Path_
    """The template's path (``spec.templates[2]``)."""
    template: Mapping[str, Any]

    @property
    def container(self) -> Mapping[str, Any]:
        container = self.template.get("container")
        return container if isinstance(container, dict) else {}

    @property
    def args(self) -> list[str]:
        command = [str(c) for c in self.container.get("command") or []]
        args = [str(a) for a in self.container.get("args") or []]
        # `python -m jobframe ARGS` in command: what follows `-m jobframe` is jobframe's too.
        for i in range(len(command) - 1):
            if command[i] == "-m" and command[i + 1] == "jobframe":
                return command[i + 2 :] + args
        return args

    @property
    def args_path(self) -> Path_:
        return (*self.path, "container", "args")

    def setting(self, key: str) -> tuple[Any, Path_]:
        """A template field, else the workflow's ``templateDefaults``, else the workflow spec's own."""
        if key in self.template:
            return self.template[key], (*self.path, key)
        spec = self.document.workflow_spec
        defaults = spec.get("templateDefaults")
        if isinstance(defaults, dict) and key in defaults:
            return defaults[key], (*self.document.spec_path, "templateDefaults", key)
        if key in ("retryStrategy", "podSpecPatch") and key in spec:
            return spec[key], (*self.document.spec_path, key)
        return None, (*self.path, key)

    def inputs(self) -> dict[str, Mapping[str, Any]]:
        """The template's input parameters by name."""
        params = (self.template.get("inputs") or {}).get("parameters") or []
        return {str(p["name"]): p for p in params if isinstance(p, dict) and "name" in p}

    def workflow_arguments(self) -> dict[str, Mapping[str, Any]]:
        params = (self.document.workflow_spec.get("arguments") or {}).get("parameters") or []
        return {str(p["name"]): p for p in params if isinstance(p, dict) and "name" in p}


def _runs_jobframe(container: Mapping[str, Any]) -> bool:
    command = [str(c) for c in container.get("command") or []]
    if command:
        if command[0].rsplit("/", 1)[-1] == "jobframe":
            return True
        return any(command[i : i + 2] == ["-m", "jobframe"] for i in range(len(command) - 1))
    return any(
        str(a) == "--job-name" or str(a).startswith("--job-name=") for a in container.get("args") or []
    )


def jobframe_steps(document: Document) -> Iterator[Step]:
    """Container templates of the document that run jobframe."""
    templates = document.workflow_spec.get("templates") or []
    for index, template in enumerate(templates):
        container = template.get("container") if isinstance(template, dict) else None
        if isinstance(container, dict) and _runs_jobframe(container):
            yield Step(document, (*document.spec_path, "templates", index), template)


def references(text: str) -> list[tuple[str, str]]:
    """``{{inputs.parameters.x}}`` / ``{{workflow.parameters.x}}`` references in ``text``."""
    return _REF.findall(text)


def load_documents(file: Path) -> list[Document]:
    """Every YAML document of ``file``; ``ValueError`` naming the file when it is not YAML."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{file}: cannot read: {exc.strerror or exc}") from None
    try:
        loaded = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ValueError(f"{file}: not YAML: {exc}") from None
    return [Document(file, i, data) for i, data in enumerate(loaded) if data is not None]
