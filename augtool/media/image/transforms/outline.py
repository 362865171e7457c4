"""Polygons to pixels and back, exactly: what ``copy_paste`` pastes and what is left of an
object it covers.

:func:`fill` takes the pixels whose centre lies inside a polygon (even-odd, the rule COCO's
tools rasterise by; the parts of one object are joined). :func:`outline` goes the other way:
one polygon along the pixel edges of a set of pixels whose :func:`fill` is that set again, holes
and separate pieces included. Its loops are joined by zero-width bridges, each drawn there and
back, which cancel under the even-odd rule; the outer loops turn one way and the holes the
other, so the shoelace area of the polygon is the pixel count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Window = tuple[int, int, int, int]  # left, top, right, bottom (pixels)


def window_of(parts: Sequence[np.ndarray], size: tuple[int, int]) -> Window:
    """The pixels the points of ``parts`` span, within an image of ``size`` (height, width)."""
    height, width = size
    points = np.concatenate([np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in parts])
    left = min(max(math.floor(float(points[:, 0].min())), 0), width)
    top = min(max(math.floor(float(points[:, 1].min())), 0), height)
    right = max(min(math.ceil(float(points[:, 0].max())), width), left)
    bottom = max(min(math.ceil(float(points[:, 1].max())), height), top)
    return left, top, right, bottom


def fill(parts: Sequence[np.ndarray], window: Window) -> np.ndarray:
    """(bottom - top, right - left) bool: the pixels of ``window`` whose centre is inside one
    of ``parts`` ((K, 2) x, y pixel-edge vertices, even-odd)."""
    left, top, right, bottom = window
    inside = np.zeros((bottom - top, right - left), dtype=bool)
    if inside.size == 0:
        return inside
    centres = np.arange(top, bottom, dtype=np.float64) + 0.5
    for part in parts:
        points = np.asarray(part, dtype=np.float64).reshape(-1, 2)
        if len(points) < 3:
            continue
        inside |= _even_odd(points, centres, left, right)
    return inside


def _even_odd(points: np.ndarray, centres: np.ndarray, left: int, right: int) -> np.ndarray:
    start, end = points, np.roll(points, -1, axis=0)
    # Each edge taken downwards: an edge drawn there and back crosses a row at the same x.
    down = start[:, 1] > end[:, 1]
    start, end = np.where(down[:, None], end, start), np.where(down[:, None], start, end)
    y0, y1 = start[:, 1][None, :], end[:, 1][None, :]
    rows = centres[:, None]
    # Half-open in y: a vertex on a row's centre line counts once, a horizontal edge never.
    crosses = (np.minimum(y0, y1) <= rows) & (rows < np.maximum(y0, y1))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (rows - y0) / (y1 - y0)
    x = start[:, 0][None, :] + t * (end[:, 0] - start[:, 0])[None, :]
    row_index, edge_index = np.nonzero(crosses)
    # A pixel is inside when an odd number of crossings lie at or left of its centre.
    first = np.ceil(x[row_index, edge_index] - 0.5).astype(np.int64) - left
    first = np.clip(first, 0, right - left)
    toggles = np.zeros((len(centres), right - left + 1), dtype=np.int64)
    np.add.at(toggles, (row_index, first), 1)
    return (np.cumsum(toggles, axis=1)[:, : right - left] % 2) == 1


def outline(pixels: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """(K, 2) float vertices of one polygon along the pixel edges of ``pixels`` (an (H, W)
    bool array whose top-left pixel is at ``origin`` = (x, y)); (0, 2) when it has none."""
    loops = [_simplified(loop) for loop in _loops(pixels)]
    if not loops:
        return np.zeros((0, 2))
    anchor = loops[0][0]
    chain = list(loops[0])
    for loop in loops[1:]:
        chain += [anchor, *loop, loop[0]]
    return np.array(chain, dtype=np.float64) + np.array(origin, dtype=np.float64)


def _loops(pixels: np.ndarray) -> list[list[tuple[int, int]]]:
    """The boundary of ``pixels`` as closed loops of pixel-edge vertices: outer boundaries
    clockwise on screen (y down), holes the other way."""
    padded = np.pad(np.asarray(pixels, dtype=bool), 1)
    body = padded[1:-1, 1:-1]
    edges: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # (neighbour offset, edge start, edge end) for each side of a pixel at (x, y).
    sides = (
        ((-1, 0), (0, 0), (1, 0)),  # top: left to right
        ((0, 1), (1, 0), (1, 1)),  # right: top to bottom
        ((1, 0), (1, 1), (0, 1)),  # bottom: right to left
        ((0, -1), (0, 1), (0, 0)),  # left: bottom to top
    )
    height, width = body.shape
    for (dy, dx), (sx, sy), (ex, ey) in sides:
        neighbour = padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
        ys, xs = np.nonzero(body & ~neighbour)
        for y, x in zip(ys.tolist(), xs.tolist(), strict=True):
            edges.setdefault((x + sx, y + sy), []).append((x + ex, y + ey))
    loops = []
    for start in sorted(edges):
        while edges[start]:
            loop = [start]
            here = edges[start].pop()
            while here != start:
                loop.append(here)
                here = edges[here].pop()
            loops.append(loop)
    return loops


def _simplified(loop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``loop`` without the vertices that lie on a straight run."""
    kept = []
    count = len(loop)
    for index, (x, y) in enumerate(loop):
        px, py = loop[index - 1]
        nx, ny = loop[(index + 1) % count]
        if (x - px) * (ny - y) - (y - py) * (nx - x) != 0:
            kept.append((x, y))
    return kept or loop[:1]


__all__ = ["Window", "fill", "outline", "window_of"]
