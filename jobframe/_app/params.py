"""Turn ``--param KEY=VALUE`` pairs into the job's typed params model, or one clear usage error.

Values arrive as strings and pydantic converts them (``"3"`` → ``3``, ``"true"`` → ``True``). The
rules, also printed by ``jobframe --help``:

- a key given more than once collects into a list, and a single value for a list parameter is a
  one-item list;
- a value that starts with ``[`` or ``{`` is JSON — unless the parameter (or, for a repeated key,
  the list's item) is a string, which takes any text literally. JSON that does not parse is a
  usage error naming the parameter, never silently a string;
- an empty value is the empty string, validated like any other value.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import enum
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_jsonable_python

from jobframe._app.spec import JobSpec
from jobframe._app.suggest import did_you_mean
from jobframe.errors import UsageError
from jobframe.validation import describe_errors

__all__ = ["ParamDoc", "describe_params", "parse_params", "split_pairs"]


class Repeated(list[str]):
    """The values of a key given more than once on the command line (a list, or a mistake)."""


def split_pairs(pairs: Iterable[str]) -> dict[str, str | list[str]]:
    """``["a=1", "b=x", "b=y"]`` → ``{"a": "1", "b": ["x", "y"]}``; malformed pairs are usage errors.

    Values stay text here: whether one is JSON depends on the parameter's type (:func:`parse_params`).
    A repeated key's values are a :class:`Repeated` list, so a scalar parameter can say it was
    given twice. Linear in the number of pairs.
    """
    values: dict[str, str | list[str]] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param {pair!r}: expected KEY=VALUE")
        previous = values.get(key)
        if previous is None:
            values[key] = raw
        elif isinstance(previous, Repeated):
            previous.append(raw)
        else:
            values[key] = Repeated([previous, raw])  # type: ignore[list-item]
    return values


# -- types ----------------------------------------------------------------------------------------

_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_TEXT = (str, PurePath, SecretStr, SecretBytes, bytes)


def _unwrap(annotation: Any) -> Any:
    """``Annotated[T, ...]`` → ``T``."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _union_args(annotation: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return None


def _is_text(annotation: Any) -> bool:
    """Whether the type takes text as it is: ``str``, a string ``Literal`` or ``Enum``, a path..."""
    annotation = _unwrap(annotation)
    members = _union_args(annotation)
    if members is not None:
        return any(_is_text(a) for a in members)
    if typing.get_origin(annotation) is typing.Literal:
        return all(isinstance(v, str) for v in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, _TEXT)


def _is_sequence(annotation: Any) -> bool:
    annotation = _unwrap(annotation)
    members = _union_args(annotation)
    if members is not None:  # `str | list[str]`: keep the str
        return not any(_is_text(a) for a in members) and any(_is_sequence(a) for a in members)
    return typing.get_origin(annotation) in _SEQUENCES or annotation in _SEQUENCES


def _item_type(annotation: Any) -> Any:
    """The item type of a sequence annotation (``Any`` when it cannot be told)."""
    annotation = _unwrap(annotation)
    for candidate in _union_args(annotation) or (annotation,):
        member = _unwrap(candidate)
        if _is_sequence(member):
            args = [a for a in typing.get_args(member) if a is not Ellipsis]
            return args[0] if len(args) == 1 else Any
    return Any


# -- decoding -------------------------------------------------------------------------------------


def _decode(job: str, key: str, annotation: Any, value: Any, *, item: bool = False) -> Any:
    """A text value starting with ``[``/``{`` for a non-text type is JSON, and must parse."""
    if not isinstance(value, str) or _is_text(annotation) or value.lstrip()[:1] not in ("[", "{"):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        what = "an item of " if item else ""
        if _is_sequence(annotation):
            fix = f'pass a JSON array such as {key}=\'["a","b"]\', or repeat --param {key}=VALUE per item'
        else:
            kind = type_name(annotation)
            fix = f"a value starting with [ or {{ is read as JSON for {what}a parameter of type {kind}"
        raise UsageError(
            f"job {job}: --param {key}: the value starts like JSON but is not valid JSON "
            f"({exc.msg} at column {exc.colno}); {fix}"
        ) from None


def _field_value(job: str, key: str, field: FieldInfo, value: Any) -> Any:
    annotation = field.annotation
    if isinstance(value, Repeated) and not _is_sequence(annotation):
        raise UsageError(
            f"job {job}: --param {key} was given {len(value)} times, but {key} takes one value "
            f"({type_name(annotation)}); give it once"
        )
    if isinstance(value, list) and _is_sequence(annotation):
        item = _item_type(annotation)
        return [_decode(job, key, item, v, item=True) for v in value]
    value = _decode(job, key, annotation, value)
    if isinstance(value, str) and _is_sequence(annotation):
        return [value]  # a single --param users=ada for a list means ["ada"], as repeating it would
    return value


SHOWN = 5
"""Unknown keys named in one error; the rest are counted, so a message stays one short line."""


def _short(key: str) -> str:
    return key if len(key) <= 40 else f"{key[:40]}…"


def _listed(keys: list[str], limit: int = 3 * SHOWN) -> str:
    shown = ", ".join(_short(k) for k in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _fields_by_key(model: type[BaseModel]) -> dict[str, FieldInfo]:
    keys: dict[str, FieldInfo] = {}
    for field_name, field in model.model_fields.items():
        keys[field_name] = field
        if field.alias:
            keys[field.alias] = field
    return keys


def decode_params(spec: JobSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` as the params model will read them (JSON decoded, a single value for a list made
    a list); unknown keys and JSON that does not parse are usage errors. Nothing is validated yet:
    ``jobframe-argo lint`` checks the values it has, the run validates the whole model."""
    model = spec.params_model
    if model is None:
        if values:
            raise UsageError(f"job {spec.name} takes no parameters, got: {_listed(sorted(values))}")
        return {}
    fields = _fields_by_key(model)
    unknown = [k for k in values if k not in fields]
    if unknown:
        hints = [f"{_short(key)!r}{did_you_mean(key, fields)}" for key in unknown[:SHOWN]]
        more = f" and {len(unknown) - SHOWN} more" if len(unknown) > SHOWN else ""
        raise UsageError(
            f"job {spec.name}: unknown parameter {', '.join(hints)}{more}; known: {_listed(sorted(fields))}"
        )
    return {key: _field_value(spec.name, key, fields[key], value) for key, value in values.items()}


def parse_params(spec: JobSpec, values: Mapping[str, Any]) -> BaseModel | None:
    """Validate ``values`` against ``spec``'s params model before anything is built."""
    model = spec.params_model
    decoded = decode_params(spec, values)
    if model is None:
        return None
    try:
        return model.model_validate(decoded)
    except ValidationError as exc:
        raise UsageError(describe_errors(f"job {spec.name}: invalid parameters", exc)) from None


# -- describing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamDoc:
    """One parameter as ``jobframe --list`` shows it."""

    key: str
    type: str
    required: bool
    default: str | None
    constraints: str
    description: str
    repeatable: bool


def type_name(annotation: Any) -> str:
    """A readable type: ``list[str]``, ``int | None``, ``'auto' | 'csv'``, ``Path``."""
    annotation = _unwrap(annotation)
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "any"
    members = _union_args(annotation)
    if members is not None:
        return " | ".join(type_name(a) for a in members)
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(v) for v in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join("..." if a is Ellipsis else type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', None) or repr(origin)}[{args}]"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " | ".join(repr(m.value) for m in annotation)
    return getattr(annotation, "__name__", None) or repr(annotation)


_CONSTRAINTS = {
    "gt": "> {}",
    "ge": ">= {}",
    "lt": "< {}",
    "le": "<= {}",
    "min_length": "at least {} {unit}",
    "max_length": "at most {} {unit}",
    "multiple_of": "a multiple of {}",
    "pattern": "matching {!r}",
}


_PATH_TYPES = {
    "file": "an existing file",
    "dir": "an existing directory",
    "new": "a path that does not exist yet",
}


def _constraint(key: str, value: Any, unit: str) -> str | None:
    if key == "allow_inf_nan":
        return None if value else "finite"
    if key == "path_type":  # pydantic's FilePath, DirectoryPath, NewPath
        return _PATH_TYPES.get(value, f"a path of type {value}")
    if value is None:
        return None
    if key == "min_length" and value == 1:
        return "not empty"
    return _CONSTRAINTS.get(key, f"{key}={{!r}}").format(value, unit=unit)


def _constraints(field: FieldInfo) -> str:
    unit = "items" if _is_sequence(field.annotation) else "characters"
    parts = []
    for item in field.metadata:  # annotated-types dataclasses (Ge, MinLen...) and pydantic's own
        said = getattr(item, "constraint", None)
        if isinstance(said, str):  # a validator that says what it checks (jobframe.inputs.InputFile)
            parts.append(said)
            continue
        values = (
            {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
            if dataclasses.is_dataclass(item)
            else vars(item)
        )
        found = (_constraint(key, value, unit) for key, value in values.items())
        parts += [text for text in found if text]
    return ", ".join(parts)


def _default(field: FieldInfo) -> str | None:
    if field.is_required():
        return None
    if field.default_factory is not None:
        try:
            value = field.default_factory()  # type: ignore[call-arg]
        except Exception:  # noqa: BLE001 - a factory that needs data or fails: say so, do not crash
            return "(computed)"
    else:
        value = field.default
    if value is PydanticUndefined:
        return None
    return json.dumps(to_jsonable_python(value, fallback=repr), ensure_ascii=False)


def describe_params(model: type[BaseModel] | None) -> list[ParamDoc]:
    """Every parameter of ``model`` with its type, default, constraints and description."""
    if model is None:
        return []
    return [
        ParamDoc(
            key=field.alias or field_name,
            type=type_name(field.annotation),
            required=field.is_required(),
            default=_default(field),
            constraints=_constraints(field),
            description=field.description or "",
            repeatable=_is_sequence(field.annotation),
        )
        for field_name, field in model.model_fields.items()
    ]
