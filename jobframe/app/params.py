"""Turn ``--param KEY=VALUE`` pairs into the job's typed params model, or one clear usage error.

Values arrive as strings and pydantic converts them (``"3"`` → ``3``, ``"true"`` → ``True``). A key
given more than once collects into a list, and a value that is a JSON array or object is parsed,
so list and dict fields can be passed either way.
"""

from __future__ import annotations

import collections.abc
import difflib
import json
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from jobframe.app.spec import JobSpec
from jobframe.errors import UsageError
from jobframe.validation import format_errors

__all__ = ["parse_params", "split_pairs"]


def split_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """``["a=1", "b=x", "b=y"]`` → ``{"a": "1", "b": ["x", "y"]}``; malformed pairs are usage errors."""
    values: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE")
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        if key in values:
            previous = values[key]
            values[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            values[key] = value
    return values


def _known_keys(model: type[BaseModel]) -> set[str]:
    keys = set(model.model_fields)
    keys.update(f.alias for f in model.model_fields.values() if f.alias)
    return keys


_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        return str not in args and any(_is_sequence(arg) for arg in args)  # `str | list[str]`: keep the str
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _listify(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """A single ``--param users=ada`` for a list field means ``["ada"]``, as repeating it would."""
    out = dict(values)
    for name, field in model.model_fields.items():
        for key in (name, field.alias):
            if key in out and isinstance(out[key], str) and _is_sequence(field.annotation):
                out[key] = [out[key]]
    return out


def parse_params(spec: JobSpec, values: dict[str, Any]) -> BaseModel | None:
    """Validate ``values`` against ``spec``'s params model before anything is built."""
    model = spec.params_model
    if model is None:
        if values:
            raise UsageError(f"job {spec.name} takes no parameters, got: {', '.join(sorted(values))}")
        return None
    known = _known_keys(model)
    unknown = [k for k in values if k not in known]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise UsageError(
            f"job {spec.name}: unknown parameter {', '.join(hints)}; known: {', '.join(sorted(known))}"
        )
    try:
        return model.model_validate(_listify(model, values))
    except ValidationError as exc:
        raise UsageError(f"job {spec.name}: invalid parameters:\n{format_errors(exc)}") from None
