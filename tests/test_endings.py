"""A name's ending as os.path.splitext finds it, without its per-character loop."""

from __future__ import annotations

import itertools
import os

from augtool.endings import split_ending

PARTS = ["", ".", "..", "a", "a.b", ".a", "a.", "..a.b", "a..b", "ü.JPG", "x\u2028.y"]


def test_split_ending_is_splitext_for_every_shape_of_path() -> None:
    checked = 0
    for folders in range(3):
        for combo in itertools.product(PARTS, repeat=folders + 1):
            path = "/".join(combo)
            assert split_ending(path) == os.path.splitext(path), path
            checked += 1
    assert checked == len(PARTS) + len(PARTS) ** 2 + len(PARTS) ** 3
