"""COCO boxes after a geometric step: the box of an annotation with a polygon is the extent of
its moved, clipped polygon (not of its moved box corners), a box a move left under 1 px is
dropped and recorded, and keypoint visibility is written as an integer. Measured on real
outputs of ``augtool expand``, read back with pycocotools."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, file_records
from PIL import Image, ImageDraw

pycocotools = pytest.importorskip("pycocotools.coco")

SIZE = 96
#: A thin triangle, far narrower than the box around it once turned 45 degrees.
TRIANGLE = [(20.0, 30.0), (76.0, 30.0), (76.0, 44.0)]
RED = (255, 0, 0)


def _dataset(tmp_path: Path, polygon: list[tuple[float, float]], keypoints: bool = False) -> Path:
    root = tmp_path / "in"
    (root / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    img = Image.new("RGB", (SIZE, SIZE), (0, 0, 0))
    ImageDraw.Draw(img).polygon(polygon, fill=RED)
    img.save(root / "train" / "a.png")
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    ann = {
        "id": 7,
        "image_id": 1,
        "category_id": 1,
        "bbox": [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)],
        "segmentation": [[v for p in polygon for v in p]],
        "area": 1.0,
        "iscrowd": 0,
    }
    category: dict = {"id": 1, "name": "thing"}
    if keypoints:
        ann["keypoints"] = [48, 37, 2, 200, 200, 0]
        ann["num_keypoints"] = 1
        category["keypoints"] = ["tip", "tail"]
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": SIZE, "height": SIZE}],
        "annotations": [ann],
        "categories": [category],
    }
    (root / "annotations" / "instances_train.json").write_text(json.dumps(data))
    return root


def _expand(tmp_path: Path, root: Path, step: str) -> tuple[Path, dict]:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\nvariants: 1\ninput: {layout: coco}\n"
        "output: {format: png, originals: skip}\n"
        f"pipeline:\n  - {step}\n",
        encoding="utf-8",
    )
    out = expand(recipe, root, tmp_path / "out")
    (variant,) = [r for r in file_records(out).values() if r["role"] == "augmented"]
    return out, variant


# pycocotools' C mask decoder predates numpy 2's __array__ copy keyword.
@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_rotated_box_hugs_the_object_pixels(tmp_path: Path) -> None:
    root = _dataset(tmp_path, TRIANGLE)
    out, variant = _expand(tmp_path, root, "rotate: {limit: [45, 45], interpolation: nearest}")
    coco = pycocotools.COCO(str(out / "annotations" / "instances_train.json"))
    (image_id,) = [i for i, e in coco.imgs.items() if e["file_name"] == "a__v00.png"]
    (ann,) = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
    x, y, w, h = ann["bbox"]
    pixels = np.asarray(Image.open(out / variant["path"]).convert("RGB")).astype(int)
    red = (pixels[:, :, 0] > 128) & (pixels[:, :, 1] < 100)
    rows, cols = np.nonzero(red)
    seen = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
    for got, want in zip((x, y, x + w, y + h), seen, strict=True):
        assert abs(got - want) <= 2, (ann["bbox"], seen)
    # The mask pycocotools makes from the written polygon lies on the object's pixels.
    mask = coco.annToMask(ann).astype(bool)
    assert (mask & red).sum() >= 0.8 * red.sum()


def test_a_box_a_move_left_thinner_than_a_pixel_is_dropped(tmp_path: Path) -> None:
    # 3.6 px wide at the right edge; a resize to a quarter leaves 0.9 px.
    root = _dataset(tmp_path, [(60.0, 20.0), (63.6, 20.0), (63.6, 60.0), (60.0, 60.0)])
    out, variant = _expand(tmp_path, root, "resize: {size: [24, 24]}")
    assert variant["dropped"] == [7]
    data = json.loads((out / "annotations" / "instances_train.json").read_text())
    assert data["annotations"] == []


def test_keypoint_visibility_is_written_as_an_integer(tmp_path: Path) -> None:
    root = _dataset(tmp_path, TRIANGLE, keypoints=True)
    out, _ = _expand(tmp_path, root, "hflip: {p: 1}")
    text = (out / "annotations" / "instances_train.json").read_text()
    data = json.loads(text)
    moved = [a for a in data["annotations"] if "keypoints" in a]
    assert moved
    for ann in moved:
        flags = ann["keypoints"][2::3]
        assert all(type(v) is int for v in flags), ann["keypoints"]
