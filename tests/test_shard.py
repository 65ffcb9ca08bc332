"""The stable-key partition behind ``--shard``: every object in exactly one shard, the same one
in every process, and a selection that bulk clients can iterate and count."""

from __future__ import annotations

import json
import operator
import subprocess
import sys
import zlib
from collections import Counter
from collections.abc import Iterator

import pytest

from jobframe.shard import Shard, shard_of

KEYS = [f"user-{i:06d}" for i in range(10_000)]


def test_the_documented_function() -> None:
    # CRC-32 of the UTF-8 key mod count: anyone can reproduce a partition, in any language.
    assert zlib.crc32(b"123456789") == 0xCBF43926  # the standard check value of CRC-32
    for key in ("a", "user-000001", "ünïcode", ""):
        assert shard_of(key, 7) == zlib.crc32(key.encode("utf-8")) % 7
    assert [shard_of(k, 4) for k in ("user-000001", "123456789", "ünïcode")] == [
        zlib.crc32(b"user-000001") % 4,
        0xCBF43926 % 4,
        zlib.crc32("ünïcode".encode()) % 4,
    ]


@pytest.mark.parametrize("count", [2, 3, 4, 8])
def test_selection_and_owns_agree(count: int) -> None:
    for index in range(count):
        shard = Shard(index, count)
        assert list(shard.select(KEYS)) == [k for k in KEYS if shard.owns(k)]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7, 16])
def test_every_key_lands_in_exactly_one_shard_and_the_shards_are_balanced(count: int) -> None:
    owners = Counter()
    for key in KEYS:
        owning = [i for i in range(count) if Shard(i, count).owns(key)]
        assert len(owning) == 1, key
        owners[owning[0]] += 1
    assert sum(owners.values()) == len(KEYS)
    expected = len(KEYS) / count
    assert all(abs(n - expected) < 0.1 * expected for n in owners.values()), owners


@pytest.mark.process
def test_the_partition_is_the_same_in_every_process() -> None:
    code = (
        "import json, sys; from jobframe.shard import shard_of; "
        "print(json.dumps([shard_of(k, 5) for k in sys.argv[1:]]))"
    )
    sample = KEYS[:300]
    results = set()
    for seed in ("0", "1", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code, *sample],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results.add(out)
    assert len(results) == 1
    assert json.loads(results.pop()) == [shard_of(k, 5) for k in sample]


@pytest.mark.parametrize(
    ("text", "expected"), [("0/1", Shard()), ("2/4", Shard(2, 4)), (" 3 / 4 ", Shard(3, 4))]
)
def test_parse(text: str, expected: Shard) -> None:
    assert Shard.parse(text) == expected
    assert str(expected) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["4/4", "-1/4", "1/0", "1", "1/2/3", "a/b", "", "1.0/2"])
def test_parse_refuses_what_is_not_a_shard(text: str) -> None:
    with pytest.raises(ValueError, match=r"INDEX/COUNT|index|count"):
        Shard.parse(text)


@pytest.mark.parametrize(("index", "count"), [(0, 0), (1, 1), (-1, 2), (True, 2), (0, 2.0)])
def test_a_shard_refuses_impossible_numbers(index: object, count: object) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard(index, count)  # type: ignore[arg-type]


def test_the_whole_input_is_one_shard() -> None:
    whole = Shard()
    assert whole.is_whole and not Shard(0, 2).is_whole
    assert all(whole.owns(k) for k in KEYS[:100])
    items = iter(KEYS)
    assert iter(whole.select(items)) is items  # no filtering cost when not sharded


def test_select_keeps_input_order_with_a_key_function() -> None:
    objects = [{"external_id": k, "n": i} for i, k in enumerate(KEYS)]
    shard = Shard(1, 3)
    selected = list(shard.select(objects, key=lambda o: o["external_id"]))
    assert selected == [o for o in objects if shard_of(o["external_id"], 3) == 1]
    assert [o["n"] for o in selected] == sorted(o["n"] for o in selected)


def test_a_selection_of_a_reiterable_input_is_reiterable_and_counted() -> None:
    selection = Shard(2, 4).select(KEYS)
    first = list(selection)
    assert list(selection) == first
    assert operator.length_hint(selection) == len(first)


def test_a_selection_of_a_one_shot_iterator_gives_no_hint_and_is_not_consumed() -> None:
    selection = Shard(0, 4).select(iter(KEYS))
    assert operator.length_hint(selection, -1) == -1
    assert list(selection) == [k for k in KEYS if shard_of(k, 4) == 0]


def test_the_whole_input_passes_its_own_length_hint_through() -> None:
    assert operator.length_hint(Shard().select(KEYS)) == len(KEYS)
    assert operator.length_hint(Shard().select(iter(KEYS)), -1) == len(KEYS)  # list_iterator hints
    assert operator.length_hint(Shard().select(k for k in KEYS), -1) == -1


def test_locate_maps_positions_in_the_shard_to_positions_in_the_input() -> None:
    shard = Shard(3, 4)
    mine = [i for i, k in enumerate(KEYS) if shard_of(k, 4) == 3]
    wanted = [0, 5, len(mine) - 1]
    assert shard.locate(iter(KEYS), wanted) == {p: mine[p] for p in wanted}
    assert shard.locate(iter(KEYS), []) == {}
    assert shard.locate(iter(KEYS), [len(mine) + 10]) == {}  # past the end: nothing invented


def _reader(read: list[str]) -> Iterator[str]:
    for key in KEYS:
        read.append(key)
        yield key


def test_locate_stops_reading_after_the_last_position_wanted() -> None:
    read: list[str] = []
    Shard(0, 2).locate(_reader(read), [0])
    assert len(read) < 10


def test_keys_that_are_not_strings_are_their_text() -> None:
    shard = Shard(1, 3)
    assert list(shard.select(range(300))) == [i for i in range(300) if shard_of(str(i), 3) == 1]


def test_the_error_names_the_range() -> None:
    with pytest.raises(ValueError, match=r"in 0\.\.3, got 4"):
        Shard(4, 4)


def test_an_empty_whole_input_hints_zero() -> None:
    assert operator.length_hint(Shard().select([]), -1) == 0


def test_locate_reads_exactly_up_to_the_last_position_wanted() -> None:
    read: list[str] = []
    shard = Shard(1, 2)
    first_two = [i for i, k in enumerate(KEYS) if shard_of(k, 2) == 1][:2]
    assert shard.locate(_reader(read), [1]) == {1: first_two[1]}
    assert len(read) == first_two[1] + 1


def test_a_selection_carries_its_inputs_fingerprint_and_its_shard() -> None:
    class File(list[str]):
        def fingerprint(self) -> str:
            return "sha-of-file"

    class Mute(list[str]):
        def fingerprint(self) -> None:
            return None

    rows = File(["a", "b"])
    assert Shard().select(rows).fingerprint() == "sha-of-file"  # the whole input: unchanged
    parts = {Shard(i, 3).select(rows).fingerprint() for i in range(3)}
    assert len(parts) == 3 and all(p is not None and p.startswith("sha-of-file") for p in parts)
    assert Shard(1, 3).select(rows).fingerprint() == "sha-of-file shard 1/3"
    assert Shard(1, 3).select(["a"]).fingerprint() is None  # a plain list cannot say what it is
    assert Shard(1, 3).select(Mute(["a"])).fingerprint() is None


def test_every_shard_of_one_input_of_any_count_and_the_whole_input_name_the_same_fanout() -> None:
    class File(list[str]):
        def __init__(self, sha: str) -> None:
            super().__init__(["a", "b"])
            self.sha = sha

        def fingerprint(self) -> str:
            return self.sha

    rows = File("sha-of-file")
    # pinned: the ledger records it, so a later version must find the runs an earlier one did
    assert {Shard(i, 3).select(rows).fanout_fingerprint() for i in range(3)} == {"sha-of-file"}
    assert Shard(0, 2).select(rows).fanout_fingerprint() == "sha-of-file"  # the same users
    assert Shard().select(rows).fanout_fingerprint() == "sha-of-file"  # the whole input, uncut
    assert Shard(0, 2).select(File("other")).fanout_fingerprint() == "other"
    assert Shard(1, 3).select(["a"]).fanout_fingerprint() is None  # a plain list cannot say
    assert Shard(1, 3).select(iter(["a"])).fanout_fingerprint() is None

    class Odd(list[str]):
        def fingerprint(self) -> object:
            return 42  # not a string: it says nothing

    assert Shard(1, 3).select(Odd(["a"])).fingerprint() is None
    assert Shard(1, 3).select(Odd(["a"])).fanout_fingerprint() is None
