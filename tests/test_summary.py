"""Bounded log values (``jobframe.summary``): every cut says the original size; nothing grows unbounded."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from jobframe.summary import Limits, summarize

SMALL = Limits(max_chars=10, max_items=3, max_depth=2, budget=10_000)


def size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False))


def test_values_within_the_limits_are_unchanged() -> None:
    value = {"a": [1, 2.5, None, True], "b": {"c": "short"}, "d": ""}
    assert summarize(value, Limits(max_items=4)) == value


@pytest.mark.parametrize(("length", "kept"), [(10, "x" * 10), (11, "x" * 10 + "…[11 chars]")])
def test_a_long_string_keeps_its_head_and_says_how_long_it_was(length: int, kept: str) -> None:
    assert summarize("x" * length, SMALL) == kept


@pytest.mark.parametrize("kind", [list, tuple])
def test_a_long_sequence_keeps_its_first_items_and_its_length(kind: type) -> None:
    assert summarize(kind(range(3)), SMALL) == [0, 1, 2]
    assert summarize(kind(range(4)), SMALL) == [0, 1, 2, "…[4 items]"]


def test_a_set_is_cut_like_a_list() -> None:
    kept = summarize(set(range(100)), SMALL)
    assert len(kept) == 4
    assert kept[-1] == "…[100 items]"


def test_a_big_dict_keeps_its_first_keys_and_its_size() -> None:
    value = {f"k{i}": i for i in range(5)}
    assert summarize(value, SMALL) == {"k0": 0, "k1": 1, "k2": 2, "…": "[5 keys]"}


def test_nesting_past_the_depth_is_named_not_walked() -> None:
    value = {"a": {"b": {"c": 1}}, "l": [[1, 2]]}
    assert summarize(value, SMALL) == {"a": {"b": {"…": "[dict of 1 keys]"}}, "l": [["…[list of 2 items]"]]}


def test_the_whole_summary_stays_within_the_budget() -> None:
    # Per-value limits alone would allow 20 x 20 x 200 characters; the budget caps the sum.
    value = {f"k{i}": [f"v{j}" * 500 for j in range(50)] for i in range(50)}
    limits = Limits(budget=4000)
    kept = summarize(value, limits)
    assert size(kept) < limits.budget + 2 * limits.max_chars + 100
    assert kept["…"] == "[50 keys]"


@pytest.mark.parametrize("budget", [0, 1, 50, 500])
def test_any_budget_gives_a_marked_cut_never_an_error(budget: int) -> None:
    kept = summarize({"a": "x" * 1000, "b": list(range(1000))}, Limits(budget=budget))
    assert size(kept) < budget + 600
    assert "…" in json.dumps(kept, ensure_ascii=False)


def test_a_million_item_list_costs_only_what_is_kept() -> None:
    class Endless(list[int]):
        def __iter__(self) -> Any:
            for i in range(10**9):
                if i > 100:
                    raise AssertionError("summarize walked past the kept items")
                yield i

        def __len__(self) -> int:
            return 10**9

    assert summarize(Endless(), SMALL) == [0, 1, 2, "…[1000000000 items]"]


def test_models_dataclasses_and_secrets() -> None:
    class Model(BaseModel):
        name: str
        token: SecretStr

    @dataclass
    class Point:
        x: int
        y: int

    kept = summarize({"m": Model(name="n", token=SecretStr("hunter22")), "p": Point(1, 2)})
    assert kept == {"m": {"name": "n", "token": "**********"}, "p": {"x": 1, "y": 2}}


def test_other_objects_are_their_json_form_or_their_repr() -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    assert summarize([b"abc", Opaque()]) == ["<3 bytes>", "<opaque>"]


def test_scrub_runs_before_the_cut_so_no_half_secret_survives() -> None:
    secret = "S3CRET-" + "k" * 40
    text = "x" * 180 + secret  # the cut at 200 characters falls inside the secret

    def scrub(value: str) -> str:
        return value.replace(secret, "***")

    kept = summarize(text, scrub=scrub)
    assert "S3CRET" not in kept
    assert kept.endswith("***")
    assert "S3CRET" in summarize(text)  # without scrubbing the head of the secret would be kept


# -- exact budgets and depths (pinned against mutation) ------------------------------------------


def test_the_budget_is_spent_item_by_item_to_the_character() -> None:
    # Each "ab" costs 4 characters of JSON.
    assert summarize(["ab", "cd", "ef"], Limits(budget=8)) == ["ab", "cd", "…[3 items]"]
    assert summarize(["ab", "cd", "ef"], Limits(budget=9)) == ["ab", "cd", "e…[2 chars]"]
    assert summarize({"a": 1, "b": 2}, Limits(budget=8)) == {"a": 1, "b": 2}
    assert summarize({"a": 1, "b": 2, "c": 3}, Limits(budget=8)) == {"a": 1, "b": 2, "…": "[3 keys]"}
    # With 1 character left the next key still fits: the budget is kept to within one item.
    assert summarize({"a": 1, "b": 2, "c": 3}, Limits(budget=9)) == {"a": 1, "b": 2, "c": 3}
    assert summarize({"a": 1, "bb": 2}, Limits(budget=5)) == {"a": 1, "b…[2 chars]": 2}


def test_with_nothing_left_a_string_keeps_nothing_but_its_size() -> None:
    assert summarize("abc", Limits(budget=0)) == "…[3 chars]"
    assert summarize(["x"], Limits(budget=0)) == ["…[list of 1 items]"]
    assert summarize({"k": 1}, Limits(budget=0)) == {"…": "[dict of 1 keys]"}
    assert summarize([["x"], ["y"]], Limits(budget=3)) == [["x"], "…[2 items]"]


def test_depth_counts_one_per_level() -> None:
    limits = Limits(max_depth=2)
    assert summarize([[1, 2]], limits) == [[1, 2]]
    assert summarize([[[1]]], limits) == [[["…[list of 1 items]"]]]
    assert summarize({"a": {"b": 1}}, limits) == {"a": {"b": 1}}


def test_json_forms_are_summarised_too() -> None:
    assert summarize(deque(range(30)), SMALL) == [0, 1, 2, "…[30 items]"]
    assert summarize(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00Z"


def test_a_class_is_not_walked_as_a_dataclass_instance() -> None:
    @dataclass
    class Point:
        x: int

    assert summarize(Point).startswith("<class ")
    assert summarize([["x"], ["y"]], Limits(budget=4)) == [["x"], ["y"]]  # 1 character left is room


class _NoRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


def test_a_value_that_cannot_be_shown_is_replaced_alone_naming_its_type() -> None:
    """One item whose ``repr`` raises costs that item, never the rest of the result."""
    shown = "<unprintable _NoRepr: RuntimeError>"
    kept = summarize({"count": 3, "bad": _NoRepr(), "items": [1, _NoRepr(), "x"], "tail": "t"})
    assert kept == {"count": 3, "bad": shown, "items": [1, shown, "x"], "tail": "t"}
    assert summarize(_NoRepr()) == shown
    assert summarize({_NoRepr(): 1, "k": 2}) == {shown: 1, "k": 2}  # a key that cannot be shown


def test_a_field_that_cannot_be_read_is_replaced_alone() -> None:
    @dataclass
    class Point:
        x: int
        y: object

    assert summarize(Point(1, _NoRepr())) == {"x": 1, "y": "<unprintable _NoRepr: RuntimeError>"}


def test_a_placeholder_is_cut_to_the_budget_like_any_text() -> None:
    kept = summarize([_NoRepr(), _NoRepr()], Limits(max_chars=12))
    assert kept == ["<unprintable…[35 chars]", "<unprintable…[35 chars]"]


def test_an_interrupt_while_showing_a_value_is_not_swallowed() -> None:
    class Interrupting:
        def __repr__(self) -> str:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        summarize([Interrupting()])
