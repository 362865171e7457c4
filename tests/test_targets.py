"""Targets move exactly like the pixels: every geometric kernel against its point map."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_pixels
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.media.image.targets import (
    Targets,
    UnsupportedTransform,
    apply_targets,
    clip_polygon,
    filter_objects,
    mirrored,
    point_map,
    polygon_area,
    swap_flip_pairs,
)
from augtool.media.image.transforms import REGISTRY, Block, replay, run

#: The geometric transforms a matrix describes; the curved warps (``elastic``...) are checked
#: in tests/test_distort.py against where their pixels went.
CURVED = sorted(name for name, cls in REGISTRY.items() if hasattr(cls, "move_points"))
GEOMETRIC = sorted(
    name for name, cls in REGISTRY.items() if cls.family == "geometric" and name not in CURVED
)
PIXEL_ONLY = sorted(name for name, cls in REGISTRY.items() if cls.family != "geometric")

# The defaults of each transform, then wider configs that reach padding crops, big turns,
# zoom-outs, non-constant borders and non-square outputs on 8-64 px images.
CONFIGS: dict[str, list[dict]] = {
    "hflip": [{}],
    "vflip": [{}],
    "rot90": [{}, {"k": [0, 1, 2, 3]}],
    "rotate": [
        {},
        {"limit": [-180, 180], "interpolation": "nearest"},
        {"limit": [-45, 45], "border": "reflect"},
    ],
    "affine": [
        {},
        {"scale": [0.5, 2.0], "translate_percent": [-0.3, 0.3], "rotate": 180, "shear": 30},
        {"scale": [0.7, 1.3], "rotate": 30, "border": "wrap"},
    ],
    "perspective": [{}, {"scale": [0.0, 0.3]}, {"scale": [0.1, 0.2], "border": "replicate"}],
    "random_crop": [{}, {"size": [5, 7]}, {"size": [40, 20]}],
    "center_crop": [{}, {"size": [5, 7]}, {"size": [33, 50]}],
    "random_resized_crop": [
        {},
        {"size": [16, 24], "scale": [0.05, 1.0], "ratio": [0.3, 3.0]},
    ],
    "resize": [{}, {"size": [13, 70]}, {"size": 9}],
    "pad": [{}, {"padding": [0, 3, 5, 1]}, {"padding": 2, "border": "reflect"}],
    "transpose": [{}],
    "d4": [{}],
    "shift_scale_rotate": [
        {},
        {"shift_limit": 0.3, "scale_limit": [-0.5, 1.0], "rotate_limit": 180},
        {"rotate_limit": 30, "border": "reflect"},
    ],
    "random_scale": [{}, {"scale_limit": [-0.7, 1.5]}],
    "longest_max_size": [{}, {"max_size": [9, 31, 70]}],
    "smallest_max_size": [{"max_size": 20}, {"max_size": [5, 50]}],
    "pad_if_needed": [
        {},
        {"min_height": 50, "min_width": 9, "position": "random"},
        {"min_height": None, "pad_height_divisor": 32, "position": "bottom_right"},
        {"min_width": None, "pad_width_divisor": 7, "border": "reflect"},
    ],
    "bbox_safe_random_crop": [{}, {"erosion_rate": 0.6}],
    "random_sized_bbox_safe_crop": [{}, {"size": [7, 30], "erosion_rate": 0.3}],
    "crop_non_empty_mask": [{}, {"size": [5, 9]}],
}
# Transforms that move pixels by whole pixels: the kernel is exact, so is the map.
EXACT = (
    "hflip", "vflip", "rot90", "random_crop", "center_crop", "pad", "transpose", "d4",
    "pad_if_needed", "bbox_safe_random_crop", "crop_non_empty_mask",
)  # fmt: skip
#: Transforms that turn by any angle: their enclosing boxes are wider than the object.
TURNING = ("rotate", "affine", "perspective", "shift_scale_rotate")
TOL = 0.01  # Pillow's nearest affine path runs in 16.16 fixed point


def test_every_geometric_transform_has_a_map_and_a_test_config() -> None:
    assert sorted(CONFIGS) == GEOMETRIC
    for name in GEOMETRIC:
        params = REGISTRY[name]().sample(np.random.default_rng(0), (10, 12, 1))
        assert point_map(name, params, (10, 12)) is not None


def test_an_unknown_transform_fails_loudly() -> None:
    with pytest.raises(UnsupportedTransform):
        point_map("twirl", {}, (4, 4))


# ---- the exact check: nearest sampling lights the pixels whose centres the region covers ----


def signed_distances(quad: np.ndarray, points: np.ndarray) -> np.ndarray:
    """For each point, the smallest signed distance to the edges of the convex ``quad``:
    positive inside, negative outside."""
    x, y = quad[:, 0], quad[:, 1]
    if np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) < 0:
        quad = quad[::-1]  # a mirror reverses the corners' order
    start, end = quad, np.roll(quad, -1, axis=0)
    edge = end - start
    rel = points[:, None, :] - start[None, :, :]
    cross = edge[None, :, 0] * rel[:, :, 1] - edge[None, :, 1] * rel[:, :, 0]
    return (cross / np.linalg.norm(edge, axis=1)[None, :]).min(axis=1)


def assert_region_matches(lit: np.ndarray, quad: np.ndarray, both_ways: bool) -> None:
    """``lit`` (H, W) bool must be exactly the pixels whose centres lie in ``quad``, within TOL;
    with ``both_ways`` False (a reflecting border adds copies) only inside => lit is checked."""
    rows, cols = np.indices(lit.shape)
    centres = np.c_[cols.ravel() + 0.5, rows.ravel() + 0.5]
    distance = signed_distances(quad, centres).reshape(lit.shape)
    missing = (distance > TOL) & ~lit
    assert not missing.any(), f"pixels inside the mapped region not lit: {np.argwhere(missing)}"
    if both_ways:
        stray = (distance < -TOL) & lit
        assert not stray.any(), f"lit pixels outside the mapped region: {np.argwhere(stray)}"


def corners(box: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def box_mask(size: tuple[int, int], box: tuple[int, int, int, int], value: int = 1) -> np.ndarray:
    mask = np.zeros(size, dtype=np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = value
    return mask


def lit_bbox(lit: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(lit)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=np.float64)


def record(name: str, params: dict) -> dict:
    return {"name": name, "fired": True, "params": params}


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, dict, tuple[int, int], tuple[int, int, int, int]]:
    name = draw(st.sampled_from(GEOMETRIC))
    config = draw(st.sampled_from(CONFIGS[name]))
    height, width = draw(st.integers(8, 64)), draw(st.integers(8, 64))
    seed = draw(st.integers(0, 2**32 - 1))
    params = REGISTRY[name](**config).sample(np.random.default_rng(seed), (height, width, 1))
    x0, x1 = sorted(draw(st.lists(st.integers(0, width), min_size=2, max_size=2, unique=True)))
    y0, y1 = sorted(draw(st.lists(st.integers(0, height), min_size=2, max_size=2, unique=True)))
    return name, params, (height, width), (x0, y0, x1, y1)


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(case=cases())
def test_box_and_its_mask_move_together(case) -> None:
    name, params, size, box = case
    targets = Targets(size, boxes=[box], box_labels=["thing"], mask=box_mask(size, box))
    out = apply_targets([record(name, params)], targets)
    mapping, out_size = point_map(name, params, size)
    height, width = out_size
    assert out.size == out_size and out.mask.shape == out_size
    assert out.box_labels == ["thing"]
    # Clipped into the image, and its visibility a fraction.
    (bx0, by0, bx1, by1) = out.boxes[0]
    assert 0 <= bx0 <= bx1 <= width and 0 <= by0 <= by1 <= height
    assert 0.0 <= out.box_visibility[0] <= 1.0
    # The kernel's nearest resampling of the mask lights exactly the centres the map covers.
    quad = mapping(corners(np.array(box, dtype=float)))
    lit = out.mask == 1
    assert_region_matches(lit, quad, both_ways=params.get("border", "constant") == "constant")
    assert set(np.unique(out.mask)) <= {0, 1}  # nearest: no blended class ids, fill 0
    if not lit.any() or params.get("border", "constant") != "constant":
        return
    bbox = lit_bbox(lit)
    # The enclosing box of the mapped corners contains the mask (half a pixel: centres inside).
    assert np.all(bbox[:2] >= out.boxes[0, :2] - 0.5 - TOL)
    assert np.all(bbox[2:] <= out.boxes[0, 2:] + 0.5 + TOL)
    axis_aligned = name not in TURNING or (name == "rotate" and params["angle"] % 90 == 0)
    if axis_aligned:
        assert np.abs(bbox - out.boxes[0]).max() <= 1.0 + TOL
    if name in EXACT:
        assert np.array_equal(bbox, out.boxes[0])


@settings(max_examples=300, deadline=None)
@given(case=cases(), data=st.data())
def test_a_single_pixel_lands_where_its_centre_maps(case, data) -> None:
    name, params, size, _ = case
    height, width = size
    row, col = data.draw(st.integers(0, height - 1)), data.draw(st.integers(0, width - 1))
    params = {**params, "border": "constant"} if "border" in params else params
    out = apply_targets(
        [record(name, params)], Targets(size, mask=box_mask(size, (col, row, col + 1, row + 1)))
    )
    mapping, out_size = point_map(name, params, size)
    lit = out.mask == 1
    square = mapping(corners(np.array([col, row, col + 1, row + 1], dtype=float)))
    assert_region_matches(lit, square, both_ways=True)
    centre = mapping(np.array([[col + 0.5, row + 0.5]]))[0]
    inside = 0 <= centre[0] < out_size[1] and 0 <= centre[1] < out_size[0]
    if name in EXACT:
        # Whole-pixel moves: the pixel lands exactly on its mapped centre, or is cut off.
        assert lit.sum() == (1 if inside else 0)
        if inside:
            assert np.array_equal(np.argwhere(lit)[0][::-1] + 0.5, centre)
    elif name == "rotate" and lit.any():
        # No zoom: every copy of the pixel is within a pixel of the mapped centre.
        cells = np.argwhere(lit)[:, ::-1] + 0.5
        assert np.abs(cells - centre).max() <= 1.0 + TOL
    elif name == "perspective" and lit.any():
        # A strong perspective magnifies (a pixel may land on several, farther than one pixel
        # from its centre), but nearest resampling lights only the centres inside its square.
        cells = np.argwhere(lit)[:, ::-1] + 0.5
        low, high = square.min(axis=0) - TOL, square.max(axis=0) + TOL
        assert np.all((cells >= low) & (cells <= high))


def _geometric_only(records: list[dict]) -> list[dict]:
    kept = []
    for record in records:
        if "steps" in record:
            kept.append({**record, "steps": _geometric_only(record["steps"])})
        elif REGISTRY[record["name"]].family == "geometric":
            kept.append(record)
    return kept


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), height=st.integers(8, 40), width=st.integers(8, 40))
def test_a_pipeline_with_blocks_moves_every_fired_geometric_step(
    seed: int, height: int, width: int
) -> None:
    nearest = {"interpolation": "nearest"}
    steps = [
        REGISTRY["hflip"](),
        Block(
            "one_of",
            1.0,
            [REGISTRY["rot90"](), REGISTRY["rotate"](limit=30, **nearest)],
        ),
        REGISTRY["gaussian_noise"](p=0.5),
        Block(
            "some_of",
            0.8,
            [
                REGISTRY["random_crop"](size=[20, 30]),
                REGISTRY["pad"](padding=[1, 2, 3, 4]),
                REGISTRY["resize"](size=[17, 23], **nearest),
            ],
            n=[1, 3],
        ),
        Block("sequence", 0.7, [REGISTRY["perspective"](**nearest), REGISTRY["vflip"]()]),
    ]
    mask = np.random.default_rng(seed % 97).integers(0, 4, (height, width), dtype=np.uint8)
    image, records = run(steps, mask[:, :, None], np.random.default_rng(seed))
    box = (2, 3, width - 2, height - 1)
    out = apply_targets(records, Targets((height, width), boxes=[box], mask=mask))
    # Class ids as pixel values: with nearest and fill 0 everywhere, the mask is the image
    # pipeline's geometric steps, fused into resamplings exactly as the image's are.
    geometric = _geometric_only(records)
    assert np.array_equal(out.mask, replay(geometric, mask[:, :, None])[:, :, 0])
    if not any(r["name"] == "gaussian_noise" and r["fired"] for r in records):
        assert np.array_equal(out.mask, image[:, :, 0])
    assert out.size == image.shape[:2]
    x0, y0, x1, y1 = out.boxes[0]
    assert 0 <= x0 <= x1 <= out.size[1] and 0 <= y0 <= y1 <= out.size[0]


@pytest.mark.parametrize("name", CURVED)
def test_every_curved_warp_moves_points_and_keeps_the_size(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.family == "geometric" and not hasattr(cls, "geometry")
    params = cls().sample(np.random.default_rng(0), (40, 50, 3))
    mapping, size = point_map(name, params, (40, 50))
    assert size == (40, 50) and mapping(np.zeros((3, 2))).shape == (3, 2)
    assert cls.apply(np.zeros((40, 50, 3), np.uint8), params).shape[:2] == size


@pytest.mark.parametrize("name", GEOMETRIC)
def test_every_geometric_transform_describes_its_geometry(name: str) -> None:
    """Targets and fused resampling both read a transform's ``geometry``: a geometric transform
    without one (or a ``move_points`` map, the curved warps') could move its pixels but not its
    boxes."""
    cls = REGISTRY[name]
    assert callable(getattr(cls, "geometry", None)), f"{name} has no geometry()"
    params = cls().sample(np.random.default_rng(0), (40, 50, 3))
    geometry = cls.geometry(params, (40, 50))
    assert cls.apply(np.zeros((40, 50, 3), np.uint8), params).shape[:2] == geometry.size


# ---- exact expectations ---------------------------------------------------------------------


def sample_targets(size: tuple[int, int] = (10, 20)) -> Targets:
    return Targets(
        size,
        boxes=[[2, 3, 5, 9], [0, 0, 20, 10]],
        box_labels=["left_hand", {"id": 7}],
        polygons=[[[1, 1], [6, 2], [4, 8]]],
        polygon_labels=["tri"],
        keypoints=[[[2.5, 3.5, 2], [19.0, 0.0, 1], [0.0, 0.0, 0]]],
    )


def assert_same(a: Targets, b: Targets) -> None:
    assert a.size == b.size
    np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-9)
    assert a.box_labels == b.box_labels
    for pa, pb in zip(a.polygons, b.polygons, strict=True):
        np.testing.assert_allclose(pa, pb, atol=1e-9)
    for ka, kb in zip(a.keypoints, b.keypoints, strict=True):
        np.testing.assert_allclose(ka, kb, atol=1e-9)


def test_hflip_twice_is_the_identity() -> None:
    targets = sample_targets()
    once = apply_targets([record("hflip", {})], targets)
    np.testing.assert_array_equal(once.boxes[0], [15, 3, 18, 9])
    np.testing.assert_array_equal(once.keypoints[0][:, :2], [[17.5, 3.5], [1, 0], [20, 0]])
    twice = apply_targets([record("hflip", {}), record("hflip", {})], targets)
    assert_same(twice, targets)
    np.testing.assert_array_equal(twice.keypoints[0][:, 2], [2, 1, 0])


@pytest.mark.parametrize(
    ("k", "box", "keypoint", "size"),
    [
        (1, [3, 15, 9, 18], [3.5, 17.5], (20, 10)),
        (2, [15, 1, 18, 7], [17.5, 6.5], (10, 20)),
        (3, [1, 2, 7, 5], [6.5, 2.5], (20, 10)),
    ],
)
def test_rot90_maps_to_the_expected_coordinates(k, box, keypoint, size) -> None:
    out = apply_targets([record("rot90", {"k": k})], sample_targets())
    assert out.size == size
    np.testing.assert_array_equal(out.boxes[0], box)
    np.testing.assert_array_equal(out.keypoints[0][0], [*keypoint, 2])


@pytest.mark.parametrize(("angle", "k"), [(90, 1), (180, 2), (-90, 3), (270, 3)])
def test_rotate_by_quarter_turns_on_a_square_matches_rot90(angle: float, k: int) -> None:
    targets = Targets((16, 16), boxes=[[2, 3, 5, 9]], keypoints=[[[2.5, 3.5, 2]]])
    params = REGISTRY["rotate"](limit=[angle, angle]).sample(np.random.default_rng(0), (16, 16, 3))
    rotated = apply_targets([record("rotate", params)], targets)
    turned = apply_targets([record("rot90", {"k": k})], targets)
    assert_same(rotated, turned)


def test_resize_scales_exactly() -> None:
    out = apply_targets([record("resize", {"size": [25, 30]})], sample_targets())
    assert out.size == (25, 30)
    np.testing.assert_array_equal(out.boxes, [[3, 7.5, 7.5, 22.5], [0, 0, 30, 25]])
    np.testing.assert_array_equal(out.polygons[0], [[1.5, 2.5], [9, 5], [6, 20]])


def test_random_resized_crop_scales_its_window() -> None:
    params = {"top": 2, "left": 4, "height": 5, "width": 10, "size": [10, 5]}
    out = apply_targets([record("random_resized_crop", params)], sample_targets())
    assert out.size == (10, 5)
    # (x - 4) / 2, (y - 2) * 2, clipped to 5 x 10
    np.testing.assert_array_equal(out.boxes, [[0, 2, 0.5, 10], [0, 0, 5, 10]])
    np.testing.assert_allclose(out.box_visibility, [0.5 / 1.5 * 8 / 12, 0.25])


def test_pad_and_padding_crops_shift_exactly() -> None:
    padded = apply_targets([record("pad", {"padding": [1, 2, 3, 4]})], sample_targets())
    assert padded.size == (16, 24)
    np.testing.assert_array_equal(padded.boxes, [[3, 5, 6, 11], [1, 2, 21, 12]])
    np.testing.assert_array_equal(padded.keypoints[0][0], [3.5, 5.5, 2])
    crop = {"top": -3, "left": -2, "size": [16, 24]}
    cropped = apply_targets([record("center_crop", crop)], sample_targets())
    np.testing.assert_array_equal(cropped.boxes, [[4, 6, 7, 12], [2, 3, 22, 13]])


@pytest.mark.parametrize("name", PIXEL_ONLY)
def test_pixel_only_transforms_leave_targets_unchanged(name: str) -> None:
    targets = sample_targets()
    targets = targets.replace(mask=box_mask(targets.size, (2, 3, 5, 9)))
    image = random_pixels((10, 20, 3))
    params = REGISTRY[name]().sample(np.random.default_rng(1), image.shape)
    assert point_map(name, params, targets.size) is None
    out = apply_targets([record(name, params)], targets)
    assert_same(out, targets)
    assert np.array_equal(out.mask, targets.mask)


def test_unfired_steps_and_blocks_are_skipped() -> None:
    records = [
        {"name": "hflip", "fired": False, "params": {}},
        {"name": "sequence", "fired": False, "params": {}, "steps": []},
        {
            "name": "one_of",
            "fired": True,
            "params": {"chosen": [0]},
            "steps": [record("vflip", {})],
        },
    ]
    out = apply_targets(records, sample_targets())
    np.testing.assert_array_equal(out.boxes[0], [2, 1, 5, 7])


def test_inputs_are_not_edited_and_results_are_read_only() -> None:
    boxes = np.array([[2.0, 3.0, 5.0, 9.0]])
    targets = Targets((10, 20), boxes=boxes, mask=np.zeros((10, 20), np.uint8))
    out = apply_targets(
        [record("pad", {"padding": [1, 1, 1, 1], "border": "constant", "fill": 0})], targets
    )
    np.testing.assert_array_equal(boxes, [[2, 3, 5, 9]])
    np.testing.assert_array_equal(targets.boxes, boxes)
    with pytest.raises(ValueError):
        out.boxes[0, 0] = 1.0
    with pytest.raises(ValueError):
        targets.mask[0, 0] = 1


def test_mismatched_labels_and_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="box labels"):
        Targets((4, 4), boxes=[[0, 0, 1, 1]], box_labels=["a", "b"])
    with pytest.raises(ValueError, match="shape"):
        Targets((4, 4), boxes=[[0, 0, 1]])
    with pytest.raises(ValueError, match="mask shape"):
        Targets((4, 4), mask=np.zeros((4, 5), np.uint8))


# ---- clipping, filtering, keypoints, flips --------------------------------------------------


def test_boxes_are_clipped_with_their_visible_fraction_and_filtered() -> None:
    targets = Targets(
        (20, 20),
        boxes=[[0, 0, 10, 10], [8, 0, 12, 10], [18, 18, 20, 20], [0, 0, 4, 4]],
        box_labels=["a", "b", "c", "d"],
    )
    crop = {"top": 0, "left": 10, "size": [20, 10], "fill": 0}
    out = apply_targets([record("random_crop", crop)], targets)
    np.testing.assert_array_equal(
        out.boxes, [[0, 0, 0, 10], [0, 0, 2, 10], [8, 18, 10, 20], [0, 0, 0, 4]]
    )
    np.testing.assert_allclose(out.box_visibility, [0.0, 0.5, 1.0, 0.0])
    kept, dropped = filter_objects(out, min_visibility=0.0, min_area=0.0)
    assert dropped == ["a", "d"]  # nothing left inside: always dropped
    assert kept.box_labels == ["b", "c"]
    kept, dropped = filter_objects(out, min_visibility=0.6, min_area=0.0)
    assert dropped == ["a", "b", "d"] and kept.box_labels == ["c"]
    kept, dropped = filter_objects(out, min_visibility=0.0, min_area=5.0)
    assert dropped == ["a", "c", "d"] and kept.box_labels == ["b"]
    np.testing.assert_array_equal(kept.box_visibility, [0.5])
    # Visibility multiplies over steps: half of the remaining half.
    again = apply_targets([record("random_crop", {**crop, "left": 1, "size": [20, 9]})], out)
    np.testing.assert_allclose(again.box_visibility[1], 0.25)


def test_an_object_is_its_box_and_every_polygon_part_sharing_its_label() -> None:
    square = [[0, 0], [4, 0], [4, 4], [0, 4]]
    sliver = [[5, 0], [5.001, 0], [5.001, 9], [5, 9]]  # a thousandth of a pixel wide
    targets = Targets(
        (10, 10),
        boxes=[[0, 0, 9, 9], [5, 5, 8, 8], [1, 1, 2, 2]],
        box_labels=[{"ann": 0}, {"ann": 1}, None],
        # Annotation 0: a square and a sliver; annotation 1: only a sliver.
        polygons=[square, sliver, sliver],
        polygon_labels=[{"ann": 0}, {"ann": 0}, {"ann": 1}],
    )
    kept, dropped = filter_objects(targets)
    # Annotation 1 keeps its box but its only part has nothing left: the object is gone.
    assert dropped == [{"ann": 1}]
    assert kept.box_labels == [{"ann": 0}, None]
    # Annotation 0 loses its sliver, keeps its square; its area is the square's, 16 px².
    assert kept.polygon_labels == [{"ann": 0}]
    np.testing.assert_array_equal(kept.polygons[0], square)
    kept, dropped = filter_objects(targets, min_area=17)
    # Annotation 0's box is 81 px², but its area is its polygons'. The unlabelled box is 1 px².
    assert dropped == [{"ann": 0}, {"ann": 1}, None] and kept.boxes.shape == (0, 4)


def test_a_box_clipped_to_a_rounding_error_has_nothing_left() -> None:
    # 0.2 + 0.1 of 100 px: the box ends 4e-15 px past the crop's left edge at 30.
    x1 = (0.2 + 0.1) * 100
    assert x1 > 30
    targets = Targets((100, 100), boxes=[[10, 10, x1, x1], [40, 40, 50, 50]], box_labels=[0, 1])
    crop = {"top": 30, "left": 30, "size": [40, 40], "fill": 0}
    out = apply_targets([record("random_crop", crop)], targets)
    assert out.boxes[0, 2] > 0  # clipping kept a sliver
    kept, dropped = filter_objects(out)
    assert dropped == [0] and kept.box_labels == [1]


def test_a_triangle_half_outside_is_clipped_to_the_image() -> None:
    triangle = np.array([[-10.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    clipped = clip_polygon(triangle, (20, 20))
    assert polygon_area(triangle) == 100.0
    assert polygon_area(clipped) == pytest.approx(50.0)
    assert clipped[:, 0].min() == 0.0
    # The same through a transform: a crop cutting the triangle at its apex column.
    targets = Targets((20, 20), polygons=[[[0, 0], [10, 10], [0, 20]]], polygon_labels=[1])
    out = apply_targets([record("random_crop", {"top": 0, "left": 5, "size": [20, 15]})], targets)
    assert polygon_area(out.polygons[0]) == pytest.approx(25.0)
    assert out.polygons[0][:, 0].min() == 0.0
    gone = apply_targets([record("random_crop", {"top": 0, "left": 12, "size": [20, 8]})], targets)
    assert len(gone.polygons[0]) == 0
    kept, dropped = filter_objects(out, min_area=30.0)
    assert kept.polygons == [] and kept.polygon_labels == [] and dropped == [1]
    kept, dropped = filter_objects(gone)
    assert kept.polygons == [] and dropped == [1]


def test_keypoints_that_leave_the_image_become_invisible_and_stay_so() -> None:
    targets = Targets((10, 10), keypoints=[[[1.5, 1.5, 2], [8.5, 8.5, 1], [10, 10, 2]]])
    crop = {"top": 4, "left": 4, "size": [6, 6]}
    out = apply_targets([record("random_crop", crop)], targets)
    np.testing.assert_array_equal(out.keypoints[0], [[-2.5, -2.5, 0], [4.5, 4.5, 1], [6, 6, 2]])
    back = apply_targets([record("pad", {"padding": [4, 4, 0, 0]})], out)
    np.testing.assert_array_equal(back.keypoints[0], [[1.5, 1.5, 0], [8.5, 8.5, 1], [10, 10, 2]])


def test_flip_pairs_swap_on_an_odd_number_of_hflips() -> None:
    labels = ["left_eye", "nose", "right_eye", ["left", 1]]
    pairs = [["left_eye", "right_eye"], [["left", 1], ["right", 1]]]
    flip = record("hflip", {})
    swapped, mirror = swap_flip_pairs(labels, pairs, [flip])
    assert mirror and swapped == ["right_eye", "nose", "left_eye", ["right", 1]]
    assert swap_flip_pairs(labels, pairs, [flip, flip]) == (labels, False)
    nested = [{"name": "sequence", "fired": True, "params": {}, "steps": [flip]}]
    assert mirrored(nested)
    assert not mirrored([{"name": "hflip", "fired": False, "params": {}}])
    assert not mirrored([record("vflip", {})])  # documented: only hflip counts
