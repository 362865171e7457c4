"""Where each example key (docs/text.md, "Leakage") was first seen, kept compactly: validate
reports an example whose key was first seen in another split.

A million-row table and its variants hold four million keys. Kept as a dict of strings to
tuples they took about 200 bytes each (800 MiB). Here every example has an ordinal (its place
among all the examples seen) and a split code (4 bytes), and each distinct key is its 64 bits
beside the ordinal of its first example (12 bytes), in sorted runs of at most ``RUN`` keys, so
that adding keys never copies more than a run. Examples are checked ``CHUNK`` at a time against
every key before them, so the findings are those of comparing the examples one by one, in the
same order. Loaded only for a manifest whose files list examples (NumPy is not needed else).
"""

from __future__ import annotations

import hashlib
import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from typing import Any

import numpy as np

HEX16 = re.compile(r"[0-9a-f]{16}")
CHUNK = 1 << 16
RUN = 1 << 20
MOST = 2**32 - 1  # ordinals are kept as 32 bits

#: (the example's 1-based place, its split, where its key was first seen: path, place, split)
Leak = tuple[int, Any, str, int, Any]


def key_bits(key: str) -> int:
    """A key's 64 bits: the 16 hex digits of a well-formed key; a hash of any other text (a
    hand-edited one), which no well-formed key meets but by a 64-bit collision."""
    if HEX16.fullmatch(key):
        return int(key, 16)
    digest = hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


class ExampleKeys:
    """Every example's split, and the first example of each key."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}
        self.names: list[Any] = []
        self.splits = array("I")  # each example's split code, by ordinal
        self.starts: list[int] = []  # each file's first ordinal
        self.paths: list[str] = []
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, first ordinals)

    def add(self, path: str, split: Any, entries: Iterable[Any]) -> list[Leak]:
        """The examples of the file ``path`` (``entries``: ``"key"``, or ``"key split"`` for
        one naming its own split, of a file holding several) whose key was first seen in
        another split, in place order. Their keys are known from then on."""
        self.starts.append(len(self.splits))
        self.paths.append(path)
        found: list[tuple[int, int]] = []
        keys = array("Q")
        for entry in entries:
            key, _, own = str(entry).partition(" ")
            keys.append(key_bits(key))
            self.splits.append(self._code(own or split))
            if len(keys) == CHUNK:
                found += self._check(keys)
                keys = array("Q")
        found += self._check(keys)
        leaks: list[Leak] = []
        for at, first in found:
            _, place, where = self._place(at)
            leaks.append((place, where, *self._place(first)))
        return leaks

    def seen_splits(self) -> set[Any]:
        """The splits examples were seen in."""
        return set(self.names)

    def _code(self, split: Any) -> int:
        code = self.codes.get(split)
        if code is None:
            code = self.codes[split] = len(self.names)
            self.names.append(split)
        return code

    def _place(self, ordinal: int) -> tuple[str, int, Any]:
        """(path, 1-based place, split) of the example ``ordinal``."""
        file = bisect_right(self.starts, ordinal) - 1
        return self.paths[file], ordinal - self.starts[file] + 1, self.names[self.splits[ordinal]]

    def _check(self, chunk: array) -> list[tuple[int, int]]:
        """(ordinal, its key's first ordinal) of each example of ``chunk`` (the newest ones)
        first seen in another split; its new keys are then added."""
        n = len(chunk)
        if not n:
            return []
        start = len(self.splits) - n
        if len(self.splits) > MOST:
            raise ValueError(f"more than {MOST:,} examples to compare across splits")
        keys = np.frombuffer(chunk, dtype=np.uint64)
        first = np.full(n, -1, dtype=np.int64)
        for run_keys, run_firsts in self.runs:  # a key is in one run at most
            at = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = run_keys[at] == keys
            first[hit] = run_firsts[at[hit]]
        known = first >= 0
        unique, index, inverse = np.unique(keys, return_index=True, return_inverse=True)
        first = np.where(known, first, start + index[inverse.reshape(-1)])
        splits = np.frombuffer(self.splits, dtype=np.uint32)
        leaks = np.flatnonzero(splits[first] != splits[start:])
        found = list(zip((start + leaks).tolist(), first[leaks].tolist(), strict=True))
        del splits  # a view of the array, which must not be held while it grows
        new = ~known[index]
        self._push(unique[new], (start + index[new]).astype(np.uint32))
        return found

    def _push(self, keys: np.ndarray, firsts: np.ndarray) -> None:
        """A sorted run of new keys, merged with the runs before it while they are no more
        than twice its size and the merged run holds at most ``RUN`` keys."""
        if not len(keys):
            return
        self.runs.append((keys, firsts))
        while len(self.runs) >= 2:
            (a_keys, a_firsts), (b_keys, b_firsts) = self.runs[-2], self.runs[-1]
            if len(a_keys) > 2 * len(b_keys) or len(a_keys) + len(b_keys) > RUN:
                break
            at = np.searchsorted(a_keys, b_keys)
            self.runs[-2:] = [(np.insert(a_keys, at, b_keys), np.insert(a_firsts, at, b_firsts))]


__all__ = ["CHUNK", "RUN", "ExampleKeys", "Leak", "key_bits"]
