"""Resizes by a factor or to a side length, and padding up to a size: Albumentations'
``RandomScale``, ``LongestMaxSize``, ``SmallestMaxSize`` and ``PadIfNeeded``.

They record what ``resize`` and ``pad`` record (the output ``size``, the ``padding``) and reuse
their kernels and geometry, so they resample, pad and move targets exactly as those do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.crops import RESIZE_INTERPOLATION, Pad, Resize
from augtool.media.image.transforms.geometric import BORDER, FILL
from augtool.media.params import Choice, Param, Range, check_finite, is_whole
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "geometric"


def _positive_whole(value: Any) -> bool:
    return is_whole(value) and value >= 1


@dataclass(frozen=True)
class SideLengths:
    """One side length, or a list to choose from uniformly (Albumentations' ``max_size``).
    Canonically a sorted list without repeats."""

    @property
    def form(self) -> str:
        return "a positive whole number, or a non-empty list of them (one is chosen)"

    @property
    def json_schema(self) -> dict[str, Any]:
        side = {"type": "integer", "minimum": 1}
        return {"anyOf": [side, {"type": "array", "items": side, "minItems": 1}]}

    def __call__(self, value: Any) -> list[int]:
        check_finite(value)
        items = value if isinstance(value, (list, tuple)) else [value]
        if not items or not all(_positive_whole(v) for v in items):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return sorted({int(v) for v in items})


@dataclass(frozen=True)
class OptionalSide:
    """A positive whole number, or null (not set)."""

    @property
    def form(self) -> str:
        return "a positive whole number, or null"

    @property
    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}

    def __call__(self, value: Any) -> int | None:
        if value is None:
            return None
        check_finite(value)
        if not _positive_whole(value):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return int(value)


def scaled_size(height: int, width: int, factor: float) -> list[int]:
    """Each side times ``factor``, rounded, at least one pixel."""
    return [max(1, round(height * factor)), max(1, round(width * factor))]


def _resized(size: list[int], interpolation: str, **extra: Any) -> Params:
    return {**extra, "size": size, "interpolation": interpolation}


@register
class RandomScale(Transform):
    name = "random_scale"
    summary = "Resize by a random factor 1 + s (both sides, the aspect kept): the size changes."
    family = FAMILY
    sixteen_bits = True
    params = (
        Param(
            "scale_limit",
            Range(-0.99, 10.0, around=0),
            [-0.1, 0.1],
            "range of s: the factor is 1 + s (0.1 means factors in [0.9, 1.1])",
        ),
        RESIZE_INTERPOLATION,
    )
    example = "- random_scale: {scale_limit: [-0.2, 0.3], p: 0.5}"
    apply = staticmethod(Resize.apply)
    geometry = staticmethod(Resize.geometry)

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        factor = 1.0 + uniform(rng, self.config["scale_limit"])
        size = scaled_size(shape[0], shape[1], factor)
        return _resized(size, self.config["interpolation"], scale=factor)


MAX_SIZE_HELP = "side length in pixels, or a list of lengths to choose from uniformly"


class _SideResize(Transform):
    """Scale so that one side (the longer or the shorter) becomes ``max_size``."""

    longest: bool
    family = FAMILY
    sixteen_bits = True
    params = (Param("max_size", SideLengths(), [1024], MAX_SIZE_HELP), RESIZE_INTERPOLATION)
    apply = staticmethod(Resize.apply)
    geometry = staticmethod(Resize.geometry)

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        choices = self.config["max_size"]
        target = choices[int(rng.integers(len(choices)))] if len(choices) > 1 else choices[0]
        height, width = shape[:2]
        side = max(height, width) if self.longest else min(height, width)
        size = scaled_size(height, width, target / side)
        return _resized(size, self.config["interpolation"], max_size=target)


@register
class LongestMaxSize(_SideResize):
    name = "longest_max_size"
    summary = "Resize keeping the aspect so that the longer side is max_size (up or down)."
    longest = True
    example = "- longest_max_size: {max_size: 640}"


@register
class SmallestMaxSize(_SideResize):
    name = "smallest_max_size"
    summary = "Resize keeping the aspect so that the shorter side is max_size (up or down)."
    longest = False
    example = "- smallest_max_size: {max_size: [480, 512, 544]}"


POSITIONS = ("center", "top_left", "top_right", "bottom_left", "bottom_right", "random")


@register
class PadIfNeeded(Transform):
    name = "pad_if_needed"
    summary = (
        "Pad up to a minimum size, or up to the next multiple of a divisor, placing the "
        "image at a chosen position; a larger image is left as it is."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param("min_height", OptionalSide(), 1024, "smallest output height (null: use the divisor)"),
        Param("min_width", OptionalSide(), 1024, "smallest output width (null: use the divisor)"),
        Param(
            "pad_height_divisor",
            OptionalSide(),
            None,
            "pad the height up to a multiple of this (set min_height: null)",
        ),
        Param(
            "pad_width_divisor",
            OptionalSide(),
            None,
            "pad the width up to a multiple of this (set min_width: null)",
        ),
        Param(
            "position",
            Choice(POSITIONS),
            "center",
            "where the image sits in the padded canvas (random: anywhere, uniformly)",
        ),
        BORDER,
        FILL,
    )
    example = "- pad_if_needed: {min_height: 640, min_width: 640, position: top_left}"
    apply = staticmethod(Pad.apply)
    geometry = staticmethod(Pad.geometry)

    def check(self, config: dict[str, Any]) -> None:
        for side in ("height", "width"):
            minimum, divisor = config[f"min_{side}"], config[f"pad_{side}_divisor"]
            if (minimum is None) == (divisor is None):
                raise ParamError(
                    f"set exactly one of min_{side} and pad_{side}_divisor "
                    f"(the other null), got {minimum!r} and {divisor!r}"
                )

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        config = self.config
        extra_h = _missing(shape[0], config["min_height"], config["pad_height_divisor"])
        extra_w = _missing(shape[1], config["min_width"], config["pad_width_divisor"])
        top, left = _placed(rng, config["position"], extra_h, extra_w)
        return {
            "padding": [left, top, extra_w - left, extra_h - top],
            "border": config["border"],
            "fill": config["fill"],
        }


def _missing(length: int, minimum: int | None, divisor: int | None) -> int:
    """Pixels to add to a side of ``length``: up to ``minimum``, or to a multiple of
    ``divisor``."""
    if minimum is not None:
        return max(0, minimum - length)
    assert divisor is not None
    return -length % divisor


def _placed(rng: np.random.Generator, position: str, extra_h: int, extra_w: int) -> tuple[int, int]:
    """The padding above and left of the image at ``position``; centred, an odd pixel goes
    below and right (as Albumentations)."""
    if position == "random":
        return integers(rng, [0, extra_h]), integers(rng, [0, extra_w])
    top = {"top": 0, "bottom": extra_h}.get(position.split("_")[0], extra_h // 2)
    left = {"left": 0, "right": extra_w}.get(position.split("_")[-1], extra_w // 2)
    return top, left
