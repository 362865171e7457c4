"""copy_paste: a partner's objects cut by their outlines and pasted over the image. Measured on
outputs: each annotation's mask (pycocotools' own rasterisation) is its object's pixels, the
objects a paste hides are cut down or dropped, the COCO output scores AP 1.0 against itself,
YOLO segmentation lines land on their pixels, and outputs validate with ``--recompute all``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import RUN_STATE, coloured, expand, file_records, grown, invoke, tree_digest
from PIL import Image
from synthesis_data import (
    COLOURS,
    SIZES,
    assert_on_pixels,
    coco_eval,
    recipe,
    recompute,
    source_object,
    write_coco,
    write_labelme,
    write_yolo,
)

from augtool.media.image.transforms.outline import fill, outline

PASTE = "  - copy_paste: {fraction: 1.0, scale: [0.7, 1.3]}\n"
#: Pasted at twice the image's size: the partner's object covers much of the image.
LARGE = "  - copy_paste: {fraction: 1.0, scale: [2.0, 2.5]}\n"


def _annotations(out: Path) -> tuple[dict[str, object], dict[int, list[dict[str, object]]]]:
    data = json.loads((out / "annotations" / "instances_train.json").read_text())
    by_image: dict[int, list[dict[str, object]]] = {}
    for ann in data["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    return data, by_image


#: cutmix takes away what its box covers as copy_paste takes away what it pastes over.
CUTMIX = "  - cutmix: {alpha: 2.0}\n"


@pytest.mark.parametrize(
    "steps", [PASTE, LARGE, PASTE + "  - hflip: {}\n", CUTMIX, CUTMIX + "  - hflip: {}\n"]
)
def test_each_coco_mask_is_its_object_s_pixels(tmp_path: Path, steps: str) -> None:
    source = write_coco(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", steps), source, tmp_path / "out")
    data, by_image = _annotations(out)
    pasted = [image for image in data["images"] if "__v" in image["file_name"]]
    assert len(pasted) == 15
    cut = 0
    for image in pasted:
        pixels = np.asarray(Image.open(out / "train" / image["file_name"]).convert("RGB"))
        height, width = pixels.shape[:2]
        anns = by_image.get(image["id"], [])
        assert len(anns) >= 1
        for ann in anns:
            index = int(ann["category_id"]) - 1  # type: ignore[call-overload]
            mask = _coco_mask(ann["segmentation"], height, width)
            # The object's colour shows where its mask is and nowhere else (bilinear
            # resampling blends a pasted object's edge with what was around it).
            assert not (coloured(pixels, COLOURS[index]) & ~grown(mask)).any(), ann
            assert not (mask & ~grown(coloured(pixels, COLOURS[index], 100))).any(), ann
            x0, y0, x1, y1 = source_object(index)[1]
            cut += float(ann["area"]) < (x1 - x0) * (y1 - y0) * 0.99  # type: ignore[arg-type]
        boxes = [(int(a["category_id"]) - 1, _corners(a)) for a in anns]  # type: ignore[call-overload]
        assert_on_pixels(pixels, boxes)
    assert cut  # some objects were cut down by a paste, or pasted smaller
    recompute(out, source)
    gt = out / "annotations" / "instances_train.json"
    assert coco_eval(gt, "bbox") == pytest.approx(1.0)
    assert coco_eval(gt, "segm") == pytest.approx(1.0)


def _coco_mask(segmentation: object, height: int, width: int) -> np.ndarray:
    """The mask pycocotools makes of a polygon segmentation (its parts joined)."""
    import warnings

    from pycocotools import mask as coco_mask

    rles = coco_mask.frPyObjects(segmentation, height, width)
    with warnings.catch_warnings():
        # pycocotools 2.0 decodes through numpy's old __array__ protocol.
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco_mask.decode(coco_mask.merge(rles)).astype(bool)


def _corners(ann: dict[str, object]) -> list[float]:
    x, y, w, h = ann["bbox"]  # type: ignore[misc]
    return [x, y, x + w, y + h]


def test_an_object_a_paste_hides_is_dropped_and_named(tmp_path: Path) -> None:
    source = write_coco(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", LARGE, variants=4), source, tmp_path / "out")
    records = [r for r in file_records(out).values() if r.get("role") == "augmented"]
    dropped = [r for r in records if r.get("dropped")]
    assert dropped, "a paste twice the image's size hides some source objects entirely"
    for record in dropped:
        own = int(record["source"]["path"][-5])
        pixels = np.asarray(Image.open(out / record["path"]).convert("RGB"))
        assert not coloured(pixels, COLOURS[own]).any()  # it is hidden indeed
    recompute(out, source)


def test_copy_paste_outputs_are_the_same_with_two_jobs(tmp_path: Path) -> None:
    source = write_coco(tmp_path / "in")
    path = recipe(tmp_path / "r.yaml", PASTE + "  - rotate: {limit: 10, p: 0.5}\n")
    one = expand(path, source, tmp_path / "one", "--jobs", "1")
    two = expand(path, source, tmp_path / "two", "--jobs", "2")
    assert tree_digest(one, RUN_STATE) == tree_digest(two, RUN_STATE)


def _segmentation_lines(root: Path) -> None:
    """Turn each train label of a ``write_yolo`` dataset into a segmentation line: the
    rectangle's corners and the middle of its top edge (four points would be an oriented
    box)."""
    for index in range(len(COLOURS)):
        height, width = SIZES[index]
        x0, y0, x1, y1 = source_object(index)[1]
        corners = [(x0, y0), ((x0 + x1) / 2, y0), (x1, y0), (x1, y1), (x0, y1)]
        values = " ".join(f"{x / width} {y / height}" for x, y in corners)
        (root / "labels" / "train" / f"s{index}.txt").write_text(f"{index} {values}\n")


def test_yolo_segmentation_lines_land_on_their_pixels(tmp_path: Path) -> None:
    source = write_yolo(tmp_path / "in")
    _segmentation_lines(source)
    out = expand(recipe(tmp_path / "r.yaml", PASTE), source, tmp_path / "out")
    records = [r for r in file_records(out).values() if r.get("role") == "augmented"]
    images = [r for r in records if r["path"].endswith(".png")]
    assert len(images) == 15
    lines = 0
    for record in images:
        pixels = np.asarray(Image.open(out / record["path"]).convert("RGB"))
        height, width = pixels.shape[:2]
        label = record["path"].replace("images/", "labels/").replace(".png", ".txt")
        for line in (out / label).read_text().splitlines():
            cls, *values = line.split()
            points = np.array(values, dtype=np.float64).reshape(-1, 2) * (width, height)
            mask = fill([points], (0, 0, width, height))
            index = int(cls)
            assert not (coloured(pixels, COLOURS[index]) & ~grown(mask)).any(), line
            assert not (mask & ~grown(coloured(pixels, COLOURS[index], 100))).any(), line
            lines += 1
    assert lines > 15  # the partners' objects are written too
    recompute(out, source)


def test_pasting_from_box_only_labels_says_nothing_was_pasted(tmp_path: Path) -> None:
    source = write_yolo(tmp_path / "in")  # box lines: no object has an outline
    path = recipe(tmp_path / "r.yaml", PASTE)
    boxes = invoke("expand", path, source, "-o", tmp_path / "boxes", "--json")
    assert boxes.exit_code == 0, boxes.output
    warning = "copy_paste pasted nothing in 15 of the 15 outputs it fired in"
    assert any(w.startswith(warning) for w in json.loads(boxes.stdout)["warnings"])
    assert f"warning: {warning}" in boxes.output
    _segmentation_lines(source)
    outlined = invoke("expand", path, source, "-o", tmp_path / "outlined", "--json")
    assert outlined.exit_code == 0, outlined.output
    assert "copy_paste" not in outlined.output


def test_labelme_polygons_are_pasted_and_rectangles_cut(tmp_path: Path) -> None:
    source = write_labelme(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", LARGE), source, tmp_path / "out")
    records = [r for r in file_records(out).values() if r.get("role") == "augmented"]
    pasted = 0
    for record in records:
        path = record["path"]
        if path.startswith("s4") or not path.endswith(".png"):
            continue  # s4 has no JSON of its own
        pixels = np.asarray(Image.open(out / path).convert("RGB"))
        height, width = pixels.shape[:2]
        document = json.loads((out / path.replace(".png", ".json")).read_text())
        for shape in document["shapes"]:
            index = int(shape["label"][1:])
            points = np.array(shape["points"], dtype=np.float64)
            if shape["shape_type"] == "rectangle":
                (x0, y0), (x1, y1) = points
                points = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
            mask = fill([points], (0, 0, width, height))
            # A rectangle cut by a paste is the box around what shows of it.
            assert not (coloured(pixels, COLOURS[index]) & ~grown(mask)).any(), shape
            if shape["shape_type"] == "polygon":
                assert not (mask & ~grown(coloured(pixels, COLOURS[index], 100))).any()
            pasted += index != int(path[1])
    assert pasted  # the partners' polygons (s0, s2) are pasted with their shapes
    recompute(out, source)


def test_keypoints_under_a_paste_are_hidden(tmp_path: Path) -> None:
    source = write_coco(tmp_path / "in")
    annotations = source / "annotations" / "instances_train.json"
    data = json.loads(annotations.read_text())
    for ann in data["annotations"]:
        x, y, w, h = ann["bbox"]
        ann["keypoints"] = [x + w / 4, y + h / 4, 2, x + 3 * w / 4, y + 3 * h / 4, 2]
        ann["num_keypoints"] = 2
    for category in data["categories"]:
        category["keypoints"] = ["a", "b"]
    annotations.write_text(json.dumps(data))
    out = expand(recipe(tmp_path / "r.yaml", LARGE), source, tmp_path / "out")
    written, by_image = _annotations(out)
    hidden = 0
    for image in written["images"]:
        pixels = np.asarray(Image.open(out / "train" / image["file_name"]).convert("RGB"))
        for ann in by_image.get(image["id"], []):
            index = int(ann["category_id"]) - 1  # type: ignore[call-overload]
            points = np.array(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
            for x, y, v in points:
                if v > 0:
                    assert coloured(pixels, COLOURS[index], 100)[int(y), int(x)], (ann, x, y)
                hidden += v == 0
    assert hidden  # a paste twice the image's size hides some keypoints
    recompute(out, source)


@pytest.mark.parametrize("layout", ["voc", "masks", "imagefolder"])
def test_a_layout_without_outlines_is_refused(tmp_path: Path, layout: str) -> None:
    source = tmp_path / "in"
    if layout == "voc":
        (source / "JPEGImages").mkdir(parents=True)
        (source / "Annotations").mkdir()
        Image.fromarray(source_object(0)[0]).save(source / "JPEGImages" / "a.png")
        (source / "Annotations" / "a.xml").write_text("<annotation></annotation>")
    elif layout == "masks":
        (source / "images").mkdir(parents=True)
        (source / "masks").mkdir()
        Image.fromarray(source_object(0)[0]).save(source / "images" / "a.png")
        Image.fromarray(np.zeros(SIZES[0], dtype=np.uint8)).save(source / "masks" / "a.png")
    else:
        (source / "cats").mkdir(parents=True)
        Image.fromarray(source_object(0)[0]).save(source / "cats" / "a.png")
    path = recipe(tmp_path / "r.yaml", PASTE)
    result = invoke("expand", path, source, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "copy_paste cuts objects by their outlines (polygons)" in result.output
    assert "use it on coco, labelme, yolo datasets" in result.output


def test_an_outline_fills_back_to_its_pixels_with_their_area() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        height, width = (int(v) for v in rng.integers(1, 24, size=2))
        pixels = rng.random((height, width)) < rng.random()
        polygon = outline(pixels, (4, 7))
        if not pixels.any():
            assert len(polygon) == 0
            continue
        assert (fill([polygon], (4, 7, 4 + width, 7 + height)) == pixels).all()
        x, y = polygon[:, 0], polygon[:, 1]
        area = 0.5 * float((x * np.roll(y, -1) - np.roll(x, -1) * y).sum())
        assert area == pytest.approx(float(pixels.sum()))


def test_pycocotools_fills_an_outline_as_its_pixels() -> None:
    """The outline of a cut object (holes and pieces joined by bridges) is, to COCO's own
    rasteriser, exactly the pixels it was traced from."""
    rng = np.random.default_rng(1)
    for _ in range(100):
        height, width = (int(v) for v in rng.integers(2, 24, size=2))
        pixels = rng.random((height, width)) < rng.random()
        if not pixels.any():
            continue
        polygon = outline(pixels)
        assert (_coco_mask([polygon.reshape(-1).tolist()], height, width) == pixels).all()
