"""Crops placed by the objects: Albumentations' ``BBoxSafeRandomCrop``,
``RandomSizedBBoxSafeCrop`` and ``CropNonEmptyMaskIfExists``.

Their samplers read the image's targets where the earlier steps moved them
(``Transform.reads_targets``); what they record is a plain window, the same as ``random_crop``'s
or ``random_resized_crop``'s, whose kernels and geometry they reuse. So a replay needs no
targets: the window is in the record.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.crops import (
    CROP_FILL,
    CROP_SIZE,
    RESIZE_INTERPOLATION,
    RandomCrop,
    RandomResizedCrop,
)
from augtool.media.params import Float, Param, Size, check_finite, is_whole
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
)

FAMILY = "geometric"

EROSION = Param(
    "erosion_rate",
    Float(0.0, 1.0),
    0.0,
    "fraction of the objects' union that the crop may cut away (half on each side); "
    "1 ignores the objects",
)
Extent = tuple[float, float, float, float]


@dataclass(frozen=True)
class ClassIds:
    """A list of mask class ids 0-255, maybe empty; canonically sorted without repeats."""

    @property
    def form(self) -> str:
        return "a list of whole numbers 0-255 (maybe empty)"

    @property
    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255}}

    def __call__(self, value: Any) -> list[int]:
        check_finite(value)
        if not isinstance(value, (list, tuple)) or not all(
            is_whole(v) and 0 <= v <= 255 for v in value
        ):
            raise ParamError(f"expected {self.form}, got {value!r}")
        return sorted({int(v) for v in value})


def objects_extent(targets: Any, size: tuple[int, int]) -> Extent | None:
    """The union (x0, y0, x1, y1) of what is left in view of the boxes, polygons and visible
    keypoints of ``targets`` (pixel edges, clipped to the image); None when nothing is."""
    if targets is None:
        return None
    height, width = size
    boxes = targets.boxes
    sides = boxes[:, 2:] - boxes[:, :2]
    points = [boxes[np.all(sides > 0, axis=1)].reshape(-1, 2)]
    points += [p for p in targets.polygons if len(p)]
    points += [k[k[:, 2] > 0, :2] for k in targets.keypoints]
    found = np.concatenate(points)
    if not len(found):
        return None
    low = np.clip(found.min(axis=0), 0, [width, height])
    high = np.clip(found.max(axis=0), 0, [width, height])
    if np.any(high <= low):
        return None
    return (float(low[0]), float(low[1]), float(high[0]), float(high[1]))


def eroded(extent: Extent | None, rate: float) -> Extent | None:
    """``extent`` shrunk by ``rate`` of its width and height, half on each side; None when
    nothing is left."""
    if extent is None or rate >= 1.0:
        return None
    x0, y0, x1, y1 = extent
    dx, dy = (x1 - x0) * rate / 2, (y1 - y0) * rate / 2
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def safe_window(
    rng: np.random.Generator, shape: Shape, extent: Extent | None, erosion_rate: float
) -> tuple[int, int, int, int]:
    """(top, left, height, width) of a random window that holds ``extent`` whole, each side
    drawn uniformly between the image's edge and the extent's (Albumentations' draw, in
    whole pixels, rounded outward). Without objects: a random window at least (1 -
    erosion_rate) of the height, with the image's aspect ratio."""
    height, width = shape[:2]
    if extent is None:
        low = int(height * (1.0 - erosion_rate))
        crop_h = height if low >= height else integers(rng, [max(low, 1), height])
        crop_w = max(1, min(width, int(crop_h * width / height)))
        top = integers(rng, [0, height - crop_h])
        left = integers(rng, [0, width - crop_w])
        return top, left, crop_h, crop_w
    x0, y0, x1, y1 = extent
    left = math.floor(x0 * float(rng.random()))
    top = math.floor(y0 * float(rng.random()))
    right = math.ceil(x1 + (width - x1) * float(rng.random()))
    bottom = math.ceil(y1 + (height - y1) * float(rng.random()))
    right, bottom = min(max(right, left + 1), width), min(max(bottom, top + 1), height)
    return top, left, bottom - top, right - left


@register
class BBoxSafeRandomCrop(Transform):
    name = "bbox_safe_random_crop"
    summary = (
        "Crop a random window that keeps every box, polygon and visible keypoint whole "
        "(the output size varies)."
    )
    family = FAMILY
    sixteen_bits = True
    reads_targets = True
    params = (EROSION,)
    example = "- bbox_safe_random_crop: {erosion_rate: 0.0, p: 0.5}"
    apply = staticmethod(RandomCrop.apply)
    geometry = staticmethod(RandomCrop.geometry)

    def sample(self, rng: np.random.Generator, shape: Shape, targets: Any = None) -> Params:
        rate = self.config["erosion_rate"]
        extent = eroded(objects_extent(targets, shape[:2]), rate)
        top, left, crop_h, crop_w = safe_window(rng, shape, extent, rate)
        return {"top": top, "left": left, "size": [crop_h, crop_w], "fill": 0}


@register
class RandomSizedBBoxSafeCrop(Transform):
    name = "random_sized_bbox_safe_crop"
    summary = (
        "Crop a random window that keeps every box, polygon and visible keypoint whole, "
        "then resize it to [height, width] (one resampling)."
    )
    family = FAMILY
    sixteen_bits = True
    reads_targets = True
    params = (
        Param("size", Size(), [512, 512], "output [height, width] (Albumentations' height, width)"),
        EROSION,
        RESIZE_INTERPOLATION,
    )
    example = "- random_sized_bbox_safe_crop: {size: [320, 320], erosion_rate: 0.1}"
    apply = staticmethod(RandomResizedCrop.apply)
    geometry = staticmethod(RandomResizedCrop.geometry)

    def sample(self, rng: np.random.Generator, shape: Shape, targets: Any = None) -> Params:
        rate = self.config["erosion_rate"]
        extent = eroded(objects_extent(targets, shape[:2]), rate)
        top, left, crop_h, crop_w = safe_window(rng, shape, extent, rate)
        return {
            "top": top,
            "left": left,
            "height": crop_h,
            "width": crop_w,
            "size": self.config["size"],
            "interpolation": self.config["interpolation"],
        }


@register
class CropNonEmptyMask(Transform):
    name = "crop_non_empty_mask"
    summary = (
        "Cut a [height, width] window around a random labelled mask pixel (a random window "
        "when the mask is empty or absent; Albumentations' CropNonEmptyMaskIfExists)."
    )
    family = FAMILY
    sixteen_bits = True
    reads_targets = True
    params = (
        CROP_SIZE,
        Param(
            "ignore_values",
            ClassIds(),
            [0],
            "mask class ids that do not count as labelled (0, the background, by default)",
        ),
        CROP_FILL,
    )
    example = "- crop_non_empty_mask: {size: [256, 256], ignore_values: [0, 255]}"
    apply = staticmethod(RandomCrop.apply)
    geometry = staticmethod(RandomCrop.geometry)

    def sample(self, rng: np.random.Generator, shape: Shape, targets: Any = None) -> Params:
        height, width = shape[:2]
        crop_h, crop_w = self.config["size"]
        mask = None if targets is None else targets.mask
        labelled = None
        if mask is not None:
            labelled = np.flatnonzero(~np.isin(mask, self.config["ignore_values"]))
        if labelled is None or not len(labelled):
            top = _start(rng, height, crop_h, None)
            left = _start(rng, width, crop_w, None)
        else:
            row, col = divmod(int(labelled[int(rng.integers(len(labelled)))]), width)
            top = _start(rng, height, crop_h, row)
            left = _start(rng, width, crop_w, col)
        return {"top": top, "left": left, "size": [crop_h, crop_w], "fill": self.config["fill"]}


def _start(rng: np.random.Generator, length: int, crop: int, inside: int | None) -> int:
    """Where a window of ``crop`` starts on a side of ``length``: holding ``inside`` at a
    random place in it (clipped into the image), or anywhere; centred (padding) when the side
    is shorter than the window."""
    if length < crop:
        return -((crop - length) // 2)
    if inside is None:
        return integers(rng, [0, length - crop])
    return min(max(inside - integers(rng, [0, crop - 1]), 0), length - crop)
