"""Oriented boxes (four corners) that the image border cut: back to four corners.

A moved oriented box is moved as its four corners, exactly; when the border cuts it, what is
left in view is a polygon of three to eight corners, which the format cannot hold. It is written
as the smallest rectangle that holds that polygon and lies inside the image (so every coordinate
stays within [0, 1], which Ultralytics requires), chosen among the rectangles with a side along
one of the polygon's edges, as in rotating calipers. The polygon has an edge on the border that
cut it, so its axis-aligned box, inside the image, is always one of them.
"""

from __future__ import annotations

import numpy as np

#: How far (pixels) a rectangle's corner may lie outside the image, for rounding.
SLACK = 1e-6


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain: the hull's vertices, counter-clockwise (in y-up terms), without
    repeated points."""
    unique = np.unique(np.asarray(points, dtype=np.float64).reshape(-1, 2), axis=0)
    if len(unique) < 3:
        return unique

    def cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
        return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))

    lower: list[np.ndarray] = []
    for point in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], point) <= 0:
            lower.pop()
        lower.append(point)
    upper: list[np.ndarray] = []
    for point in unique[::-1]:
        while len(upper) >= 2 and cross(upper[-2], upper[-1], point) <= 0:
            upper.pop()
        upper.append(point)
    return np.array(lower[:-1] + upper[:-1])


def enclosing_rectangle(polygon: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Four corners (4, 2) of the smallest rectangle inside the ``size`` = (height, width) image
    that holds ``polygon``, turning the same way as ``polygon`` and starting at the corner
    nearest its first vertex."""
    height, width = size
    points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    hull = convex_hull(points)
    best: tuple[float, np.ndarray] | None = None
    for index in range(len(hull)):
        edge = hull[(index + 1) % len(hull)] - hull[index]
        length = float(np.hypot(*edge))
        if length == 0.0:
            continue
        corners = _rectangle_along(hull, edge / length)
        inside = (
            corners[:, 0].min() >= -SLACK
            and corners[:, 1].min() >= -SLACK
            and corners[:, 0].max() <= width + SLACK
            and corners[:, 1].max() <= height + SLACK
        )
        area = _area(corners)
        if inside and (best is None or area < best[0] - SLACK):
            best = (area, corners)
    if best is None:  # a hull too thin for any edge: its axis-aligned box
        best = (0.0, _rectangle_along(points, np.array([1.0, 0.0])))
    corners = np.clip(best[1], 0.0, [width, height])
    if _signed_area(corners) * _signed_area(points) < 0:
        corners = corners[::-1]
    start = int(np.argmin(np.hypot(*(corners - points[0]).T)))
    return np.roll(corners, -start, axis=0)


def _rectangle_along(points: np.ndarray, direction: np.ndarray) -> np.ndarray:
    normal = np.array([-direction[1], direction[0]])
    along, across = points @ direction, points @ normal
    lo_a, hi_a, lo_n, hi_n = along.min(), along.max(), across.min(), across.max()
    return np.array(
        [
            lo_a * direction + lo_n * normal,
            hi_a * direction + lo_n * normal,
            hi_a * direction + hi_n * normal,
            lo_a * direction + hi_n * normal,
        ]
    )


def _signed_area(points: np.ndarray) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


def _area(corners: np.ndarray) -> float:
    return abs(_signed_area(corners))
