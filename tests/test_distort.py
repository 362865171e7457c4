"""The curved warps (elastic, grid_distortion, optical_distortion, piecewise_affine): a small
coloured square's keypoint, box and mask, and a large one's polygon (its edges bent too),
follow its pixels through the same map the kernel samples, and each warp's own promises
(identity at zero, edges, lens direction, spread)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import coloured, grown, painted, random_pixels

from augtool.media.image.targets import Targets, apply_targets, point_map
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.outline import fill
from augtool.media.image.transforms.remap import remap

RED = (220, 30, 40)
SIZE = (72, 96)
#: Strong warps that do not fold (the displacement changes by under a pixel per pixel).
STRONG = {
    "elastic": {"alpha": 150, "sigma": 12},
    "grid_distortion": {"num_steps": 4, "distort_limit": 0.5},
    "optical_distortion": {"distort_limit": [-0.6, 0.6]},
    "piecewise_affine": {"scale": [0.03, 0.05]},
}
WARPS = sorted(STRONG)
#: The zero of each warp: a config whose map is the identity.
STILL = {
    "elastic": {"alpha": 0},
    "grid_distortion": {"distort_limit": 0},
    "optical_distortion": {"distort_limit": 0},
    "piecewise_affine": {"scale": 0},
}


def _warped(name: str, seed: int, square: tuple[int, int, int, int], interpolation: str):
    step = REGISTRY[name](**STRONG[name], interpolation=interpolation)
    params = step.sample(np.random.default_rng(seed), (*SIZE, 3))
    image = painted(SIZE, square, RED)
    x0, y0, x1, y1 = square
    mask = np.zeros(SIZE, np.uint8)
    mask[y0:y1, x0:x1] = 3
    targets = Targets(
        SIZE,
        boxes=[square],
        keypoints=[[[(x0 + x1) / 2, (y0 + y1) / 2, 2]]],
        mask=mask,
    )
    record = {"name": name, "fired": True, "params": params}
    return step.apply(image, params), apply_targets([record], targets)


@pytest.mark.parametrize("name", WARPS)
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_a_square_s_keypoint_box_and_mask_follow_its_pixels(
    name: str, seed: int, interpolation: str
) -> None:
    for corner in [(20, 15), (44, 30), (70, 50)]:
        square = (*corner, corner[0] + 5, corner[1] + 5)
        out, moved = _warped(name, seed, square, interpolation)
        lit = coloured(out, RED, tolerance=60 if interpolation == "bilinear" else 1)
        assert lit.any()
        rows, cols = np.nonzero(lit)
        centroid = np.array([cols.mean() + 0.5, rows.mean() + 0.5])
        keypoint = moved.keypoints[0][0]
        assert keypoint[2] == 2
        assert np.hypot(*(centroid - keypoint[:2])) <= 1.0, (centroid, keypoint)
        found = np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1])
        assert np.abs(found - moved.boxes[0]).max() <= 1.5, (found, moved.boxes[0])
        if interpolation == "nearest":
            # The mask is the same kernel with nearest sampling: the same pixels, exactly.
            assert np.array_equal(moved.mask == 3, coloured(out, RED, tolerance=1))


@pytest.mark.parametrize("name", WARPS)
@pytest.mark.parametrize("seed", range(4))
def test_a_large_polygon_s_edges_bend_with_its_pixels(name: str, seed: int) -> None:
    # A rectangle over most of the image: a warp bows its edges by pixels between the corners.
    x0, y0, x1, y1 = square = (12, 10, 84, 62)
    step = REGISTRY[name](**STRONG[name], interpolation="nearest")
    params = step.sample(np.random.default_rng(seed), (*SIZE, 3))
    targets = Targets(SIZE, polygons=[[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]])
    record = {"name": name, "fired": True, "params": params}
    (polygon,) = apply_targets([record], targets).polygons
    lit = coloured(step.apply(painted(SIZE, square, RED), params), RED, tolerance=1)
    filled = fill([polygon], (0, 0, SIZE[1], SIZE[0]))
    assert not (lit & ~grown(filled)).any() and not (filled & ~grown(lit)).any()


@pytest.mark.parametrize("name", WARPS)
def test_points_moved_read_back_where_they_came_from(name: str) -> None:
    step = REGISTRY[name](**STRONG[name])
    params = step.sample(np.random.default_rng(5), (*SIZE, 3))
    points = np.random.default_rng(0).uniform(0, [SIZE[1], SIZE[0]], (200, 2))
    mapping, size = point_map(name, params, SIZE)
    assert size == SIZE
    moved = mapping(points)
    # A pincushion pushes the corners out of view: those points have no place in the output.
    shown = np.all((moved >= 0) & (moved <= [SIZE[1], SIZE[0]]), axis=1)
    assert shown.mean() > 0.8
    sx, sy = type(step).source(params, SIZE)(moved[shown, 0], moved[shown, 1])
    assert np.abs(np.c_[sx, sy] - points[shown]).max() < 1e-4
    assert np.abs(moved - points).max() > 1.0  # it did move them


def test_a_point_a_pincushion_pushes_out_of_view_lands_outside() -> None:
    params = {"k": -0.4, "interpolation": "bilinear", "border": "constant", "fill": 0}
    mapping, _ = point_map("optical_distortion", params, (40, 60))
    corner = mapping(np.array([[59.0, 39.0], [1.0, 1.0]]))
    assert np.all(np.isfinite(corner))
    assert np.all((corner[:, 0] > 60) | (corner[:, 1] > 40) | (corner < 0).any(axis=1))
    moved = apply_targets(
        [{"name": "optical_distortion", "fired": True, "params": params}],
        Targets((40, 60), keypoints=[[[59.0, 39.0, 2], [30.0, 20.0, 2]]]),
    )
    assert moved.keypoints[0][:, 2].tolist() == [0, 2]


@pytest.mark.parametrize("name", WARPS)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_a_warp_at_its_zero_is_the_identity(name: str, channels: int) -> None:
    image = random_pixels((13, 17, channels))
    step = REGISTRY[name](**STILL[name])
    out = step.apply(image, step.sample(np.random.default_rng(0), image.shape))
    assert np.array_equal(out, image)


def test_grid_distortion_keeps_the_edges_and_moves_the_inside() -> None:
    step = REGISTRY["grid_distortion"](distort_limit=0.5)
    params = step.sample(np.random.default_rng(2), (40, 60, 3))
    source = type(step).source(params, (40, 60))
    sx, sy = source(np.array([0.0, 60.0, 30.0]), np.array([0.0, 40.0, 20.0]))
    assert sx[:2].tolist() == [0.0, 60.0] and sy[:2].tolist() == [0.0, 40.0]
    assert abs(sx[2] - 30) > 0.1 or abs(sy[2] - 20) > 0.1


@pytest.mark.parametrize(("k", "inward"), [(0.4, True), (-0.4, False)])
def test_optical_distortion_barrel_pulls_the_edges_in(k: float, inward: bool) -> None:
    params = {"k": k, "interpolation": "bilinear", "border": "constant", "fill": 0}
    mapping, _ = point_map("optical_distortion", params, (40, 60))
    corner = mapping(np.array([[55.0, 36.0]]))[0]
    centre = np.array([30.0, 20.0])
    closer = np.hypot(*(corner - centre)) < np.hypot(*(np.array([55.0, 36.0]) - centre))
    assert closer == inward
    assert np.allclose(mapping(centre[None])[0], centre)


@pytest.mark.parametrize("border", ["constant", "reflect", "replicate", "wrap"])
def test_borders_fill_what_a_barrel_reads_outside(border: str) -> None:
    image = np.full((30, 40, 3), 200, np.uint8)
    params = {"k": 0.8, "interpolation": "nearest", "border": border, "fill": 7}
    out = REGISTRY["optical_distortion"].apply(image, params)
    assert np.all(out[0, 0] == (7 if border == "constant" else 200))
    assert np.all(out[15, 20] == 200)


def test_elastic_spread_follows_alpha_over_sigma() -> None:
    size = (200, 200)
    params = {"alpha": 614.0, "sigma": 10.0, "seed": 3}
    xs, ys = np.meshgrid(np.arange(200) + 0.5, np.arange(200) + 0.5)
    sx, _ = REGISTRY["elastic"].source(params, size)(xs, ys)
    assert np.std(sx - xs) == pytest.approx(10.0, rel=0.35)  # alpha / (6.14 sigma)


def test_remap_bilinear_blends_and_constant_border_blends_with_the_fill() -> None:
    image = np.array([[[0], [100]]], dtype=np.uint8)  # 1 x 2
    xs = np.array([[1.0, 1.5, 2.0]])  # between the centres, on one, half off the right edge
    out = remap(image, xs, np.full_like(xs, 0.5), "bilinear", "constant", 255)
    assert out[0, :, 0].tolist() == [50, 100, 178]
