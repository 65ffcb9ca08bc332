"""Which keys a settings class reads, and the keys a source gave that no section reads.

A typo in a section (``db: {hots: ..}`` or ``DB__HOTS``) must fail loudly, like one at the top
level, instead of leaving the setting at its default. pydantic refuses extra keys only in models
that say ``extra="forbid"``; a section model that says nothing about extra keys would drop them
silently, so jobframe checks those sections itself. A section that sets ``extra`` explicitly
(``"ignore"`` or ``"allow"``) keeps its choice.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import AliasChoices, AliasPath, BaseModel
from pydantic.fields import FieldInfo

__all__ = ["field_keys", "unknown_keys"]

_UNIONS = (typing.Union, types.UnionType)


def field_keys(model: type[BaseModel]) -> Iterator[str]:
    """Every key ``model`` reads at its own level: names, aliases and validation aliases."""
    for name, field in model.model_fields.items():
        yield from _keys(name, field, whole=False)


def _keys(name: str, field: FieldInfo, *, whole: bool) -> Iterator[str]:
    """The keys that give ``field`` a value: its name, alias and validation aliases.

    ``whole``: only the keys whose value is the field's whole value (an ``AliasPath`` of one
    step); a longer path reads a part of what its first key holds, so that key's value is not
    the field's section and must not be walked as one.
    """
    yield name
    if field.alias:
        yield field.alias
    aliases = field.validation_alias
    choices = aliases.choices if isinstance(aliases, AliasChoices) else [aliases]
    for choice in choices:
        if isinstance(choice, str):
            yield choice
        elif (
            isinstance(choice, AliasPath)
            and isinstance(choice.path[0], str)
            and (not whole or len(choice.path) == 1)
        ):
            yield choice.path[0]


def unknown_keys(model: type[BaseModel], data: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The paths in ``data`` that name no field of the sections below ``model``'s top level.

    The top level is left to the model's own ``extra`` setting (and read case-insensitively, as
    pydantic-settings reads it); below it a section that does not set ``extra`` is held to what
    ``extra="forbid"`` would refuse: a key that is none of its fields' names or aliases, exactly.
    """
    found: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        section = _section(field.annotation)
        value = _value(data, _keys(name, field, whole=True), fold=True)
        if section is not None and isinstance(value, Mapping):
            found.extend(_walk(section, value, (name,)))
    return found


def _walk(model: type[BaseModel], data: Mapping[str, Any], loc: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    if "extra" not in model.model_config:
        known = set(field_keys(model))
        for key in data:
            if isinstance(key, str) and key not in known:
                yield (*loc, key)
    for name, field in model.model_fields.items():
        section = _section(field.annotation)
        value = _value(data, _keys(name, field, whole=True), fold=False)
        if section is not None and isinstance(value, Mapping):
            yield from _walk(section, value, (*loc, name))


def _section(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds: ``M``, or ``M | None``; anything else is not walked."""
    members = typing.get_args(annotation) if typing.get_origin(annotation) in _UNIONS else (annotation,)
    models = [m for m in members if m is not type(None)]
    if len(models) == 1 and isinstance(models[0], type) and issubclass(models[0], BaseModel):
        return models[0]
    return None


def _value(data: Mapping[str, Any], keys: Iterable[str], *, fold: bool) -> Any:
    """The value given for a field under the first of its ``keys`` present in ``data``.

    ``fold``: compared case-insensitively.
    """
    for key in keys:
        for given, value in data.items():
            if isinstance(given, str) and (given.lower() == key.lower() if fold else given == key):
                return value
    return None
