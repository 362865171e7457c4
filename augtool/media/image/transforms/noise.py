"""Noise, blur and quality transforms: they degrade the image the way sensors, optics and codecs do.

All of them act on the colour channels only; an alpha channel passes through unchanged, so a
cut-out keeps its exact outline. Kernels that need many random numbers (the noises) record an
integer ``seed`` and draw from ``PCG64(seed)`` inside ``apply``, which keeps ``apply`` a pure
function of the image and the recorded parameters.
"""

from __future__ import annotations

import io
import math
from statistics import NormalDist
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from augtool.errors import ParamError
from augtool.media.image.codecs import EncodeError, check_encodable
from augtool.media.image.transforms import kernels
from augtool.media.image.transforms.imaging import (
    INTERPOLATIONS,
    RESAMPLE,
    copy_into,
    from_pil,
    join_alpha,
    split_alpha,
)
from augtool.media.image.transforms.imaging import to_pil as _to_pil
from augtool.media.params import Bool, Choice, Param, Range
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "noise"

SEED_BOUND = 2**63


def new_seed(rng: np.random.Generator) -> int:
    """A plain-int seed for the generator that ``apply`` builds."""
    return int(rng.integers(SEED_BOUND))


def seeded(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def to_uint8(values: np.ndarray) -> np.ndarray:
    """Round half to even and clip: the one rounding every float kernel here shares."""
    return np.clip(np.rint(values, out=values), 0, 255, out=values).astype(np.uint8)


def random_bytes(bits: np.random.PCG64, count: int) -> np.ndarray:
    """The next ``count`` bytes of ``bits``' raw 64-bit stream, little-endian on every machine.

    A draw of a multiple of 8 bytes consumes exactly that many, so drawing in chunks gives the
    same bytes as drawing at once.
    """
    words = bits.random_raw(-(-count // 8)).astype("<u8", copy=False)
    return words.view(np.uint8)[:count]


#: The 256 normal quantiles at (i + 0.5) / 256: a uniform random byte picks one, which makes a
#: quantised standard normal, truncated at about +-2.89 (its standard deviation is 0.9975).
NORMAL_QUANTILES = np.array([NormalDist().inv_cdf((i + 0.5) / 256) for i in range(256)])


def to_pil(colour: np.ndarray) -> Image.Image:
    # ``split_alpha`` hands back a strided view for RGBA; Pillow wants contiguous rows.
    return _to_pil(np.ascontiguousarray(colour))


def add_table_noise(
    colour: np.ndarray, drawn: np.ndarray, table: np.ndarray, kernels_name: str | None = None
) -> np.ndarray:
    """``clip(colour + table[drawn], 0, 255)`` for uint8 ``colour`` (H, W, C) and random bytes
    ``drawn`` (H, W, C or 1), in saturating uint8 arithmetic: the table's positive part is added
    and its negative part subtracted, each with saturation, which gives the same bytes as the
    wide sum (only one of the two parts is non-zero per value) at a third of its cost. OpenCV's
    code (``kernels_name``, by default when it is loaded) gives the same bytes."""
    height, width, planes = drawn.shape
    up = np.clip(table, 0, 255).astype(np.uint8)
    down = np.clip(-table, 0, 255).astype(np.uint8)
    channels = colour.shape[2]
    if kernels_name is None:
        kernels_name = "opencv" if kernels.loaded() else "pillow"
    if kernels_name == "opencv" and planes == channels and colour.size:
        # OpenCV's LUT and saturating add and subtract: the same bytes, vectorised.
        cv2 = kernels.opencv()
        flat = np.ascontiguousarray(colour).reshape(height, width * channels)
        lookups = drawn.reshape(height, width * channels)
        raised = cv2.add(flat, cv2.LUT(lookups, up))
        return cv2.subtract(raised, cv2.LUT(lookups, down)).reshape(colour.shape)
    lookup = Image.frombuffer("L", (width * planes, height), drawn, "raw", "L", 0, 1)
    if table.min() >= -BIAS and table.max() < BIAS:
        rise, fall = _rise_and_fall(lookup, table, drawn.shape)
    else:  # a table wider than a byte: one lookup for each part
        rise = copy_into(lookup.point(up.tolist()), np.empty_like(drawn))
        fall = copy_into(lookup.point(down.tolist()), np.empty_like(drawn))
    out = np.invert(colour)  # the headroom above each value
    np.minimum(out, rise, out=out)
    np.add(out, colour, out=out)
    np.subtract(out, np.minimum(out, fall), out=out)
    return out


#: The offset that stores a table value of -128..127 in one byte.
BIAS = 128


def _rise_and_fall(
    lookup: Image.Image, table: np.ndarray, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """``max(table[b], 0)`` and ``max(-table[b], 0)`` of each byte ``b`` of ``lookup``, for a
    table within -128..127: one lookup of ``table + 128`` (a Pillow ``point`` costs about ten
    numpy passes over bytes), split at the bias. The bias is a row of the array's shape, not a
    scalar: numpy's minimum and maximum against a broadcast row are vectorised, against a
    scalar they are ten times slower."""
    biased = copy_into(lookup.point((table + BIAS).tolist()), np.empty(shape, np.uint8))
    bias = np.full(shape[1:], BIAS, np.uint8)
    fall = np.minimum(biased, bias)
    np.subtract(bias, fall, out=fall)
    np.maximum(biased, bias, out=biased)
    np.subtract(biased, bias, out=biased)
    return biased, fall


@register
class GaussianNoise(Transform):
    name = "gaussian_noise"
    summary = (
        "Add Gaussian noise to every pixel (per channel, or one grey plane for all channels); "
        "the noise is a 256-level quantised normal, truncated at about 2.9 std."
    )
    family = FAMILY
    params = (
        Param("std", Range(0, 255), [2.0, 8.0], "standard deviation range, in pixel levels 0-255"),
        Param("mean", Range(-255, 255), [0.0, 0.0], "mean range, in pixel levels"),
        Param(
            "per_channel",
            Bool(),
            True,
            "independent noise per colour channel; false adds the same noise to all channels",
        ),
    )
    example = "- gaussian_noise: {std: [2, 8], p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "std": uniform(rng, self.config["std"]),
            "mean": uniform(rng, self.config["mean"]),
            "per_channel": self.config["per_channel"],
            "seed": new_seed(rng),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        """Add ``table[b]`` to each value, where ``b`` is a uniform random byte from
        ``PCG64(seed)``'s raw stream (one per value, or one per pixel when ``per_channel`` is
        false, in row-major order) and ``table[i] = rint(mean + std * z_i)``, ``z_i`` the normal
        quantile at ``(i + 0.5) / 256``; then clip to 0-255. The noise is thus a quantised normal
        truncated at about +-2.89 std, with a standard deviation of about 0.9975 * std (plus the
        rounding to whole levels). Integer arithmetic only, so the bytes are the same on every
        machine."""
        colour, alpha = split_alpha(image)
        height, width, channels = colour.shape
        planes = channels if params["per_channel"] else 1
        table = np.rint(params["mean"] + params["std"] * NORMAL_QUANTILES).astype(np.int64)
        drawn = random_bytes(np.random.PCG64(params["seed"]), height * width * planes)
        noisy = add_table_noise(colour, drawn.reshape(height, width, planes), table)
        return join_alpha(noisy, alpha)


@register
class SaltPepper(Transform):
    name = "salt_pepper"
    summary = "Set a random fraction of the pixels to white (salt) or black (pepper)."
    family = FAMILY
    params = (
        Param("amount", Range(0, 1), [0.01, 0.06], "fraction of the pixels that are hit"),
        Param(
            "salt_vs_pepper",
            Range(0, 1),
            [0.5, 0.5],
            "fraction of the hit pixels that turn white (the rest turn black)",
        ),
    )
    example = "- salt_pepper: {amount: [0.01, 0.03], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "amount": uniform(rng, self.config["amount"]),
            "salt_vs_pepper": uniform(rng, self.config["salt_vs_pepper"]),
            "seed": new_seed(rng),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        height, width = image.shape[:2]
        # One uniform draw per pixel decides both whether it is hit and which way:
        # [0, salt) is salt, [salt, amount) is pepper, the rest is untouched.
        draw = seeded(params["seed"]).random((height, width), dtype=np.float32)
        amount = params["amount"]
        salt = amount * params["salt_vs_pepper"]
        out = image.copy()
        # Only the hit pixels are indexed (a few percent), not two full-image masks; alpha is
        # never written.
        ys, xs = np.nonzero(draw < amount)
        out[ys, xs, :3] = np.where(draw[ys, xs] < salt, np.uint8(255), np.uint8(0))[:, None]
        return out


@register
class GaussianBlur(Transform):
    name = "gaussian_blur"
    summary = "Blur with a Gaussian kernel of a random standard deviation (sigma, in pixels)."
    family = FAMILY
    params = (
        Param(
            "sigma",
            Range(0, 100),
            [0.5, 1.5],
            "standard deviation range of the kernel, in pixels (0 leaves the image as it is)",
        ),
    )
    example = "- gaussian_blur: {sigma: [0.3, 1.2], p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"sigma": uniform(rng, self.config["sigma"])}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        sigma = params["sigma"]
        if sigma == 0:
            return image.copy()
        colour, alpha = split_alpha(image)
        # Pillow's ``radius`` is the standard deviation (an extended-box approximation in C).
        blurred = to_pil(colour).filter(ImageFilter.GaussianBlur(radius=sigma))
        return join_alpha(from_pil(blurred), alpha)


def odd_values(bounds: list[int]) -> tuple[int, int]:
    """The first odd number in ``bounds`` and how many odd numbers it holds."""
    lo, hi = bounds
    first = lo if lo % 2 else lo + 1
    last = hi if hi % 2 else hi - 1
    return first, max(0, (last - first) // 2 + 1)


def line_taps(k: int, angle: float) -> list[list[int]]:
    """The ``[dy, dx]`` offsets of ``k`` taps on a line through the centre at ``angle`` degrees
    counter-clockwise from the x axis (image y points down, hence the minus)."""
    a = math.radians(angle)
    cos, sin = math.cos(a), math.sin(a)
    half = (k - 1) / 2
    taps = []
    for i in range(k):
        t = i - half
        taps.append([round(-t * sin), round(t * cos)])
    return taps


@register
class MotionBlur(Transform):
    name = "motion_blur"
    summary = "Blur along a straight line of random length and direction, like camera shake."
    family = FAMILY
    params = (
        Param(
            "blur_limit",
            Range(3, 255, integer=True),
            [3, 7],
            "range of the kernel size in pixels; an odd size is drawn from it",
        ),
        Param(
            "angle", Range(-360, 360), [0.0, 360.0], "direction range, degrees counter-clockwise"
        ),
    )
    example = "- motion_blur: {blur_limit: [3, 9], p: 0.3}"

    def check(self, config: dict[str, Any]) -> None:
        if odd_values(config["blur_limit"])[1] == 0:
            lo, hi = config["blur_limit"]
            raise ParamError(f"blur_limit [{lo}, {hi}] must contain an odd kernel size")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        first, count = odd_values(self.config["blur_limit"])
        k = first + 2 * integers(rng, [0, count - 1])
        angle = uniform(rng, self.config["angle"])
        # The taps are recorded so a replay never depends on this machine's sin/cos rounding.
        return {"k": k, "angle": angle, "taps": line_taps(k, angle)}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        taps = params["taps"]
        pad_y = max(abs(dy) for dy, _ in taps)
        pad_x = max(abs(dx) for _, dx in taps)
        padded = np.pad(colour, ((pad_y, pad_y), (pad_x, pad_x), (0, 0)), mode="edge")
        total = np.zeros(colour.shape, dtype=np.float32)
        for dy, dx in taps:
            total += padded[pad_y + dy : pad_y + dy + height, pad_x + dx : pad_x + dx + width]
        total /= np.float32(len(taps))
        return join_alpha(to_uint8(total), alpha)


@register
class JpegCompression(Transform):
    name = "jpeg_compression"
    summary = "Encode as JPEG at a random quality and decode again, keeping the codec's artefacts."
    family = FAMILY
    params = (Param("quality", Range(1, 100, integer=True), [50, 95], "JPEG quality range, 1-100"),)
    example = "- jpeg_compression: {quality: [30, 80], p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"quality": integers(rng, self.config["quality"])}

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        try:
            check_encodable("JPEG", image.shape[0], image.shape[1])
        except EncodeError as exc:
            raise EncodeError(f"jpeg_compression: {exc}") from None
        colour, alpha = split_alpha(image)
        buffer = io.BytesIO()
        # Pillow's default chroma subsampling; optimize only changes the Huffman tables, not pixels.
        to_pil(colour).save(buffer, format="JPEG", quality=params["quality"], optimize=False)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            decoded.load()
            out = from_pil(decoded)
        return join_alpha(out, alpha)


@register
class Downscale(Transform):
    name = "downscale"
    summary = "Shrink by a random factor and enlarge back to the original size, losing detail."
    family = FAMILY
    params = (
        Param("scale", Range(0, 1), [0.25, 0.5], "range of the shrink factor per side, in (0, 1]"),
        Param(
            "interpolation",
            Choice(INTERPOLATIONS),
            "bilinear",
            "resampling filter for both ways (Albumentations uses nearest, which looks blocky)",
        ),
    )
    example = "- downscale: {scale: [0.3, 0.6], interpolation: nearest, p: 0.3}"

    def check(self, config: dict[str, Any]) -> None:
        if config["scale"][0] <= 0:
            raise ParamError("scale must be > 0")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "scale": uniform(rng, self.config["scale"]),
            "interpolation": self.config["interpolation"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        height, width = colour.shape[:2]
        small = (
            max(1, round(width * params["scale"])),
            max(1, round(height * params["scale"])),
        )
        resample = RESAMPLE[params["interpolation"]]
        pil = to_pil(colour).resize(small, resample).resize((width, height), resample)
        return join_alpha(from_pil(pil), alpha)
