"""``--param`` rules as pure functions: when a value is JSON, lists, empty values, and --list's model text."""

from __future__ import annotations

import enum
import re
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, DirectoryPath, Field, FilePath, SecretStr, StringConstraints

from jobframe._app.params import describe_params, parse_params, split_pairs, type_name
from jobframe._app.spec import spec_for
from jobframe.errors import UsageError
from jobframe.inputs import InputFile


class Color(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class P(BaseModel):
    text: str = "-"
    maybe_text: str | None = None
    path: Path = Path("-")
    color: Color = Color.RED
    mode: Literal["a", "b"] = "a"
    token: SecretStr = SecretStr("-")
    number: int = 0
    ratio: float = 0.0
    names: list[str] = Field(default_factory=list)
    ids: list[int] = Field(default_factory=list)
    mapping: dict[str, int] = Field(default_factory=dict)
    rows: list[dict[str, int]] = Field(default_factory=list)
    either: str | list[str] = "-"
    aliased: list[str] = Field(default_factory=list, alias="tag")


class Job:
    def execute(self, params: P) -> None:
        pass


SPEC = spec_for(Job)


class Strict(BaseModel):
    users: list[Annotated[str, StringConstraints(min_length=1)]]


class StrictJob:
    def execute(self, params: Strict) -> None:
        pass


def parse(*pairs: str) -> P:
    parsed = parse_params(SPEC, split_pairs(pairs))
    assert isinstance(parsed, P)
    return parsed


@pytest.mark.parametrize("key", ["text", "maybe_text", "path", "either"])
@pytest.mark.parametrize("value", ["[1,", "[URGENT] x", "{not json", "{}", "[]", " [1]"])
def test_text_parameters_take_brackets_literally(key: str, value: str) -> None:
    assert str(getattr(parse(f"{key}={value}"), key)) == value


def test_secret_text_is_literal_too() -> None:
    assert parse("token=[x").token.get_secret_value() == "[x"


@pytest.mark.parametrize(
    ("pair", "key"),
    [
        ("names=[1,", "names"),
        ("names=[a]", "names"),
        ("ids=[", "ids"),
        ("mapping={a:1}", "mapping"),
        ("number=[1", "number"),
        ("ratio={", "ratio"),
        ("rows=[{]", "rows"),
        ("names= [oops", "names"),
    ],
)
def test_json_looking_values_for_other_types_must_be_valid_json(pair: str, key: str) -> None:
    with pytest.raises(UsageError, match=rf"--param {key}: the value starts like JSON but is not valid JSON"):
        parse(pair)


def test_valid_json_fills_lists_dicts_and_their_items() -> None:
    parsed = parse('names=["a","b"]', "ids=[1,2]", 'mapping={"a":1}', 'rows=[{"x":1}]', 'tag=["t"]')
    assert (parsed.names, parsed.ids, parsed.mapping, parsed.rows, parsed.aliased) == (
        ["a", "b"],
        [1, 2],
        {"a": 1},
        [{"x": 1}],
        ["t"],
    )


def test_repeated_keys_are_items_decoded_by_the_item_type() -> None:
    parsed = parse("names=[a", "names=b", 'rows={"x":1}', 'rows={"y":2}', "ids=1", "ids=2")
    assert parsed.names == ["[a", "b"]  # items of a list of strings are text
    assert parsed.rows == [{"x": 1}, {"y": 2}]
    assert parsed.ids == [1, 2]
    with pytest.raises(UsageError, match=r"--param rows: .*an item of a parameter of type dict"):
        parse('rows={"x":1}', "rows={")


def test_a_single_value_for_a_list_is_a_one_item_list() -> None:
    assert parse("names=solo").names == ["solo"]
    assert parse("tag=solo").aliased == ["solo"]
    assert parse("either=solo").either == "solo"  # str accepted: kept a string


def test_an_empty_value_is_the_empty_string() -> None:
    assert parse("names=").names == [""]
    assert parse("text=").text == ""
    with pytest.raises(UsageError, match=r"invalid parameters: users\.0: String should have at least 1"):
        parse_params(spec_for(StrictJob), split_pairs(["users="]))


def test_python_values_from_the_testing_toolkit_pass_through() -> None:
    parsed = parse_params(SPEC, {"ids": [1, 2], "mapping": {"a": 1}, "number": 3})
    assert isinstance(parsed, P)
    assert (parsed.ids, parsed.mapping, parsed.number) == ([1, 2], {"a": 1}, 3)


def test_one_invalid_field_is_one_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse("number=x")
    assert "\n" not in str(caught.value)
    with pytest.raises(UsageError) as caught:
        parse("number=x", "ratio=y")
    assert str(caught.value).count("\n") == 2


@pytest.mark.parametrize(
    ("annotation", "name"),
    [
        (int, "int"),
        (list[str], "list[str]"),
        (str | None, "str | None"),
        (dict[str, list[int]], "dict[str, list[int]]"),
        (tuple[int, ...], "tuple[int, ...]"),
        (Literal["a", "b"], "'a' | 'b'"),
        (Color, "'red' | 'blue'"),
        (Path, "Path"),
        (Annotated[str, "meta"], "str"),
        (Any, "any"),
    ],
)
def test_type_names_read_like_python(annotation: Any, name: str) -> None:
    assert type_name(annotation) == name


def test_describe_params_gives_type_default_required_constraints_and_description() -> None:
    class Documented(BaseModel):
        users: list[str] = Field(min_length=1, description="Who gets it.")
        count: int = Field(10, ge=1, le=100)
        title: str
        ratio: float = Field(0.5, allow_inf_nan=False)
        made: list[int] = Field(default_factory=lambda: [1, 2])

    docs = {d.key: d for d in describe_params(Documented)}
    assert docs["users"].required and docs["users"].default is None
    assert docs["users"].constraints == "not empty" and docs["users"].repeatable
    assert docs["users"].description == "Who gets it."
    assert (docs["count"].default, docs["count"].constraints) == ("10", ">= 1, <= 100")
    assert docs["title"].required and docs["title"].type == "str" and not docs["title"].repeatable
    assert docs["ratio"].constraints == "finite"
    assert docs["made"].default == "[1, 2]"
    assert describe_params(None) == []


# -- the exact messages and the corners (pinned against mutation) --------------------------------


def test_malformed_pairs_and_values_with_equals_signs() -> None:
    for pair in ("count", "=3", " =3"):
        with pytest.raises(UsageError, match=re.escape(f"--param {pair!r}: expected KEY=VALUE")):
            split_pairs([pair])
    assert split_pairs(["a=b=c", "k=1", "k=2", "k=3", " s =x"]) == {
        "a": "b=c",
        "k": ["1", "2", "3"],
        "s": "x",
    }


class NoParams:
    def execute(self) -> None:
        pass


def test_a_job_without_params_names_what_it_got() -> None:
    assert parse_params(spec_for(NoParams), {}) is None
    with pytest.raises(UsageError, match=r"^job NoParams takes no parameters, got: a, b$"):
        parse_params(spec_for(NoParams), {"b": "1", "a": "2"})


def test_unknown_keys_are_named_with_the_closest_known_one() -> None:
    with pytest.raises(UsageError) as caught:
        parse(*["nmber=1", "zzz=2"])
    known = (
        "aliased, color, either, ids, mapping, maybe_text, mode, names, number, path, ratio, rows, "
        "tag, text, token"
    )
    assert str(caught.value) == (
        f"job Job: unknown parameter 'nmber' (did you mean 'number'?), 'zzz'; known: {known}"
    )


def test_the_json_error_names_the_job_the_parameter_the_position_and_the_fix() -> None:
    with pytest.raises(UsageError) as caught:
        parse("ids=[1,")
    assert str(caught.value) == (
        "job Job: --param ids: the value starts like JSON but is not valid JSON (Expecting value "
        'at column 4); pass a JSON array such as ids=\'["a","b"]\', or repeat --param ids=VALUE per item'
    )
    with pytest.raises(UsageError) as caught:
        parse("number={")
    assert str(caught.value).endswith(
        "(Expecting property name enclosed in double quotes at column 2); a value starting with [ "
        "or { is read as JSON for a parameter of type int"
    )
    with pytest.raises(UsageError) as caught:
        parse("rows={}", "rows=[")
    assert str(caught.value).startswith("job Job: --param rows:")
    assert "for an item of a parameter of type dict[str, int]" in str(caught.value)


class Corners(BaseModel):
    levels: Literal[1, 2] = 1
    word: Literal["a"] = "a"
    maybe_ids: list[int] | None = None
    maybe_number: int | None = None
    pair: tuple[int, str] = (0, "")
    more: list[int] | dict[str, int] = Field(default_factory=list)


class CornersJob:
    def execute(self, params: Corners) -> None:
        pass


def test_literals_optional_lists_and_tuples() -> None:
    spec = spec_for(CornersJob)
    with pytest.raises(UsageError, match=r"--param levels: .* of type 1 \| 2$"):
        parse_params(spec, {"levels": "[1"})  # a Literal of numbers is not text: JSON
    with pytest.raises(UsageError, match="invalid parameters: word"):
        parse_params(spec, {"word": "[a"})  # a Literal of strings is text: taken as is, then refused
    parsed = parse_params(spec, {"maybe_ids": "7", "maybe_number": "7", "pair": '[1, "x"]', "more": "3"})
    assert isinstance(parsed, Corners)
    assert (parsed.maybe_ids, parsed.maybe_number, parsed.pair, parsed.more) == ([7], 7, (1, "x"), [3])
    parsed = parse_params(spec, {"maybe_ids": ["1", "2"], "pair": ["1", "x"]})
    assert isinstance(parsed, Corners)
    assert (parsed.maybe_ids, parsed.pair) == ([1, 2], (1, "x"))
    with pytest.raises(UsageError, match=r"for an item of a parameter of type any$"):
        parse_params(spec, {"pair": ["1", "[x"]})  # mixed items have no one item type: not text


def test_type_names_of_unnamed_things_fall_back_to_repr() -> None:
    assert type_name(typing.ForwardRef("Later")) == "ForwardRef('Later')"
    assert type_name(None) == type_name(type(None)) == "None"


def test_constraints_are_shown_in_words() -> None:
    class Shown(BaseModel):
        a: int = Field(0, gt=1, lt=9, multiple_of=2)
        b: str = Field("", min_length=2, max_length=5, pattern="^x")
        c: list[int] = Field(default_factory=list, max_length=3)
        d: float = Field(0.0, allow_inf_nan=True)
        e: int = Field(0, strict=True)
        f: int = Field(default_factory=lambda: 1 // 0)

    docs = {d.key: d for d in describe_params(Shown)}
    assert docs["a"].constraints == "> 1, < 9, a multiple of 2"
    assert docs["b"].constraints == "at least 2 characters, at most 5 characters, matching '^x'"
    assert docs["c"].constraints == "at most 3 items"
    assert docs["d"].constraints == ""
    assert docs["e"].constraints == "strict=True"
    assert docs["f"].default == "(computed)"


def test_defaults_are_json_as_written_and_only_one_suggestion_is_made() -> None:
    class Text(BaseModel):
        greeting: str = "grüß dich"
        when: object = Field(default_factory=Opaque)
        plain: int = 0

    docs = {d.key: d for d in describe_params(Text)}
    assert docs["greeting"].default == '"grüß dich"'
    assert docs["when"].default == '"<opaque>"'
    assert docs["plain"].description == ""
    with pytest.raises(UsageError, match=r"unknown parameter 'nmbe' \(did you mean 'number'\?\);"):
        parse("nmbe=1")  # 'names' is close too: one suggestion, the closest


class Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


# -- repeated keys, and many keys ------------------------------------------------------------------


def test_a_scalar_given_twice_says_so_and_a_list_given_twice_is_a_list() -> None:
    spec = spec_for(Job)
    with pytest.raises(UsageError) as caught:
        parse_params(spec, split_pairs(["number=1", "number=2", "number=3"]))
    assert str(caught.value) == (
        "job Job: --param number was given 3 times, but number takes one value (int); give it once"
    )
    parsed = parse_params(spec, split_pairs(["names=a", "names=b", "names=c"]))
    assert parsed is not None and parsed.names == ["a", "b", "c"]  # type: ignore[attr-defined]
    # a list passed in-process (not repeated on the command line) is validated as it is
    with pytest.raises(UsageError, match="number: Input should be a valid integer"):
        parse_params(spec, {"number": ["1", "2"]})


def test_split_pairs_keeps_every_value_of_a_key_in_order() -> None:
    pairs = [f"k={i}" for i in range(5000)]
    assert split_pairs(pairs) == {"k": [str(i) for i in range(5000)]}
    assert split_pairs(["a=1", "b=2", "a=3"]) == {"a": ["1", "3"], "b": "2"}


def test_unknown_keys_are_named_five_at_most_and_counted() -> None:
    spec = spec_for(Job)
    values = {f"key{i}": "v" for i in range(10_000)}
    with pytest.raises(UsageError) as caught:
        parse_params(spec, values)
    message = str(caught.value)
    assert message.startswith(
        "job Job: unknown parameter 'key0', 'key1', 'key2', 'key3', 'key4' and 9995 more;"
    )
    assert len(message) < 400
    with pytest.raises(UsageError) as six:
        parse_params(spec, {f"nam{i}": "v" for i in range(6)} | {"nmes": "x"})
    assert "'nam4' (did you mean 'names'?) and 2 more" in str(six.value)


def test_a_long_unknown_key_is_cut_and_exactly_five_are_not_counted() -> None:
    spec = spec_for(Job)
    with pytest.raises(UsageError) as caught:
        parse_params(spec, {"x" * 100: "v"})
    assert f"'{'x' * 40}…'" in str(caught.value)
    with pytest.raises(UsageError) as five:
        parse_params(spec, {f"zz{i}": "v" for i in range(5)})
    assert "more" not in str(five.value).split(";")[0]


def test_a_key_is_cut_past_forty_characters_exactly() -> None:
    spec = spec_for(Job)
    for length, shown in ((40, "y" * 40), (41, "y" * 40 + "…")):
        with pytest.raises(UsageError) as caught:
            parse_params(spec, {"y" * length: "v"})
        assert str(caught.value).startswith(f"job Job: unknown parameter '{shown}'; known:")


def test_a_long_list_of_names_is_cut_and_counted() -> None:
    with pytest.raises(UsageError) as caught:
        parse_params(spec_for(NoParams), {f"k{i:02}": "v" for i in range(20)})
    shown = ", ".join(f"k{i:02}" for i in range(15))
    assert str(caught.value) == f"job NoParams takes no parameters, got: {shown} and 5 more"


def test_list_says_a_path_must_be_an_existing_or_readable_file() -> None:
    class Model(BaseModel):
        source: InputFile
        pinned: FilePath
        folder: DirectoryPath

    docs = {d.key: (d.type, d.constraints) for d in describe_params(Model)}
    assert docs == {
        "source": ("Path", "a readable file"),
        "pinned": ("Path", "an existing file"),
        "folder": ("Path", "an existing directory"),
    }
