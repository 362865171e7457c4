"""COCO as tools export it: a JSON per split (COCO's ``instances_train2017.json``, plain
``train.json``, or split JSONs sharing one ``images/`` folder), one JSON for all
(``instances.json``, CVAT's ``instances_default.json`` beside a flat ``images/``) and Roboflow's
per-split folders (``train/``, ``valid/``, ``test/`` each with ``_annotations.coco.json``). For
each shape, on real ``augtool expand`` outputs: ``auto`` finds it, the training images (all of
them without splits) are augmented and no other, a run without steps writes the annotations
back exactly (ids aside), moved boxes lie on the object's pixels, ``validate --recompute all``
passes, and pycocotools loads each JSON and scores it against itself at AP 1.0."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import expand, file_records, invoke
from PIL import Image

from augtool.layouts.discovery import discover

pytest.importorskip("pycocotools")

W, H = 64, 48
WHITE = (255, 255, 255)

#: Each image: (name, its object's box [x, y, w, h]).
Files = list[tuple[str, list[float]]]


def _picture(path: Path, box: list[float]) -> None:
    """A black picture with one white object filling ``box``."""
    pixels = np.zeros((H, W, 3), np.uint8)
    x, y, w, h = (int(v) for v in box)
    pixels[y : y + h, x : x + w] = WHITE
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, quality=95)


def _plain(files: Files) -> dict[str, Any]:
    """The fields a hand-made COCO JSON has (polygons too)."""
    images, annotations = [], []
    for index, (name, box) in enumerate(files, start=1):
        images.append({"id": index, "file_name": name, "width": W, "height": H})
        x, y, w, h = box
        polygon = [x, y, x + w, y, x + w, y + h, x, y + h]
        annotations.append({"id": 10 + index, "image_id": index, "category_id": 1, "bbox": box,
                            "area": w * h, "iscrowd": 0, "segmentation": [polygon]})  # fmt: skip
    return {"info": {"description": "hand-made"}, "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "square", "supercategory": "shape"}]}  # fmt: skip


def _cvat(files: Files) -> dict[str, Any]:
    """CVAT's COCO 1.0 fields: empty licence and info strings, per-image URLs, attributes."""
    images, annotations = [], []
    for index, (name, box) in enumerate(files, start=1):
        images.append({"id": index, "width": W, "height": H, "file_name": name, "license": 0,
                       "flickr_url": "", "coco_url": "", "date_captured": 0})  # fmt: skip
        annotations.append({"id": index, "image_id": index, "category_id": 1, "segmentation": [],
                            "area": float(box[2] * box[3]), "bbox": box, "iscrowd": 0,
                            "attributes": {"occluded": False, "rotation": 0.0}})  # fmt: skip
    return {
        "licenses": [{"name": "", "id": 0, "url": ""}],
        "info": {
            "contributor": "",
            "date_created": "",
            "description": "",
            "url": "",
            "version": "",
            "year": "",
        },
        "categories": [{"id": 1, "name": "square", "supercategory": ""}],
        "images": images,
        "annotations": annotations,
    }


def _roboflow(files: Files) -> dict[str, Any]:
    """Roboflow's fields: ids from 0, the project as category 0, empty segmentations."""
    images, annotations = [], []
    for index, (name, box) in enumerate(files):
        images.append({"id": index, "license": 1, "file_name": name, "height": H, "width": W,
                       "date_captured": "2024-05-01T10:00:00+00:00"})  # fmt: skip
        annotations.append({"id": index, "image_id": index, "category_id": 1, "bbox": box,
                            "area": box[2] * box[3], "segmentation": [], "iscrowd": 0})  # fmt: skip
    return {
        "info": {
            "year": "2024",
            "version": "1",
            "description": "Exported from roboflow.com",
            "contributor": "",
            "url": "https://public.roboflow.com/object-detection/x",
            "date_created": "2024-05-01T10:00:00+00:00",
        },
        "licenses": [
            {"id": 1, "url": "https://creativecommons.org/licenses/by/4.0/", "name": "CC BY 4.0"}
        ],
        "categories": [
            {"id": 0, "name": "shapes", "supercategory": "none"},
            {"id": 1, "name": "square", "supercategory": "shapes"},
        ],
        "images": images,
        "annotations": annotations,
    }


def _write(root: Path, json_path: str, folder: str, files: Files, style: Callable) -> None:
    for name, box in files:
        _picture(root / folder / name, box)
    (root / json_path).parent.mkdir(parents=True, exist_ok=True)
    (root / json_path).write_text(json.dumps(style(files)), encoding="utf-8")


TRAIN: Files = [("a.jpg", [4, 6, 20, 12]), ("b.jpg", [30, 20, 16, 16])]
VAL: Files = [("c.jpg", [10, 10, 24, 20])]
TEST: Files = [("d.jpg", [40, 4, 12, 30])]


def _coco2017(root: Path) -> dict[str, Any]:
    _write(root, "annotations/instances_train2017.json", "train2017", TRAIN, _plain)
    _write(root, "annotations/instances_val2017.json", "val2017", VAL, _plain)
    return {"splits": {"train2017": "train2017", "val2017": "val2017"}, "augmented": "train2017"}


def _split_named(root: Path) -> dict[str, Any]:
    _write(root, "annotations/train.json", "images/train", TRAIN, _plain)
    _write(root, "annotations/val.json", "images/val", VAL, _plain)
    return {"splits": {"train": "images/train", "val": "images/val"}, "augmented": "train"}


def _shared_images(root: Path) -> dict[str, Any]:
    """A JSON per split, every split's images in one images/ folder."""
    _write(root, "annotations/instances_train.json", "images", TRAIN, _plain)
    _write(root, "annotations/instances_val.json", "images", VAL, _plain)
    return {"splits": {"train": "images", "val": "images"}, "augmented": "train"}


def _instances(root: Path) -> dict[str, Any]:
    _write(root, "annotations/instances.json", "images", [*TRAIN, *VAL], _plain)
    return {"splits": {None: "images"}, "augmented": None}


def _cvat_default(root: Path) -> dict[str, Any]:
    files = [("frame_000000.jpg", TRAIN[0][1]), ("frame_000001.jpg", VAL[0][1])]
    _write(root, "annotations/instances_default.json", "images", files, _cvat)
    return {"splits": {None: "images"}, "augmented": None}


def _cvat_images_default(root: Path) -> dict[str, Any]:
    """CVAT's export with the images in a folder named after the subset "default"."""
    files = [("frame_000000.jpg", TRAIN[1][1]), ("frame_000001.jpg", TEST[0][1])]
    _write(root, "annotations/instances_default.json", "images/default", files, _cvat)
    return {"splits": {None: "images/default"}, "augmented": None}


def _roboflow_export(root: Path) -> dict[str, Any]:
    rename = [(f"{n[0]}_jpg.rf.{i:032x}.jpg", box) for i, (n, box) in enumerate(TRAIN)]
    _write(root, "train/_annotations.coco.json", "train", rename, _roboflow)
    _write(root, "valid/_annotations.coco.json", "valid", VAL, _roboflow)
    _write(root, "test/_annotations.coco.json", "test", TEST, _roboflow)
    (root / "README.roboflow.txt").write_text("Exported from roboflow.com\n")
    return {"splits": {"test": "test", "train": "train", "valid": "valid"}, "augmented": "train"}


SHAPES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "instances_train2017.json": _coco2017,
    "train.json": _split_named,
    "split JSONs, one images/": _shared_images,
    "instances.json": _instances,
    "cvat instances_default.json": _cvat_default,
    "cvat images/default/": _cvat_images_default,
    "roboflow _annotations.coco.json": _roboflow_export,
}


def _json_files(root: Path) -> list[str]:
    """The COCO JSONs below ``root`` (not augtool's own ``run.json``)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.json") if p.parent != root)


def _recipe(tmp_path: Path, pipeline: str, variants: int = 1) -> Path:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\nvariants: {variants}\npipeline:{pipeline}\n", encoding="utf-8")
    return recipe


@pytest.mark.parametrize("shape", list(SHAPES))
def test_auto_finds_the_shape_and_its_splits(tmp_path: Path, shape: str) -> None:
    expected = SHAPES[shape](tmp_path)
    dataset = discover(tmp_path, "auto", (".jpg",), ("train", "val", "test"), ("train",))
    assert dataset.layout == "coco"
    assert dataset.skipped == ()
    found = {s.split for s in dataset.sources}
    assert found == set(expected["splits"])
    assert set(dataset.splits) == {s for s in expected["splits"] if s is not None}
    for source in dataset.sources:
        folder = expected["splits"][source.split]
        assert source.path.startswith(f"{folder}/")
        assert source.augment == (source.split == expected["augmented"]), source


def _by_name(data: dict[str, Any]) -> dict[str, Any]:
    """A COCO JSON without ids: each image's entry and annotations by file name, and the rest."""
    anns: dict[Any, list[dict[str, Any]]] = {}
    for ann in data["annotations"]:
        anns.setdefault(ann["image_id"], []).append(
            {k: v for k, v in ann.items() if k not in ("id", "image_id")}
        )
    images = {
        image["file_name"]: ({k: v for k, v in image.items() if k != "id"}, anns.get(image["id"]))
        for image in data["images"]
    }
    head = {k: v for k, v in data.items() if k not in ("images", "annotations")}
    return {"head": head, "images": images}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_run_without_steps_writes_the_annotations_back(tmp_path: Path, shape: str) -> None:
    source = tmp_path / "in"
    SHAPES[shape](source)
    out = expand(_recipe(tmp_path, " []", variants=0), source, tmp_path / "out")
    names = _json_files(source)
    assert _json_files(out) == names
    for name in names:
        written = json.loads((out / name).read_text(encoding="utf-8"))
        original = json.loads((source / name).read_text(encoding="utf-8"))
        assert _by_name(written) == _by_name(original), name


def _check_boxes_on_pixels(out: Path, name: str) -> int:
    """Every box of the JSON ``name`` hugs the white object of its image; how many."""
    data = json.loads((out / name).read_text(encoding="utf-8"))
    folder = {i["id"]: i["file_name"] for i in data["images"]}
    base = out / Path(name).parent
    if base.name == "annotations":
        base = base.parent
        split = Path(name).stem.removeprefix("instances_")
        for candidate in (split, f"images/{split}", "images/default", "images"):
            if (base / candidate).is_dir():
                base = base / candidate
                break
    for ann in data["annotations"]:
        pixels = np.asarray(Image.open(base / folder[ann["image_id"]]).convert("L"))
        rows, cols = np.nonzero(pixels > 128)
        seen = (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        x, y, w, h = ann["bbox"]
        for got, want in zip((x, y, x + w, y + h), seen, strict=True):
            assert abs(got - want) <= 1.5, (name, ann, seen)
    return len(data["annotations"])


def _self_evaluation(path: Path) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(path))
        detections = [{**a, "score": 1.0} for a in truth.loadAnns(truth.getAnnIds())]
        evaluation = COCOeval(truth, truth.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])


@pytest.mark.parametrize("shape", list(SHAPES))
def test_an_augmented_shape_validates_and_loads(tmp_path: Path, shape: str) -> None:
    source = tmp_path / "in"
    expected = SHAPES[shape](source)
    pipeline = "\n  - hflip: {p: 1}\n  - affine: {translate_percent: [0.05, 0.05]}"
    out = expand(_recipe(tmp_path, pipeline, variants=2), source, tmp_path / "out")
    records = [r for r in file_records(out).values() if r.get("kind", "image") == "image"]
    augmented = {r["split"] for r in records if r["role"] == "augmented"}
    assert augmented == {expected["augmented"]}
    result = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert result.exit_code == 0, result.output
    names = _json_files(source)
    assert _json_files(out) == names
    boxes = 0
    for name in names:
        boxes += _check_boxes_on_pixels(out, name)
        assert _self_evaluation(out / name) == pytest.approx(1.0), name
    # Each object once in its original and twice moved in the augmented split.
    originals = sum(1 for r in records if r["role"] == "original")
    assert boxes == originals + sum(1 for r in records if r["role"] == "augmented")


def test_a_dataset_of_two_layouts_is_refused_naming_both(tmp_path: Path) -> None:
    """A YOLO data.yaml beside a COCO annotations/ folder: auto once took YOLO and dropped the
    COCO labels without a word."""
    source = tmp_path / "in"
    _instances(source)
    (source / "data.yaml").write_text("train: images\nval: images\nnames: [square]\n")
    result = invoke("expand", _recipe(tmp_path, " []"), source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {source}: the input is both a yolo and a coco dataset; say which with "
        "input.layout: yolo or input.layout: coco in the recipe\n"
    )
    assert not (tmp_path / "out").exists()
    # Named in the recipe, either is read.
    recipe = tmp_path / "coco.yaml"
    recipe.write_text("version: 1\nvariants: 0\ninput: {layout: coco}\npipeline: []\n")
    out = expand(recipe, source, tmp_path / "coco")
    assert (out / "annotations/instances.json").is_file()
