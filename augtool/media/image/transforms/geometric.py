"""Geometric transforms: they move pixels (and, later, boxes, polygons, keypoints and masks)."""

from __future__ import annotations

import numpy as np

from augtool.media.image.transforms.imaging import (
    BORDERS,
)
from augtool.media.image.transforms.warp import (
    WARP_INTERPOLATIONS,
    Geometry,
    affine_matrix,
    perspective_matrix,
    warp,
)
from augtool.media.params import (
    Choice,
    Fill,
    IntSet,
    Param,
    Range,
)
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    register,
    uniform,
)

FAMILY = "geometric"

INTERPOLATION = Param("interpolation", Choice(WARP_INTERPOLATIONS), "bilinear", "resampling filter")
BORDER = Param(
    "border",
    Choice(BORDERS),
    "constant",
    "how pixels outside the source are filled: constant (fill), reflect, replicate, wrap",
)
FILL = Param(
    "fill",
    Fill(alpha=True),
    0,
    "fill colour when border is constant: one number for every channel (alpha too: the "
    "default 0 is transparent on images with alpha), [r, g, b] (opaque) or [r, g, b, a]",
)


@register
class HFlip(Transform):
    name = "hflip"
    summary = "Mirror the image left to right."
    family = FAMILY
    sixteen_bits = True
    default_p = 0.5
    example = "- hflip: {p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        height, width, channels = image.shape
        # Mirror whole pixels as single items of all their bytes: about twice as fast as a
        # strided copy.
        items = np.ascontiguousarray(image).view(f"V{channels * image.itemsize}")
        mirrored = items.reshape(height, width)[:, ::-1].copy()
        return mirrored.view(image.dtype).reshape(height, width, channels)

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        width = size[1]
        matrix = np.array([[-1.0, 0.0, width], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        return Geometry(matrix, size, exact=True, whole=True)


@register
class VFlip(Transform):
    name = "vflip"
    summary = "Mirror the image top to bottom."
    family = FAMILY
    sixteen_bits = True
    default_p = 0.5
    example = "- vflip: {p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return image[::-1].copy()

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        height = size[0]
        matrix = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, height], [0.0, 0.0, 1.0]])
        return Geometry(matrix, size, exact=True, whole=True)


@register
class Rot90(Transform):
    name = "rot90"
    summary = "Rotate by a random number of quarter turns counter-clockwise (exact, no resampling)."
    family = FAMILY
    sixteen_bits = True
    params = (
        Param("k", IntSet((0, 1, 2, 3)), [1, 2, 3], "the quarter turns to choose from, uniformly"),
    )
    example = "- rot90: {k: [1, 3], p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        choices = self.config["k"]
        return {"k": int(choices[int(rng.integers(len(choices)))])}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return np.rot90(image, params["k"], axes=(0, 1)).copy()

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        matrix = np.eye(3)
        height, width = size
        for _ in range(params["k"] % 4):
            # A quarter turn counter-clockwise: (x, y) -> (y, width - x), then the sides swap.
            turn = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, width], [0.0, 0.0, 1.0]])
            matrix = turn @ matrix
            height, width = width, height
        return Geometry(matrix, (height, width), exact=True, whole=True)


@register
class Rotate(Transform):
    name = "rotate"
    summary = (
        "Rotate by a random angle (degrees, counter-clockwise) about the centre, keeping the size."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param("limit", Range(-360, 360, around=0), [-90.0, 90.0], "angle range in degrees"),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- rotate: {limit: 15, border: reflect, p: 0.7}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "angle": uniform(rng, self.config["limit"]),
            "interpolation": self.config["interpolation"],
            "border": self.config["border"],
            "fill": self.config["fill"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return _warp_step(image, Rotate.geometry(params, image.shape[:2]))

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        height, width = size
        matrix = affine_matrix((width / 2, height / 2), angle=params["angle"])
        return _reading(matrix, size, params)


@register
class Affine(Transform):
    name = "affine"
    summary = (
        "Scale, rotate, shear and translate about the centre in one resampling, keeping the size."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param("scale", Range(0.01, 100.0), [1.0, 1.0], "zoom factor range (1 keeps the size)"),
        Param(
            "translate_percent",
            Range(-1.0, 1.0, around=0),
            [0.0, 0.0],
            "shift as a fraction of the width (x) and height (y), drawn independently",
        ),
        Param("rotate", Range(-360, 360, around=0), [0.0, 0.0], "angle range in degrees"),
        Param(
            "shear",
            Range(-80, 80, around=0),
            [0.0, 0.0],
            "shear range in degrees; the x and y shears are drawn independently",
        ),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- affine: {scale: [0.9, 1.1], translate_percent: 0.05, rotate: 10, shear: 5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        config = self.config
        return {
            "scale": uniform(rng, config["scale"]),
            "translate": [
                uniform(rng, config["translate_percent"]) * width,
                uniform(rng, config["translate_percent"]) * height,
            ],
            "angle": uniform(rng, config["rotate"]),
            "shear": [uniform(rng, config["shear"]), uniform(rng, config["shear"])],
            "interpolation": config["interpolation"],
            "border": config["border"],
            "fill": config["fill"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return _warp_step(image, Affine.geometry(params, image.shape[:2]))

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        height, width = size
        matrix = affine_matrix(
            (width / 2, height / 2),
            angle=params["angle"],
            scale=params["scale"],
            translate=tuple(params["translate"]),
            shear=tuple(params["shear"]),
        )
        return _reading(matrix, size, params)


@register
class ShiftScaleRotate(Transform):
    name = "shift_scale_rotate"
    summary = (
        "Shift, scale and rotate about the centre in one resampling, keeping the size "
        "(Albumentations' ShiftScaleRotate: the factor is 1 + scale)."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param(
            "shift_limit",
            Range(-1.0, 1.0, around=0),
            [-0.0625, 0.0625],
            "shift as a fraction of the width (x) and height (y), drawn independently",
        ),
        Param(
            "scale_limit",
            Range(-0.99, 10.0, around=0),
            [-0.1, 0.1],
            "range of s: the zoom factor is 1 + s",
        ),
        Param("rotate_limit", Range(-360, 360, around=0), [-45.0, 45.0], "angle range in degrees"),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- shift_scale_rotate: {shift_limit: 0.1, scale_limit: 0.2, rotate_limit: 30}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        config = self.config
        return {
            "angle": uniform(rng, config["rotate_limit"]),
            "scale": 1.0 + uniform(rng, config["scale_limit"]),
            "translate": [
                uniform(rng, config["shift_limit"]) * width,
                uniform(rng, config["shift_limit"]) * height,
            ],
            "interpolation": config["interpolation"],
            "border": config["border"],
            "fill": config["fill"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return _warp_step(image, ShiftScaleRotate.geometry(params, image.shape[:2]))

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        height, width = size
        matrix = affine_matrix(
            (width / 2, height / 2),
            angle=params["angle"],
            scale=params["scale"],
            translate=tuple(params["translate"]),
        )
        return _reading(matrix, size, params)


@register
class Perspective(Transform):
    name = "perspective"
    summary = (
        "Pull the four corners inward by random amounts (a perspective tilt), keeping the size."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param(
            "scale",
            Range(0.0, 1.0),
            [0.05, 0.1],
            "spread of the corner shifts, as a fraction of the side: a sigma is drawn from "
            "this range, each shift is |normal(0, sigma)| (wrapped below 0.32)",
        ),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- perspective: {scale: [0.05, 0.1], border: replicate, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        sigma = uniform(rng, self.config["scale"])
        # Albumentations' draw: folding the shifts below 0.32 keeps opposite corners apart, so
        # the quadrilateral stays convex and the homography invertible, even on a 1x1 image.
        shifts = np.mod(np.abs(rng.normal(0.0, sigma, (4, 2))), 0.32) * (width, height)
        inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.float64)
        corners = np.array(_corners(width, height), dtype=np.float64) + inward * shifts
        return {
            "corners": [[float(x), float(y)] for x, y in corners],
            "interpolation": self.config["interpolation"],
            "border": self.config["border"],
            "fill": self.config["fill"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return _warp_step(image, Perspective.geometry(params, image.shape[:2]))

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        height, width = size
        matrix = perspective_matrix(_corners(width, height), params["corners"])
        return _reading(matrix, size, params)


def _reading(matrix: np.ndarray, size: tuple[int, int], params: Params) -> Geometry:
    """A step that may read outside its input: it sets the border of whatever follows it."""
    return Geometry(
        matrix,
        size,
        interpolation=params.get("interpolation", "bilinear"),
        border=params.get("border", "constant"),
        fill=params.get("fill", 0),
    )


def _warp_step(image: np.ndarray, geometry: Geometry) -> np.ndarray:
    assert geometry.border is not None and geometry.interpolation is not None
    return warp(
        image,
        geometry.matrix,
        geometry.size,
        geometry.border,
        geometry.fill,
        geometry.interpolation,
    )


def _corners(width: int, height: int) -> list[list[float]]:
    """The image's outer corners, clockwise from the top left (pixel-edge coordinates)."""
    return [[0.0, 0.0], [float(width), 0.0], [float(width), float(height)], [0.0, float(height)]]
