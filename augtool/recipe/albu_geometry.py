"""Albumentations' geometric transforms, warps and grid dropouts as augtool steps (the
converters :mod:`augtool.recipe.albu_transforms` adds to its table), each reading the
parameters ``A.save`` wrote in 2.x."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from augtool.recipe.albu_transforms import (
    Params,
    Step,
    border,
    fill,
    interpolation,
    span,
    whole_span,
)

#: Albumentations 2 draws ElasticTransform's noise from a standard normal scaled by its largest
#: value (about 4.9 over a megapixel), where augtool's alpha is for uniform noise in [-1, 1]
#: (spread 1 / sqrt(3)): the same field takes alpha times this.
GAUSSIAN_ALPHA = math.sqrt(3) / 4.9


def _warp_options(params: Params) -> dict[str, Any]:
    """interpolation (nearest or bilinear: the warps' own), border and fill."""
    chosen = interpolation(params)
    if chosen not in ("nearest", "bilinear"):
        params.notes.lose(f"{params.name}.interpolation = {chosen} (warps)", "bilinear")
        chosen = "bilinear"
    params.neutral(fill_mask=(0, 0.0, None), mask_interpolation=0)
    return {"interpolation": chosen, "border": border(params), "fill": fill(params)}


def _one(params: Params, key: str, default: Any) -> int:
    """A whole number Albumentations may save as a [n, n] range."""
    low, high = whole_span(params.get(key, default))
    if low != high:
        params.notes.lose(f"{params.name}.{key} = [{low}, {high}] (one value only)", str(low))
    return low


def shift_scale_rotate(params: Params) -> Step:
    shift_x = span(params.get("shift_limit_x", params.get("shift_limit", 0.0625)))
    shift_y = span(params.get("shift_limit_y", shift_x))
    if shift_x != shift_y:
        params.notes.lose(f"ShiftScaleRotate.shift_limit_y = {shift_y} (one range for both)")
    config = {
        "shift_limit": shift_x,
        "scale_limit": span(params.get("scale_limit", [-0.1, 0.1])),
        "rotate_limit": span(params.get("rotate_limit", [-45, 45])),
        "interpolation": interpolation(params),
        "border": border(params),
        "fill": fill(params),
    }
    params.neutral(fill_mask=(0, 0.0, None), rotate_method="largest_box", mask_interpolation=0)
    return "shift_scale_rotate", config


def random_scale(params: Params) -> Step:
    config = {
        "scale_limit": span(params.get("scale_limit", [-0.1, 0.1])),
        "interpolation": interpolation(params, lanczos=True),
    }
    params.neutral(area_for_downscale=None, mask_interpolation=0)
    return "random_scale", config


def longest_max_size(params: Params) -> Step:
    size = params.get("max_size", 1024)
    params.neutral(max_size_hw=None, area_for_downscale=None, mask_interpolation=0)
    config = {"max_size": size, "interpolation": interpolation(params, lanczos=True)}
    return "longest_max_size", config


def pad_if_needed(params: Params) -> Step:
    config = {
        key: params.get(key, default)
        for key, default in (
            ("min_height", 1024),
            ("min_width", 1024),
            ("pad_height_divisor", None),
            ("pad_width_divisor", None),
            ("position", "center"),
        )
    }
    config.update(border=border(params), fill=fill(params))
    params.neutral(fill_mask=(0, 0.0, None), padding=(0, None))
    return "pad_if_needed", config


def bbox_safe_random_crop(params: Params) -> Step:
    return "bbox_safe_random_crop", {"erosion_rate": float(params.get("erosion_rate", 0.0))}


def random_sized_bbox_safe_crop(params: Params) -> Step:
    config = {
        "size": [int(params.get("height")), int(params.get("width"))],
        "erosion_rate": float(params.get("erosion_rate", 0.0)),
        "interpolation": interpolation(params, lanczos=True),
    }
    params.neutral(mask_interpolation=0)
    return "random_sized_bbox_safe_crop", config


def crop_non_empty_mask(params: Params) -> Step:
    # Albumentations looks for non-zero values: 0 is never "non-empty", so it is always ignored.
    ignored = params.get("ignore_values") or []
    params.neutral(ignore_channels=None)
    config = {
        "size": [int(params.get("height")), int(params.get("width"))],
        "ignore_values": sorted({0, *(int(v) for v in ignored)}),
    }
    return "crop_non_empty_mask", config


def grid_dropout(params: Params) -> Step:
    config: dict[str, Any] = {
        "ratio": float(params.get("ratio", 0.5)),
        "unit_size_range": params.get("unit_size_range"),
        "random_offset": bool(params.get("random_offset", True)),
        "fill": fill(params, alpha=False),
    }
    holes = params.get("holes_number_xy")
    if holes is not None:
        config["holes_number_xy"] = [int(holes[0]), int(holes[1])]
    if config["random_offset"]:
        params.get("shift_xy")  # the offset is drawn: Albumentations ignores the shift too
    else:
        params.neutral(shift_xy=((0, 0), [0, 0]))
    params.neutral(fill_mask=None)
    return "grid_dropout", config


def pixel_dropout(params: Params) -> Step:
    value = params.get("drop_value", 0)
    config = {
        "dropout_prob": float(params.get("dropout_prob", 0.01)),
        "per_channel": bool(params.get("per_channel", False)),
        "drop_value": "random" if value is None else round(value),
    }
    params.neutral(mask_drop_value=None)
    return "pixel_dropout", config


def mask_dropout(params: Params) -> Step:
    count = params.get("max_objects", (1, 1))
    config = {
        "max_objects": [1, int(count)]
        if isinstance(count, (int, float))
        else [int(v) for v in count],
        "fill": fill(params, alpha=False),
        "fill_mask": round(params.get("fill_mask", 0)),
    }
    return "mask_dropout", config


def elastic(params: Params) -> Step:
    alpha = float(params.get("alpha", 1.0))
    if params.get("noise_distribution", "gaussian") == "gaussian":
        alpha *= GAUSSIAN_ALPHA
        params.notes.note(
            f"ElasticTransform: gaussian noise is drawn as uniform noise of the same spread "
            f"(alpha {alpha:.4g})"
        )
    config = {"alpha": alpha, "sigma": max(1.0, float(params.get("sigma", 50.0)))}
    params.neutral(approximate=False, same_dxdy=False, keypoint_remapping_method=("mask", "direct"))
    return "elastic", {**config, **_warp_options(params)}


def grid_distortion(params: Params) -> Step:
    config = {
        "num_steps": int(params.get("num_steps", 5)),
        "distort_limit": span(params.get("distort_limit", [-0.3, 0.3])),
    }
    params.neutral(normalized=True, keypoint_remapping_method=("mask", "direct"))
    return "grid_distortion", {**config, **_warp_options(params)}


def optical_distortion(params: Params) -> Step:
    config = {"distort_limit": span(params.get("distort_limit", [-0.05, 0.05]))}
    params.neutral(mode="camera", keypoint_remapping_method=("mask", "direct"))
    return "optical_distortion", {**config, **_warp_options(params)}


def piecewise_affine(params: Params) -> Step:
    config = {
        "scale": span(params.get("scale", [0.03, 0.05])),
        "nb_rows": _one(params, "nb_rows", 4),
        "nb_cols": _one(params, "nb_cols", 4),
    }
    params.neutral(absolute_scale=False, keypoint_remapping_method=("mask", "direct"))
    return "piecewise_affine", {**config, **_warp_options(params)}


def _plain(name: str) -> Callable[[Params], Step]:
    return lambda params: (name, {})


GEOMETRY_CONVERTERS: dict[str, Callable[[Params], Step]] = {
    "Transpose": _plain("transpose"),
    "D4": _plain("d4"),
    "ShiftScaleRotate": shift_scale_rotate,
    "RandomScale": random_scale,
    "LongestMaxSize": longest_max_size,
    "PadIfNeeded": pad_if_needed,
    "BBoxSafeRandomCrop": bbox_safe_random_crop,
    "RandomSizedBBoxSafeCrop": random_sized_bbox_safe_crop,
    "CropNonEmptyMaskIfExists": crop_non_empty_mask,
    "GridDropout": grid_dropout,
    "PixelDropout": pixel_dropout,
    "MaskDropout": mask_dropout,
    "ElasticTransform": elastic,
    "GridDistortion": grid_distortion,
    "OpticalDistortion": optical_distortion,
    "PiecewiseAffine": piecewise_affine,
}
