"""bbox_safe_random_crop, random_sized_bbox_safe_crop and crop_non_empty_mask: the window is
placed by the objects where the earlier steps moved them, and no object is cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import ROOT, expand, file_records, random_pixels
from hypothesis import example, given, settings
from hypothesis import strategies as st

from augtool.media.image.targets import Targets, apply_targets
from augtool.media.image.transforms import REGISTRY, run

SAFE = ("bbox_safe_random_crop", "random_sized_bbox_safe_crop")


def _located(targets: Targets):
    return lambda records: apply_targets(records, targets)


@st.composite
def scenes(draw: st.DrawFn) -> Targets:
    height, width = draw(st.integers(8, 80)), draw(st.integers(8, 80))
    boxes = []
    for _ in range(draw(st.integers(1, 4))):
        x0, x1 = sorted(draw(st.lists(st.integers(0, width), min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(st.integers(0, height), min_size=2, max_size=2, unique=True)))
        boxes.append([x0, y0, x1, y1])
    return Targets((height, width), boxes=boxes, keypoints=[[[width / 3, height / 2, 2]]])


@settings(max_examples=150, deadline=None)
@given(targets=scenes(), name=st.sampled_from(SAFE), seed=st.integers(0, 2**32 - 1))
# The box's right edge maps to 24.000000000000004 on a 24-wide output: rounding, not a cut.
@example(
    targets=Targets((8, 41), boxes=[[3, 0, 41, 1]], keypoints=[[[41 / 3, 4, 2]]]),
    name="random_sized_bbox_safe_crop",
    seed=56,
)
def test_a_safe_crop_keeps_every_object_whole(targets: Targets, name: str, seed: int) -> None:
    step = REGISTRY[name](size=[16, 24]) if name == SAFE[1] else REGISTRY[name]()
    shape = (*targets.size, 3)
    params = step.sample(np.random.default_rng(seed), shape, targets=targets)
    record = {"name": name, "fired": True, "params": params}
    moved = apply_targets([record], targets)
    assert np.all(moved.box_visibility == 1.0)
    assert moved.keypoints[0][0, 2] == 2
    out = step.apply(random_pixels(shape), params)
    assert out.shape[:2] == moved.size


def test_without_objects_a_safe_crop_keeps_the_aspect_and_at_least_1_minus_erosion() -> None:
    step = REGISTRY["bbox_safe_random_crop"](erosion_rate=0.5)
    rng = np.random.default_rng(0)
    heights = []
    for _ in range(200):
        params = step.sample(rng, (40, 80, 3))
        crop_h, crop_w = params["size"]
        assert 20 <= crop_h <= 40 and crop_w == int(crop_h * 2)
        heights.append(crop_h)
    assert min(heights) < 25 and max(heights) > 35
    assert REGISTRY["bbox_safe_random_crop"]().sample(rng, (40, 80, 3))["size"] == [40, 80]


def test_erosion_lets_the_crop_cut_into_the_union_but_not_past_its_eroded_core() -> None:
    targets = Targets((100, 100), boxes=[[20, 20, 80, 80]])
    step = REGISTRY["bbox_safe_random_crop"](erosion_rate=0.5)
    rng = np.random.default_rng(3)
    cut = 0
    for _ in range(200):
        params = step.sample(rng, (100, 100, 3), targets=targets)
        top, left, (h, w) = params["top"], params["left"], params["size"]
        assert top <= 35 and left <= 35 and top + h >= 65 and left + w >= 65
        cut += top > 20 or left > 20 or top + h < 80 or left + w < 80
    assert cut > 50


def test_the_sampler_sees_the_objects_where_the_earlier_steps_moved_them() -> None:
    """A pad moves the box 60 px right: a window placed by the unmoved box would cut it."""
    targets = Targets((40, 40), boxes=[[2, 2, 12, 12]])
    steps = [REGISTRY["pad"](padding=[60, 0, 0, 0]), REGISTRY["bbox_safe_random_crop"]()]
    for seed in range(30):
        image, records = run(
            steps,
            random_pixels((40, 40, 3)),
            np.random.default_rng(seed),
            located=_located(targets),
        )
        moved = apply_targets(records, targets)
        assert moved.box_visibility[0] == 1.0, records[1]["params"]
        assert image.shape[:2] == moved.size


def test_crop_non_empty_mask_always_holds_a_labelled_pixel() -> None:
    mask = np.zeros((100, 100), np.uint8)
    mask[70:73, 10:13] = 5
    mask[0:2, 0:2] = 255
    targets = Targets((100, 100), mask=mask)
    step = REGISTRY["crop_non_empty_mask"](size=[10, 10], ignore_values=[0, 255])
    held = set()
    rng = np.random.default_rng(0)
    for _ in range(100):
        params = step.sample(rng, (100, 100, 3), targets=targets)
        record = {"name": "crop_non_empty_mask", "fired": True, "params": params}
        window = apply_targets([record], targets).mask
        assert 5 in window
        held.add((params["top"], params["left"]))
    assert len(held) > 20  # the window moves around the object
    # The background alone (or no mask at all) gives a random window anywhere.
    empty = Targets((100, 100), mask=np.zeros((100, 100), np.uint8))
    tops = {step.sample(rng, (100, 100, 3), targets=empty)["top"] for _ in range(50)}
    assert max(tops) > 60 and min(tops) < 30


def test_crop_non_empty_mask_pads_a_smaller_image() -> None:
    step = REGISTRY["crop_non_empty_mask"](size=[20, 4])
    targets = Targets((10, 10), mask=np.ones((10, 10), np.uint8))
    params = step.sample(np.random.default_rng(0), (10, 10, 3), targets=targets)
    assert params["top"] == -5 and 0 <= params["left"] <= 6
    assert step.apply(random_pixels((10, 10, 3)), params).shape == (20, 4, 3)


def _areas(out: Path) -> dict[str, tuple[list[float], list]]:
    """Each variant's annotation areas (sorted) and dropped objects, by path."""
    found = {}
    for path, record in file_records(out).items():
        if "__v" in path:
            areas = sorted(round(a["area"], 1) for a in record["coco"]["annotations"])
            found[path] = (areas, record["dropped"], record["image_size"])
    return found


@pytest.mark.slow
def test_expand_keeps_every_coco_object_through_a_safe_crop(tmp_path: Path) -> None:
    """The same affine draws with and without a safe crop after them: the crop makes smaller
    images (it read the moved objects) and every object keeps its area."""
    affine = {"affine": {"rotate": 20, "scale": [0.5, 0.8], "translate_percent": 0.1}}
    found = []
    for name, pipeline in (("alone", [affine]), ("cropped", [affine, "bbox_safe_random_crop"])):
        recipe = tmp_path / f"{name}.yaml"
        text = yaml.safe_dump({"version": 1, "seed": 3, "variants": 3, "pipeline": pipeline})
        recipe.write_text(text)
        found.append(_areas(expand(recipe, ROOT / "samples" / "detection-coco", tmp_path / name)))
    alone, cropped = found
    assert sorted(alone) == sorted(cropped)
    smaller = 0
    for path, (areas, dropped, size) in cropped.items():
        assert (areas, dropped) == alone[path][:2], path
        smaller += size != alone[path][2]
    assert smaller >= len(cropped) // 2
