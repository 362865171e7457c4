"""Resampling through a per-pixel map, for the warps no matrix describes (``elastic``,
``grid_distortion``, ``optical_distortion``, ``piecewise_affine``), and moving points through
such a map.

A warp is a function ``source(x, y)``: where, in the input, the output point (x, y) reads from
(pixel-edge coordinates, as everywhere in augtool). The image kernel evaluates it at the output
pixels' centres and samples there (:func:`remap`); targets need the other direction, the output
point that reads from a given input point, which :func:`invert` finds by fixed-point iteration
(exact for a field that does not fold: one whose displacement changes by less than a pixel per
pixel).

The sampling is numpy's own elementwise arithmetic in float64, whatever the recipe's
``kernels``, so its bytes depend on numpy only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from augtool.media.image.transforms.imaging import sample_fill

#: Where output points read from: (x, y) arrays in, (source x, source y) arrays out.
SourceMap = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
REMAP_INTERPOLATIONS = ("nearest", "bilinear")


def _border_index(index: np.ndarray, length: int, border: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices into a side of ``length`` for ``border``, and which of them lie inside (all,
    but for the constant border, whose outside reads the fill)."""
    inside = (index >= 0) & (index < length)
    if border == "constant" or border == "replicate":
        return np.clip(index, 0, length - 1), (inside if border == "constant" else None)
    if border == "wrap":
        return np.mod(index, length), None
    if length == 1:  # reflecting a single pixel gives it again (numpy's reflect padding)
        return np.zeros_like(index), None
    period = 2 * length - 2  # reflect-101: the edge pixel is not repeated
    folded = np.mod(np.abs(index), period)
    return np.where(folded >= length, period - folded, folded), None


def remap(
    image: np.ndarray,
    source_x: np.ndarray,
    source_y: np.ndarray,
    interpolation: str,
    border: str,
    fill: int | list[int],
) -> np.ndarray:
    """``image`` sampled at the (H, W) pixel-edge coordinates ``source_x``, ``source_y`` (one
    pair per output pixel), each channel on its own, rounded back to the image's dtype. The
    weights and sums are float32: exact to well under a level for 8 and 16 bits."""
    height, width, channels = image.shape
    fx = np.asarray(source_x, dtype=np.float64).ravel() - 0.5  # centres at whole numbers
    fy = np.asarray(source_y, dtype=np.float64).ravel() - 0.5
    if interpolation == "nearest":
        columns = [(np.floor(fx + 0.5).astype(np.int64), None)]
        rows = [(np.floor(fy + 0.5).astype(np.int64), None)]
    else:
        x0, y0 = np.floor(fx), np.floor(fy)
        tx, ty = (fx - x0).astype(np.float32), (fy - y0).astype(np.float32)
        left, top = x0.astype(np.int64), y0.astype(np.int64)
        columns = [(left, 1 - tx), (left + 1, tx)]
        rows = [(top, 1 - ty), (top + 1, ty)]
    columns = [(*_border_index(index, width, border), weight) for index, weight in columns]
    rows = [(*_border_index(index, height, border), weight) for index, weight in rows]
    pixels = image.reshape(-1, channels)
    out = np.zeros((fx.size, channels), dtype=np.float32)
    outside = np.zeros(fx.size, dtype=np.float32)  # weight that reads the fill colour
    for iy, inside_y, wy in rows:
        for ix, inside_x, wx in columns:
            weight = _product(wx, wy, fx.size)
            if inside_x is not None and inside_y is not None:
                inside = inside_x & inside_y
                outside += np.where(inside, 0, weight)
                weight = np.where(inside, weight, 0).astype(np.float32)
            out += pixels[iy * width + ix] * weight[:, None]
    if border == "constant":
        colour = np.array(sample_fill(fill, channels, image.dtype), dtype=np.float32)
        out += outside[:, None] * colour
    top_value = float(np.iinfo(image.dtype).max)
    result = np.clip(np.rint(out), 0, top_value).astype(image.dtype)
    return result.reshape(*np.shape(source_x), channels)


def _product(wx: np.ndarray | None, wy: np.ndarray | None, size: int) -> np.ndarray:
    """The weight of one tap: the product of its axes' weights (1 for nearest)."""
    if wx is None or wy is None:
        return np.ones(size, dtype=np.float32)
    return wx * wy


def pixel_centres(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of every pixel centre of an image of ``size`` = (height, width), as (H, W)."""
    height, width = size
    xs = np.arange(width, dtype=np.float64) + 0.5
    ys = np.arange(height, dtype=np.float64) + 0.5
    return np.broadcast_to(xs, (height, width)), np.broadcast_to(ys[:, None], (height, width))


#: Fixed-point iterations for :func:`invert`: a field that does not fold contracts at least
#: geometrically; the loop stops earlier once every point is within ``INVERT_TOLERANCE`` px.
INVERT_STEPS = 100
INVERT_TOLERANCE = 1e-6


def invert(source: SourceMap, points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """For each input point (N, 2), the output point that reads from it: p with source(p) = q,
    found by iterating p <- p + (q - source(p)).

    A point no output pixel reads from (a pincushion pushes the corners out of view) has no
    such p: its iterates run outward and are held at a canvas's width or height beyond the
    image (``size`` = (height, width)), so it lands outside, as what left the view does."""
    targets = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if not len(targets):
        return targets.copy()
    height, width = size
    low, high = np.array([-width, -height], float), np.array([2 * width, 2 * height], float)
    found = np.clip(targets, low, high)
    for _ in range(INVERT_STEPS):
        sx, sy = source(found[:, 0], found[:, 1])
        error = targets - np.c_[sx, sy]
        found = np.clip(found + error, low, high)
        if np.abs(error).max() < INVERT_TOLERANCE:
            break
    return found


#: Longest step, in pixels, between the points a polygon edge is followed at through a curved
#: map, and the most points an edge gets.
POLYGON_STEP = 4.0
POLYGON_EDGE_POINTS = 64


def densified(polygon: np.ndarray) -> np.ndarray:
    """``polygon`` with points added along each edge, at most :data:`POLYGON_STEP` apart (up to
    :data:`POLYGON_EDGE_POINTS` an edge): a curved map bends the edges, not only the corners."""
    if len(polygon) < 2:
        return polygon
    ends = np.roll(polygon, -1, axis=0)
    lengths = np.hypot(*(ends - polygon).T)
    counts = np.clip(np.ceil(lengths / POLYGON_STEP), 1, POLYGON_EDGE_POINTS).astype(int)
    pieces = [
        start + (end - start) * (np.arange(count)[:, None] / count)
        for start, end, count in zip(polygon, ends, counts, strict=True)
    ]
    return np.concatenate(pieces)
