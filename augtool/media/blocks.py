"""What every medium's pipeline does with blocks (``one_of``, ``some_of``, ``sequence``): pick
the children that run, and walk the records they leave.

Here rather than beside the image medium's :class:`~augtool.media.image.transforms.Block`, so
that the audio and text media use them without importing every image transform (and Pillow)
into each worker process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from augtool.media.transform import integers

if TYPE_CHECKING:
    from augtool.media.image.transforms.compose import Block

Record = dict[str, Any]


def choose(block: Block, rng: np.random.Generator) -> list[int]:
    """The indices of the children of ``block`` that run, in order, drawn from ``rng``."""
    count = len(block.children)
    if block.kind == "sequence" or count == 0:
        return list(range(count))
    weights = np.array([child.p for child in block.children], dtype=np.float64)
    if weights.sum() <= 0:
        # A child of p 0 never fires; the recipe loader refuses such a block, this guards the
        # blocks built in code.
        return []
    weights = weights / weights.sum()
    if block.kind == "one_of":
        return [int(rng.choice(count, p=weights))]
    assert block.n is not None
    lo, hi = block.n
    n = min(integers(rng, [lo, hi]), int(np.count_nonzero(weights)))
    picked = rng.choice(count, size=n, replace=False, p=weights)
    return sorted(int(i) for i in picked)


def fired_leaves(records: list[Record]) -> Iterator[Record]:
    """The records of the transforms that fired, in the order they were applied: blocks are
    opened (their children in recorded order), steps that did not fire are passed over. Every
    walk of a variant's steps (replay, moving targets, captions) goes through here."""
    for record in records:
        if not record["fired"]:
            continue
        if "steps" in record:
            yield from fired_leaves(record["steps"])
        else:
            yield record
