"""Bounded summaries of values for log lines: params in ``job.started``, the result in ``job.finished``.

A log line is read by people and parsed by collectors that drop or split long lines, so a value
is cut to a size that fits — and every cut says how big the original was:

- a string longer than ``max_chars`` keeps its first ``max_chars`` characters and ends with
  ``…[N chars]``;
- a list, tuple or set longer than ``max_items`` keeps its first ``max_items`` items and ends
  with the item ``"…[N items]"``; a dict likewise keeps its first keys, with ``"…": "[N keys]"``;
- containers nested deeper than ``max_depth`` become ``"…[list of N items]"``/``"…[dict of N keys]"``;
- the whole summary stays within about ``budget`` characters of JSON: once that is spent, the
  rest of every container is left out the same way.

Models and dataclasses are summarised field by field, secrets stay masked (``SecretStr`` shows
``**********``), and anything else is its JSON form or, failing that, its ``repr``. A value that
cannot be shown (its ``repr`` or ``str`` raises) becomes ``<unprintable Type: Error>`` and the rest
is kept. Only the part that is kept is ever walked, so summarising a huge result costs little.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

__all__ = ["Limits", "shown", "summarize", "unprintable"]

ELLIPSIS = "…"


@dataclass(frozen=True)
class Limits:
    """How much of a value a log line keeps."""

    max_chars: int = 200
    max_items: int = 20
    max_depth: int = 4
    budget: int = 4000


def unprintable(value: object, error: BaseException) -> str:
    """The stand-in for ``value`` when showing it raised ``error``: its type, never its failure."""
    return f"<unprintable {type(value).__name__}: {type(error).__name__}>"


def shown(value: object, show: Callable[[object], str] = repr) -> str:
    """``show(value)`` — or, when the value's ``repr``/``str`` raises, :func:`unprintable`: a
    log line or an error message is never lost to a value of the job's that cannot be printed."""
    try:
        return show(value)
    except Exception as exc:  # noqa: BLE001 - any failure of the value's own code
        return unprintable(value, exc)


_Sequence = list[Any] | tuple[Any, ...] | set[Any] | frozenset[Any]


class _Walk:
    def __init__(self, limits: Limits, scrub: Callable[[str], str] | None) -> None:
        self.limits = limits
        self.left = limits.budget
        self.scrub = scrub

    def spend(self, value: Any) -> Any:
        self.left -= len(json.dumps(value, ensure_ascii=False, default=str))
        return value

    def text(self, value: str) -> str:
        if self.scrub is not None:
            value = self.scrub(value)  # before cutting: a cut must not leave half a secret unmasked
        limit = min(self.limits.max_chars, max(self.left, 0))
        if len(value) > limit:
            value = f"{value[:limit]}{ELLIPSIS}[{len(value)} chars]"
        return str(self.spend(value))

    def value(self, value: Any, depth: int) -> Any:
        """``value`` summarised; one that cannot be shown (or read: a field's property raising) is
        replaced alone, so the rest of the result is kept."""
        try:
            return self._value(value, depth)
        except Exception as exc:  # noqa: BLE001 - the value's own code failed: replace it alone
            return self.text(unprintable(value, exc))

    def _value(self, value: Any, depth: int) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return self.spend(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bytes | bytearray):
            return self.text(f"<{len(value)} bytes>")
        if isinstance(value, BaseModel):
            value = {name: getattr(value, name) for name in type(value).model_fields}
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        if isinstance(value, Mapping):
            return self.mapping(value, depth)
        if isinstance(value, list | tuple | set | frozenset):
            return self.sequence(value, depth)
        try:
            plain = to_jsonable_python(value)  # dates, UUIDs, enums, paths, deques...
        except Exception:  # noqa: BLE001 - anything without a JSON form is shown by its repr
            return self.text(repr(value))
        return self.value(plain, depth)

    def _room(self, depth: int) -> bool:
        return depth < self.limits.max_depth and self.left > 0

    def mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        size = len(value)
        if not self._room(depth):
            return self.spend({ELLIPSIS: f"[dict of {size} keys]"})  # type: ignore[no-any-return]
        out: dict[str, Any] = {}
        for key, item in islice(value.items(), self.limits.max_items):
            if self.left <= 0:
                break
            text = self.text(shown(key, str))  # the key is spent before its value, as it is read
            out[text] = self.value(item, depth + 1)
        if len(out) < size:
            out[ELLIPSIS] = self.spend(f"[{size} keys]")
        return out

    def sequence(self, value: _Sequence, depth: int) -> list[Any]:
        size = len(value)
        if not self._room(depth):
            return [self.spend(f"{ELLIPSIS}[list of {size} items]")]
        out: list[Any] = []
        for item in islice(value, self.limits.max_items):
            if self.left <= 0:
                break
            out.append(self.value(item, depth + 1))
        if len(out) < size:
            out.append(self.spend(f"{ELLIPSIS}[{size} items]"))
        return out


def summarize(value: Any, limits: Limits | None = None, *, scrub: Callable[[str], str] | None = None) -> Any:
    """``value`` as JSON-ready data no bigger than ``limits`` allow, each cut marked with the original size.

    ``scrub`` masks secrets in every string before it is cut (the log redactor's ``scrub``).
    """
    return _Walk(limits or Limits(), scrub).value(value, 0)
