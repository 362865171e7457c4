"""Character-level steps: keyboard typos, OCR confusions, case and punctuation noise.

Edits are recorded as (token index, character index, the text put there); applying them runs
from the last edit back, so a replacement of another length (``m`` for ``rn``, or ``SS`` for
``ß`` upper-cased) never shifts one still to come.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator, Sequence
from itertools import accumulate

import numpy as np

from augtool.media.params import Choice, Param
from augtool.media.text.tokens import Tokens, is_word, make, respace
from augtool.media.text.transforms.base import (
    RATE,
    Params,
    TextTransform,
    below,
    choose,
    draw_count,
    draw_rate,
    register,
    retext,
)

_ROWS = {
    "qwerty": ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"),
    "azerty": ("1234567890", "azertyuiop", "qsdfghjklm", "wxcvbn"),
}


def _neighbours(rows: tuple[str, ...]) -> dict[str, str]:
    """Each key's neighbours on the same row and the rows above and below (offset ±1)."""
    found: dict[str, str] = {}
    for r, row in enumerate(rows):
        for c, key in enumerate(row):
            near = [row[c - 1] if c > 0 else "", row[c + 1] if c + 1 < len(row) else ""]
            for other in (r - 1, r + 1):
                if 0 <= other < len(rows):
                    near += [rows[other][k] for k in (c - 1, c, c + 1) if 0 <= k < len(rows[other])]
            # A letter's typo is a letter: the digit row is only a digit's neighbour.
            kept = [k for k in "".join(near) if k and k.isalpha() == key.isalpha()]
            found[key] = "".join(sorted(set(kept)))
    return found


KEYBOARDS = {name: _neighbours(rows) for name, rows in _ROWS.items()}
KEYS = {name: frozenset(board) for name, board in KEYBOARDS.items()}
assert all(set("abcdefghijklmnopqrstuvwxyz") <= keys for keys in KEYS.values())


class Places:
    """The (token, character) places a step may edit, as a sequence, kept as each token's
    offsets (a ``range`` for a plain ASCII word) rather than one pair per letter."""

    def __init__(self, tokens: list[int], offsets: list[Sequence[int]]) -> None:
        self.tokens = tokens
        self.offsets = offsets
        # Each token's first place; an empty token's is the next one's, and bisect passes it.
        self.starts = list(accumulate(map(len, offsets), initial=0))
        self.total = self.starts[-1]

    def __len__(self) -> int:
        return self.total

    def __getitem__(self, index: int) -> tuple[int, int]:
        k = bisect_right(self.starts, index) - 1
        return self.tokens[k], self.offsets[k][index - self.starts[k]]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for token, offsets in zip(self.tokens, self.offsets, strict=True):
            for offset in offsets:
                yield token, offset


def _letters(tokens: Tokens, accept: frozenset[str] | None = None) -> Places:
    """(token, character) of every character of an unlocked word a step may edit: a letter,
    and with ``accept`` (a keyboard's keys) one whose lower case is a key."""
    found = [t for t, token in enumerate(tokens) if token[3] and not token[2]]
    texts = [tokens[t][0] for t in found]
    joined = "".join(texts)
    # Every keyboard has the 26 letters and 10 digits: then each word is a range, and the
    # words are checked in one call rather than a character at a time.
    if joined.isascii() and (joined.isalpha() if accept is None else joined.isalnum()):
        return Places(found, [range(len(text)) for text in texts])
    return Places(found, [_accepted(text, accept) for text in texts])


def _accepted(text: str, accept: frozenset[str] | None) -> Sequence[int]:
    if text.isascii() and text.isalpha():
        return range(len(text))
    if accept is None:
        return [c for c, char in enumerate(text) if char.isalpha()]
    return [c for c, char in enumerate(text) if char.lower() in accept]


def apply_edits(tokens: Tokens, edits: list[list]) -> Tokens:
    """Each edit ``[token, start, old, new]`` replaces ``old`` at ``start`` of the token."""
    out = list(tokens)
    for t, start, old, new in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = out[t][0]
        out[t] = retext(out[t], text[:start] + new + text[start + len(old) :])
    return out


def _rate(default: list[float], what: str) -> Param:
    return Param("rate", RATE, default, f"share of the {what} ([min, max])")


@register
class CharTypo(TextTransform):
    name = "char_typo"
    summary = "Replace letters by a neighbouring key (QWERTY or AZERTY), case kept."
    family = "character"
    params = (
        _rate([0.01, 0.05], "letters changed"),
        Param("keyboard", Choice(tuple(KEYBOARDS)), "qwerty", "the keyboard layout"),
    )
    example = "- char_typo: {rate: [0.01, 0.05], keyboard: qwerty}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        board = KEYBOARDS[self.config["keyboard"]]
        rate = draw_rate(rng, self.config["rate"])
        places = _letters(tokens, KEYS[self.config["keyboard"]])
        edits = []
        for t, c in choose(rng, places, draw_count(rng, rate, len(places))):
            old = tokens[t][0][c]
            near = board[old.lower()]
            new = near[below(rng, len(near))]
            edits.append([t, c, old, new.upper() if old.isupper() else new])
        return {"rate": rate, "edits": edits}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        return apply_edits(tokens, params["edits"])


#: What OCR engines commonly read in place of each string.
CONFUSIONS = {
    "rn": "m", "m": "rn", "cl": "d", "l": "1", "I": "l", "O": "0", "o": "0", "S": "5",
    "B": "8", "g": "9", "Z": "2", "e": "c", "a": "o", "u": "v", "h": "b", "i": "í",
}  # fmt: skip


@register
class OcrNoise(TextTransform):
    name = "ocr_noise"
    summary = "Common OCR confusions (rn→m, l→1, O→0, e→c …) at the given rate."
    family = "character"
    params = (_rate([0.02, 0.06], "confusable places changed"),)
    example = "- ocr_noise: {rate: [0.02, 0.06]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        rate = draw_rate(rng, self.config["rate"])
        places = []
        for t, token in enumerate(tokens):
            if token[2] or not is_word(token):
                continue
            text = token[0]
            c = 0
            while c < len(text):
                pair = text[c : c + 2]
                if len(pair) == 2 and pair in CONFUSIONS:
                    places.append([t, c, pair, CONFUSIONS[pair]])
                    c += 2
                    continue
                if text[c] in CONFUSIONS:
                    places.append([t, c, text[c], CONFUSIONS[text[c]]])
                c += 1
        return {"rate": rate, "edits": choose(rng, places, draw_count(rng, rate, len(places)))}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        return apply_edits(tokens, params["edits"])


@register
class CaseNoise(TextTransform):
    name = "case_noise"
    summary = "Flip the case of letters at the given rate."
    family = "character"
    params = (_rate([0.02, 0.1], "letters flipped"),)
    example = "- case_noise: {rate: [0.02, 0.1]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        rate = draw_rate(rng, self.config["rate"])
        places = [
            p for p in _letters(tokens) if tokens[p[0]][0][p[1]].swapcase() != tokens[p[0]][0][p[1]]
        ]
        edits = []
        for t, c in choose(rng, places, draw_count(rng, rate, len(places))):
            old = tokens[t][0][c]
            edits.append([t, c, old, old.swapcase()])
        return {"rate": rate, "edits": edits}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        return apply_edits(tokens, params["edits"])


MARKS = ".,;:!?"


@register
class PunctuationNoise(TextTransform):
    name = "punctuation_noise"
    summary = "Insert punctuation marks after words, and delete existing ones (AEDA-style)."
    family = "character"
    params = (_rate([0.05, 0.2], "places that get or lose a mark"),)
    example = "- punctuation_noise: {rate: [0.05, 0.2]}"

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:
        rate = draw_rate(rng, self.config["rate"])
        words = [i for i, t in enumerate(tokens) if not t[2] and is_word(t)]
        marks = [i for i, t in enumerate(tokens) if not t[2] and t[0] in MARKS]
        inserts = []
        for i in choose(rng, words, draw_count(rng, rate, len(words))):
            inserts.append([i, MARKS[below(rng, len(MARKS))]])
        deletes = choose(rng, marks, draw_count(rng, rate, len(marks)))
        if len(deletes) == len(tokens):
            deletes = deletes[1:]
        return {"rate": rate, "insert": inserts, "delete": deletes}

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:
        from augtool.media.text.transforms.words import delete_tokens

        after = {i: mark for i, mark in params["insert"]}
        out: Tokens = []
        gone = set(params["delete"])
        for i, token in enumerate(tokens):
            if i in after:
                out.append(respace(token, ""))
                out.append(make(after[i], token[1]))
            else:
                out.append(token)
        # Positions of the deletions are in the input's numbering: shift them past inserts.
        shifted = [i + sum(1 for j in after if j < i) for i in sorted(gone)]
        return delete_tokens(out, shifted) if shifted else out


__all__ = ["CONFUSIONS", "KEYBOARDS", "CaseNoise", "CharTypo", "OcrNoise", "PunctuationNoise"]
