"""Light and shade of the ``weather`` family: ``random_shadow`` (dark polygons) and
``random_sun_flare`` (a bright source and lens flare circles), with Albumentations' parameter
names. Everything they paint is recorded (polygons, circles, centre), so a record says exactly
where the image changed. Labels stay where they are; alpha is never changed.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from augtool.media.image.transforms.imaging import join_alpha, split_alpha
from augtool.media.image.transforms.noise import to_uint8
from augtool.media.image.transforms.weather import Roi, blend, roi_pixels
from augtool.media.params import Fill, Param, Range
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "weather"


@register
class RandomShadow(Transform):
    name = "random_shadow"
    summary = (
        "Darken random polygons of a region, as shadows cast on the scene "
        "(Albumentations' RandomShadow)."
    )
    family = FAMILY
    params = (
        Param(
            "shadow_roi",
            Roi(),
            [0.0, 0.5, 1.0, 1.0],
            "where the shadows' corners lie: [x_min, y_min, x_max, y_max] as fractions",
        ),
        Param(
            "num_shadows_limit",
            Range(1, 20, integer=True),
            [1, 2],
            "range of the number of shadows",
        ),
        Param(
            "shadow_dimension",
            Range(3, 20, integer=True),
            [5, 5],
            "number of corners of each shadow polygon",
        ),
        Param(
            "shadow_intensity_range",
            Range(0, 1),
            [0.5, 0.5],
            "range of how dark a shadow is: 0 leaves the pixels, 1 makes them black",
        ),
    )
    example = "- random_shadow: {shadow_roi: [0, 0.5, 1, 1], num_shadows_limit: [1, 2], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        x0, y0, x1, y1 = roi_pixels(self.config["shadow_roi"], shape)
        shadows = []
        for _ in range(integers(rng, self.config["num_shadows_limit"])):
            corners = integers(rng, self.config["shadow_dimension"])
            xs = rng.integers(x0, x1, corners, endpoint=True)
            ys = rng.integers(y0, y1, corners, endpoint=True)
            # Corners in angular order about their centroid: a simple (star-shaped) polygon.
            order = np.argsort(np.arctan2(ys - ys.mean(), xs - xs.mean()), kind="stable")
            vertices = np.stack([xs[order], ys[order]], axis=1).tolist()
            intensity = uniform(rng, self.config["shadow_intensity_range"])
            shadows.append({"vertices": vertices, "intensity": intensity})
        return {"shadows": shadows}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        light = np.ones((height, width), dtype=np.float32)
        for shadow in params["shadows"]:
            inside = polygon_mask(shadow["vertices"], height, width)
            light[inside] *= np.float32(1 - shadow["intensity"])
        return join_alpha(to_uint8(colour.astype(np.float32) * light[:, :, None]), alpha)


def polygon_mask(vertices: list[list[int]], height: int, width: int) -> np.ndarray:
    """(H, W) bool: the pixels Pillow's polygon fill covers (its outline included)."""
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).polygon([tuple(v) for v in vertices], fill=1, outline=1)
    return np.asarray(mask, dtype=bool)


@register
class RandomSunFlare(Transform):
    name = "random_sun_flare"
    summary = (
        "Add a sun: a bright source fading over src_radius pixels and translucent flare "
        "circles along a line through it (Albumentations' RandomSunFlare, overlay)."
    )
    family = FAMILY
    params = (
        Param(
            "flare_roi",
            Roi(),
            [0.0, 0.0, 1.0, 0.5],
            "where the source lies: [x_min, y_min, x_max, y_max] as fractions of the image",
        ),
        Param(
            "src_radius",
            Range(1, 10000, integer=True),
            [400, 400],
            "range of the radius in pixels over which the source fades out",
        ),
        Param("src_color", Fill(), [255, 255, 255], "colour of the source and the circles"),
        Param(
            "angle_range",
            Range(0, 1),
            [0.0, 1.0],
            "range of the flare line's direction, in turns",
        ),
        Param(
            "num_flare_circles_range",
            Range(0, 100, integer=True),
            [6, 10],
            "range of the number of flare circles",
        ),
    )
    example = "- random_sun_flare: {flare_roi: [0, 0, 1, 0.5], src_radius: 150, p: 0.1}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        x0, y0, x1, y1 = roi_pixels(self.config["flare_roi"], shape)
        cx, cy = uniform(rng, [x0, x1]), uniform(rng, [y0, y1])
        angle = 2 * math.pi * uniform(rng, self.config["angle_range"])
        colour = _rgb(self.config["src_color"])
        circles = []
        for _ in range(integers(rng, self.config["num_flare_circles_range"])):
            along = uniform(rng, [-cx, width - cx])
            x, y = cx + along * math.cos(angle), cy + along * math.sin(angle)
            radius = integers(rng, [1, max(height // 100 - 2, 2)]) ** 3
            tint = [integers(rng, [max(c - 50, 0), c]) for c in colour]
            alpha = uniform(rng, [0.05, 0.2])
            circles.append({"centre": [x, y], "radius": radius, "alpha": alpha, "color": tint})
        return {
            "centre": [cx, cy],
            "src_radius": integers(rng, self.config["src_radius"]),
            "src_color": colour,
            "circles": circles,
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        ys, xs = np.indices((height, width), dtype=np.float32)
        ys += np.float32(0.5)
        xs += np.float32(0.5)
        out = colour
        for circle in params["circles"]:
            (x, y), radius = circle["centre"], circle["radius"]
            inside = (xs - np.float32(x)) ** 2 + (ys - np.float32(y)) ** 2 <= np.float32(radius**2)
            weight = inside.astype(np.float32) * np.float32(circle["alpha"])
            out = blend(out, _paint(circle["color"], out.shape[2]), weight)
        cx, cy = params["centre"]
        distance = np.sqrt((xs - np.float32(cx)) ** 2 + (ys - np.float32(cy)) ** 2)
        # The source fades with the square of the distance's remaining fraction: a hot core.
        fade = np.clip(1 - distance / np.float32(params["src_radius"]), 0, 1) ** 2
        out = blend(out, _paint(params["src_color"], out.shape[2]), fade)
        return join_alpha(out, alpha)


def _rgb(fill: int | list[int]) -> list[int]:
    return [fill] * 3 if isinstance(fill, int) else list(fill[:3])


def _paint(rgb: list[int], channels: int) -> np.ndarray:
    """A colour for an image of ``channels`` colour channels (a grey image gets its luma)."""
    if channels == 1:
        r, g, b = rgb
        return np.array([round(0.299 * r + 0.587 * g + 0.114 * b)])
    return np.array(rgb)
