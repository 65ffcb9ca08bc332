"""Argo Workflows' JSON schema (v4.1.2, Apache-2.0; see SOURCE.txt), validated per kind.

The schema's top level is a ``oneOf`` over every kind, which turns any fault into one unreadable
message; a document is validated against its own kind's definition instead (Draft 2020-12).
Integer-or-string fields are typed as strings there: ``activeDeadlineSeconds: "3600"``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["KINDS", "SchemaError", "schema_errors"]

KINDS = ("Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate", "CronWorkflow")


@dataclass(frozen=True)
class SchemaError:
    """One place where a document breaks its kind's schema."""

    path: tuple[str | int, ...]
    message: str


@functools.cache
def _definitions() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("argo-workflows.schema.json").read_text("utf-8")
    definitions: dict[str, Any] = json.loads(text)["definitions"]
    return definitions


@functools.cache
def _validator(kind: str) -> Any:
    from jsonschema import Draft202012Validator  # noqa: PLC0415 - optional: the argo extra

    schema = {"$ref": f"#/definitions/io.argoproj.workflow.v1alpha1.{kind}", "definitions": _definitions()}
    return Draft202012Validator(schema)


def schema_errors(document: Mapping[str, Any]) -> Iterator[SchemaError]:
    """Every schema fault of ``document`` (one of :data:`KINDS`), in document order."""
    kind = document.get("kind")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    errors = sorted(_validator(kind).iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        yield SchemaError(tuple(error.absolute_path), error.message)
