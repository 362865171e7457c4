"""Albumentations' pixel-level transforms as augtool steps: colour, filters, blurs, sensor noise
and weather. Their parameter names are Albumentations' own, so most convert one to one; what
augtool draws differently is said in a note, and what it cannot do is reported as lost.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from augtool.recipe.albu_transforms import Params, Step, span, whole_span


def _same_names(
    name: str, whole: tuple[str, ...] = (), **defaults: Any
) -> Callable[[Params], Step]:
    """A transform whose parameters are ranges under augtool's names (``defaults``: each one's
    Albumentations default); the ``whole`` ones are ranges of whole numbers."""

    def convert(params: Params) -> Step:
        config = {}
        for key, default in defaults.items():
            value = params.get(key, default)
            config[key] = whole_span(value) if key in whole else span(value)
        return name, config

    return convert


def rgb_shift(params: Params) -> Step:
    params.neutral(approximation=1.0, noise_type="uniform", spatial_mode="constant")
    params.get("noise_params")  # derived from the shift limits in 2.x
    return "rgb_shift", {
        f"{c}_shift_limit": span(params.get(f"{c}_shift_limit", 20)) for c in ("r", "g", "b")
    }


def clahe(params: Params) -> Step:
    grid = params.get("tile_grid_size", [8, 8])
    return "clahe", {
        "clip_limit": span(params.get("clip_limit", [1, 4])),
        "tile_grid_size": [int(grid[0]), int(grid[1])],
    }


def multiplicative_noise(params: Params) -> Step:
    return "multiplicative_noise", {
        "multiplier": span(params.get("multiplier", [0.9, 1.1])),
        "per_channel": bool(params.get("per_channel", False)),
        "elementwise": bool(params.get("elementwise", False)),
    }


def glass_blur(params: Params) -> Step:
    mode = params.get("mode", "fast")
    params.notes.note(
        f"GlassBlur mode {mode!r}: augtool's glass_blur lets each pixel take a random "
        "neighbour's value (a gather), not a chain of swaps"
    )
    return "glass_blur", {
        "sigma": span(params.get("sigma", 0.7)),
        "max_delta": whole_span(params.get("max_delta", 4)),
        "iterations": whole_span(params.get("iterations", 2)),
    }


def unsharp_mask(params: Params) -> Step:
    return "unsharp_mask", {
        "blur_limit": whole_span(params.get("blur_limit", [3, 7])),
        "sigma_limit": span(params.get("sigma_limit", 0)),
        "alpha": span(params.get("alpha", [0.2, 0.5])),
        "threshold": whole_span(params.get("threshold", 10)),
    }


def random_rain(params: Params) -> Step:
    config: dict[str, Any] = {
        "slant_range": span(params.get("slant_range", [-10, 10])),
        "drop_width": whole_span(params.get("drop_width", 1)),
        "drop_color": [round(v) for v in params.get("drop_color", [200, 200, 200])],
        "blur_value": whole_span(params.get("blur_value", 7)),
        "brightness_coefficient": span(params.get("brightness_coefficient", 0.7)),
        "rain_type": params.get("rain_type", "default"),
    }
    length = params.get("drop_length")
    if length is not None:
        config["drop_length"] = whole_span(length)
    return "random_rain", config


def random_snow(params: Params) -> Step:
    params.neutral(method="bleach")
    return "random_snow", {
        "snow_point_range": span(params.get("snow_point_range", [0.1, 0.3])),
        "brightness_coeff": span(params.get("brightness_coeff", 2.5)),
    }


def _roi(params: Params, key: str, default: list[float]) -> list[float]:
    return [float(v) for v in params.get(key, default)]


def random_shadow(params: Params) -> Step:
    return "random_shadow", {
        "shadow_roi": _roi(params, "shadow_roi", [0, 0.5, 1, 1]),
        "num_shadows_limit": whole_span(params.get("num_shadows_limit", [1, 2])),
        "shadow_dimension": whole_span(params.get("shadow_dimension", 5)),
        "shadow_intensity_range": span(params.get("shadow_intensity_range", [0.5, 0.5])),
    }


def random_sun_flare(params: Params) -> Step:
    params.neutral(method="overlay")
    return "random_sun_flare", {
        "flare_roi": _roi(params, "flare_roi", [0, 0, 1, 0.5]),
        "src_radius": whole_span(params.get("src_radius", 400)),
        "src_color": [round(v) for v in params.get("src_color", [255, 255, 255])][:3],
        "angle_range": span(params.get("angle_range", [0, 1])),
        "num_flare_circles_range": whole_span(params.get("num_flare_circles_range", [6, 10])),
    }


def random_gravel(params: Params) -> Step:
    return "random_gravel", {
        "gravel_roi": _roi(params, "gravel_roi", [0.1, 0.4, 0.9, 0.9]),
        "number_of_patches": whole_span(params.get("number_of_patches", 2)),
    }


PIXEL_CONVERTERS: dict[str, Callable[[Params], Step]] = {
    "HueSaturationValue": _same_names(
        "hue_saturation_value",
        hue_shift_limit=20.0,
        sat_shift_limit=30.0,
        val_shift_limit=20.0,
    ),
    "RGBShift": rgb_shift,
    "ToSepia": lambda params: ("to_sepia", {}),
    "FancyPCA": _same_names("fancy_pca", alpha=0.1),
    "CLAHE": clahe,
    "UnsharpMask": unsharp_mask,
    "Emboss": _same_names("emboss", alpha=[0.2, 0.5], strength=[0.2, 0.7]),
    "ISONoise": _same_names("iso_noise", color_shift=[0.01, 0.05], intensity=[0.1, 0.5]),
    "MultiplicativeNoise": multiplicative_noise,
    "MedianBlur": _same_names("median_blur", ("blur_limit",), blur_limit=[3, 7]),
    "Defocus": _same_names("defocus", ("radius",), radius=[3, 10], alias_blur=[0.1, 0.5]),
    "ZoomBlur": _same_names("zoom_blur", max_factor=[1.0, 1.31], step_factor=[0.01, 0.03]),
    "GlassBlur": glass_blur,
    "RandomFog": _same_names("random_fog", fog_coef_range=[0.3, 1.0], alpha_coef=0.08),
    "RandomRain": random_rain,
    "RandomSnow": random_snow,
    "RandomShadow": random_shadow,
    "RandomSunFlare": random_sun_flare,
    "RandomGravel": random_gravel,
}
