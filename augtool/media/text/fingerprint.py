"""An example's fingerprint for the near-duplicate check across splits (docs/governance.md,
"Text"): a 256-bit one-bit MinHash of the character 4-grams of its normalised text, so that a
copy with another case, other punctuation or a word or two changed lands a few dozen bits from
its original and distinct texts about half the bits apart.

Normalised: Unicode NFKC, case folded, cut into words (runs of letters and digits) joined by one
space, so case, punctuation, spacing and full-width forms change nothing. Shingles are the
4-character windows of `` words `` (a space at both ends marks a word's first and last
letters): on short texts they move less than word shingles when a word changes (a changed word
replaces the windows that touch it, its neighbours' letters stay).

Each of the 256 bits is one MinHash permutation cut to one bit (b-bit MinHash, Li and König):
for two texts whose shingle sets have Jaccard similarity ``J`` a bit agrees with probability
``(1 + J) / 2``, so their expected Hamming distance is ``128 (1 - J)``. 64 bits, as images use,
were too few for texts of ten words: a one-word edit and two distinct texts of the same template
overlapped (measured, docs/governance.md).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

import numpy as np

#: bits of a fingerprint (one MinHash permutation each)
WIDTH = 256
#: shingle length, in characters of the normalised text
SHINGLE = 4

_WORD = re.compile(r"[^\W_]+")


def _constants(tag: str) -> np.ndarray:
    """``WIDTH`` odd 64-bit constants, fixed by ``tag`` (the same on every machine)."""
    values = [
        int.from_bytes(hashlib.blake2b(f"{tag}{i}".encode(), digest_size=8).digest(), "little") | 1
        for i in range(WIDTH)
    ]
    return np.array(values, dtype=np.uint64)[:, None]


_SALT, _MULTIPLY, _BIT = _constants("salt"), _constants("multiply"), _constants("bit")
_SHIFT, _TOP = np.uint64(32), np.uint64(63)


def normalise(texts: Iterable[str]) -> str:
    """The words of ``texts`` (an example's text columns), NFKC, case folded, one space apart."""
    words: list[str] = []
    for text in texts:
        words.extend(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))
    return " ".join(words)


def shingles(normalised: str) -> set[str]:
    """The character 4-grams of `` normalised `` (the text itself when shorter)."""
    padded = f" {normalised} "
    if len(padded) <= SHINGLE:
        return {padded}
    return {padded[i : i + SHINGLE] for i in range(len(padded) - SHINGLE + 1)}


def _feature(shingle: str) -> int:
    digest = hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def minhash_bits(features: set[str]) -> int:
    """The 256-bit one-bit MinHash of a non-empty set of shingles: bit ``i`` is the top bit of
    ``x * c_i`` for the shingle hash ``x`` that permutation ``i`` ranks first."""
    hashes = np.fromiter((_feature(f) for f in features), dtype=np.uint64, count=len(features))
    mixed = (hashes[None, :] ^ _SALT) * _MULTIPLY  # (WIDTH, shingles), wrapping
    mixed ^= mixed >> _SHIFT
    chosen = hashes[mixed.argmin(axis=1)][:, None]
    bits = ((chosen * _BIT) >> _TOP).astype(np.uint8).ravel()
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def fingerprint(texts: Iterable[str]) -> int | None:
    """An example's fingerprint; None when its texts hold no letter or digit (nothing to
    compare: such examples are not checked)."""
    normalised = normalise(texts)
    if not normalised:
        return None
    return minhash_bits(shingles(normalised))
