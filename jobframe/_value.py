"""A base for small immutable value classes that every job's start creates at import.

Why not ``@dataclass(frozen=True, slots=True)``: a dataclass generates its ``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` as source text and
``exec``s each one when its module is imported — about 0.4 ms of CPU per class, paid by every
process that loads it (docs/benchmarks.md, "Startup"). :class:`Value` writes those methods once,
from the class's ``__slots__``; a subclass writes only its ``__init__``. Same behaviour as the
frozen dataclass it replaces: equal when of the same class with equal fields, hashable, a
``Name(field=value, ...)`` repr, assignment and deletion refused with
:class:`dataclasses.FrozenInstanceError`.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

__all__ = ["Value"]


class Value:
    """Immutable, compared and hashed by the fields named in ``__slots__`` (in that order)."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return self._fields() == other._fields()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __getstate__(self) -> tuple[Any, ...]:
        return self._fields()

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, state, strict=True):
            object.__setattr__(self, name, value)
