"""Neighbourhood filters of the ``color`` family: local contrast (CLAHE), unsharp masking and
embossing. They read a pixel's neighbours but move nothing, so labels stay where they are; an
alpha channel is never changed. Edges are extended by reflection (OpenCV's default border,
``BORDER_REFLECT_101``), as in Albumentations.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from augtool.errors import ParamError
from augtool.media.image.transforms.color import row_tiles
from augtool.media.image.transforms.imaging import from_pil, join_alpha, split_alpha
from augtool.media.image.transforms.noise import odd_values, to_pil, to_uint8
from augtool.media.params import Param, Range, Size
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    integers,
    register,
    uniform,
)

FAMILY = "color"


@register
class Clahe(Transform):
    name = "clahe"
    summary = (
        "Equalise contrast locally, tile by tile, with a clipped histogram (CLAHE, as OpenCV's), "
        "on the luma of a colour image."
    )
    family = FAMILY
    params = (
        Param(
            "clip_limit",
            Range(1, 100),
            [1.0, 4.0],
            "range of the contrast limit: a histogram bin is clipped at this many times the "
            "mean bin (1 leaves little change, larger gives more contrast)",
        ),
        Param(
            "tile_grid_size",
            Size(),
            [8, 8],
            "how many tiles the image is cut into, [rows, columns]",
        ),
    )
    example = "- clahe: {clip_limit: [1, 4], tile_grid_size: [8, 8], p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "clip_limit": uniform(rng, self.config["clip_limit"]),
            "tile_grid_size": self.config["tile_grid_size"],
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        grid = params["tile_grid_size"]
        if colour.shape[2] == 1:
            return clahe_plane(colour[:, :, 0], params["clip_limit"], grid)[:, :, None]
        # Luma through Pillow's YCbCr (exact C code), so the hue is kept.
        ycbcr = np.array(to_pil(colour).convert("YCbCr"))
        ycbcr[:, :, 0] = clahe_plane(ycbcr[:, :, 0], params["clip_limit"], grid)
        rgb = from_pil(Image.fromarray(ycbcr, "YCbCr").convert("RGB"))
        return join_alpha(rgb, alpha)


def clahe_plane(plane: np.ndarray, clip_limit: float, grid: list[int]) -> np.ndarray:
    """CLAHE of one uint8 (H, W) plane, OpenCV's algorithm: per tile a histogram clipped at
    ``max(1, clip_limit * tile_pixels / 256)`` with the excess spread over every bin, its
    cumulative sum as a table, and every pixel looked up in the four nearest tiles' tables,
    bilinearly weighted by the distance to their centres. Tiles split the image as evenly as
    whole pixels allow (OpenCV pads the image instead)."""
    height, width = plane.shape
    rows, cols = min(grid[0], height), min(grid[1], width)
    if height == 0 or width == 0:
        return plane.copy()
    ys = np.linspace(0, height, rows + 1).round().astype(int)
    xs = np.linspace(0, width, cols + 1).round().astype(int)
    luts = np.empty((rows, cols, 256), dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            tile = plane[ys[r] : ys[r + 1], xs[c] : xs[c + 1]]
            luts[r, c] = _tile_lut(tile, clip_limit)
    y0, y1, wy = _neighbours(ys, height)
    x0, x1, wx = _neighbours(xs, width)
    out = np.empty_like(plane)
    # Row tiles keep the four float gathers small on a large image.
    for band in row_tiles(plane[:, :, None]):
        values = plane[band]
        a, b = y0[band, None], y1[band, None]
        top = luts[a, x0, values] * (1 - wx) + luts[a, x1, values] * wx
        bottom = luts[b, x0, values] * (1 - wx) + luts[b, x1, values] * wx
        w = wy[band, None]
        out[band] = to_uint8(top * (1 - w) + bottom * w)
    return out


def _tile_lut(tile: np.ndarray, clip_limit: float) -> np.ndarray:
    count = tile.size
    hist = np.bincount(tile.ravel(), minlength=256).astype(np.int64)
    limit = max(1, int(clip_limit * count / 256))
    excess = int(np.clip(hist - limit, 0, None).sum())
    hist = np.minimum(hist, limit)
    # The excess is spread evenly; what does not divide goes one by one at an even stride.
    hist += excess // 256
    residual = excess % 256
    if residual:
        stride = max(256 // residual, 1)
        hist[::stride][:residual] += 1
    return np.clip(np.rint(np.cumsum(hist) * (255.0 / count)), 0, 255).astype(np.float32)


def _neighbours(edges: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each pixel along one axis: the tiles before and after its position among the tile
    centres, and its weight towards the second (clamped at the outer half tiles)."""
    centres = (edges[:-1] + edges[1:]) / 2.0
    position = np.arange(length) + 0.5
    after = np.clip(np.searchsorted(centres, position, side="right"), 1, len(centres) - 1)
    if len(centres) == 1:
        zeros = np.zeros(length, dtype=np.intp)
        return zeros, zeros, np.zeros(length, dtype=np.float32)
    before = after - 1
    span = centres[after] - centres[before]
    weight = np.clip((position - centres[before]) / span, 0.0, 1.0)
    return before, after, weight.astype(np.float32)


def opencv_sigma(ksize: int) -> float:
    """The standard deviation OpenCV derives from a Gaussian kernel size when none is given."""
    return 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8


@register
class UnsharpMask(Transform):
    name = "unsharp_mask"
    summary = (
        "Sharpen by adding back the difference from a Gaussian blur where it exceeds a "
        "threshold (Pillow's UnsharpMask, Albumentations' parameter names)."
    )
    family = FAMILY
    params = (
        Param(
            "blur_limit",
            Range(3, 255, integer=True),
            [3, 7],
            "range of the Gaussian kernel size; an odd size is drawn, and sets sigma when "
            "sigma_limit is 0",
        ),
        Param(
            "sigma_limit",
            Range(0, 100),
            [0.0, 0.0],
            "range of the Gaussian's standard deviation in pixels; 0 derives it from the "
            "kernel size as OpenCV does",
        ),
        Param(
            "alpha",
            Range(0, 5),
            [0.2, 0.5],
            "range of the strength: how much of the difference is added (1 adds all of it)",
        ),
        Param(
            "threshold",
            Range(0, 255, integer=True),
            [10, 10],
            "levels a pixel must differ from its blur by before it is sharpened",
        ),
    )
    example = "- unsharp_mask: {blur_limit: [3, 7], alpha: [0.2, 0.5], threshold: 10, p: 0.3}"

    def check(self, config: dict[str, Any]) -> None:
        if odd_values(config["blur_limit"])[1] == 0:
            lo, hi = config["blur_limit"]
            raise ParamError(f"blur_limit [{lo}, {hi}] must contain an odd kernel size")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        first, count = odd_values(self.config["blur_limit"])
        ksize = first + 2 * integers(rng, [0, count - 1])
        sigma = uniform(rng, self.config["sigma_limit"])
        return {
            "sigma": sigma if sigma > 0 else opencv_sigma(ksize),
            "alpha": uniform(rng, self.config["alpha"]),
            "threshold": integers(rng, self.config["threshold"]),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        percent = round(params["alpha"] * 100)
        if percent == 0:
            return image.copy()
        sharp = ImageFilter.UnsharpMask(params["sigma"], percent, params["threshold"])
        return join_alpha(from_pil(to_pil(colour).filter(sharp)), alpha)


#: The 3x3 offsets in row-major order, as the kernels below are written.
_TAPS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def emboss_kernel(alpha: float, strength: float) -> np.ndarray:
    """Albumentations' Emboss kernel: the identity blended with a relief kernel (it sums to 1,
    so flat areas keep their value)."""
    identity = np.zeros((3, 3))
    identity[1, 1] = 1.0
    s = strength
    relief = np.array([[-1 - s, -s, 0.0], [-s, 1.0, s], [0.0, s, 1 + s]])
    return (1 - alpha) * identity + alpha * relief


@register
class Emboss(Transform):
    name = "emboss"
    summary = (
        "Emboss: light edges from one diagonal side and shade the other, blended with the image."
    )
    family = FAMILY
    params = (
        Param(
            "alpha",
            Range(0, 1),
            [0.2, 0.5],
            "visibility of the embossed image: 0 keeps the image, 1 is fully embossed",
        ),
        Param("strength", Range(0, 10), [0.2, 0.7], "strength range of the relief"),
    )
    example = "- emboss: {alpha: [0.2, 0.5], strength: [0.2, 0.7], p: 0.3}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {
            "alpha": uniform(rng, self.config["alpha"]),
            "strength": uniform(rng, self.config["strength"]),
        }

    @staticmethod
    def apply(image: np.ndarray, params: Params) -> np.ndarray:
        colour, alpha = split_alpha(image)
        return join_alpha(
            convolve3x3(colour, emboss_kernel(params["alpha"], params["strength"])), alpha
        )


def convolve3x3(colour: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Correlate each channel with a 3x3 ``kernel`` (OpenCV's filter2D), reflecting at the edges
    without repeating the edge pixel (a one-pixel side repeats it), rounded to uint8. Row tiles
    keep the float sums small."""
    height, width = colour.shape[:2]
    out = np.empty_like(colour)
    for rows in row_tiles(colour):
        index = _reflect_101(np.arange(rows.start - 1, rows.stop + 1), height)
        padded = colour[index][:, _reflect_101(np.arange(-1, width + 1), width)]
        padded = padded.astype(np.float32)
        count = rows.stop - rows.start
        total = np.zeros((count, width, colour.shape[2]), dtype=np.float32)
        for (dy, dx), weight in zip(_TAPS, kernel.ravel(), strict=True):
            total += np.float32(weight) * padded[1 + dy : 1 + dy + count, 1 + dx : 1 + dx + width]
        out[rows] = to_uint8(total)
    return out


def _reflect_101(index: np.ndarray, length: int) -> np.ndarray:
    """Indices one step outside [0, length) reflected about the edge pixel (-1 is 1)."""
    if length == 1:
        return np.zeros_like(index)
    index = np.where(index < 0, -index, index)
    return np.where(index >= length, 2 * (length - 1) - index, index)
