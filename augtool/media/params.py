"""Parameter kinds: each checks a recipe value and returns it in one canonical, JSON-ready form.

A kind is a small callable object. It raises :class:`ParamError` with the expected form, and the
recipe loader adds the file, line and column. Canonical forms are plain JSON values (``float``,
``int``, ``list``), so that a normalised recipe hashes the same whichever way a user wrote it
(``limit: 15`` and ``limit: [-15, 15]`` are the same recipe).
"""

from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass
from typing import Any

from augtool.errors import ParamError


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value: Any) -> bool:
    """A number without a fraction. An int is whole however large (``float()`` of it may
    overflow); inf and nan are not whole."""
    return _is_number(value) and (isinstance(value, int) or value.is_integer())


def check_finite(value: Any, what: str = "value") -> None:
    """Refuse inf and nan, alone or in a list, in the words every numeric kind uses. A whole
    number too large for a float is refused too: the arithmetic and ``float()`` after this
    check would overflow on it."""
    for item in value if isinstance(value, (list, tuple)) else [value]:
        if not _is_number(item):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            raise ParamError(f"{what} must be a finite number, got {item!r}")
        if abs(item) > sys.float_info.max:
            raise ParamError(f"{what} is too large, got a number of {len(str(abs(item)))} digits")


def whole_pair(
    value: Any, lo: int, form: str, one_means_upto: bool = False, ordered: bool = True
) -> list[int]:
    """Two whole numbers >= ``lo`` from ``[a, b]`` or one number n: ``[n, n]``, or ``[lo, n]``
    when ``one_means_upto`` (Albumentations' meaning of a lone count); ``ordered`` refuses
    a > b. A value of another shape is refused in the words of ``form``."""
    check_finite(value)
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = [lo, value] if one_means_upto else [value, value]
    if len(items) != 2 or not all(is_whole(v) and v >= lo for v in items):
        raise ParamError(f"expected {form}, got {value!r}")
    low, high = int(items[0]), int(items[1])
    if ordered and low > high:
        raise ParamError(f"min must be <= max, got [{low}, {high}]")
    return [low, high]


def _check_bounds(value: float, lo: float | None, hi: float | None, what: str) -> None:
    check_finite(value, what)
    _check_range(value, lo, hi, what)


def _check_range(value: float, lo: float | None, hi: float | None, what: str) -> None:
    if lo is not None and value < lo:
        raise ParamError(f"{what} must be >= {lo}, got {value!r}")
    if hi is not None and value > hi:
        raise ParamError(f"{what} must be <= {hi}, got {value!r}")


@dataclass(frozen=True)
class Float:
    lo: float | None = None
    hi: float | None = None

    @property
    def form(self) -> str:
        return f"a number{_bounds_text(self.lo, self.hi)}"

    def __call__(self, value: Any) -> float:
        if not _is_number(value):
            raise ParamError(f"expected {self.form}, got {value!r}")
        check_finite(value)
        _check_bounds(float(value), self.lo, self.hi, "value")
        return float(value)


@dataclass(frozen=True)
class Int:
    lo: int | None = None
    hi: int | None = None

    @property
    def form(self) -> str:
        return f"a whole number{_bounds_text(self.lo, self.hi)}"

    def __call__(self, value: Any) -> int:
        if isinstance(value, float):
            check_finite(value)
        if not is_whole(value):
            raise ParamError(f"expected {self.form}, got {value!r}")
        # Compared as an int, never a float: exact however large (2**63 - 1 stays itself).
        _check_range(int(value), self.lo, self.hi, "value")
        return int(value)


@dataclass(frozen=True)
class Range:
    """A ``[min, max]`` range. A single number ``x`` means ``[x, x]``, or, when ``around`` is set,
    ``[around - x, around + x]`` (``limit: 15`` is ``[-15, 15]``), clipped to ``lo`` when given."""

    lo: float | None = None
    hi: float | None = None
    around: float | None = None
    integer: bool = False

    @property
    def form(self) -> str:
        kind = "whole numbers" if self.integer else "numbers"
        single = "a number x (meaning [x, x])"
        if self.around is not None:
            centre = _num(self.around)
            meaning = "[-x, x]" if self.around == 0 else f"[{centre} - x, {centre} + x]"
            if self.lo is not None and (
                self.hi is None or self.hi - self.around > self.around - self.lo
            ):  # a low end past lo is raised to it, not refused (contrast_limit: 5)
                meaning += f", its low end raised to {_num(self.lo)}"
            single = f"a number x (meaning {meaning})"
        return f"[min, max] of {kind}{_bounds_text(self.lo, self.hi)}, or {single}"

    def __call__(self, value: Any) -> list[float] | list[int]:
        check_finite(value, "range bound")
        if _is_number(value):
            if self.around is not None:
                if value < 0:
                    raise ParamError(f"expected {self.form}; a single value must be >= 0")
                low, high = self.around - value, self.around + value
                if self.lo is not None:
                    low = max(low, self.lo)
            else:
                low = high = value
        elif isinstance(value, (list, tuple)) and len(value) == 2 and all(map(_is_number, value)):
            low, high = value
        else:
            raise ParamError(f"expected {self.form}, got {value!r}")
        if low > high:
            raise ParamError(f"min must be <= max, got [{_num(low)}, {_num(high)}]")
        for bound in (low, high):
            _check_bounds(float(bound), self.lo, self.hi, "range bound")
        if self.integer:
            if float(low) != int(low) or float(high) != int(high):
                raise ParamError(f"expected {self.form}, got {value!r}")
            return [int(low), int(high)]
        return [float(low), float(high)]


@dataclass(frozen=True)
class Size:
    """An output size ``[height, width]`` (torchvision order); one number means a square."""

    @property
    def form(self) -> str:
        return "[height, width] of positive whole numbers, or one positive whole number"

    def __call__(self, value: Any) -> list[int]:
        check_finite(value)
        items = [value, value] if _is_number(value) else value
        if (
            not isinstance(items, (list, tuple))
            or len(items) != 2
            or not all(is_whole(v) and v >= 1 for v in items)
        ):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return [int(items[0]), int(items[1])]


@dataclass(frozen=True)
class Choice:
    options: tuple[str, ...]

    @property
    def form(self) -> str:
        return "one of " + ", ".join(self.options)

    def __call__(self, value: Any) -> str:
        if value not in self.options:
            raise ParamError(f"expected {self.form}, got {value!r}{self._suggest(value)}")
        return str(value)

    def _suggest(self, value: Any) -> str:
        if not isinstance(value, str):
            return ""
        # Case first: 'JPEG' is 'jpeg' to a user; then spelling ('jpg' is closest to 'jpeg').
        folded = [option for option in self.options if option.lower() == value.lower()]
        close = folded or difflib.get_close_matches(value, self.options, n=1, cutoff=0.6)
        return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class Bool:
    @property
    def form(self) -> str:
        return "true or false"

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return value


@dataclass(frozen=True)
class Fill:
    """A fill colour: one grey level 0–255, ``[r, g, b]``, or (with ``alpha``) ``[r, g, b, a]``.

    How each form meets an image is :func:`augtool.media.image.transforms.imaging.fill_value`'s
    rule: one number fills every channel, alpha included; ``[r, g, b]`` is opaque."""

    alpha: bool = False

    @property
    def form(self) -> str:
        if self.alpha:
            return "a grey level 0-255, [r, g, b] or [r, g, b, a] of 0-255"
        return "a grey level 0-255 or [r, g, b] of 0-255"

    def __call__(self, value: Any) -> int | list[int]:
        def level(v: Any) -> bool:
            return is_whole(v) and 0 <= v <= 255

        check_finite(value)
        if level(value):
            return int(value)
        lengths = (3, 4) if self.alpha else (3,)
        if isinstance(value, (list, tuple)) and len(value) in lengths and all(map(level, value)):
            return [int(v) for v in value]
        raise ParamError(f"expected {self.form}, got {value!r}")


@dataclass(frozen=True)
class IntSet:
    """A non-empty list of allowed whole numbers, e.g. the quarter turns of ``rot90``."""

    allowed: tuple[int, ...]

    @property
    def form(self) -> str:
        return "a non-empty list drawn from " + str(list(self.allowed))

    def __call__(self, value: Any) -> list[int]:
        check_finite(value)
        items = [value] if _is_number(value) else value
        if (
            not isinstance(items, (list, tuple))
            or not items
            or not all(_is_number(v) and v in self.allowed for v in items)
        ):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return sorted({int(v) for v in items})


@dataclass(frozen=True)
class Param:
    """One documented parameter of a transform."""

    name: str
    kind: Any
    default: Any
    help: str

    def normalise(self, value: Any) -> Any:
        return self.kind(value)


PROBABILITY = Float(0.0, 1.0)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bounds_text(lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f" in [{_num(lo)}, {_num(hi)}]"
    if lo is not None:
        return f" >= {_num(lo)}"
    if hi is not None:
        return f" <= {_num(hi)}"
    return ""
