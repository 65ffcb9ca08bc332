"""jobframe._value.Value: what the frozen dataclasses it replaces promised, for every class built on it."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

from jobframe._value import Value
from jobframe.braze._exchange import Answer, Done, Fail, Send, TransportFailure, Wait
from jobframe.braze._operations import Endpoint


class Pair(Value):
    __slots__ = ("left", "right")
    left: Any
    right: Any

    def __init__(self, left: Any, right: Any = None) -> None:
        object.__setattr__(self, "left", left)
        object.__setattr__(self, "right", right)


class OtherPair(Pair):
    __slots__ = ()


@dataclasses.dataclass(frozen=True)
class DataPair:
    left: Any
    right: Any = None


def test_equal_only_to_the_same_class_with_equal_fields_in_order() -> None:
    assert Pair(1, 2) == Pair(1, 2)
    assert Pair(1, 2) != Pair(2, 1)
    assert Pair(1) == Pair(1, None)
    assert Pair(1, 2) != OtherPair(1, 2)  # a subclass is another class, as for a dataclass
    assert Pair(1, 2) != (1, 2)
    assert Pair(1, 2) != DataPair(1, 2)
    assert Pair(1, 2).__eq__((1, 2)) is NotImplemented  # lets the other side decide


def test_hash_follows_equality_and_unhashable_fields_refuse_it() -> None:
    assert hash(Pair(1, "a")) == hash(Pair(1, "a"))
    assert len({Pair(1, 2), Pair(1, 2), Pair(2, 1)}) == 2
    with pytest.raises(TypeError):
        hash(Pair([1], 2))


def test_repr_names_the_class_and_every_field_as_a_dataclass_does() -> None:
    assert repr(Pair(1, "a")) == "Pair(left=1, right='a')"
    assert repr(Pair(1, "a")).replace("Pair", "DataPair") == repr(DataPair(1, "a"))


def test_assignment_and_deletion_are_refused_as_for_a_frozen_dataclass() -> None:
    pair = Pair(1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError, match="left"):
        pair.left = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError, match="right"):
        del pair.right
    with pytest.raises(dataclasses.FrozenInstanceError):
        pair.extra = 1  # type: ignore[attr-defined]
    assert (pair.left, pair.right) == (1, 2)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_and_copy_give_an_equal_value(protocol: int) -> None:
    pair = Pair(1, {"k": [2]})
    assert pickle.loads(pickle.dumps(pair, protocol)) == pair
    assert copy.copy(pair) == pair
    deep = copy.deepcopy(pair)
    assert deep == pair
    assert deep.right is not pair.right


VALUES = [
    (Wait(1.5), Wait(2.5)),
    (Send("POST", "/users/track", {"a": 1}, None), Send("POST", "/users/track", {"a": 2}, None)),
    (Answer(200, {"x": "1"}, b"{}"), Answer(201, {"x": "1"}, b"{}")),
    (TransportFailure("timeout", "read", sent=True), TransportFailure("timeout", "read", sent=False)),
    (Done({"n": 1}), Done({"n": 2})),
    (
        Endpoint("GET", "/campaigns/list", repeatable=True),
        Endpoint("GET", "/campaigns/list", repeatable=False),
    ),
]


@pytest.mark.parametrize(("value", "other"), VALUES, ids=lambda v: type(v).__name__)
def test_the_braze_core_values_compare_copy_and_refuse_changes(value: Value, other: Value) -> None:
    twin = copy.copy(value)
    assert twin == value
    assert twin is not value
    assert value != other
    assert repr(value).startswith(f"{type(value).__name__}(")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, value.__slots__[0], None)


def test_a_failure_keeps_its_error_and_defaults_to_not_ambiguous() -> None:
    error = RuntimeError("x")
    assert Fail(error) == Fail(error, ambiguous=False)
    assert Fail(error) != Fail(error, ambiguous=True)
    assert str(TransportFailure("connect", "refused", sent=False)) == "connect: refused"
