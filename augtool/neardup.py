"""Near-duplicate sources across splits (leakage by content): each image source's 64-bit
perceptual hash (:func:`augtool.report.stats.phash`, on the report's grey thumbnail code), and
the pairs of sources in two different splits whose hashes differ in at most ``bits`` bits.

pHash rather than the report's dHash: on the bundled photos dHash puts two distinct photos of
different splits 9 bits apart (a false pair at the default 10), pHash 14; see
docs/governance.md for the measurements.

Expand hashes the sources before it writes anything; ``validate manifest`` reads the hashes the
manifest recorded (or hashes the ``--source`` files when it recorded none)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augtool.report.stats import luma, phash

#: imagededup's default threshold for 64-bit hashes
DEFAULT_BITS = 10
#: the longest side a source is reduced to before it is hashed: the hash reads a 32x32
#: thumbnail, so a full-size decode would only cost time
DRAFT_SIDE = 256


@dataclass(frozen=True, slots=True)
class Hashed:
    """A source, its split and its hash."""

    path: str
    split: str | None
    hash: int


@dataclass(frozen=True, slots=True)
class Pair:
    """Two sources in different splits whose hashes differ in ``distance`` bits."""

    first: Hashed
    second: Hashed
    distance: int

    def describe(self, what: str = "64-bit pHashes") -> str:
        return (
            f"{self.second.path} (split {self.second.split!r}) is a near-duplicate of "
            f"{self.first.path} (split {self.first.split!r}): their {what} differ in "
            f"{self.distance} bits"
        )


def file_phash(path: str | Path) -> int | None:
    """The pHash of the image file at ``path`` (upright, as decoded), or ``None`` when it cannot
    be read as an image."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as picture:
            picture.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))  # JPEG: decode at a reduced scale
            upright = ImageOps.exif_transpose(picture).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return phash(luma(np.asarray(upright)))


def dihedral_phashes(path: str | Path) -> tuple[int, ...] | None:
    """The pHashes of the image at ``path`` under the 8 flips and quarter turns (pHash is not
    invariant to them, and a variant may be mirrored or turned), or ``None`` when it cannot be
    read as an image."""
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as picture:
            picture.draft("RGB", (DRAFT_SIDE, DRAFT_SIDE))
            upright = ImageOps.exif_transpose(picture).convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    grey = luma(np.asarray(upright))
    return tuple(phash(np.rot90(m, k)) for m in (grey, grey[:, ::-1]) for k in range(4))


def hex_hash(value: int) -> str:
    return f"{value:016x}"


def cross_split_pairs(items: Iterable[Hashed], bits: int = DEFAULT_BITS) -> list[Pair]:
    """Every pair of items in two different splits within ``bits`` bits, in the items' order."""
    listed = list(items)
    if len(listed) < 2:
        return []
    values = np.array([item.hash for item in listed], dtype=np.uint64)
    splits = [item.split for item in listed]
    pairs: list[Pair] = []
    for i in range(len(listed) - 1):
        rest = np.bitwise_xor(values[i + 1 :], values[i])
        distances = np.unpackbits(rest.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)
        for j in np.flatnonzero(distances <= bits):
            k = i + 1 + int(j)
            if splits[k] != splits[i]:
                pairs.append(Pair(listed[i], listed[k], int(distances[j])))
    return pairs
