"""Reading Argo manifests: documents, their workflow spec, and the steps that run jobframe.

A step runs jobframe when its container's command is jobframe (``/opt/venv/bin/jobframe``,
``jobframe``, ``python -m jobframe``) or, with no command (the image's entrypoint), when its
arguments name a job (``--job-name``). A container or ``script`` template that runs a shell
(``sh -c "exec jobframe ..."``) is looked through when its text is one plain command; one that
mentions jobframe in anything more (pipes, variables, several commands) is named as a step lint
cannot check (:func:`opaque_steps`), never passed in silence. Everything carries its path inside
the document, so a finding can say exactly where it is.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Document", "Step", "jobframe_steps", "load_documents", "opaque_steps", "path_text"]

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh"})
_SHELL_SYNTAX = re.compile(r"[;&|<>`$()\n]|\\$")

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


def _merged(defaults: Any, value: Any) -> Any:
    """Argo's strategic merge of ``templateDefaults`` into a template: maps field by field (the
    template's own fields win), anything else replaced."""
    if isinstance(defaults, Mapping) and isinstance(value, Mapping):
        out = dict(defaults)
        for key, item in value.items():
            out[key] = _merged(defaults.get(key), item) if key in defaults else item
        return out
    return value


def template_setting(
    document: Document, path: Path_, template: Mapping[str, Any], key: str
) -> tuple[Any, Path_]:
    """A template field merged over the workflow's ``templateDefaults`` (field by field, as Argo
    does), else the workflow spec's own; with the path of where it (mostly) comes from."""
    spec = document.workflow_spec
    defaults = spec.get("templateDefaults")
    default = defaults.get(key) if isinstance(defaults, dict) else None
    if key in template:
        return _merged(default, template[key]), (*path, key)
    if default is not None:
        return default, (*document.spec_path, "templateDefaults", key)
    if key in ("retryStrategy", "podSpecPatch") and key in spec:
        return spec[key], (*document.spec_path, key)
    return None, (*path, key)


def setting_origin(document: Document, path: Path_, template: Mapping[str, Any], *keys: str) -> Path_:
    """Where a nested field (``retryStrategy.backoff.maxDuration``) is written: the template,
    or the ``templateDefaults`` it inherits it from without showing it."""
    node: Any = template
    for key in keys:
        node = node.get(key) if isinstance(node, Mapping) else None
    if node is not None:
        return (*path, *keys)
    defaults: Any = document.workflow_spec.get("templateDefaults")
    for key in keys:
        defaults = defaults.get(key) if isinstance(defaults, Mapping) else None
    if defaults is not None:
        return (*document.spec_path, "templateDefaults", *keys)
    return template_setting(document, path, template, keys[0])[1] + tuple(keys[1:])


@dataclass(frozen=True)
class Step:
    """A container (or ``script``) template that runs jobframe."""

    document: Document
    path: Path_
    """The template's path (``spec.templates[2]``)."""
    template: Mapping[str, Any]
    shell: tuple[tuple[str, ...], Path_] | None = None
    """Looked through a shell (``sh -c "exec jobframe ..."``): jobframe's arguments and where the
    shell text is."""

    @property
    def container(self) -> Mapping[str, Any]:
        container = self.template.get("container") or self.template.get("script")
        return container if isinstance(container, dict) else {}

    @property
    def kind(self) -> str:
        return "container" if isinstance(self.template.get("container"), dict) else "script"

    @property
    def args(self) -> list[str]:
        if self.shell is not None:
            return list(self.shell[0])
        command = [str(c) for c in self.container.get("command") or []]
        args = [str(a) for a in self.container.get("args") or []]
        # `python -m jobframe ARGS` in command: what follows `-m jobframe` is jobframe's too.
        for i in range(len(command) - 1):
            if command[i] == "-m" and command[i + 1] == "jobframe":
                return command[i + 2 :] + args
        return args

    @property
    def args_path(self) -> Path_:
        if self.shell is not None:
            return self.shell[1]
        return (*self.path, self.kind, "args")

    def setting(self, key: str) -> tuple[Any, Path_]:
        """A template field merged over ``templateDefaults``, else the workflow spec's own."""
        return template_setting(self.document, self.path, self.template, key)

    def origin(self, *keys: str) -> Path_:
        """The path of a nested setting, where it is written (see :func:`setting_origin`)."""
        return setting_origin(self.document, self.path, self.template, *keys)

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


def _jobframe_words(words: list[str]) -> list[str] | None:
    """jobframe's arguments in one shell command (``exec``, ``VAR=value`` prefixes allowed)."""
    while words and (words[0] == "exec" or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0])):
        words = words[1:]
    if words and words[0].rsplit("/", 1)[-1] == "jobframe":
        return words[1:]
    for i in range(len(words) - 1):
        if words[i : i + 2] == ["-m", "jobframe"] and words[0].rsplit("/", 1)[-1].startswith("python"):
            return words[i + 2 :]
    return None


def _shell_text(template: Mapping[str, Any], path: Path_) -> tuple[str, Path_] | None:
    """The shell text a container (``sh -c TEXT``) or ``script`` template runs, and its path."""
    script = template.get("script")
    if isinstance(script, dict):
        command = [str(c) for c in script.get("command") or []]
        if command and command[0].rsplit("/", 1)[-1] in SHELLS:
            return str(script.get("source") or ""), (*path, "script", "source")
        return None
    container = template.get("container")
    if not isinstance(container, dict):
        return None
    command = [str(c) for c in container.get("command") or []]
    args = [str(a) for a in container.get("args") or []]
    words, where = command + args, (*path, "container")
    if not words or words[0].rsplit("/", 1)[-1] not in SHELLS or "-c" not in words[1:2]:
        return None
    text_at = 2
    if len(words) <= text_at:
        return None
    in_command = len(command) > text_at
    return words[text_at], (
        *where,
        "command" if in_command else "args",
        text_at if in_command else text_at - len(command),
    )


def _shell_args(template: Mapping[str, Any], path: Path_) -> tuple[tuple[str, ...], Path_] | str | None:
    """A shell step's jobframe arguments; ``"opaque"`` when it mentions jobframe in more than
    one plain command; ``None`` when it is not a jobframe step."""
    found = _shell_text(template, path)
    if found is None:
        return None
    text, where = found
    if "jobframe" not in text:
        return None
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.strip().startswith("#")]
    plain = len(lines) == 1 and not _SHELL_SYNTAX.search(lines[0])
    try:
        words = shlex.split(lines[0]) if plain else None
    except ValueError:
        words = None
    args = _jobframe_words(words) if words else None
    if args is None:
        return "opaque"
    return tuple(args), where


def jobframe_steps(document: Document) -> Iterator[Step]:
    """Templates of the document that run jobframe: containers, and shells looked through."""
    templates = document.workflow_spec.get("templates") or []
    for index, template in enumerate(templates):
        if not isinstance(template, dict):
            continue
        path = (*document.spec_path, "templates", index)
        shell = _shell_args(template, path)
        if isinstance(shell, tuple):
            yield Step(document, path, template, shell=shell)
        elif shell is None:
            container = template.get("container")
            if isinstance(container, dict) and _runs_jobframe(container):
                yield Step(document, path, template)


def opaque_steps(document: Document) -> Iterator[Path_]:
    """Shell steps that mention jobframe but are more than one plain command: lint cannot tell
    what they run (pipes, variables, several commands) and says so."""
    templates = document.workflow_spec.get("templates") or []
    for index, template in enumerate(templates):
        if isinstance(template, dict):
            path = (*document.spec_path, "templates", index)
            if _shell_args(template, path) == "opaque":
                yield _shell_text(template, path)[1]  # type: ignore[index]


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
