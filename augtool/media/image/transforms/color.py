"""Colour transforms: they change pixel values, never positions, so labels are left as they are.

Point operations (brightness/contrast, gamma, posterize, solarize, invert) are built as one
256-entry lookup table and applied with :func:`lut_apply`: a table costs 256 evaluations
whatever the image size. An alpha channel is never changed.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps

from augtool.media.image.transforms.imaging import (
    from_pil,
    join_alpha,
    lut_apply,
    split_alpha,
    to_pil,
)
from augtool.media.params import Param, Range
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "color"

_LEVELS = np.arange(256, dtype=np.float64)
# ITU-R 601-2 luma, the weights of Pillow's "L" conversion.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _to_lut(values: np.ndarray) -> np.ndarray:
    """Round a table of 256 float levels to uint8, the same rounding every kernel uses."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """Round and clamp a float image to uint8; ``image`` is used as scratch space."""
    np.rint(image, out=image)
    np.clip(image, 0, 255, out=image)
    return image.astype(np.uint8)


@register
class RandomBrightnessContrast(Transform):
    name = "random_brightness_contrast"
    summary = "Shift brightness and scale contrast by random amounts (out = x * (1 + c) + 255 * b)."
    family = FAMILY
    params = (
        Param(
            "brightness_limit",
            Range(-1, 1, around=0),
            [-0.2, 0.2],
            "brightness shift as a fraction of 255 (Albumentations semantics)",
        ),
        Param(
            "contrast_limit",
            Range(-1, None, around=0),
            [-0.2, 0.2],
            "contrast change: pixels are multiplied by 1 + contrast",
        ),
    )
    example = "- random_brightness_contrast: {brightness_limit: 0.2, contrast_limit: 0.3, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "brightness": uniform(rng, self.config["brightness_limit"]),
            "contrast": uniform(rng, self.config["contrast_limit"]),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        alpha = 1.0 + params["contrast"]
        beta = params["brightness"] * 255.0
        return lut_apply(image, _to_lut(_LEVELS * alpha + beta))


def _grey(colour: np.ndarray) -> np.ndarray:
    """Luma of a float (H, W, 1 or 3) image, shaped (H, W, 1) so it broadcasts over channels."""
    if colour.shape[2] == 1:
        return colour
    return (colour @ _LUMA)[:, :, None]


def _hue_levels(hue: float) -> int:
    """The hue shift in Pillow's 8-bit hue levels (0: the shift is no change at all)."""
    return round(hue * 255) % 256


def _hue_shift(colour: np.ndarray, hue: float) -> np.ndarray:
    """Rotate the hue of a float RGB image by ``hue`` turns, through Pillow's 8-bit HSV."""
    shift = _hue_levels(hue)
    if shift == 0:
        # Pillow's HSV round trip is not exact: a zero shift must leave the image alone.
        return colour
    hsv = np.array(Image.fromarray(_to_uint8(colour), "RGB").convert("HSV"))
    # uint8 addition wraps around the colour circle, as the hue should.
    hsv[:, :, 0] += np.uint8(shift)
    return np.asarray(Image.fromarray(hsv, "HSV").convert("RGB"), dtype=np.float32)


_JITTERS = ("brightness", "contrast", "saturation", "hue")


@register
class ColorJitter(Transform):
    name = "color_jitter"
    summary = (
        "Randomly change brightness, contrast, saturation and hue, in a random order "
        "(torchvision ColorJitter)."
    )
    family = FAMILY
    params = (
        Param(
            "brightness",
            Range(0, None, around=1),
            [0.8, 1.2],
            "brightness factor range; x means [max(0, 1 - x), 1 + x]; 1 keeps the image",
        ),
        Param(
            "contrast",
            Range(0, None, around=1),
            [0.8, 1.2],
            "contrast factor range (blend with the mean grey); x means [max(0, 1 - x), 1 + x]",
        ),
        Param(
            "saturation",
            Range(0, None, around=1),
            [0.8, 1.2],
            "saturation factor range (blend with the grey image); x means [max(0, 1 - x), 1 + x]",
        ),
        Param(
            "hue",
            Range(-0.5, 0.5, around=0),
            [-0.05, 0.05],
            "hue shift range in turns of the colour circle; h means [-h, h], |h| <= 0.5",
        ),
    )
    example = "- color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2, hue: 0.02}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        order = [_JITTERS[int(i)] for i in rng.permutation(len(_JITTERS))]
        params: Params = {"order": order}
        for jitter in _JITTERS:
            params[jitter] = uniform(rng, self.config[jitter])
        return params

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        is_rgb = colour.shape[2] == 3
        steps = [(j, params[j]) for j in params["order"] if _jitters(j, params[j], is_rgb)]
        # Every step but contrast is per pixel, so the image is done in row tiles: a float copy
        # of a whole 8000x6000 image is 0.6 GB, and the kernel used to hold several.
        names = [name for name, _ in steps]
        mean, start = None, colour
        if "contrast" in names:
            contrast = names.index("contrast")
            # Each jitter comes once (``order`` is a permutation).
            hue = names.index("hue") if "hue" in names[:contrast] else -1
            mean, start = _contrast_pass(colour, steps[: hue + 1], steps[hue + 1 : contrast])
            steps = steps[hue + 1 :]
        out = np.empty_like(colour)
        for rows in row_tiles(colour):
            out[rows] = _to_uint8(_jitter_tile(start[rows].astype(np.float32), steps, mean))
        return join_alpha(out, alpha)


def _contrast_pass(
    colour: np.ndarray, through_hue: list[tuple[str, float]], rest: list[tuple[str, float]]
) -> tuple[np.float32, np.ndarray]:
    """Contrast blends with the mean grey of the image as the steps before it left it: run those
    steps tile by tile for the grey, whose mean is taken over the whole array (the same float sum
    as one whole-image pass). Returns the mean and where the second pass starts: the image
    after the hue shift when one comes before contrast (hue gives whole levels, so uint8 holds
    them exactly, and Pillow's HSV round trip is not done twice), else ``colour``."""
    grey = np.empty((*colour.shape[:2], 1), dtype=np.float32)
    resume = np.empty_like(colour) if through_hue else colour
    for rows in row_tiles(colour):
        state = _jitter_tile(colour[rows].astype(np.float32), through_hue, None)
        if through_hue:
            resume[rows] = state
        grey[rows] = _grey(_jitter_tile(state, rest, None))
    return np.float32(grey.mean(dtype=np.float64)), resume


def _jitters(jitter: str, factor: float, is_rgb: bool) -> bool:
    """Whether a color_jitter step changes anything (hue and saturation need colour)."""
    if jitter == "hue":
        # Only a shift of whole levels changes (and rounds) the image: color_jitter's second
        # pass relies on a hue step leaving whole levels.
        return is_rgb and _hue_levels(factor) != 0
    return factor != 1 and (jitter != "saturation" or is_rgb)


def _jitter_tile(
    colour: np.ndarray, steps: list[tuple[str, float]], mean: np.float32 | None
) -> np.ndarray:
    """The color_jitter steps on a float32 tile of rows, which is changed in place (or replaced,
    by a hue shift); ``mean`` is contrast's grey mean."""
    out = colour
    # Each step clamps to [0, 255] as torchvision does; rounding happens once, at the end.
    for jitter, factor in steps:
        if jitter == "hue":
            out = _hue_shift(out, factor)
            continue
        # In place: ``out`` is this tile's own float copy.
        weight = np.float32(factor)
        if jitter == "brightness":
            out *= weight
        elif jitter == "contrast":
            assert mean is not None
            out *= weight
            out += (1 - weight) * mean
        else:
            grey = _grey(out) * (1 - weight)
            out *= weight
            out += grey
        np.clip(out, 0, 255, out=out)
    return out


#: Pixels per row tile of the float kernels (color_jitter, sharpen): a few MB of float32, so
#: the temporaries stay small (and in cache) whatever the image size.
TILE_PIXELS = 1 << 16


def row_tiles(image: np.ndarray) -> list[slice]:
    """Slices of whole rows of ``image``, about :data:`TILE_PIXELS` pixels each."""
    height, width = image.shape[:2]
    step = max(1, TILE_PIXELS // max(width, 1))
    return [slice(top, min(top + step, height)) for top in range(0, height, step)]


@register
class Gamma(Transform):
    name = "gamma"
    summary = "Apply a random gamma curve: out = 255 * (x / 255) ** (gamma / 100)."
    family = FAMILY
    params = (
        Param(
            "gamma_limit",
            Range(1, None),
            [80.0, 120.0],
            "gamma range in percent (100 keeps the image; below 100 brightens)",
        ),
    )
    example = "- gamma: {gamma_limit: [80, 120], p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"gamma": uniform(rng, self.config["gamma_limit"]) / 100.0}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        return lut_apply(image, _to_lut(255.0 * (_LEVELS / 255.0) ** params["gamma"]))


@register
class Grayscale(Transform):
    name = "grayscale"
    summary = "Convert to grey (ITU-R 601-2 luma, as Pillow's 'L'), keeping the channel count."
    family = FAMILY
    example = "- grayscale: {p: 0.1}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        if colour.shape[2] == 1:
            return image.copy()
        grey = from_pil(to_pil(colour).convert("L"))
        return join_alpha(np.repeat(grey, 3, axis=2), alpha)


@register
class Posterize(Transform):
    name = "posterize"
    summary = "Keep only the highest bits of each colour channel."
    family = FAMILY
    params = (
        Param(
            "bits",
            Range(1, 8, integer=True),
            [4, 4],
            "how many high bits to keep, drawn as a whole number (8 keeps the image)",
        ),
    )
    example = "- posterize: {bits: [3, 5], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"bits": integers(rng, self.config["bits"])}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        mask = np.uint8((0xFF << (8 - params["bits"])) & 0xFF)
        return lut_apply(image, np.arange(256, dtype=np.uint8) & mask)


@register
class Solarize(Transform):
    name = "solarize"
    summary = "Invert every colour value at or above a random threshold."
    family = FAMILY
    params = (
        Param(
            "threshold",
            Range(0, 255),
            [128.0, 128.0],
            "threshold range: values >= threshold become 255 - value",
        ),
    )
    example = "- solarize: {threshold: [96, 160], p: 0.2}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"threshold": uniform(rng, self.config["threshold"])}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        levels = np.arange(256, dtype=np.uint8)
        lut = np.where(levels >= params["threshold"], 255 - levels, levels).astype(np.uint8)
        return lut_apply(image, lut)


@register
class Equalize(Transform):
    name = "equalize"
    summary = "Equalise the histogram of each colour channel (Pillow ImageOps.equalize)."
    family = FAMILY
    example = "- equalize: {p: 0.2}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        return join_alpha(from_pil(ImageOps.equalize(to_pil(colour))), alpha)


@register
class Autocontrast(Transform):
    name = "autocontrast"
    summary = (
        "Stretch each colour channel so its darkest value becomes 0 and its lightest 255 "
        "(Pillow ImageOps.autocontrast)."
    )
    family = FAMILY
    params = (
        Param(
            "cutoff",
            Range(0, 49),
            [0.0, 0.0],
            "percent of the darkest and of the lightest pixels to ignore, drawn from this range",
        ),
    )
    example = "- autocontrast: {cutoff: [0, 2], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"cutoff": uniform(rng, self.config["cutoff"])}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        stretched = ImageOps.autocontrast(to_pil(colour), cutoff=params["cutoff"])
        return join_alpha(from_pil(stretched), alpha)


@register
class Sharpen(Transform):
    name = "sharpen"
    summary = "Sharpen with a 3x3 kernel blended with the identity (Albumentations Sharpen)."
    family = FAMILY
    params = (
        Param(
            "alpha",
            Range(0, 1),
            [0.2, 0.5],
            "visibility of the sharpened image: 0 keeps the image, 1 is fully sharpened",
        ),
        Param(
            "lightness",
            Range(0, None),
            [0.5, 1.0],
            "lightness of the sharpened image (1 keeps the mean brightness)",
        ),
    )
    example = "- sharpen: {alpha: [0.2, 0.5], lightness: [0.5, 1.0], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "alpha": uniform(rng, self.config["alpha"]),
            "lightness": uniform(rng, self.config["lightness"]),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha_channel = split_alpha(image)
        alpha = np.float32(params["alpha"])
        centre = (1 - alpha) + alpha * np.float32(9.0 + params["lightness"])
        height = colour.shape[0]
        out = np.empty_like(colour)
        # In row tiles, each with the row above and below (the edge row again at the image's
        # edges): whole-image uint16 and float32 temporaries of 8000x6000 took 2.8 GB.
        for rows in row_tiles(colour):
            top, bottom = max(rows.start - 1, 0), min(rows.stop + 1, height)
            halo = ((1 - (rows.start - top), 1 - (bottom - rows.stop)), (1, 1), (0, 0))
            padded = np.pad(colour[top:bottom], halo, mode="edge")
            out[rows] = _sharpen_tile(colour[rows], padded, alpha, centre)
        return join_alpha(out, alpha_channel)


def _sharpen_tile(
    colour: np.ndarray, padded: np.ndarray, alpha: np.float32, centre: np.float32
) -> np.ndarray:
    """The kernel (1 - a) * identity + a * [[-1 -1 -1] [-1 8+l -1] [-1 -1 -1]] is
    centre * x - a * (3x3 box sum). The box sum is separable (two passes of three adds) and
    exact in uint16 (at most 9 * 255), which is cheaper than float32."""
    padded = padded.astype(np.uint16)
    rows = padded[:-2] + padded[1:-1]
    rows += padded[2:]
    box = rows[:, :-2] + rows[:, 1:-1]
    box += rows[:, 2:]
    sharp = colour.astype(np.float32)
    sharp *= centre
    sharp -= alpha * box.astype(np.float32)
    return _to_uint8(sharp)


@register
class ChannelShuffle(Transform):
    name = "channel_shuffle"
    summary = "Randomly permute the colour channels (grey images are left as they are)."
    family = FAMILY
    example = "- channel_shuffle: {p: 0.1}"
    sixteen_bits = True

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        if shape[2] == 1:
            return {"permutation": [0]}
        return {"permutation": [int(i) for i in rng.permutation(3)]}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        if colour.shape[2] == 1:
            return image.copy()
        return join_alpha(colour[:, :, params["permutation"]], alpha)


@register
class Invert(Transform):
    name = "invert"
    summary = "Invert the colour channels: out = 255 - x (65535 - x at 16 bits)."
    family = FAMILY
    example = "- invert: {p: 0.1}"
    sixteen_bits = True

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        if image.dtype == np.uint16:
            colour, alpha = split_alpha(image)
            return join_alpha(65535 - colour, alpha)
        return lut_apply(image, 255 - np.arange(256, dtype=np.uint8))
