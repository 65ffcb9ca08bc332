"""``python -m jobframe.argo lint FILE...``: check manifests against the app before they deploy.

For rendered and hand-written manifests alike: every document of an Argo kind is validated
against its kind's JSON schema, its templates' shapes (:mod:`jobframe.argo._rules.workflow`:
fan-outs, DAG-level settings, shared claims), and every step that runs jobframe against the job it
names (:mod:`jobframe.argo._rules`). Each finding names the file, the document, the path inside it
and the fix. What lint cannot tell is said as a note, not counted as a fault. A manifest silences
a finding with the annotation ``jobframe/lint-ignore`` listing its path (one per line; a finding
at or under a listed path is silenced). Exit 0 when clean, 1 with findings, 2 when the files or
the app cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobframe._app.discovery import App
from jobframe.argo._rules import Problem, check_step, workflow_problems
from jobframe.argo._rules.removed import removed_field_problems
from jobframe.argo.manifests import Document, jobframe_steps, load_documents, opaque_steps, path_text
from jobframe.argo.schema import KINDS, schema_errors

__all__ = ["IGNORE", "Finding", "lint_documents", "lint_files", "silenced_paths", "without_workflows"]

IGNORE = "jobframe/lint-ignore"
"""The annotation that silences findings in one manifest: the paths of the findings, one per line
(``#`` starts a comment, e.g. the reason)."""


@dataclass(frozen=True)
class Finding:
    """One fault, where it is and how to fix it."""

    file: Path
    document: int
    kind: str | None
    name: str | None
    path: str
    message: str
    fix: str
    note: bool = False
    """Cannot tell: reported, never counted as a fault."""

    def __str__(self) -> str:
        what = f"{self.kind}/{self.name}" if self.name else (self.kind or "document")
        where = f"{self.file}: document {self.document + 1} ({what}): {self.path}"
        if self.note:
            return f"{where}: note: {self.message}\n  check: {self.fix}"
        return f"{where}: {self.message}\n  fix: {self.fix}"


def silenced_paths(data: object) -> tuple[str, ...]:
    """The paths a document's ``jobframe/lint-ignore`` annotation lists."""
    metadata = data.get("metadata") if isinstance(data, dict) else None
    annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
    text = annotations.get(IGNORE) if isinstance(annotations, dict) else None
    if not isinstance(text, str):
        return ()
    lines = (line.split("#", 1)[0].strip() for line in text.replace(",", "\n").splitlines())
    return tuple(line for line in lines if line)


def _silenced(path: str, ignored: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith((p + ".", p + "[")) for p in ignored)


def _schema_fix(message: str) -> str:
    if "is not of type 'string'" in message:
        return 'write the value as a string (IntOrString fields: activeDeadlineSeconds: "3600", limit: "3")'
    if "is a required property" in message:
        return "add the missing field"
    return "see Argo's field reference for this kind"


def lint_documents(app: App, documents: Iterable[Document], *, schema: bool = True) -> list[Finding]:
    """Findings of every document; documents of other kinds (a Secret next to a template) pass."""
    findings: list[Finding] = []
    for document in documents:
        data = document.data
        if not isinstance(data, dict) or document.kind not in KINDS:
            continue
        name = (data.get("metadata") or {}).get("name") or (data.get("metadata") or {}).get("generateName")
        ignored = silenced_paths(data)

        def add(
            problem: Problem,
            document: Document = document,
            name: str | None = name,
            ignored: tuple[str, ...] = ignored,
        ) -> None:
            path = path_text(problem.path) or "(document)"
            if not _silenced(path, ignored):
                findings.append(
                    Finding(
                        document.file, document.index, document.kind, name, path,
                        problem.message, problem.fix, problem.note,
                    )
                )  # fmt: skip

        if schema:
            for error in schema_errors(data):
                add(Problem(tuple(error.path), f"schema: {error.message}", _schema_fix(error.message)))
        for problem in (*workflow_problems(document), *removed_field_problems(document)):
            add(problem)
        for where in opaque_steps(document):
            add(
                Problem(
                    where,
                    "cannot tell what this shell runs: it mentions jobframe, but in more than one plain "
                    "command (variables, pipes, several lines), so none of jobframe's checks were made",
                    "run jobframe as the container's command with plain arguments, or check it by hand",
                    note=True,
                )
            )
        for step in jobframe_steps(document):
            try:
                problems = check_step(app, step)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:  # a field of the wrong shape
                problems = [
                    Problem(
                        step.path,
                        f"cannot check this step: a field has a value Argo would refuse ({exc})",
                        "give each field the type Argo expects (numbers of seconds, a retry limit)",
                    )
                ]
            for problem in problems:
                add(problem)
    return findings


def lint_files(app: App, files: Iterable[Path], *, schema: bool = True) -> list[Finding]:
    """Findings of every file; ``ValueError`` naming a file that cannot be read as YAML."""
    documents = [doc for file in files for doc in load_documents(file)]
    return lint_documents(app, documents, schema=schema)


def without_workflows(files: Iterable[Path]) -> list[Path]:
    """The files that hold no document of an Argo kind (empty, plain text, only a ConfigMap)."""
    return [
        file
        for file in files
        if not any(isinstance(d.data, dict) and d.kind in KINDS for d in load_documents(file))
    ]
