"""Albumentations transforms as augtool steps: one converter per transform both tools have.

A converter reads the parameters ``A.save`` wrote (1.x or 2.x) and returns the augtool step, or
tells the :class:`Notes` what it could not carry over, with the nearest augtool setting. A
parameter at a value that changes nothing augtool does differently (``crop_border: false``) is
passed over in silence; any other value it does not convert is reported, never dropped quietly.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Step = tuple[str, dict[str, Any]]
#: OpenCV's interpolation flags, as Albumentations saves them
INTERPOLATIONS = {0: "nearest", 1: "bilinear", 2: "bicubic", 4: "lanczos"}
#: OpenCV's border modes (3 is BORDER_WRAP, 4 BORDER_REFLECT_101, which is augtool's reflect)
BORDERS = {0: "constant", 1: "replicate", 3: "wrap", 4: "reflect"}


@dataclass
class Notes:
    """What a conversion left out (``lost``: the run is refused without --allow-partial) and
    what it changed without loss worth refusing for (``notes``), each naming where."""

    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    where: str = ""

    def lose(self, what: str, nearest: str | None = None) -> None:
        hint = f"; nearest in augtool: {nearest}" if nearest else ""
        self.lost.append(f"{self.where}: {what}{hint}")

    def note(self, what: str) -> None:
        self.notes.append(f"{self.where}: {what}")


class Params:
    """A saved transform's parameters; :meth:`done` reports the ones nobody took."""

    def __init__(self, name: str, values: dict[str, Any], notes: Notes) -> None:
        self.name = name
        self.values = dict(values)
        self.notes = notes
        self.taken: set[str] = {"p", "__class_fullname__", "always_apply", "strict"}

    def get(self, key: str, default: Any = None) -> Any:
        self.taken.add(key)
        return self.values.get(key, default)

    def neutral(self, **values: Any) -> None:
        """Parameters augtool has no setting for, harmless at these values (a list of
        values: any of them)."""
        for key, harmless in values.items():
            self.taken.add(key)
            if key not in self.values:
                continue
            value = self.values[key]
            allowed = harmless if isinstance(harmless, tuple) else (harmless,)
            if not any(_same(value, a) for a in allowed):
                self.notes.lose(f"{self.name}.{key} = {value!r} has no equivalent")

    def done(self) -> None:
        for key in sorted(set(self.values) - self.taken):
            self.notes.lose(f"{self.name}.{key} = {self.values[key]!r} is not converted")


def _same(value: Any, harmless: Any) -> bool:
    if isinstance(value, (list, tuple)) and isinstance(harmless, (list, tuple)):
        return len(value) == len(harmless) and all(map(_same, value, harmless))
    return value == harmless


def span(value: Any) -> list[float]:
    """A saved range (a pair, or one number meaning [x, x]) as [min, max]."""
    if isinstance(value, (list, tuple)):
        return [float(value[0]), float(value[-1])]
    return [float(value), float(value)]


def whole_span(value: Any) -> list[int]:
    low, high = span(value)
    return [int(low), int(high)]


def interpolation(params: Params, key: str = "interpolation", lanczos: bool = False) -> str:
    code = params.get(key, 1)
    name = INTERPOLATIONS.get(code)
    if name is None or (name == "lanczos" and not lanczos):
        params.notes.lose(f"{params.name}.{key} = {code!r} (OpenCV flag)", "bilinear")
        return "bilinear"
    return name


def border(params: Params, key: str = "border_mode") -> str:
    code = params.get(key, 0)
    if code == 2:  # BORDER_REFLECT repeats the edge pixel; augtool's reflect does not
        params.notes.note(f"{params.name}.{key} = 2 (BORDER_REFLECT) became reflect (REFLECT_101)")
        return "reflect"
    name = BORDERS.get(code)
    if name is None:
        params.notes.lose(f"{params.name}.{key} = {code!r} (OpenCV flag)", "constant")
        return "constant"
    return name


def fill(params: Params, key: str = "fill", alpha: bool = True) -> int | list[int]:
    value = params.get(key, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(value)
    if isinstance(value, (list, tuple)) and len(value) in ((3, 4) if alpha else (3,)):
        return [round(v) for v in value]
    params.notes.lose(f"{params.name}.{key} = {value!r}", "fill: 0")
    return 0


def _xy(params: Params, key: str, default: list[float]) -> list[float]:
    """An Affine range saved per axis ({x: [..], y: [..]}): augtool draws both axes from one
    range, so the two must agree."""
    value = params.get(key)
    if value is None:
        return default
    if not isinstance(value, dict):
        return span(value)
    x, y = span(value.get("x", default)), span(value.get("y", default))
    if x != y:
        params.notes.lose(f"{params.name}.{key} differs between x {x} and y {y}", f"{key}: {x}")
    return x


def affine(params: Params) -> Step:
    scale = _xy(params, "scale", [1.0, 1.0])
    keep_ratio = params.get("keep_ratio", False)
    if not keep_ratio and scale[0] != scale[1]:
        params.notes.lose(
            "Affine draws the x and y scales independently (keep_ratio: false); augtool's "
            "affine scales both sides by one factor",
            f"affine scale {scale}",
        )
    if any(v != 0 for v in _xy(params, "translate_px", [0.0, 0.0])):
        params.notes.lose("Affine.translate_px (pixels)", "translate_percent")
    config = {
        "scale": scale,
        "translate_percent": _xy(params, "translate_percent", [0.0, 0.0]),
        "rotate": span(params.get("rotate", 0)),
        "shear": _xy(params, "shear", [0.0, 0.0]),
        "interpolation": interpolation(params),
        "border": border(params),
        "fill": fill(params),
    }
    params.neutral(
        fit_output=False,
        balanced_scale=False,
        rotate_method="largest_box",
        mask_interpolation=0,
        fill_mask=(0, 0.0),
    )
    return "affine", config


def rotate(params: Params) -> Step:
    config = {
        "limit": span(params.get("limit", 90)),
        "interpolation": interpolation(params),
        "border": border(params),
        "fill": fill(params, "fill" if "fill" in params.values else "value"),
    }
    params.neutral(
        crop_border=False,
        rotate_method="largest_box",
        mask_interpolation=0,
        fill_mask=(0, 0.0, None),
        mask_value=(0, 0.0, None),
    )
    return "rotate", config


def perspective(params: Params) -> Step:
    config = {
        "scale": span(params.get("scale", [0.05, 0.1])),
        "interpolation": interpolation(params),
        "border": border(params),
        "fill": fill(params),
    }
    params.neutral(keep_size=True, fit_output=False, mask_interpolation=0, fill_mask=(0, 0.0))
    return "perspective", config


def _size(params: Params) -> list[int]:
    size = params.get("size")
    if size is None:
        return [int(params.get("height")), int(params.get("width"))]
    return [int(size[0]), int(size[1])] if isinstance(size, (list, tuple)) else [int(size)] * 2


def crop(name: str) -> Callable[[Params], Step]:
    def convert(params: Params) -> Step:
        if not params.get("pad_if_needed", False):
            params.notes.note(f"{params.name}: augtool pads an image smaller than the crop")
        params.neutral(pad_position="center", border_mode=0, fill_mask=(0, 0.0))
        return name, {"size": _size(params), "fill": fill(params)}

    return convert


def random_resized_crop(params: Params) -> Step:
    config = {
        "size": _size(params),
        "scale": span(params.get("scale", [0.08, 1.0])),
        "ratio": span(params.get("ratio", [0.75, 4 / 3])),
        "interpolation": interpolation(params, lanczos=True),
    }
    params.neutral(area_for_downscale=None, mask_interpolation=0)
    return "random_resized_crop", config


def resize(params: Params) -> Step:
    config = {"size": _size(params), "interpolation": interpolation(params, lanczos=True)}
    params.neutral(area_for_downscale=None, mask_interpolation=0)
    return "resize", config


def smallest_max_size(params: Params) -> Step:
    size = params.get("max_size")
    if isinstance(size, (list, tuple)) and len(size) == 1:
        size = size[0]
    if not isinstance(size, int):
        params.notes.lose(f"SmallestMaxSize.max_size = {size!r} (one length only)", "resize")
        size = 256
    params.neutral(max_size_hw=None, area_for_downscale=None, mask_interpolation=0)
    return "resize", {"size": size, "interpolation": interpolation(params, lanczos=True)}


def pad(params: Params) -> Step:
    padding = params.get("padding", 0)
    config = {"padding": padding, "border": border(params), "fill": fill(params)}
    params.neutral(fill_mask=(0, 0.0))
    return "pad", config


def brightness_contrast(params: Params) -> Step:
    config = {
        "brightness_limit": span(params.get("brightness_limit", 0.2)),
        "contrast_limit": span(params.get("contrast_limit", 0.2)),
    }
    params.neutral(brightness_by_max=True, ensure_safe_range=False)
    return "random_brightness_contrast", config


def color_jitter(params: Params) -> Step:
    config = {k: span(params.get(k, [1.0, 1.0])) for k in ("brightness", "contrast", "saturation")}
    return "color_jitter", {**config, "hue": span(params.get("hue", 0))}


def solarize(params: Params) -> Step:
    if "threshold_range" in params.values:  # 2.x: a fraction of the maximum value
        low, high = span(params.get("threshold_range"))
        return "solarize", {"threshold": [low * 255, high * 255]}
    return "solarize", {"threshold": span(params.get("threshold", 128))}


def gauss_noise(params: Params) -> Step:
    if "var_limit" in params.values:  # 1.x: the variance, in pixel levels squared
        low, high = span(params.get("var_limit"))
        params.notes.note(
            "GaussNoise.var_limit: the variance is drawn in Albumentations 1.x, the std here"
        )
        std, mean = [math.sqrt(low), math.sqrt(high)], span(params.get("mean", 0))
    else:
        std = [v * 255 for v in span(params.get("std_range", [0.2, 0.44]))]
        mean = [v * 255 for v in span(params.get("mean_range", 0))]
    params.neutral(noise_scale_factor=1)
    return "gaussian_noise", {
        "std": std,
        "mean": mean,
        "per_channel": params.get("per_channel", True),
    }


def gaussian_blur(params: Params) -> Step:
    sigma = span(params.get("sigma_limit", 0))
    if sigma == [0.0, 0.0]:
        params.notes.lose(
            "GaussianBlur with sigma from the kernel size (sigma_limit 0)", "gaussian_blur sigma"
        )
    params.neutral(blur_limit=([0, 0], 0))
    return "gaussian_blur", {"sigma": sigma}


def motion_blur(params: Params) -> Step:
    config = {
        "blur_limit": whole_span(params.get("blur_limit", [3, 7])),
        "angle": span(params.get("angle_range", [0, 360])),
    }
    params.neutral(direction_range=([-1.0, 1.0], [-1, 1]), allow_shifted=True)
    return "motion_blur", config


def image_compression(params: Params) -> Step:
    if "quality_range" in params.values:
        quality = whole_span(params.get("quality_range"))
    else:
        quality = [int(params.get("quality_lower", 99)), int(params.get("quality_upper", 100))]
    params.neutral(compression_type=("jpeg", 0))
    return "jpeg_compression", {"quality": quality}


def downscale(params: Params) -> Step:
    pair = params.get("interpolation_pair") or {"upscale": 0, "downscale": 0}
    codes = {pair.get("upscale"), pair.get("downscale")}
    name = INTERPOLATIONS.get(pair.get("upscale")) if len(codes) == 1 else None
    if name is None:
        params.notes.lose(f"Downscale.interpolation_pair = {pair!r}", "one interpolation for both")
        name = "nearest"
    scale = params.get("scale_range") or [
        params.get("scale_min", 0.25),
        params.get("scale_max", 0.25),
    ]
    return "downscale", {"scale": span(scale), "interpolation": name}


def coarse_dropout(params: Params) -> Step:
    config: dict[str, Any] = {"num_holes_range": whole_span(params.get("num_holes_range", [1, 2]))}
    for key in ("hole_height_range", "hole_width_range"):
        value = span(params.get(key, [0.1, 0.2]))
        if value[1] > 1:
            params.notes.lose(f"CoarseDropout.{key} in pixels", f"{key} as a fraction")
            value = [0.1, 0.2]
        config[key] = value
    value = params.get("fill", 0)
    if isinstance(value, str):
        params.notes.lose(f"CoarseDropout.fill = {value!r}", "a colour")
        value = 0
    params.taken.discard("fill")
    params.values["fill"] = value
    config["fill"] = fill(params, alpha=False)
    params.neutral(fill_mask=(None, 0, 0.0))
    return "coarse_dropout", config


def erasing(params: Params) -> Step:
    value = params.get("fill", 0)
    if value != "random":
        value = fill(params, alpha=False)
    params.neutral(fill_mask=(None, 0, 0.0), inplace=False)
    return "random_erasing", {
        "scale": span(params.get("scale", [0.02, 0.33])),
        "ratio": span(params.get("ratio", [0.3, 3.3])),
        "value": value,
    }


def plain(name: str, **neutral: Any) -> Callable[[Params], Step]:
    def convert(params: Params) -> Step:
        params.neutral(**neutral)
        return name, {}

    return convert


def ranged(name: str, **keys: tuple[str, Any]) -> Callable[[Params], Step]:
    """A transform whose parameters are ranges under other names: ``keys`` maps augtool's
    name to (Albumentations' name, its default)."""

    def convert(params: Params) -> Step:
        return name, {
            ours: span(params.get(theirs, default)) for ours, (theirs, default) in keys.items()
        }

    return convert


def sharpen(params: Params) -> Step:
    params.neutral(method="kernel", kernel_size=5, sigma=1.0)
    alpha, lightness = (
        span(params.get("alpha", [0.2, 0.5])),
        span(params.get("lightness", [0.5, 1])),
    )
    return "sharpen", {"alpha": alpha, "lightness": lightness}


def posterize(params: Params) -> Step:
    bits = params.get("num_bits", 4)
    if isinstance(bits, (list, tuple)) and any(isinstance(b, (list, tuple)) for b in bits):
        params.notes.lose("Posterize.num_bits per channel", "posterize bits")
        bits = 4
    return "posterize", {"bits": whole_span(bits)}


def autocontrast(params: Params) -> Step:
    cutoff = params.get("cutoff", 0)
    params.neutral(ignore=None, method="pil")
    return "autocontrast", {"cutoff": span(cutoff)}


CONVERTERS: dict[str, Callable[[Params], Step]] = {
    "HorizontalFlip": plain("hflip"),
    "VerticalFlip": plain("vflip"),
    "RandomRotate90": lambda params: ("rot90", {"k": [0, 1, 2, 3]}),
    "Rotate": rotate,
    "Affine": affine,
    "Perspective": perspective,
    "RandomCrop": crop("random_crop"),
    "CenterCrop": crop("center_crop"),
    "RandomResizedCrop": random_resized_crop,
    "Resize": resize,
    "SmallestMaxSize": smallest_max_size,
    "Pad": pad,
    "RandomBrightnessContrast": brightness_contrast,
    "ColorJitter": color_jitter,
    "RandomGamma": ranged("gamma", gamma_limit=("gamma_limit", [80, 120])),
    "ToGray": plain("grayscale", method="weighted_average", num_output_channels=3),
    "Posterize": posterize,
    "Solarize": solarize,
    "Equalize": plain("equalize", mode=("cv", "pil"), by_channels=True, mask=None),
    "Sharpen": sharpen,
    "ChannelShuffle": plain("channel_shuffle"),
    "InvertImg": plain("invert"),
    "AutoContrast": autocontrast,
    "GaussNoise": gauss_noise,
    "SaltAndPepper": ranged(
        "salt_pepper",
        amount=("amount", [0.01, 0.06]),
        salt_vs_pepper=("salt_vs_pepper", [0.4, 0.6]),
    ),
    "GaussianBlur": gaussian_blur,
    "MotionBlur": motion_blur,
    "ImageCompression": image_compression,
    "JpegCompression": image_compression,
    "Downscale": downscale,
    "CoarseDropout": coarse_dropout,
    "Erasing": erasing,
}

#: Albumentations transforms augtool has no step for, with the nearest one it has
NEAREST = {
    "SafeRotate": "rotate",
    "RandomSizedCrop": "random_resized_crop",
    "CropAndPad": "pad then random_crop",
    "RandomBrightness": "random_brightness_contrast",
    "RandomContrast": "random_brightness_contrast",
    "Blur": "gaussian_blur",
    "ShotNoise": "gaussian_noise",
    "Cutout": "coarse_dropout",
    "XYMasking": "coarse_dropout",
    "RandomToneCurve": "gamma",
    "Normalize": None,
    "ToTensorV2": None,
    "ToFloat": None,
}
