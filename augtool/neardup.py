"""Near-duplicate sources across splits (leakage by content): each image source's 64-bit
perceptual hash (:func:`augtool.report.stats.phash`, on the report's grey thumbnail code), and
the pairs of sources in two different splits whose hashes differ in at most ``bits`` bits. The
pairing is the same for any medium's fingerprint (an audio clip's, each example of a text
table's: :func:`example_items`), of any width.

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
    """A source (or, with ``row``, one example of a source holding many), its split and its
    hash."""

    path: str
    split: str | None
    hash: int
    #: the example's 1-based data row in ``path``; None when the source is one example
    row: int | None = None

    def named(self) -> str:
        return self.path if self.row is None else f"{self.path} row {self.row}"


@dataclass(frozen=True, slots=True)
class Pair:
    """Two sources in different splits whose hashes differ in ``distance`` bits."""

    first: Hashed
    second: Hashed
    distance: int

    def describe(self, what: str = "64-bit pHashes") -> str:
        return (
            f"{self.second.named()} (split {self.second.split!r}) is a near-duplicate of "
            f"{self.first.named()} (split {self.first.split!r}): their {what} differ in "
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


def example_items(
    path: str, split: str | None, examples: list[tuple[int, int | None, str | None]]
) -> list[Hashed]:
    """The items of a source's examples (a medium's ``example_fingerprints``): each with its
    own split, else the source's; a source of one example is one item without a row, as an
    image is. Examples without a fingerprint are left out."""
    if len(examples) == 1:
        _, value, own = examples[0]
        return [] if value is None else [Hashed(path, own or split, value)]
    return [Hashed(path, own or split, v, row) for row, v, own in examples if v is not None]


def hex_hash(value: int, width: int = 64) -> str:
    return f"{value:0{width // 4}x}"


#: bit counts of every byte, for numpy without ``bitwise_count`` (before 2.0)
_POPCOUNT8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint16)
#: the most 64-bit words one block of comparisons holds (a few MiB)
_BLOCK_WORDS = 1 << 19


def _packed(values: list[int], width: int) -> np.ndarray:
    """``values`` as an (n, width / 64) array of 64-bit words."""
    words = max(1, width // 64)
    data = b"".join(v.to_bytes(8 * words, "little") for v in values)
    return np.frombuffer(data, dtype="<u8").astype(np.uint64).reshape(len(values), words)


def _distances(xored: np.ndarray) -> np.ndarray:
    """The bit count along the last axis of 64-bit words."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(xored).sum(axis=-1, dtype=np.int64)
    return _POPCOUNT8[xored.view(np.uint8)].sum(axis=-1, dtype=np.int64)


def cross_split_pairs(
    items: Iterable[Hashed], bits: int = DEFAULT_BITS, width: int = 64
) -> list[Pair]:
    """Every pair of items in two different splits within ``bits`` bits (of ``width``-bit
    hashes), in the items' order. Only items of different splits are compared: each split
    against each later one, the smaller side's items in blocks against the whole larger side."""
    listed = list(items)
    groups: dict[str | None, list[int]] = {}
    for index, item in enumerate(listed):
        groups.setdefault(item.split, []).append(index)
    if len(groups) < 2:
        return []
    values = _packed([item.hash for item in listed], width)
    found: list[tuple[int, int, int]] = []
    indices = [np.array(group) for group in groups.values()]
    for a, first in enumerate(indices):
        for second in indices[a + 1 :]:
            small, large = sorted((first, second), key=len)
            block = max(1, _BLOCK_WORDS // (len(large) * values.shape[1]))
            for start in range(0, len(small), block):
                rows = small[start : start + block]
                near = _distances(values[rows][:, None, :] ^ values[large][None, :, :])
                for i, j in zip(*np.nonzero(near <= bits), strict=True):
                    x, y = int(rows[i]), int(large[j])
                    found.append((min(x, y), max(x, y), int(near[i, j])))
    found.sort()
    return [Pair(listed[i], listed[k], distance) for i, k, distance in found]
