"""Lint rules on a workflow's shape: its DAG and steps templates and what they run.

A step can be right on its own and still lose data through the template that runs it: a fan-out
whose items disagree with the ``--shard I/N`` each shard is told (shards never run, half the
input skipped in silence), a combine step told another count, a retry strategy on the DAG that
runs every shard again, ``activeDeadlineSeconds`` where Argo refuses it, or parallel shard pods
sharing one ``ReadWriteOnce`` claim (pods on another node wait on Multi-Attach while their
deadline runs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jobframe.argo._rules import Problem
from jobframe.argo.manifests import Document, Path_, Step, jobframe_steps, template_setting

__all__ = ["workflow_problems"]

_TAG = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_INPUT = re.compile(r"\{\{inputs\.parameters\.([A-Za-z0-9_-]+)\}\}")
_SHARED_MODES = {"ReadWriteMany", "ReadOnlyMany"}
_PG_FIX = (
    "keep the fan-out's ledgers in PostgreSQL (LEDGER__STORE=postgres, as jobframe-argo render does), "
    "use a ReadWriteMany claim, or set parallelism: 1"
)


def _norm(text: Any) -> str:
    """``{{ item }}`` and ``{{item}}`` alike; numbers as text."""
    return _TAG.sub(r"{{\1}}", str(text).strip())


def _int(text: str) -> int | None:
    return int(text) if re.fullmatch(r"-?\d+", text) else None


@dataclass(frozen=True)
class _Task:
    """One task of a DAG (or one step of a steps template) and where it is."""

    path: Path_
    data: Mapping[str, Any]

    def arguments(self) -> dict[str, str]:
        params = (self.data.get("arguments") or {}).get("parameters") or []
        return {
            str(p["name"]): _norm(p.get("value", "")) for p in params if isinstance(p, dict) and "name" in p
        }

    def bind(self, text: str) -> str:
        """``text`` of the called template with its inputs replaced by this task's arguments."""
        given = self.arguments()
        return _INPUT.sub(lambda m: given.get(m.group(1), m.group(0)), _norm(text))


def _tasks(template: Mapping[str, Any], path: Path_) -> Iterator[_Task]:
    dag = template.get("dag")
    if isinstance(dag, dict):
        for i, task in enumerate(dag.get("tasks") or []):
            if isinstance(task, dict):
                yield _Task((*path, "dag", "tasks", i), task)
    for i, group in enumerate(template.get("steps") or []):
        for j, step in enumerate(group if isinstance(group, list) else []):
            if isinstance(step, dict):
                yield _Task((*path, "steps", i, j), step)


def _option(args: list[str], option: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == option and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(option + "="):
            return arg[len(option) + 1 :]
    return None


def _is_combine(template: Mapping[str, Any]) -> bool:
    container = template.get("container")
    if not isinstance(container, dict):
        return False
    words = [str(w) for w in (container.get("command") or []) + (container.get("args") or [])]
    if words and words[0].rsplit("/", 1)[-1] == "jobframe-argo":
        return "combine" in words[1:2]
    return any(words[i : i + 3] == ["-m", "jobframe.argo", "combine"] for i in range(len(words)))


def _non_leaf_problems(document: Document, path: Path_, template: Mapping[str, Any]) -> Iterator[Problem]:
    kind = "DAG" if "dag" in template else "steps"
    if "activeDeadlineSeconds" in template:
        yield Problem(
            (*path, "activeDeadlineSeconds"),
            f"activeDeadlineSeconds on a {kind} template: Argo refuses the workflow at submit "
            "(only leaf templates may have one)",
            "remove it; give each container template its attempt's deadline, and the whole run "
            "spec.activeDeadlineSeconds",
        )
    strategy, where = template_setting(document, path, template, "retryStrategy")
    if isinstance(strategy, Mapping) and str(strategy.get("limit", "")) != "0":
        inherited = "retryStrategy" not in template
        yield Problem(
            where,
            f"a retry strategy on the {kind} template {template.get('name')!r}"
            + (" (inherited from templateDefaults, field by field)" if inherited else "")
            + ": a retry of it runs every task again, the ones that succeeded too — a send twice",
            "retry the container templates only"
            + (": move retryStrategy out of templateDefaults onto them" if inherited else ""),
        )


def _sequence_problems(task: _Task, count: str) -> Iterator[Problem]:
    """A ``withSequence``/``withItems`` that gives other items than 0..N-1 for ``--shard I/N``."""
    n = _int(count)
    sequence = task.data.get("withSequence")
    items = task.data.get("withItems")
    if isinstance(sequence, dict):
        start = _norm(sequence.get("start", "0"))
        where = (*task.path, "withSequence")
        if _int(start) not in (0, None):
            yield Problem(
                (*where, "start"),
                f"the sequence starts at {start}, but --shard counts from 0: shard 0 never runs (its part "
                "of the input is skipped in silence) and the last item asks for a shard that does not exist",
                "remove start (the items must be 0 .. N-1)",
            )
            return
        if "count" in sequence and _norm(sequence["count"]) != count:
            seq_n = _int(_norm(sequence["count"]))
            if n is None or seq_n is None or seq_n != n:
                yield Problem(
                    (*where, "count"),
                    f"the fan-out runs {_norm(sequence['count'])} items but tells each shard "
                    f"--shard I/{count}: shards run twice or never (data skipped in silence)",
                    f"count: {count!r} (the same value as the shard count)",
                )
        elif "end" in sequence:
            end = _norm(sequence["end"])
            runs = None if _int(end) is None else _int(end) - (_int(start) or 0) + 1  # type: ignore[operator]
            if end == count or (runs is not None and n is not None and runs != n):
                yield Problem(
                    (*where, "end"),
                    f"end {end} is inclusive: the fan-out runs {runs if runs is not None else 'N + 1'} items "
                    f"for --shard I/{count} (a shard that does not exist, or shards never run)",
                    f"use count: {count!r} instead of end",
                )
    elif isinstance(items, list):
        given = [_norm(i) for i in items]
        wanted = [str(i) for i in range(n if n is not None else len(given))]
        if given != wanted:
            yield Problem(
                (*task.path, "withItems"),
                f"the items {given} are not the shards 0 .. N-1 of --shard I/{count}: "
                "some shards run twice or never (data skipped in silence)",
                f"withSequence: {{count: {count!r}}}",
            )


def _claim_problems(document: Document, task: _Task, step: Step, parallelism: Any) -> Iterator[Problem]:
    if str(parallelism) == "1":
        return
    templates = document.workflow_spec.get("volumeClaimTemplates") or []
    mounted = {str(v.get("name")) for v in step.container.get("volumeMounts") or [] if isinstance(v, dict)}
    for i, claim in enumerate(templates):
        if not isinstance(claim, dict):
            continue
        name = str((claim.get("metadata") or {}).get("name"))
        modes = set((claim.get("spec") or {}).get("accessModes") or [])
        if name in mounted and not modes & _SHARED_MODES:
            yield Problem(
                (*document.spec_path, "volumeClaimTemplates", i, "spec", "accessModes"),
                f"the shards of task {task.data.get('name')!r} run in parallel and all mount the "
                f"ReadWriteOnce claim {name!r}: a shard scheduled on another node waits on Multi-Attach "
                "while its deadline runs",
                _PG_FIX,
            )


def _fanout_problems(
    document: Document, path: Path_, template: Mapping[str, Any], steps: Mapping[str, Step]
) -> Iterator[Problem]:
    counts: list[str] = []
    combines: list[tuple[_Task, str]] = []
    templates = {
        t.get("name"): t for t in document.workflow_spec.get("templates") or [] if isinstance(t, dict)
    }
    parallelism = template.get("parallelism", document.workflow_spec.get("parallelism"))
    for task in _tasks(template, path):
        called = templates.get(task.data.get("template"))
        step = steps.get(str(task.data.get("template")))
        looped = any(k in task.data for k in ("withSequence", "withItems", "withParam"))
        if step is not None and looped:
            yield from _claim_problems(document, task, step, parallelism)
            shard = _option(step.args, "--shard")
            if shard is None:
                continue
            index, _, count = task.bind(shard).rpartition("/")
            counts.append(count)
            if index != "{{item}}":
                yield Problem(
                    (*task.path, "arguments"),
                    f"every item of the fan-out runs --shard {index}/{count}: the same shard again and "
                    "again, the others never",
                    "pass the item as the shard index: shard: '{{item}}'",
                )
            yield from _sequence_problems(task, count)
        elif isinstance(called, dict) and _is_combine(called):
            container = called["container"]
            shards = _option([str(a) for a in container.get("args") or []], "--shards")
            if shards is not None:
                combines.append((task, task.bind(shards)))
    for task, told in combines:
        for count in counts:
            if told != count:
                yield Problem(
                    (*task.path, "arguments"),
                    f"the combine step is told --shards {told}, the fan-out runs --shard I/{count}: "
                    "it fails on a missing shard, or combines only part of the results",
                    f"pass the fan-out's shard count: shards: {count!r}",
                )


def workflow_problems(document: Document) -> Iterator[Problem]:
    """Every problem of the document's DAG and steps templates."""
    steps = {str(s.template.get("name")): s for s in jobframe_steps(document)}
    for index, template in enumerate(document.workflow_spec.get("templates") or []):
        if isinstance(template, dict) and ("dag" in template or "steps" in template):
            path = (*document.spec_path, "templates", index)
            yield from _non_leaf_problems(document, path, template)
            yield from _fanout_problems(document, path, template, steps)
