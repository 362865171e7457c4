"""Weather transforms: fog, rain, snow and gravel painted over the image, with Albumentations'
parameter names. They move no pixel, so labels stay where they are; an alpha channel is never
changed. What is small is recorded (the drawn amounts, regions); the many particles are drawn
inside ``apply`` from a recorded ``seed``, and painted with Pillow's drawing, whose bytes are
the same run to run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import ImageDraw, ImageFilter

from augtool.errors import ParamError
from augtool.media.image.transforms.hls import map_lightness
from augtool.media.image.transforms.imaging import fill_value, from_pil, join_alpha, split_alpha
from augtool.media.image.transforms.noise import new_seed, seeded, to_pil, to_uint8
from augtool.media.params import Choice, Fill, Param, Range, check_finite
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "weather"


@dataclass(frozen=True)
class Roi:
    """A region of the image, ``[x_min, y_min, x_max, y_max]`` as fractions of its width and
    height (Albumentations' ``*_roi``)."""

    @property
    def form(self) -> str:
        return "[x_min, y_min, x_max, y_max] of fractions in [0, 1], each min below its max"

    @property
    def json_schema(self) -> dict[str, Any]:
        """The recipe schema's view (``augtool recipe schema``): four fractions; that each min
        is below its max is the loader's check."""
        fraction = {"type": "number", "minimum": 0, "maximum": 1}
        return {"type": "array", "items": fraction, "minItems": 4, "maxItems": 4}

    def __call__(self, value: Any) -> list[float]:
        check_finite(value)
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or not all(0 <= v <= 1 for v in value)
            or not (value[0] < value[2] and value[1] < value[3])
        ):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return [float(v) for v in value]


def roi_pixels(roi: list[float], shape: Shape) -> tuple[int, int, int, int]:
    """The region in whole pixels, (x0, y0, x1, y1) with x1 > x0 and y1 > y0 on any image."""
    height, width = shape[:2]
    x0, y0 = int(roi[0] * width), int(roi[1] * height)
    x1, y1 = max(int(roi[2] * width), x0 + 1), max(int(roi[3] * height), y0 + 1)
    return x0, y0, x1, y1


def blend(colour: np.ndarray, paint: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``colour * (1 - weight) + paint * weight``, rounded: ``weight`` (H, W) in [0, 1] and
    ``paint`` one value per channel."""
    w = weight[:, :, None].astype(np.float32)
    out = colour.astype(np.float32) * (1 - w) + paint.astype(np.float32) * w
    return to_uint8(out)


@register
class RandomFog(Transform):
    name = "random_fog"
    summary = (
        "Cover the image with fog: overlapping translucent white blobs, then a slight blur "
        "(Albumentations' RandomFog)."
    )
    family = FAMILY
    params = (
        Param(
            "fog_coef_range",
            Range(0, 1),
            [0.3, 1.0],
            "range of the fog's density: the blobs' size, number and opacity grow with it",
        ),
        Param("alpha_coef", Range(0, 1), [0.08, 0.08], "opacity of one blob at full density"),
    )
    example = "- random_fog: {fog_coef_range: [0.3, 0.8], alpha_coef: 0.08, p: 0.2}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        fog = uniform(rng, self.config["fog_coef_range"])
        alpha = uniform(rng, self.config["alpha_coef"])
        return {"fog_coef": fog, "alpha": alpha * fog, "seed": new_seed(rng)}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        fog = params["fog_coef"]
        if fog == 0 or params["alpha"] == 0 or colour.size == 0:
            return image.copy()
        side = max(int(width // 3 * fog), 10)
        cover = fog_cover(height, width, side, seeded(params["seed"]))
        haze = 1 - (1 - np.float32(params["alpha"])) ** cover
        out = blend(colour, np.full(colour.shape[2], 255), haze)
        radius = side // 20
        if radius:
            out = from_pil(to_pil(out).filter(ImageFilter.BoxBlur(radius)))
        return join_alpha(out, alpha)


def fog_cover(height: int, width: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """How many fog blobs cover each pixel: blobs of radius ``side // 2`` centred on a grid of
    step ``side // 2``, each jittered by up to half a step (float32, (H, W))."""
    step = max(side // 2, 1)
    radius = step
    ys, xs = np.mgrid[0:height:step, 0:width:step]
    centres = np.stack([ys.ravel(), xs.ravel()], axis=1)
    centres = centres + rng.integers(-step // 2, step // 2, size=centres.shape, endpoint=True)
    cover = np.zeros((height, width), dtype=np.float32)
    offsets = np.arange(-radius, radius + 1)
    disc = offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius * radius
    for cy, cx in centres.tolist():
        top, left = max(cy - radius, 0), max(cx - radius, 0)
        bottom, right = min(cy + radius + 1, height), min(cx + radius + 1, width)
        if top >= bottom or left >= right:
            continue
        window = disc[
            top - cy + radius : bottom - cy + radius, left - cx + radius : right - cx + radius
        ]
        cover[top:bottom, left:right] += window
    return cover


#: Albumentations' rain types: drops per pixel of area and their length (None: drop_length).
RAIN_TYPES = {
    "default": (1 / 600, None),
    "drizzle": (1 / 770, 10),
    "heavy": (1 / 600, 30),
    "torrential": (1 / 500, 60),
}


@register
class RandomRain(Transform):
    name = "random_rain"
    summary = (
        "Draw slanted rain streaks, blur them and darken the image as an overcast sky does "
        "(Albumentations' RandomRain)."
    )
    family = FAMILY
    params = (
        Param(
            "slant_range",
            Range(-100, 100, around=0),
            [-10.0, 10.0],
            "range of the streaks' horizontal run over their length, in pixels",
        ),
        Param(
            "drop_length",
            Range(1, 1000, integer=True),
            [20, 20],
            "range of a streak's length in pixels (rain_type other than default sets it)",
        ),
        Param("drop_width", Range(1, 20, integer=True), [1, 1], "streak width in pixels"),
        Param("drop_color", Fill(), [200, 200, 200], "colour of the streaks"),
        Param(
            "blur_value",
            Range(1, 51, integer=True),
            [7, 7],
            "side of the box blur applied after the streaks are drawn (1: no blur)",
        ),
        Param(
            "brightness_coefficient",
            Range(0, 1),
            [0.7, 0.7],
            "factor on the lightness of the whole image (1 keeps it)",
        ),
        Param(
            "rain_type",
            Choice(tuple(RAIN_TYPES)),
            "default",
            "drizzle, heavy and torrential set the number and length of the streaks",
        ),
    )
    example = "- random_rain: {slant_range: [-10, 10], rain_type: drizzle, p: 0.2}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        density, length = RAIN_TYPES[self.config["rain_type"]]
        drawn_length = integers(rng, self.config["drop_length"])
        return {
            "slant": uniform(rng, self.config["slant_range"]),
            "length": length or drawn_length,
            "width": integers(rng, self.config["drop_width"]),
            "count": int(height * width * density),
            "color": self.config["drop_color"],
            "blur": integers(rng, self.config["blur_value"]),
            "brightness": uniform(rng, self.config["brightness_coefficient"]),
            "seed": new_seed(rng),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        pil = to_pil(colour)
        draw = ImageDraw.Draw(pil)
        slant, length = params["slant"], params["length"]
        rng = seeded(params["seed"])
        xs = rng.uniform(min(0.0, -slant), max(width, width - slant), params["count"])
        ys = rng.uniform(-length, height, params["count"])
        ink = fill_value(params["color"], colour.shape[2])
        for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
            draw.line([(x, y), (x + slant, y + length)], fill=ink, width=params["width"])
        if params["blur"] > 1:
            pil = pil.filter(ImageFilter.BoxBlur((params["blur"] - 1) / 2))
        rained = from_pil(pil)
        brightness = np.float32(params["brightness"])
        if brightness != 1:
            rained = map_lightness(rained, lambda light: light * brightness)
        return join_alpha(rained, alpha)


@register
class RandomSnow(Transform):
    name = "random_snow"
    summary = (
        "Bleach the darker parts white as snow does: pixels whose lightness is under a "
        "threshold get it multiplied (Albumentations' RandomSnow, method bleach)."
    )
    family = FAMILY
    params = (
        Param(
            "snow_point_range",
            Range(0, 1),
            [0.1, 0.3],
            "range of the amount of snow: the threshold is 255 * (snow_point / 2 + 1 / 3)",
        ),
        Param(
            "brightness_coeff",
            Range(0, 10),
            [2.5, 2.5],
            "factor on the lightness of the pixels under the threshold",
        ),
    )
    example = "- random_snow: {snow_point_range: [0.1, 0.3], brightness_coeff: 2.5, p: 0.2}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "snow_point": uniform(rng, self.config["snow_point_range"]),
            "brightness_coeff": uniform(rng, self.config["brightness_coeff"]),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        threshold = np.float32(params["snow_point"] / 2 + 1 / 3)
        factor = np.float32(params["brightness_coeff"])

        def bleach(light: np.ndarray) -> np.ndarray:
            return np.where(light < threshold, light * factor, light)

        return join_alpha(map_lightness(colour, bleach), alpha)


@register
class RandomGravel(Transform):
    name = "random_gravel"
    summary = (
        "Scatter gravel over patches of a region: small specks whose lightness is set to "
        "random levels (Albumentations' RandomGravel)."
    )
    family = FAMILY
    params = (
        Param(
            "gravel_roi",
            Roi(),
            [0.1, 0.4, 0.9, 0.9],
            "where the patches lie: [x_min, y_min, x_max, y_max] as fractions of the image",
        ),
        Param(
            "number_of_patches",
            Range(1, 100, integer=True),
            [2, 2],
            "range of the number of gravel patches",
        ),
    )
    example = "- random_gravel: {gravel_roi: [0.1, 0.4, 0.9, 0.9], number_of_patches: 2, p: 0.2}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        x0, y0, x1, y1 = roi_pixels(self.config["gravel_roi"], shape)
        patches = []
        for _ in range(integers(rng, self.config["number_of_patches"])):
            # A patch a tenth to a third of the region's side, anywhere inside it.
            w = max(1, int((x1 - x0) * uniform(rng, [0.1, 0.33])))
            h = max(1, int((y1 - y0) * uniform(rng, [0.1, 0.33])))
            left, top = integers(rng, [x0, x1 - w]), integers(rng, [y0, y1 - h])
            patches.append([left, top, left + w, top + h])
        return {"patches": patches, "seed": new_seed(rng)}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        lightness = np.full((height, width), np.nan, dtype=np.float32)
        rng = seeded(params["seed"])
        for left, top, right, bottom in params["patches"]:
            right, bottom = min(right, width), min(bottom, height)
            count = max((right - left) * (bottom - top) // 10, 1)
            xs = rng.integers(left, max(right - 1, left), count, endpoint=True)
            ys = rng.integers(top, max(bottom - 1, top), count, endpoint=True)
            sizes = rng.integers(1, 2, count, endpoint=True)
            levels = rng.uniform(0, 1, count).astype(np.float32)
            for x, y, size, level in zip(xs, ys, sizes, levels, strict=True):
                lightness[y : min(y + size, bottom), x : min(x + size, right)] = level
        if np.isnan(lightness).all():
            return image.copy()
        specks = ~np.isnan(lightness)
        out = colour.copy()
        # Only the specks go through HLS: a column of them, (N, 1, channels).
        levels = lightness[specks][:, None]
        out[specks] = map_lightness(colour[specks][:, None, :], lambda _: levels)[:, 0, :]
        return join_alpha(out, alpha)
