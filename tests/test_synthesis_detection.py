"""Synthesis on detection datasets: every source's boxes and polygons land on its pixels in a
mosaic (or mixup, cutmix), YOLO and COCO outputs validate with ``--recompute all``, and the
COCO output scores AP 1.0 against itself with pycocotools."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import RUN_STATE, expand, file_records, invoke, tree_digest
from PIL import Image
from synthesis_data import (
    MOSAIC,
    SIZES,
    assert_on_pixels,
    coco_eval,
    recipe,
    recompute,
    source_object,
    write_coco,
    write_yolo,
    yolo_boxes,
)


@pytest.mark.parametrize(
    "steps", [MOSAIC, "  - mixup: {}\n", "  - cutmix: {}\n", MOSAIC + "  - hflip: {}\n"]
)
def test_yolo_boxes_of_every_source_land_on_their_pixels(tmp_path: Path, steps: str) -> None:
    source = write_yolo(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", steps), source, tmp_path / "out")
    records = file_records(out)
    images = [r for r in records.values() if r["role"] == "augmented" and "kind" not in r]
    assert len(images) == 15
    partners_seen = set()
    for record in images:
        pixels = np.asarray(Image.open(out / record["path"]).convert("RGB"))
        label = record["path"].replace("images/", "labels/").replace(".png", ".txt")
        boxes = yolo_boxes((out / label).read_text(), pixels.shape[:2])
        if steps.startswith("  - mixup"):
            # Blended colours match no object colour: the boxes are checked by geometry, each
            # source's box scaled as its pixels were (the partner's to the image's size).
            own = int(record["source"]["path"][-5])
            (partner,) = record["partners"]
            theirs = int(partner["path"][-5])
            sy, sx = (a / b for a, b in zip(SIZES[own], SIZES[theirs], strict=True))
            expected = [(own, list(source_object(own)[1]))]
            scales = (sx, sy, sx, sy)
            expected.append(
                (theirs, [v * f for v, f in zip(source_object(theirs)[1], scales, strict=True)])
            )
            assert len(boxes) == 2
            for (index, box), (want, corners) in zip(boxes, expected, strict=True):
                assert index == want and box == pytest.approx(corners, abs=1e-3)
        else:
            assert_on_pixels(pixels, boxes)
        partners_seen |= {p["path"] for p in record["partners"]}
        assert all(p["labels"].startswith("labels/train/") for p in record["partners"])
    assert not any("/val/" in p for p in partners_seen)  # partners come from the same split
    recompute(out, source)


def test_mosaic_outputs_are_the_same_with_two_jobs(tmp_path: Path) -> None:
    source = write_yolo(tmp_path / "in")
    path = recipe(tmp_path / "r.yaml", MOSAIC + "  - rotate: {limit: 10, p: 0.5}\n")
    one = expand(path, source, tmp_path / "one", "--jobs", "1")
    two = expand(path, source, tmp_path / "two", "--jobs", "2")
    assert tree_digest(one, RUN_STATE) == tree_digest(two, RUN_STATE)


def test_a_partner_label_change_redoes_its_dependents_only(tmp_path: Path) -> None:
    source = write_yolo(tmp_path / "in")
    path = recipe(tmp_path / "r.yaml", "  - mixup: {}\n")
    out = expand(path, source, tmp_path / "out")
    before = file_records(out)
    changed = "labels/train/s3.txt"
    (source / changed).write_text("3 0.5 0.5 0.4 0.4\n")
    expand(path, source, out)
    after = file_records(out)
    dependent = {
        p
        for p, r in before.items()
        if any(ref.get("labels") == changed for ref in r.get("partners", []))
    }
    assert dependent
    redone = {p for p in before if p in after and after[p]["sha256"] != before[p]["sha256"]}
    # Mixing changes no pixel of a label file's image; the label files of the dependent
    # images and s3's own change.
    assert {p for p in redone if "/s3" not in p} <= {
        p.replace("images/", "labels/").replace(".png", ".txt") for p in dependent
    }
    for p in dependent:
        ref = next(r for r in after[p]["partners"] if r["labels"] == changed)
        assert (
            ref["labels_sha256"]
            != next(r for r in before[p]["partners"] if r["labels"] == changed)["labels_sha256"]
        )


def test_coco_mosaic_lands_on_pixels_validates_and_scores_ap_1(tmp_path: Path) -> None:
    source = write_coco(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", MOSAIC), source, tmp_path / "out")
    data = json.loads((out / "annotations" / "instances_train.json").read_text())
    by_image: dict[int, list[tuple[int, list[float]]]] = {}
    for ann in data["annotations"]:
        x, y, w, h = ann["bbox"]
        by_image.setdefault(ann["image_id"], []).append(
            (ann["category_id"] - 1, [x, y, x + w, y + h])
        )
    mosaics = [image for image in data["images"] if "__v" in image["file_name"]]
    assert len(mosaics) == 15
    for image in mosaics:
        pixels = np.asarray(Image.open(out / "train" / image["file_name"]).convert("RGB"))
        assert_on_pixels(pixels, by_image.get(image["id"], []))
    assert sum(len(by_image.get(image["id"], [])) for image in mosaics) > 15
    recompute(out, source)
    gt = out / "annotations" / "instances_train.json"
    assert coco_eval(gt, "bbox") == pytest.approx(1.0)
    assert coco_eval(gt, "segm") == pytest.approx(1.0)


def _image_of(label: Path) -> np.ndarray:
    with Image.open(str(label).replace("labels", "images")[:-4] + ".png") as image:
        return np.asarray(image.convert("RGB"))


def _sides(boxes: list[tuple[int, list[float]]]) -> list[tuple[int, float, float]]:
    return sorted((i, round(b[2] - b[0], 3), round(b[3] - b[1], 3)) for i, b in boxes)


def test_a_safe_crop_after_mosaic_keeps_every_source_s_objects_whole(tmp_path: Path) -> None:
    # The crop places itself by the objects the mosaic brought in too: each object of the
    # mosaic-only output comes out of the crop with the same width and height, only shifted.
    source = write_yolo(tmp_path / "in")
    mosaic = expand(recipe(tmp_path / "m.yaml", MOSAIC), source, tmp_path / "m")
    steps = MOSAIC + "  - bbox_safe_random_crop: {}\n"
    cropped = expand(recipe(tmp_path / "c.yaml", steps), source, tmp_path / "c")
    labels = sorted((cropped / "labels" / "train").glob("*__v*.txt"))
    assert len(labels) == 15
    shrunk = 0
    for path in labels:
        pixels = _image_of(path)
        boxes = yolo_boxes(path.read_text(), pixels.shape[:2])
        assert_on_pixels(pixels, boxes)
        before = mosaic / "labels" / "train" / path.name
        size = _image_of(before).shape[:2]
        assert _sides(boxes) == _sides(yolo_boxes(before.read_text(), size))
        shrunk += pixels.shape[:2] != size
    assert shrunk  # the crops did cut something away
    recompute(cropped, source)


def test_same_class_is_refused_where_images_have_no_class(tmp_path: Path) -> None:
    source = write_yolo(tmp_path / "in")
    path = recipe(tmp_path / "r.yaml", "  - mixup: {same_class: true}\n")
    result = invoke("expand", path, source, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "same_class picks partners of the image's class, and yolo images have none" in (
        result.output
    )
