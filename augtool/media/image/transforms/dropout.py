"""Dropouts after Albumentations: ``grid_dropout`` (a regular grid of holes) and
``pixel_dropout`` (single pixels). Like ``coarse_dropout`` they paint the colour channels only
(an alpha channel keeps its values) and leave every target where it is.

A pixel pattern is not written into the record: ``pixel_dropout`` records a seed, and its kernel
draws the same pattern from it (``numpy``'s PCG64, which is the same on every machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.occlusion import EraseValue, colour_fill
from augtool.media.params import (
    Bool,
    Fill,
    Float,
    Param,
    whole_pair,
)
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
)

FAMILY = "occlusion"


@dataclass(frozen=True)
class OptionalRange:
    """``null``, or a range of whole numbers >= ``lo`` (one number n meaning [n, n])."""

    lo: int = 1

    @property
    def form(self) -> str:
        return f"null, or [min, max] of whole numbers >= {self.lo}, or one (meaning [n, n])"

    @property
    def json_schema(self) -> dict[str, Any]:
        whole = {"type": "integer", "minimum": self.lo}
        pair = {"type": "array", "items": whole, "minItems": 2, "maxItems": 2}
        return {"anyOf": [{"type": "null"}, whole, pair]}

    def __call__(self, value: Any) -> list[int] | None:
        return None if value is None else whole_pair(value, self.lo, self.form)


@dataclass(frozen=True)
class CountsXY:
    """Counts across and down, ``[x, y]`` of positive whole numbers; one number n is [n, n]."""

    @property
    def form(self) -> str:
        return "[x, y] of positive whole numbers, or one (the same both ways)"

    @property
    def json_schema(self) -> dict[str, Any]:
        whole = {"type": "integer", "minimum": 1}
        return {"anyOf": [whole, {"type": "array", "items": whole, "minItems": 2, "maxItems": 2}]}

    def __call__(self, value: Any) -> list[int]:
        return whole_pair(value, 1, self.form, ordered=False)


@register
class GridDropout(Transform):
    name = "grid_dropout"
    summary = (
        "Fill a regular grid of rectangular holes, one per grid unit, with a constant colour "
        "(Albumentations' GridDropout)."
    )
    family = FAMILY
    params = (
        Param("ratio", Float(0.0, 1.0), 0.5, "a hole's side as a fraction of its unit's side"),
        Param(
            "unit_size_range",
            OptionalRange(2),
            None,
            "range of the unit's side in pixels, drawn once (null: from holes_number_xy)",
        ),
        Param(
            "holes_number_xy",
            CountsXY(),
            [10, 10],
            "units across (x) and down (y) when unit_size_range is null",
        ),
        Param(
            "random_offset",
            Bool(),
            True,
            "shift the grid by a random amount inside a unit (false: holes start at the top left)",
        ),
        Param("fill", Fill(), 0, "colour of the holes"),
    )
    example = "- grid_dropout: {ratio: 0.4, unit_size_range: [20, 40], p: 0.5}"

    def check(self, config: dict[str, Any]) -> None:
        if config["ratio"] <= 0:
            raise ParamError("ratio must be > 0 (a fraction of the unit's side)")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        config = self.config
        if config["unit_size_range"] is not None:
            side = integers(rng, config["unit_size_range"])
            unit = [min(side, height), min(side, width)]
        else:
            across, down = config["holes_number_xy"]
            unit = [max(1, height // down), max(1, width // across)]
        hole = [max(1, min(u, round(u * config["ratio"]))) for u in unit]
        offset = [0, 0]
        if config["random_offset"]:
            offset = [integers(rng, [0, u - h]) for u, h in zip(unit, hole, strict=True)]
        return {"unit": unit, "hole": hole, "offset": offset, "fill": config["fill"]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        height, width, channels = image.shape
        (unit_h, unit_w), (hole_h, hole_w) = params["unit"], params["hole"]
        top, left = params["offset"]
        rows = (np.arange(height) - top) % unit_h < hole_h
        cols = (np.arange(width) - left) % unit_w < hole_w
        colour = colour_fill(params["fill"], channels)
        out = image.copy()
        holes = rows[:, None] & cols[None, :]
        out[holes, : colour.size] = colour
        return out


@register
class PixelDropout(Transform):
    name = "pixel_dropout"
    summary = "Set random single pixels (or single channel values) to a drop value."
    family = FAMILY
    params = (
        Param("dropout_prob", Float(0.0, 1.0), 0.01, "probability that a pixel is dropped"),
        Param(
            "per_channel",
            Bool(),
            False,
            "drop each colour channel of a pixel on its own (false: whole pixels)",
        ),
        Param(
            "drop_value",
            EraseValue(),
            0,
            'the dropped pixels\' colour, or "random" for random values',
        ),
    )
    example = "- pixel_dropout: {dropout_prob: 0.02, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        config = self.config
        return {
            "dropout_prob": config["dropout_prob"],
            "per_channel": config["per_channel"],
            "drop_value": config["drop_value"],
            "seed": int(rng.integers(2**63)),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        height, width, channels = image.shape
        colours = min(channels, 3)
        generator = np.random.Generator(np.random.PCG64(params["seed"]))
        depth = colours if params["per_channel"] else 1
        dropped = generator.random((height, width, depth)) < params["dropout_prob"]
        dropped = np.broadcast_to(dropped, (height, width, colours))
        if params["drop_value"] == "random":
            values = generator.integers(0, 256, size=(height, width, colours), dtype=np.uint8)
        else:
            values = np.broadcast_to(colour_fill(params["drop_value"], channels), dropped.shape)
        out = image.copy()
        out[:, :, :colours] = np.where(dropped, values, image[:, :, :colours])
        return out
