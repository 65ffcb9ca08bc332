"""``python -m jobframe.argo lint FILE...``: check manifests against the app before they deploy.

For rendered and hand-written manifests alike: every document of an Argo kind is validated
against its kind's JSON schema, and every step that runs jobframe against the job it names
(:mod:`jobframe.argo.rules`). Each finding names the file, the document, the path inside it and
the fix. Exit 0 when clean, 1 with findings, 2 when the files or the app cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from jobframe.app.discovery import App
from jobframe.argo.manifests import Document, jobframe_steps, load_documents, path_text
from jobframe.argo.rules import check_step
from jobframe.argo.schema import KINDS, schema_errors

__all__ = ["Finding", "lint_documents", "lint_files"]


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

    def __str__(self) -> str:
        what = f"{self.kind}/{self.name}" if self.name else (self.kind or "document")
        where = f"{self.file}: document {self.document + 1} ({what}): {self.path}"
        return f"{where}: {self.message}\n  fix: {self.fix}"


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

        def add(
            path: str, message: str, fix: str, document: Document = document, name: str | None = name
        ) -> None:
            findings.append(Finding(document.file, document.index, document.kind, name, path, message, fix))

        if schema:
            for error in schema_errors(data):
                add(
                    path_text(error.path) or "(document)",
                    f"schema: {error.message}",
                    _schema_fix(error.message),
                )
        for step in jobframe_steps(document):
            try:
                problems = check_step(app, step)
            except (ValueError, TypeError, AttributeError, KeyError) as exc:  # a field of the wrong shape
                add(
                    path_text(step.path),
                    f"cannot check this step: a field has a value Argo would refuse ({exc})",
                    "give each field the type Argo expects (numbers of seconds, a retry limit)",
                )
                continue
            for problem in problems:
                add(path_text(problem.path), problem.message, problem.fix)
    return findings


def lint_files(app: App, files: Iterable[Path], *, schema: bool = True) -> list[Finding]:
    """Findings of every file; ``ValueError`` naming a file that cannot be read as YAML."""
    documents = [doc for file in files for doc in load_documents(file)]
    return lint_documents(app, documents, schema=schema)
