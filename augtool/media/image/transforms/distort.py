"""Non-affine warps after Albumentations: ``elastic``, ``grid_distortion``,
``optical_distortion`` and ``piecewise_affine``.

Each is a :data:`~augtool.media.image.transforms.remap.SourceMap` built from its recorded
parameters alone (a random field is recorded as the seed that draws it): the image kernel
resamples through it (:func:`~augtool.media.image.transforms.remap.remap`), and targets move
through its inverse (``move_points``): keypoints and polygon vertices land where their pixels
went, a box becomes the enclosing box of its moved outline, and a mask is resampled with nearest
sampling like the image. These warps keep the image size and never fuse with matrix steps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from augtool.errors import ParamError
from augtool.media.image.transforms.geometric import BORDER, FILL
from augtool.media.image.transforms.remap import (
    REMAP_INTERPOLATIONS,
    SourceMap,
    invert,
    pixel_centres,
    remap,
)
from augtool.media.params import Choice, Float, Int, Param, Range
from augtool.media.transform import (
    Params,
    Shape,
    Transform,
    register,
    uniform,
)

FAMILY = "geometric"
INTERPOLATION = Param(
    "interpolation", Choice(REMAP_INTERPOLATIONS), "bilinear", "resampling filter"
)
Size = tuple[int, int]


class _Warp(Transform):
    """A warp described by :meth:`source` (a map of its params and the image size)."""

    family = FAMILY
    sixteen_bits = True

    @staticmethod
    def source(params: Params, size: Size) -> SourceMap:
        raise NotImplementedError

    @classmethod
    def source_grid(cls, params: Params, size: Size) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`source` at every pixel centre (a warp may compute it faster on the grid)."""
        return cls.source(params, size)(*pixel_centres(size))

    @classmethod
    def apply(cls, image: np.ndarray, params: Params) -> np.ndarray:
        source_x, source_y = cls.source_grid(params, image.shape[:2])
        interpolation, border, fill = params["interpolation"], params["border"], params["fill"]
        return remap(image, source_x, source_y, interpolation, border, fill)

    @classmethod
    def move_points(cls, params: Params, size: Size) -> Any:
        """Where input points (N, 2) land in the output: the inverse of :meth:`source`."""
        source = cls.source(params, size)
        return lambda points: _inverse(cls, source, params, size, points)

    def _common(self) -> Params:
        config = self.config
        return {k: config[k] for k in ("interpolation", "border", "fill")}


def _inverse(
    cls: type[_Warp], source: SourceMap, params: Params, size: Size, points: np.ndarray
) -> np.ndarray:
    exact = getattr(cls, "exact_inverse", None)
    if exact is not None:
        return exact(params, size, points)
    return invert(source, points, size)


# ---- elastic: smooth random displacements -------------------------------------------------

#: Mean of the summed squared weights of a cubic B-spline over one knot interval (151/315): a
#: field interpolated from independent node values has this fraction of their variance per
#: axis.
_BSPLINE_GAIN = 151 / 315


def _bspline(u: np.ndarray, nodes: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Indices (into an array of ``nodes`` nodes, node k at index k + 1) and weights of the
    four cubic B-spline taps at knot coordinates ``u``."""
    base = np.floor(u)
    t = u - base
    weights = [
        (1 - t) ** 3 / 6,
        (3 * t**3 - 6 * t**2 + 4) / 6,
        (-3 * t**3 + 3 * t**2 + 3 * t + 1) / 6,
        t**3 / 6,
    ]
    first = base.astype(np.int64)  # node base - 1 sits at index base
    return [np.clip(first + k, 0, nodes - 1) for k in range(4)], weights


def _field_nodes(params: Params, size: Size) -> tuple[np.ndarray, float]:
    """The two (rows, cols) node grids of the displacement (x, then y) and their spacing."""
    height, width = size
    spacing = float(params["sigma"])
    rows, cols = math.ceil(height / spacing) + 4, math.ceil(width / spacing) + 4
    spread = params["alpha"] / (2 * math.sqrt(3 * math.pi) * spacing) / _BSPLINE_GAIN
    generator = np.random.Generator(np.random.PCG64(params["seed"]))
    return generator.standard_normal((2, rows, cols)) * spread, spacing


@register
class Elastic(_Warp):
    name = "elastic"
    summary = (
        "Move pixels by a smooth random displacement field (Albumentations' "
        "ElasticTransform: alpha scales it, sigma smooths it), keeping the size."
    )
    params = (
        Param(
            "alpha",
            Float(0.0, 10_000.0),
            50.0,
            "strength: the displacement's spread is about alpha / (6.14 sigma) pixels, "
            "as for uniform noise smoothed by a Gaussian of sigma",
        ),
        Param(
            "sigma",
            Float(1.0, 10_000.0),
            5.0,
            "smoothness in pixels: the displacement varies over about this distance",
        ),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- elastic: {alpha: 120, sigma: 6, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        config = self.config
        return {
            "alpha": config["alpha"],
            "sigma": config["sigma"],
            "seed": int(rng.integers(2**63)),
            **self._common(),
        }

    @staticmethod
    def source(params: Params, size: Size) -> SourceMap:
        nodes, spacing = _field_nodes(params, size)

        def read(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            ix, wx = _bspline(np.asarray(x) / spacing, nodes.shape[2])
            iy, wy = _bspline(np.asarray(y) / spacing, nodes.shape[1])
            dx = np.zeros(np.shape(x))
            dy = np.zeros(np.shape(x))
            for a in range(4):
                for b in range(4):
                    weight = wy[a] * wx[b]
                    dx = dx + weight * nodes[0][iy[a], ix[b]]
                    dy = dy + weight * nodes[1][iy[a], ix[b]]
            return x + dx, y + dy

        return read

    @staticmethod
    def source_grid(params: Params, size: Size) -> tuple[np.ndarray, np.ndarray]:
        """The field on the pixel grid, one axis at a time: the same sums as :meth:`source`,
        in 4 + 4 taps instead of 16."""
        nodes, spacing = _field_nodes(params, size)
        height, width = size
        ix, wx = _bspline((np.arange(width) + 0.5) / spacing, nodes.shape[2])
        iy, wy = _bspline((np.arange(height) + 0.5) / spacing, nodes.shape[1])
        along = sum(wx[b] * nodes[:, :, ix[b]] for b in range(4))  # (2, node rows, width)
        field = sum(wy[a][:, None] * along[:, iy[a], :] for a in range(4))  # (2, H, W)
        xs, ys = pixel_centres(size)
        return xs + field[0], ys + field[1]


# ---- grid_distortion: stretched and squeezed grid cells -----------------------------------


def _knots(steps: list[float], length: int) -> tuple[np.ndarray, np.ndarray]:
    """Output knots (even cells) and source knots (cells scaled by ``steps``, normalised to
    span the same ``length``)."""
    cells = np.asarray(steps, dtype=np.float64)
    even = np.linspace(0.0, float(length), len(cells) + 1)
    stretched = np.concatenate([[0.0], np.cumsum(cells)]) * (length / cells.sum())
    stretched[-1] = float(length)
    return even, stretched


@register
class GridDistortion(_Warp):
    name = "grid_distortion"
    summary = (
        "Stretch and squeeze the columns and rows of a grid of cells by random factors "
        "(Albumentations' GridDistortion, normalised: the image edges stay put)."
    )
    params = (
        Param("num_steps", Int(1, 100), 5, "cells across and down"),
        Param(
            "distort_limit",
            Range(-0.99, 0.99, around=0),
            [-0.3, 0.3],
            "range of d: each cell's width (or height) is scaled by 1 + d",
        ),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- grid_distortion: {num_steps: 5, distort_limit: 0.3, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        steps, limit = self.config["num_steps"], self.config["distort_limit"]
        return {
            "xsteps": [1.0 + uniform(rng, limit) for _ in range(steps)],
            "ysteps": [1.0 + uniform(rng, limit) for _ in range(steps)],
            **self._common(),
        }

    @staticmethod
    def source(params: Params, size: Size) -> SourceMap:
        height, width = size
        even_x, bent_x = _knots(params["xsteps"], width)
        even_y, bent_y = _knots(params["ysteps"], height)

        def read(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _extend(x, even_x, bent_x), _extend(y, even_y, bent_y)

        return read

    @classmethod
    def source_grid(cls, params: Params, size: Size) -> tuple[np.ndarray, np.ndarray]:
        """Each axis maps on its own: one row and one column, broadcast."""
        height, width = size
        xs = np.arange(width, dtype=np.float64) + 0.5
        ys = np.arange(height, dtype=np.float64) + 0.5
        sx, sy = cls.source(params, size)(xs, ys)
        return np.broadcast_to(sx, size), np.broadcast_to(sy[:, None], size)

    @staticmethod
    def exact_inverse(params: Params, size: Size, points: np.ndarray) -> np.ndarray:
        """Each axis is a monotone piecewise-linear map: inverted exactly by swapping knots."""
        height, width = size
        even_x, bent_x = _knots(params["xsteps"], width)
        even_y, bent_y = _knots(params["ysteps"], height)
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return np.c_[_extend(points[:, 0], bent_x, even_x), _extend(points[:, 1], bent_y, even_y)]


def _extend(values: np.ndarray, knots: np.ndarray, mapped: np.ndarray) -> np.ndarray:
    """Piecewise-linear interpolation, continued linearly (slope 1) beyond the end knots."""
    values = np.asarray(values, dtype=np.float64)
    out = np.interp(values, knots, mapped)
    out = np.where(values < knots[0], mapped[0] + (values - knots[0]), out)
    return np.where(values > knots[-1], mapped[-1] + (values - knots[-1]), out)


# ---- optical_distortion: a radial lens distortion ------------------------------------------


@register
class OpticalDistortion(_Warp):
    name = "optical_distortion"
    summary = (
        "Bend the image like a lens (radial barrel or pincushion distortion about the centre; "
        "Albumentations' OpticalDistortion, camera model)."
    )
    params = (
        Param(
            "distort_limit",
            Range(-1.0, 1.0, around=0),
            [-0.05, 0.05],
            "range of k: a point at normalised radius r reads from r (1 + k r^2 + k r^4); "
            "k > 0 pulls the edges in (barrel), k < 0 pushes them out (pincushion)",
        ),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- optical_distortion: {distort_limit: 0.3, p: 0.5}"

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        return {"k": uniform(rng, self.config["distort_limit"]), **self._common()}

    @staticmethod
    def source(params: Params, size: Size) -> SourceMap:
        height, width = size
        cx, cy, k = width / 2, height / 2, float(params["k"])

        def read(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # OpenCV's camera model with focal lengths of the image's width and height.
            nx, ny = (np.asarray(x) - cx) / width, (np.asarray(y) - cy) / height
            r2 = nx * nx + ny * ny
            factor = 1 + k * r2 + k * r2 * r2
            return cx + nx * factor * width, cy + ny * factor * height

        return read


# ---- piecewise_affine: a jittered mesh of triangles ----------------------------------------


@register
class PiecewiseAffine(_Warp):
    name = "piecewise_affine"
    summary = (
        "Jitter the points of a regular grid and move each triangle between them by its own "
        "affine map (Albumentations' PiecewiseAffine)."
    )
    params = (
        Param(
            "scale",
            Range(0.0, 0.5),
            [0.03, 0.05],
            "range of the jitter's spread, a fraction of the height (y) and width (x): a "
            "spread is drawn, then each point moves by normal(0, spread)",
        ),
        Param("nb_rows", Int(2, 100), 4, "grid points down, the edges included"),
        Param("nb_cols", Int(2, 100), 4, "grid points across, the edges included"),
        INTERPOLATION,
        BORDER,
        FILL,
    )
    example = "- piecewise_affine: {scale: [0.02, 0.04], nb_rows: 5, nb_cols: 5, p: 0.3}"

    def check(self, config: dict[str, Any]) -> None:
        if config["nb_rows"] * config["nb_cols"] > 2500:
            raise ParamError("nb_rows * nb_cols must be at most 2500 (the jitter is recorded)")

    def sample(self, rng: np.random.Generator, shape: Shape) -> Params:
        height, width = shape[:2]
        spread = uniform(rng, self.config["scale"])
        rows, cols = self.config["nb_rows"], self.config["nb_cols"]
        jitter = rng.normal(0.0, spread, (rows, cols, 2)) * (width, height)
        points = [[[float(v) for v in point] for point in row] for row in jitter]
        return {"jitter": points, **self._common()}

    @staticmethod
    def source(params: Params, size: Size) -> SourceMap:
        height, width = size
        jitter = np.asarray(params["jitter"], dtype=np.float64)
        rows, cols = jitter.shape[:2]
        cell_w, cell_h = width / (cols - 1), height / (rows - 1)

        def read(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            u, v = np.asarray(x) / cell_w, np.asarray(y) / cell_h
            j = np.clip(np.floor(u), 0, cols - 2).astype(np.int64)
            i = np.clip(np.floor(v), 0, rows - 2).astype(np.int64)
            s, t = u - j, v - i
            a, b, c, d = jitter[i, j], jitter[i, j + 1], jitter[i + 1, j], jitter[i + 1, j + 1]
            lower = (s + t <= 1)[..., None]
            s, t = s[..., None], t[..., None]
            # Each cell is two triangles split by its anti-diagonal; linear on each.
            moved = np.where(
                lower, a + s * (b - a) + t * (c - a), d + (1 - s) * (c - d) + (1 - t) * (b - d)
            )
            return x + moved[..., 0], y + moved[..., 1]

        return read
