"""Boxes, polygons, keypoints and masks moved through a geometric step land on their object's
pixels: a coloured rectangle on grey, its box, its outline as a polygon, its centre as a
keypoint and its pixels as mask class 3, one step, and the moved labels checked against where
the colour went in the output image (not against the step's own map)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import coloured, painted

from augtool.media.image.targets import Targets, apply_targets
from augtool.media.image.transforms import REGISTRY, run

RED = (220, 30, 40)
SIZE = (60, 80)
OBJECT = (25, 20, 45, 38)
NEAREST = {"interpolation": "nearest"}

#: (name, config): each step at p 1, nearest sampling so the colour stays crisp.
CASES = [
    ("transpose", {}),
    ("d4", {}),
    ("shift_scale_rotate", {"shift_limit": 0.1, "scale_limit": 0.3, "rotate_limit": 40, **NEAREST}),
    ("random_scale", {"scale_limit": [-0.5, 1.0], **NEAREST}),
    ("longest_max_size", {"max_size": [50, 120], **NEAREST}),
    ("smallest_max_size", {"max_size": [30, 90], **NEAREST}),
    ("pad_if_needed", {"min_height": 90, "min_width": 100, "position": "random"}),
    ("pad_if_needed", {"min_height": None, "pad_height_divisor": 32, "min_width": 81}),
    ("bbox_safe_random_crop", {"erosion_rate": 0.2}),
    ("random_sized_bbox_safe_crop", {"size": [40, 50], **NEAREST}),
    ("crop_non_empty_mask", {"size": [30, 30]}),
]
#: Steps that turn by any angle: the moved box encloses the turned rectangle, so it is larger.
TURNING = {"shift_scale_rotate"}


def _lit_box(lit: np.ndarray) -> np.ndarray:
    rows, cols = np.nonzero(lit)
    return np.array([cols.min(), rows.min(), cols.max() + 1, rows.max() + 1], dtype=float)


def _moved(name: str, config: dict, seed: int) -> tuple[np.ndarray, Targets]:
    image = painted(SIZE, OBJECT, RED)
    x0, y0, x1, y1 = OBJECT
    mask = np.zeros(SIZE, dtype=np.uint8)
    mask[y0:y1, x0:x1] = 3
    targets = Targets(
        SIZE,
        boxes=[OBJECT],
        box_labels=[0],
        polygons=[[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]],
        keypoints=[[[(x0 + x1) / 2, (y0 + y1) / 2, 2]]],
        mask=mask,
    )
    step = REGISTRY[name](**config, p=1.0)
    located = lambda records: apply_targets(records, targets)  # noqa: E731
    out, records = run([step], image, np.random.default_rng(seed), located=located)
    return out, apply_targets(records, targets)


@pytest.mark.parametrize(
    ("name", "config"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)]
)
@pytest.mark.parametrize("seed", range(6))
def test_the_box_and_keypoint_land_on_the_object(name: str, config: dict, seed: int) -> None:
    out, moved = _moved(name, config, seed)
    assert moved.size == out.shape[:2]
    lit = coloured(out, RED)
    # Sampled nearest like the image, the mask is the object's pixels exactly.
    assert moved.mask is not None and np.array_equal(moved.mask == 3, lit)
    box = moved.boxes[0]
    ((kx, ky, visible),) = moved.keypoints[0]
    if not lit.any():
        assert visible == 0 or box[2] - box[0] < 1 or box[3] - box[1] < 1
        return
    found = _lit_box(lit)
    (polygon,) = moved.polygons
    outline = np.r_[polygon.min(axis=0), polygon.max(axis=0)]
    assert np.abs(found - outline).max() <= 1.0, (found, outline)
    if name in TURNING:
        assert np.all(found[:2] >= box[:2] - 1) and np.all(found[2:] <= box[2:] + 1)
    else:
        assert np.abs(found - box).max() <= 1.0, (found, box)
    if visible and moved.box_visibility[0] < 1:  # cut by the border: within what is left
        assert np.all(found[:2] - 1 <= (kx, ky)) and np.all((kx, ky) <= found[2:] + 1)
    elif visible:
        rows, cols = np.nonzero(lit)
        centre = np.array([cols.mean() + 0.5, rows.mean() + 0.5])
        assert np.hypot(*(centre - (kx, ky))) <= 1.0, (centre, (kx, ky))
