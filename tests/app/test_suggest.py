"""The "did you mean" hint of every refusal of a misspelt name."""

from __future__ import annotations

from jobframe._app.suggest import did_you_mean


def test_the_closest_choice_is_named_once() -> None:
    assert did_you_mean("databse", ["cache", "database", "databases"]) == " (did you mean 'database'?)"
    assert did_you_mean("titel", iter(["body", "title"])) == " (did you mean 'title'?)"  # any iterable


def test_nothing_close_is_no_hint_at_all() -> None:
    assert did_you_mean("zzz", ["cache", "database"]) == ""
    assert did_you_mean("anything", []) == ""


def test_a_tie_is_settled_the_same_whatever_order_the_choices_come_in() -> None:
    one = did_you_mean("abc", ["abx", "aby"])
    assert one == did_you_mean("abc", ["aby", "abx"]) and one
