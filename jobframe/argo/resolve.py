"""A step's arguments as the process would get them, as far as the manifest alone can tell.

Argo substitutes ``{{inputs.parameters.x}}``, ``{{workflow.parameters.x}}`` and ``{{= expr }}``
before the container starts. Where the manifest gives the value (an input's ``default``, a
workflow argument's ``value``) it is substituted here, so ``lint`` checks what would run.
Where it does not, a ``--param`` value stays templated (checked by name), and any other option
whose value is unknown is set aside and named, so no check pretends to know it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jobframe.argo.expressions import ExpressionError, evaluate
from jobframe.argo.flags import value_options
from jobframe.argo.manifests import Step, references

__all__ = ["Resolved", "resolve_args"]


@dataclass(frozen=True)
class Resolved:
    """The arguments with every known value substituted."""

    args: list[str]
    unknown: dict[str, str]
    """Options whose value the manifest leaves open (option → the templated text)."""
    values: dict[tuple[str, str], str]
    """Known parameter values: (``inputs``/``workflow``, name) → value."""


def _known_values(step: Step) -> dict[tuple[str, str], str]:
    values: dict[tuple[str, str], str] = {}
    arguments = step.workflow_arguments()
    for name, param in arguments.items():
        if param.get("value") is not None:
            values[("workflow", name)] = str(param["value"])
    is_entrypoint = step.template.get("name") == step.document.workflow_spec.get("entrypoint")
    for name, param in step.inputs().items():
        if param.get("value") is not None:
            values[("inputs", name)] = str(param["value"])
        elif is_entrypoint and ("workflow", name) in values:
            values[("inputs", name)] = values[("workflow", name)]  # the entrypoint gets the arguments
        elif param.get("default") is not None:
            values[("inputs", name)] = str(param["default"])
    return values


def _scope(values: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    scope: dict[str, Any] = {"inputs": {"parameters": {}}, "workflow": {"parameters": {}}}
    for (where, name), value in values.items():
        scope[where]["parameters"][name] = value
    return scope


def _substitute(text: str, values: Mapping[tuple[str, str], str]) -> str | None:
    """``text`` with every reference replaced, or ``None`` when one is unknown."""
    stripped = text.strip()
    if stripped.startswith("{{=") and stripped.endswith("}}"):
        try:
            return str(evaluate(stripped[3:-2], _scope(values)))
        except ExpressionError:
            return None
    for where, name in references(text):
        if (where, name) not in values:
            return None
    out = text
    for where, name in references(text):
        for spelling in (f"{{{{{where}.parameters.{name}}}}}", f"{{{{ {where}.parameters.{name} }}}}"):
            out = out.replace(spelling, values[(where, name)])
    return None if "{{" in out else out


def resolve_args(step: Step) -> Resolved:
    """Substitute what the manifest knows in ``step``'s arguments."""
    values = _known_values(step)
    takes_value = value_options()
    args, unknown = list(step.args), {}
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        option, eq, _ = arg.partition("=")
        if arg in takes_value and i + 1 < len(args):  # --opt VALUE
            value = _substitute(args[i + 1], values) if "{{" in args[i + 1] else args[i + 1]
            if value is not None:
                out += [arg, value]
            elif arg == "--param":
                out += [arg, args[i + 1]]  # a parameter's value may stay templated: checked by name
            else:
                unknown[arg] = args[i + 1]
            i += 2
            continue
        value = _substitute(arg, values) if "{{" in arg else arg
        if value is None:
            if eq and option == "--param":
                out.append(arg)
            else:
                unknown[option if eq and option in takes_value else arg] = arg
        else:
            out.append(value)
        i += 1
    return Resolved(out, unknown, values)
