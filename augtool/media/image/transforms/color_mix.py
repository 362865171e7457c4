"""Colour transforms that mix or shift the channels: HSV shifts, per-channel shifts, sepia and
AlexNet's PCA lighting. Like the rest of the ``color`` family they never move a pixel, so labels
stay where they are, and an alpha channel is never changed.

Parameter names and units are Albumentations' (``hue_shift_limit`` in OpenCV's 180-level hue
circle, shifts in pixel levels), so a recipe ported from an ``A.Compose`` keeps its numbers.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from augtool.media.image.transforms.imaging import join_alpha, lut_apply, split_alpha
from augtool.media.image.transforms.noise import to_uint8
from augtool.media.params import Param, Range
from augtool.media.transform import Params, Shape, Transform, register, uniform

FAMILY = "color"

_LEVELS = np.arange(256, dtype=np.float64)

#: The classic sepia matrix (Microsoft's, as Albumentations' ToSepia): out = M @ [r, g, b].
SEPIA = np.array(
    [[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], dtype=np.float64
)

#: OpenCV's 8-bit hue runs over 180 levels a turn; Pillow's HSV over 255 (as ``color_jitter``).
_OPENCV_HUE_TURN = 180.0
_PILLOW_HUE_TURN = 255.0


def _shift_lut(shift: float) -> np.ndarray:
    """The 256-entry table of ``x + shift``, rounded and clipped to 0-255."""
    return np.clip(np.rint(_LEVELS + shift), 0, 255).astype(np.uint8)


@register
class HueSaturationValue(Transform):
    name = "hue_saturation_value"
    summary = (
        "Shift hue, saturation and value by random amounts in HSV (Albumentations' "
        "HueSaturationValue; a grey image gets the value shift only)."
    )
    family = FAMILY
    params = (
        Param(
            "hue_shift_limit",
            Range(-180, 180, around=0),
            [-20.0, 20.0],
            "hue shift range in OpenCV's units (180 is a full turn of the colour circle)",
        ),
        Param(
            "sat_shift_limit",
            Range(-255, 255, around=0),
            [-30.0, 30.0],
            "saturation shift range, in levels 0-255 added to the saturation",
        ),
        Param(
            "val_shift_limit",
            Range(-255, 255, around=0),
            [-20.0, 20.0],
            "value (brightness) shift range, in levels 0-255 added to the value",
        ),
    )
    example = (
        "- hue_saturation_value: {hue_shift_limit: 20, sat_shift_limit: 30, val_shift_limit: 20}"
    )

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "hue_shift": uniform(rng, self.config["hue_shift_limit"]),
            "sat_shift": uniform(rng, self.config["sat_shift_limit"]),
            "val_shift": uniform(rng, self.config["val_shift_limit"]),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        val = _shift_lut(params["val_shift"])
        if colour.shape[2] == 1:
            return lut_apply(image, val)
        hue = round(params["hue_shift"] * _PILLOW_HUE_TURN / _OPENCV_HUE_TURN) % 256
        sat = _shift_lut(params["sat_shift"])
        if hue == 0 and np.array_equal(sat, val) and np.array_equal(val, _shift_lut(0.0)):
            # Pillow's HSV round trip is not exact: shifts of nothing must leave the image alone.
            return image.copy()
        hsv = np.array(Image.fromarray(np.ascontiguousarray(colour), "RGB").convert("HSV"))
        # uint8 addition wraps around the colour circle, as the hue should.
        hsv[:, :, 0] += np.uint8(hue)
        hsv[:, :, 1] = sat[hsv[:, :, 1]]
        hsv[:, :, 2] = val[hsv[:, :, 2]]
        rgb = np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"))
        return join_alpha(rgb, alpha)


_CHANNELS = ("r", "g", "b")


@register
class RgbShift(Transform):
    name = "rgb_shift"
    summary = (
        "Add a random amount to each of the red, green and blue channels (a grey image is left "
        "as it is: it has no channels to shift apart)."
    )
    family = FAMILY
    params = tuple(
        Param(
            f"{c}_shift_limit",
            Range(-255, 255, around=0),
            [-20.0, 20.0],
            f"range of the shift of the {name} channel, in levels 0-255",
        )
        for c, name in zip(_CHANNELS, ("red", "green", "blue"), strict=True)
    )
    example = "- rgb_shift: {r_shift_limit: 20, g_shift_limit: 20, b_shift_limit: 20, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"shift": [uniform(rng, self.config[f"{c}_shift_limit"]) for c in _CHANNELS]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        if image.shape[2] == 1:
            return image.copy()
        out = image.copy()
        for channel, shift in enumerate(params["shift"]):
            out[:, :, channel] = _shift_lut(shift)[image[:, :, channel]]
        return out


@register
class ToSepia(Transform):
    name = "to_sepia"
    summary = "Tint the image sepia with the classic 3x3 sepia matrix (a grey image is kept)."
    family = FAMILY
    example = "- to_sepia: {p: 0.1}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        if colour.shape[2] == 1:
            return image.copy()
        mixed = colour.astype(np.float32) @ SEPIA.T.astype(np.float32)
        return join_alpha(to_uint8(mixed), alpha)


@register
class FancyPca(Transform):
    name = "fancy_pca"
    summary = (
        "Shift every pixel along the principal components of the image's colours, with "
        "random normal weights (AlexNet's PCA colour augmentation, Albumentations' FancyPCA)."
    )
    family = FAMILY
    params = (
        Param(
            "alpha",
            Range(0, 10),
            [0.1, 0.1],
            "standard deviation of the normal weight of each component (0 keeps the image)",
        ),
    )
    example = "- fancy_pca: {alpha: 0.1, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        std = uniform(rng, self.config["alpha"])
        channels = 1 if shape[2] == 1 else 3
        return {"weights": [float(w) for w in rng.normal(0.0, std, size=channels)]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        shift = pca_shift(colour, np.array(params["weights"], dtype=np.float64))
        out = colour.astype(np.float32)
        out += shift.astype(np.float32)
        return join_alpha(to_uint8(out), alpha)


def pca_shift(colour: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The colour added to every pixel: ``255 * V @ (weights * eigenvalues)``, with the
    eigenvectors ``V`` of the covariance of the colours scaled to [0, 1], largest eigenvalue
    first. Each eigenvector's sign is fixed (its largest component positive): LAPACK may return
    either sign, and the shift must not depend on which."""
    pixels = colour.reshape(-1, colour.shape[2]).astype(np.float64) / 255.0
    if len(pixels) < 2:
        return np.zeros(colour.shape[2])
    covariance = np.atleast_2d(np.cov(pixels, rowvar=False))
    values, vectors = np.linalg.eigh(covariance)
    order = np.argsort(values)[::-1]
    values, vectors = values[order], vectors[:, order]
    largest = vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])]
    vectors = vectors * np.where(largest < 0, -1.0, 1.0)
    return 255.0 * vectors @ (weights[: len(values)] * values)
