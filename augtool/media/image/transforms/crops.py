"""Crops, resizes and padding: the geometric transforms that change the canvas size."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.geometric import BORDER, FILL
from augtool.media.image.transforms.imaging import (
    INTERPOLATIONS,
    resize_image,
    sample_fill,
)
from augtool.media.image.transforms.warp import (
    Geometry,
    scaling,
    translation,
)
from augtool.media.params import (
    Choice,
    Fill,
    Param,
    Range,
    Size,
    check_finite,
    is_whole,
)
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "geometric"

CROP_SIZE = Param(
    "size",
    Size(),
    [256, 256],
    "crop [height, width]; an image smaller than that is padded with fill, centred",
)
CROP_FILL = Param(
    "fill",
    Fill(alpha=True),
    0,
    "fill colour of the padding when the image is smaller (as rotate's fill)",
)


@register
class RandomCrop(Transform):
    name = "random_crop"
    summary = "Cut a [height, width] window at a random place; a smaller image is padded with fill."
    family = FAMILY
    sixteen_bits = True
    params = (CROP_SIZE, CROP_FILL)
    example = "- random_crop: {size: [224, 224]}"
    geometry = staticmethod(lambda params, size: _crop_geometry(params, size))

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        crop_h, crop_w = self.config["size"]
        top = integers(rng, [0, height - crop_h]) if height >= crop_h else _centred(height, crop_h)
        left = integers(rng, [0, width - crop_w]) if width >= crop_w else _centred(width, crop_w)
        return {"top": top, "left": left, "size": [crop_h, crop_w], "fill": self.config["fill"]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return _crop(image, params["top"], params["left"], params["size"], params["fill"])


@register
class CenterCrop(Transform):
    name = "center_crop"
    summary = "Cut the central [height, width] window; a smaller image is padded with fill."
    family = FAMILY
    sixteen_bits = True
    params = (CROP_SIZE, CROP_FILL)
    example = "- center_crop: {size: [224, 224]}"
    geometry = staticmethod(lambda params, size: _crop_geometry(params, size))

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        crop_h, crop_w = self.config["size"]
        return {
            "top": _centred(height, crop_h),
            "left": _centred(width, crop_w),
            "size": [crop_h, crop_w],
            "fill": self.config["fill"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return _crop(image, params["top"], params["left"], params["size"], params["fill"])


def _crop_geometry(params: Params, size: tuple[int, int]) -> Geometry:
    """A crop inside the image only picks pixels; one that pads reads outside (fill colour)."""
    top, left = params["top"], params["left"]
    crop_h, crop_w = params["size"]
    height, width = size
    matrix = translation(-left, -top)
    if top < 0 or left < 0 or top + crop_h > height or left + crop_w > width:
        return Geometry(matrix, (crop_h, crop_w), border="constant", fill=params.get("fill", 0))
    return Geometry(matrix, (crop_h, crop_w), exact=True)


def _centred(length: int, crop: int) -> int:
    """Start of a centred window of ``crop`` over ``length`` (negative when it pads); an odd
    leftover goes after, like Albumentations' crop and torchvision's padding."""
    return (length - crop) // 2 if length >= crop else -((crop - length) // 2)


def _crop(
    image: np.ndarray, top: int, left: int, size: list[int], fill: int | list[int]
) -> np.ndarray:
    """The window ``size`` at (top, left); whatever falls outside the image is ``fill``."""
    height, width, channels = image.shape
    crop_h, crop_w = size
    if top >= 0 and left >= 0 and top + crop_h <= height and left + crop_w <= width:
        return image[top : top + crop_h, left : left + crop_w].copy()
    out = _canvas(crop_h, crop_w, channels, fill, image.dtype)
    y0, y1 = max(top, 0), min(top + crop_h, height)
    x0, x1 = max(left, 0), min(left + crop_w, width)
    if y0 < y1 and x0 < x1:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
    return out


def _canvas(
    height: int, width: int, channels: int, fill: int | list[int], dtype: np.dtype
) -> np.ndarray:
    colour = np.array(sample_fill(fill, channels, dtype), dtype=dtype)
    return np.broadcast_to(colour, (height, width, channels)).copy()


RESIZE_INTERPOLATION = Param(
    "interpolation", Choice(INTERPOLATIONS), "bilinear", "resampling filter (antialiased)"
)


@register
class RandomResizedCrop(Transform):
    name = "random_resized_crop"
    summary = (
        "Cut a window of random area and aspect ratio and resize it to [height, width] "
        "(torchvision's algorithm, one resampling)."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param("size", Size(), [224, 224], "output [height, width]"),
        Param("scale", Range(0.0, 1.0), [0.08, 1.0], "window area as a fraction of the image"),
        Param(
            "ratio",
            Range(0.01, 100.0),
            [3 / 4, 4 / 3],
            "window aspect ratio (width / height), drawn log-uniformly",
        ),
        RESIZE_INTERPOLATION,
    )
    example = "- random_resized_crop: {size: [224, 224], scale: [0.6, 1.0]}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        top, left, crop_h, crop_w = _resized_crop_window(
            rng, height, width, self.config["scale"], self.config["ratio"]
        )
        return {
            "top": top,
            "left": left,
            "height": crop_h,
            "width": crop_w,
            "size": self.config["size"],
            "interpolation": self.config["interpolation"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        top, left = params["top"], params["left"]
        box = (left, top, left + params["width"], top + params["height"])
        return resize_image(image, params["size"], params["interpolation"], box)

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        out_h, out_w = params["size"]
        matrix = scaling(out_w / params["width"], out_h / params["height"]) @ translation(
            -params["left"], -params["top"]
        )
        return Geometry(matrix, (out_h, out_w), interpolation=params.get("interpolation"))


def _resized_crop_window(
    rng: np.random.Generator, height: int, width: int, scale: list[float], ratio: list[float]
) -> tuple[int, int, int, int]:
    """torchvision's ``RandomResizedCrop.get_params``: (top, left, height, width)."""
    area = height * width
    log_ratio = [math.log(ratio[0]), math.log(ratio[1])]
    for _ in range(10):
        target_area = area * uniform(rng, scale)
        aspect = math.exp(uniform(rng, log_ratio))
        crop_w = round(math.sqrt(target_area * aspect))
        crop_h = round(math.sqrt(target_area / aspect))
        if 0 < crop_w <= width and 0 < crop_h <= height:
            top = integers(rng, [0, height - crop_h])
            left = integers(rng, [0, width - crop_w])
            return top, left, crop_h, crop_w
    # Fallback: the largest central window with the ratio clamped into range. The max(1, ...)
    # guards extreme ratios on tiny images, where torchvision can produce an empty window.
    in_ratio = width / height
    if in_ratio < ratio[0]:
        crop_w, crop_h = width, min(height, max(1, round(width / ratio[0])))
    elif in_ratio > ratio[1]:
        crop_h, crop_w = height, min(width, max(1, round(height * ratio[1])))
    else:
        crop_h, crop_w = height, width
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


@dataclass(frozen=True)
class ResizeSize:
    """``[height, width]`` for an exact size, or one whole number n: the shorter side becomes n
    and the aspect ratio is kept (torchvision's ``Resize``). Unlike :class:`Size`, one number
    is not a square."""

    @property
    def form(self) -> str:
        return (
            "[height, width] of positive whole numbers, "
            "or one positive whole number (the shorter side)"
        )

    def __call__(self, value: Any) -> int | list[int]:
        check_finite(value)
        if _whole(value, 1):
            return int(value)
        if (
            isinstance(value, (list, tuple))
            and len(value) == 2
            and all(_whole(v, 1) for v in value)
        ):
            return [int(value[0]), int(value[1])]
        raise ParamError(f"expected {self.form}, got {value!r}")


def _whole(value: Any, minimum: int) -> bool:
    return is_whole(value) and value >= minimum


def resize_target(height: int, width: int, size: int | list[int]) -> list[int]:
    """The output [height, width]: ``size`` itself, or the shorter side scaled to it (the
    longer side truncated, as torchvision does)."""
    if isinstance(size, list):
        return list(size)
    if width <= height:
        return [int(size * height / width), size]
    return [size, int(size * width / height)]


@register
class Resize(Transform):
    name = "resize"
    summary = (
        "Resize to [height, width], or make the shorter side a given length keeping the aspect."
    )
    family = FAMILY
    sixteen_bits = True
    params = (
        Param(
            "size",
            ResizeSize(),
            256,
            "[height, width], or one number: the shorter side's new length (aspect kept)",
        ),
        RESIZE_INTERPOLATION,
    )
    example = "- resize: {size: 256, interpolation: bicubic}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "size": resize_target(shape[0], shape[1], self.config["size"]),
            "interpolation": self.config["interpolation"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        if list(image.shape[:2]) == params["size"]:
            return image.copy()
        return resize_image(image, params["size"], params["interpolation"])

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        out_h, out_w = params["size"]
        height, width = size
        if (out_h, out_w) == (height, width):
            return Geometry(np.eye(3), size, exact=True)
        matrix = scaling(out_w / width, out_h / height)
        return Geometry(matrix, (out_h, out_w), interpolation=params.get("interpolation"))


@dataclass(frozen=True)
class Padding:
    """Pixels to add per side, torchvision's order: n (all sides), [left/right, top/bottom] or
    [left, top, right, bottom]. Canonically always the four-item form."""

    @property
    def form(self) -> str:
        return (
            "a whole number >= 0, [left/right, top/bottom] or [left, top, right, bottom] "
            "of whole numbers >= 0"
        )

    def __call__(self, value: Any) -> list[int]:
        check_finite(value)
        if _whole(value, 0):
            return [int(value)] * 4
        if isinstance(value, (list, tuple)) and all(_whole(v, 0) for v in value):
            if len(value) == 2:
                return [int(value[0]), int(value[1])] * 2
            if len(value) == 4:
                return [int(v) for v in value]
        raise ParamError(f"expected {self.form}, got {value!r}")


_NUMPY_PAD = {"reflect": "reflect", "replicate": "edge", "wrap": "wrap"}


@register
class Pad(Transform):
    name = "pad"
    summary = "Add a border of fixed width on each side (fill colour, reflection, edge or wrap)."
    family = FAMILY
    sixteen_bits = True
    params = (
        Param(
            "padding",
            Padding(),
            8,
            "pixels per side: n, [left/right, top/bottom] or [left, top, right, bottom]",
        ),
        BORDER,
        FILL,
    )
    example = "- pad: {padding: [16, 8], border: reflect}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "padding": self.config["padding"],
            "border": self.config["border"],
            "fill": self.config["fill"],
        }

    @staticmethod
    def geometry(params: Params, size: tuple[int, int]) -> Geometry:
        left, top, right, bottom = params["padding"]
        height, width = size
        out = (top + height + bottom, left + width + right)
        border, fill = params.get("border", "constant"), params.get("fill", 0)
        return Geometry(translation(left, top), out, border=border, fill=fill)

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        left, top, right, bottom = params["padding"]
        height, width, channels = image.shape
        if params["border"] == "constant":
            size = (top + height + bottom, left + width + right)
            out = _canvas(*size, channels, params["fill"], image.dtype)
            out[top : top + height, left : left + width] = image
            return out
        # numpy reflects (and wraps) repeatedly when the pad is wider than the image, and
        # reflects a one-pixel axis as its edge, so tiny images need no special case.
        pad = ((top, bottom), (left, right), (0, 0))
        return np.pad(image, pad, mode=_NUMPY_PAD[params["border"]])
