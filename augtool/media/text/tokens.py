"""Unicode-aware tokens: what every text step works on.

A word is a run of letters, digits and marks (an apostrophe between letters stays inside it:
``don't``); every other visible character is a token of its own, so an emoji, a CJK character
or a punctuation mark is one token. A mark, a variation selector, a zero-width joiner and the
character after it, or an emoji skin tone, stays with the token before it, so an emoji sequence
or an accented letter is never cut. Whitespace is kept as the separator after each token:
``detokenise(tokenise(s)) == s`` for every string.

A token is ``(text, space, locked, word)``: ``locked`` when it overlaps a protected span, which
no step changes, moves or deletes; ``word`` when it is made of letters or digits (found once,
here, as steps ask it of every token many times).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

Token = tuple[str, str, bool, bool]
Tokens = list[Token]

_ASCII = re.compile(r"([A-Za-z0-9]+(?:'[A-Za-z0-9]+)*|\S)(\s*)")
_LEADING = re.compile(r"\s*")
_ZWJ = "\u200d"
_APOSTROPHES = "'\u2019"


def _is_word(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _joins(previous: str, char: str) -> bool:
    """Whether ``char`` belongs to the token that ends with ``previous``."""
    category = unicodedata.category(char)
    if category[0] == "M" or char == _ZWJ or previous == _ZWJ:
        return True
    if "\U0001f3fb" <= char <= "\U0001f3ff":  # an emoji skin tone
        return True
    # A flag is a pair of regional indicators.
    return _regional(char) and _regional(previous)


def _regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def split_words(text: str) -> list[tuple[int, int]]:
    """The (start, end) of every token of ``text``."""
    if text.isascii():
        return [m.span(1) for m in _ASCII.finditer(text)]
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        start = i
        i += 1
        if _is_word(char):
            while i < n and (
                _is_word(text[i])
                or _joins(text[i - 1], text[i])
                or (text[i] in _APOSTROPHES and i + 1 < n and _is_word(text[i + 1]))
            ):
                i += 1
        else:
            pair_open = _regional(char)
            while i < n and _joins(text[i - 1], text[i]):
                if _regional(text[i]):
                    if not pair_open:
                        break
                    pair_open = False
                i += 1
        spans.append((start, i))
    return spans


def tokenise(text: str, protect: Sequence[re.Pattern[str]] = ()) -> tuple[str, Tokens]:
    """The leading whitespace and the tokens of ``text``; a token overlapping a match of a
    ``protect`` pattern is locked."""
    if not protect and text.isascii():
        # The common case in one regex pass: each match is a token and the space after it.
        lead = text[: len(text) - len(text.lstrip())]
        return lead, [(w, s, False, w[0].isalnum()) for w, s in _ASCII.findall(text)]
    spans = split_words(text)
    locked_spans = (
        []
        if not protect
        else [
            m.span() for pattern in protect for m in pattern.finditer(text) if m.end() > m.start()
        ]
    )
    tokens: Tokens = []
    for index, (start, end) in enumerate(spans):
        following = spans[index + 1][0] if index + 1 < len(spans) else len(text)
        locked = bool(locked_spans) and any(s < end and start < e for s, e in locked_spans)
        tokens.append(make(text[start:end], text[end:following], locked))
    lead = text[: spans[0][0]] if spans else text
    return lead, tokens


def detokenise(lead: str, tokens: Sequence[Token]) -> str:
    return lead + "".join([token[0] + token[1] for token in tokens])


def make(text: str, space: str, locked: bool = False) -> Token:
    """A token of ``text`` followed by ``space``."""
    first = text[:1]
    word = bool(first) and (first.isalnum() if first.isascii() else _is_word(first))
    return (text, space, locked, word)


def respace(token: Token, space: str) -> Token:
    """``token`` followed by ``space`` instead."""
    return (token[0], space, token[2], token[3])


def is_word(token: Token) -> bool:
    """A token made of letters or digits (not punctuation, not an emoji)."""
    return token[3]


def distance(a: Sequence[str], b: Sequence[str]) -> int:
    """The token edit distance (Levenshtein) between two token lists.

    Bit-parallel (Myers 1999, in Hyyrö's formulation): one column of the dynamic programme is
    a pair of bit vectors (Python ints) over the shorter list, so a long row costs a few big-int
    operations per token of the longer one rather than a Python step per pair of tokens (a
    4,000-token row took seconds, a 40,000-token one minutes). Exact: the same distance as the
    textbook table."""
    if len(a) < len(b):
        a, b = b, a
    m = len(b)
    if m == 0:
        return len(a)
    match: dict[str, int] = {}
    for i, token in enumerate(b):
        match[token] = match.get(token, 0) | (1 << i)
    mask, last = (1 << m) - 1, 1 << (m - 1)
    plus, minus, score = mask, 0, m  # vertical +1 / -1 deltas of the current column
    for token in a:
        eq = match.get(token, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        hplus = minus | ~(xh | plus)
        hminus = plus & xh
        if hplus & last:
            score += 1
        elif hminus & last:
            score -= 1
        hplus = (hplus << 1) | 1
        hminus <<= 1
        plus = (hminus | ~(xv | hplus)) & mask
        minus = hplus & xv & mask
    return score


__all__ = [
    "Token",
    "Tokens",
    "detokenise",
    "distance",
    "is_word",
    "make",
    "respace",
    "split_words",
    "tokenise",
]
