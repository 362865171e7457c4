"""The compact store of example keys validate's leakage check compares across splits
(augtool/validate/checks/examples.py): the same findings, in the same order, as comparing the
examples one by one in a dict, and a fraction of its memory."""

from __future__ import annotations

import tracemalloc
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.validate.checks import examples
from augtool.validate.checks.examples import ExampleKeys, key_bits

KEYS = ["0123456789abcdef", "fedcba9876543210", "00000000000000ff", "ffffffffffffffff", "x"]


def _one_by_one(files: list[tuple[str, Any, list[str]]]) -> list[tuple]:
    """The leaks of ``files`` found with a dict of the keys, an example at a time."""
    first_seen: dict[str, tuple[Any, str, int]] = {}
    leaks = []
    for path, split, entries in files:
        for place, entry in enumerate(entries, start=1):
            key, _, own = entry.partition(" ")
            where = own or split
            first = first_seen.setdefault(key, (where, path, place))
            if first[0] != where:
                leaks.append((path, place, where, first[1], first[2], first[0]))
    return leaks


def _compact(files: list[tuple[str, Any, list[str]]]) -> list[tuple]:
    store = ExampleKeys()
    return [
        (path, *leak) for path, split, entries in files for leak in store.add(path, split, entries)
    ]


_entry = st.tuples(st.sampled_from(KEYS), st.sampled_from(["", " train", " val"])).map(
    lambda pair: pair[0] + pair[1]
)
_file = st.tuples(st.sampled_from([None, "train", "val", "test"]), st.lists(_entry, max_size=12))


@settings(max_examples=300, deadline=None)
@given(st.lists(_file, max_size=6))
def test_the_compact_store_finds_what_one_by_one_finds(files: list[tuple[Any, list[str]]]) -> None:
    named = [(f"f{i}.csv", split, entries) for i, (split, entries) in enumerate(files)]
    assert _compact(named) == _one_by_one(named)


def test_a_well_formed_key_is_its_64_bits_and_any_other_text_is_hashed() -> None:
    assert key_bits("00000000000000ff") == 255
    assert key_bits("00000000000000FF") != 255  # another string, so another key
    assert key_bits("not a key") == key_bits("not a key") != key_bits("not a kez")


def test_a_million_keys_take_tens_of_bytes_each(monkeypatch) -> None:
    # As a dict of strings to (split, path, place) tuples they took about 200 bytes each.
    monkeypatch.setattr(examples, "RUN", 1 << 18)  # runs stay small, as for four million keys
    tracemalloc.start()
    store = ExampleKeys()
    for part in range(4):
        keys = (f"{(part * 250_000 + i) * 0x9E3779B97F4A7C15 % 2**64:016x}" for i in range(250_000))
        assert store.add(f"part{part}.csv", "train", keys) == []
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert sum(len(keys) for keys, _ in store.runs) == 1_000_000
    assert peak < 32 * 1_000_000, peak


def test_chunks_and_runs_find_what_one_pass_finds(monkeypatch) -> None:
    monkeypatch.setattr(examples, "CHUNK", 3)
    monkeypatch.setattr(examples, "RUN", 4)
    files = [
        ("a.csv", "train", [KEYS[i % 4] + ("" if i % 3 else " val") for i in range(11)]),
        ("b.csv", "val", [KEYS[(i * 7) % 5] for i in range(9)]),
        ("c.csv", "test", [f"{i:016x}" for i in range(20)] + KEYS),
    ]
    assert _compact(files) == _one_by_one(files)
