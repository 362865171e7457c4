"""What every text transform is: a parameter schema, a sampler and a pure kernel on tokens.

:meth:`TextTransform.sample` draws a step's parameters for one row from the row's generator and
returns them as plain JSON (positions, pairs, the words chosen), complete enough that
:meth:`TextTransform.apply` needs nothing else: ``apply`` is a pure function of the tokens and
those parameters, which is what lets ``validate --recompute`` replay a row from its record. A
locked token (a protected span) is never chosen by a sampler.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from augtool.media.params import Range
from augtool.media.text.tokens import Token, Tokens, make
from augtool.media.transform import Transform

Params = dict[str, Any]

REGISTRY: dict[str, type[TextTransform]] = {}
RATE = Range(0.0, 1.0)


class TextTransform(Transform):
    """Base class of the text transforms: set the class attributes, implement ``sample`` and
    ``apply``. Parameters are normalised and checked as every medium's are (:class:`Transform`)."""

    def sample(self, rng: np.random.Generator, tokens: Tokens) -> Params:  # type: ignore[override]
        """This step's parameters for a row of ``tokens``."""
        raise NotImplementedError

    @staticmethod
    def apply(tokens: Tokens, params: Params) -> Tokens:  # type: ignore[override]
        """The tokens with the sampled ``params`` applied: a new list, the input untouched."""
        raise NotImplementedError


def register(cls: type[TextTransform]) -> type[TextTransform]:
    if cls.name in REGISTRY:
        raise RuntimeError(f"transform {cls.name!r} registered twice")
    REGISTRY[cls.name] = cls
    return cls


# Draws go through ``rng.random()`` alone: it costs a fraction of ``integers``, ``uniform`` or
# ``choice`` per call, and a text run draws a few numbers for each of a million rows.


def below(rng: np.random.Generator, n: int) -> int:
    """A uniform whole number in ``[0, n)``."""
    return min(int(rng.random() * n), n - 1)


def draw_rate(rng: np.random.Generator, bounds: list[float]) -> float:
    lo, hi = bounds
    return float(lo) if lo == hi else float(lo + (hi - lo) * rng.random())


def draw_count(rng: np.random.Generator, rate: float, total: int) -> int:
    """``rate * total`` rounded up or down at random, so the rate holds on average even for
    short rows."""
    exact = rate * total
    whole = math.floor(exact)
    return whole + int(rng.random() < exact - whole)


def free_words(tokens: Tokens) -> list[int]:
    """The indices of the words a step may touch (not locked)."""
    return [i for i, token in enumerate(tokens) if token[3] and not token[2]]


def choose(rng: np.random.Generator, items: Sequence[Any], count: int) -> list[Any]:
    """``count`` distinct items (all of them when there are fewer), in their list order."""
    n = len(items)
    if count >= n:
        return list(items)
    # The first ``count`` steps of a Fisher-Yates shuffle of range(n), the swapped places
    # alone kept: the same draws and picks as shuffling the whole list, without making it.
    moved: dict[int, int] = {}
    picked = []
    for i in range(count):
        j = i + below(rng, n - i)
        at_i, at_j = moved.get(i, i), moved.get(j, j)
        moved[i], moved[j] = at_j, at_i
        picked.append(at_j)
    return [items[i] for i in sorted(picked)]


def with_case(word: str, like: str) -> str:
    """``word`` cased as ``like`` is (all capitals, a capital first, or as it is)."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def retext(token: Token, text: str) -> Token:
    return make(text, token[1], token[2])


__all__ = [
    "RATE",
    "REGISTRY",
    "Params",
    "TextTransform",
    "below",
    "choose",
    "draw_count",
    "draw_rate",
    "free_words",
    "register",
    "retext",
    "with_case",
]
