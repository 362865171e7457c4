"""Occlusion transforms: they hide rectangles of the image so a model cannot lean on one region.

Holes are painted into the colour channels only; an alpha channel keeps its values inside a hole,
so a cut-out's outline is unchanged. Boxes are recorded as ``[top, left, height, width]`` in pixels
(torchvision's order), always inside the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.imaging import fill_value
from augtool.media.params import Fill, Param, Range, check_finite
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "occlusion"

#: How many boxes random_erasing tries before giving up, as in torchvision.
ERASING_ATTEMPTS = 10


def colour_fill(fill: int | list[int], channels: int) -> np.ndarray:
    """The fill as one uint8 value per colour channel (a grey image gets the fill's luma)."""
    value = fill_value(fill, 1 if channels == 1 else 3)
    return np.array(value, dtype=np.uint8).reshape(-1)


@register
class CoarseDropout(Transform):
    name = "coarse_dropout"
    summary = "Fill a random number of rectangles of random size with a constant colour."
    family = FAMILY
    params = (
        Param(
            "num_holes_range", Range(0, 1000, integer=True), [1, 8], "range of the number of holes"
        ),
        Param(
            "hole_height_range",
            Range(0, 1),
            [0.05, 0.2],
            "range of a hole's height, as a fraction in (0, 1] of the image height",
        ),
        Param(
            "hole_width_range",
            Range(0, 1),
            [0.05, 0.2],
            "range of a hole's width, as a fraction in (0, 1] of the image width",
        ),
        Param("fill", Fill(), 0, "colour of the holes"),
    )
    example = "- coarse_dropout: {num_holes_range: [1, 4], hole_height_range: [0.1, 0.2], p: 0.5}"

    def check(self, config: dict[str, Any]) -> None:
        for name in ("hole_height_range", "hole_width_range"):
            if config[name][0] <= 0:
                raise ParamError(f"{name} must be > 0 (a fraction of the image side)")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        count = integers(rng, self.config["num_holes_range"])
        holes = []
        if count:
            # Vectorised draws: one array per quantity, so many holes cost no more than one.
            fh = rng.uniform(*self.config["hole_height_range"], size=count)
            fw = rng.uniform(*self.config["hole_width_range"], size=count)
            hs = np.clip(np.rint(fh * height), 1, height).astype(np.int64)
            ws = np.clip(np.rint(fw * width), 1, width).astype(np.int64)
            tops = rng.integers(0, height - hs, endpoint=True)
            lefts = rng.integers(0, width - ws, endpoint=True)
            holes = np.stack([tops, lefts, hs, ws], axis=1).tolist()  # plain ints
        return {"holes": holes, "fill": self.config["fill"]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        out = image.copy()
        colour = colour_fill(params["fill"], image.shape[2])
        for top, left, height, width in params["holes"]:
            out[top : top + height, left : left + width, : colour.size] = colour
        return out


@dataclass(frozen=True)
class EraseValue:
    """A fill colour, or ``"random"`` for per-pixel random colours (torchvision's ``value``)."""

    @property
    def form(self) -> str:
        return f'{Fill().form}, or "random"'

    def __call__(self, value: Any) -> int | list[int] | str:
        if value == "random":
            return "random"
        check_finite(value)
        try:
            return Fill()(value)
        except ParamError:
            raise ParamError(f"expected {self.form}, got {value!r}") from None


@register
class RandomErasing(Transform):
    name = "random_erasing"
    summary = (
        "Erase one random rectangle of random area and aspect ratio (torchvision RandomErasing)."
    )
    family = FAMILY
    params = (
        Param(
            "scale", Range(0, 1), [0.02, 0.33], "range of the erased area, a fraction of the image"
        ),
        Param(
            "ratio", Range(0, 1000), [0.3, 3.3], "range of the box's aspect ratio, height / width"
        ),
        Param(
            "value",
            EraseValue(),
            0,
            'fill colour, or "random" for random colours per pixel',
        ),
    )
    example = "- random_erasing: {scale: [0.02, 0.2], value: random, p: 0.5}"

    def check(self, config: dict[str, Any]) -> None:
        if config["ratio"][0] <= 0:
            raise ParamError("ratio must be > 0")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        """torchvision's draw: up to 10 tries of an area and a log-uniform aspect ratio; the
        first box that fits is placed uniformly. Unlike torchvision, a box that rounds to zero
        pixels does not count as fitting."""
        height, width = shape[:2]
        area = height * width
        log_ratio = [math.log(r) for r in self.config["ratio"]]
        value = self.config["value"]
        params: Params = {"erased": False, "box": None, "value": value}
        for _ in range(ERASING_ATTEMPTS):
            erase_area = area * uniform(rng, self.config["scale"])
            aspect = math.exp(uniform(rng, log_ratio))
            h = round(math.sqrt(erase_area * aspect))
            w = round(math.sqrt(erase_area / aspect))
            if not (0 < h < height and 0 < w < width):
                continue
            top = integers(rng, [0, height - h])
            left = integers(rng, [0, width - w])
            params.update(erased=True, box=[top, left, h, w])
            if value == "random":
                params["seed"] = int(rng.integers(2**63))
            break
        return params

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        out = image.copy()
        if not params["erased"]:
            return out
        top, left, height, width = params["box"]
        channels = min(image.shape[2], 3)
        if params["value"] == "random":
            generator = np.random.Generator(np.random.PCG64(params["seed"]))
            patch = generator.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
        else:
            patch = colour_fill(params["value"], image.shape[2])
        out[top : top + height, left : left + width, :channels] = patch
        return out
