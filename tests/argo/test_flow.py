"""Which templates run only inside an exit handler (``jobframe.argo.flow``), in the shapes Argo
accepts: the workflow's ``onExit`` or ``hooks.exit``, a step's or task's, through steps and DAGs."""

from __future__ import annotations

from typing import Any

import pytest

from jobframe.argo.flow import exit_only


def container(name: str) -> dict[str, Any]:
    return {"name": name, "container": {"image": "x"}}


def steps(name: str, *groups: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "steps": list(groups)}


def dag(name: str, *tasks: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "dag": {"tasks": list(tasks)}}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"entrypoint": "a", "onExit": "b", "templates": [container("a"), container("b")]}, {"b"}),
        (
            {
                "entrypoint": "a",
                "hooks": {"exit": {"template": "r"}},
                "templates": [
                    container("a"),
                    steps("r", [{"name": "s", "template": "b"}]),
                    container("b"),
                ],
            },
            {"r", "b"},
        ),
        (  # a step's own onExit, and a task's exit hook; a running hook is the flow's
            {
                "entrypoint": "m",
                "templates": [
                    steps("m", [{"name": "s", "template": "a", "onExit": "b"}]),
                    dag("d", {"name": "t", "template": "a"}),
                    container("a"),
                    container("b"),
                ],
            },
            {"b"},
        ),
        (
            {
                "entrypoint": "m",
                "templates": [
                    dag(
                        "m",
                        {
                            "name": "t",
                            "template": "a",
                            "hooks": {
                                "exit": {"template": "b"},
                                "running": {"template": "c", "expression": "true"},
                            },
                        },
                    ),
                    container("a"),
                    container("b"),
                    container("c"),
                ],
            },
            {"b"},
        ),
        (  # used in the flow too: not exit-only
            {
                "entrypoint": "m",
                "onExit": "a",
                "templates": [
                    steps("m", [{"name": "s", "template": "a"}]),
                    container("a"),
                ],
            },
            set(),
        ),
        ({"onExit": "b", "templates": [container("a"), container("b")]}, set()),  # no entrypoint
        ({"entrypoint": "a", "onExit": "missing", "templates": [container("a")]}, set()),
        ({"entrypoint": "a", "templates": "not a list"}, set()),
    ],
    ids=[
        "workflow onExit",
        "hooks.exit through steps",
        "step onExit",
        "task hooks",
        "both",
        "library",
        "unknown name",
        "malformed",
    ],
)
def test_exit_only(spec: dict[str, Any], expected: set[str]) -> None:
    assert exit_only(spec) == expected
