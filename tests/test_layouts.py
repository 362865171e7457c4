"""Every registered layout, through the same protocol: ``auto`` detects it, discovery finds its
sources and their labels, its labels read and written back through an identity derive are the
labels it read, and its dataset-level files come out as its inputs. A new layout registers a
tiny dataset maker in ``DATASETS``; the suite refuses a layout without one."""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import ROOT, jpeg_bytes
from PIL import Image

from augtool.layouts import registry
from augtool.layouts.base import SourceLabels
from augtool.layouts.discovery import Dataset, discover
from augtool.run.derive import InputLimits, derive, label_rules, open_source
from augtool.run.plan import make_plan

SPLITS = ("train", "val", "test")
EXTENSIONS = (".jpg", ".png", ".csv")
W, H = 32, 24


def _image(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed, (W, H)))


def _flat(root: Path) -> dict[str, Any]:
    _image(root / "a.jpg", 1)
    _image(root / "b.jpg", 2)
    return {"sources": {"a.jpg": (None, None, None), "b.jpg": (None, None, None)}}


def _imagefolder(root: Path) -> dict[str, Any]:
    _image(root / "train/cat/a.jpg", 1)
    _image(root / "val/dog/b.jpg", 2)
    return {
        "sources": {
            "train/cat/a.jpg": ("train", "cat", None),
            "val/dog/b.jpg": ("val", "dog", None),
        }
    }


def _yolo(root: Path) -> dict[str, Any]:
    _image(root / "images/train/a.jpg", 1)
    _image(root / "images/val/b.jpg", 2)
    (root / "labels/train").mkdir(parents=True)
    (root / "labels/val").mkdir(parents=True)
    # Numbers as the format writes them (six decimals), so the identity round trip is exact.
    (root / "labels/train/a.txt").write_text(
        "0 0.500000 0.500000 0.250000 0.500000\n1 0.100000 0.100000 0.400000 0.100000 0.300000 "
        "0.400000\n"
    )
    (root / "labels/val/b.txt").write_text("1 0.250000 0.250000 0.125000 0.250000\n")
    (root / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [a, b]\n")
    return {
        "sources": {
            "images/train/a.jpg": ("train", None, "labels/train/a.txt"),
            "images/val/b.jpg": ("val", None, "labels/val/b.txt"),
        },
        "copied": ("data.yaml",),
    }


def _masks(root: Path) -> dict[str, Any]:
    _image(root / "images/train/a.jpg", 1)
    mask = np.zeros((H, W), np.uint8)
    mask[4:12, 8:20] = 3
    (root / "masks/train").mkdir(parents=True)
    buffer = io.BytesIO()
    Image.fromarray(mask, "L").save(buffer, format="PNG", compress_level=6)
    (root / "masks/train/a.png").write_bytes(buffer.getvalue())
    return {"sources": {"images/train/a.jpg": ("train", None, "masks/train/a.png")}}


def _coco(root: Path) -> dict[str, Any]:
    _image(root / "train/a.jpg", 1)
    _image(root / "train/b.jpg", 2)
    images = [
        {"id": 1, "file_name": "a.jpg", "width": W, "height": H, "license": 2},
        {"id": 2, "file_name": "b.jpg", "width": W, "height": H},
    ]
    annotations = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 3, 10, 8], "area": 80.0,
         "iscrowd": 0},
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [4, 4, 6, 6], "area": 18.0,
         "iscrowd": 0, "segmentation": [[4, 4, 10, 4, 10, 10]]},
        {"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 4, 4], "area": 16.0,
         "iscrowd": 0},
    ]  # fmt: skip
    data = {"info": {"v": 1}, "images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "x"}]}  # fmt: skip
    (root / "annotations").mkdir()
    (root / "annotations/instances_train.json").write_text(json.dumps(data))
    return {
        "sources": {
            "train/a.jpg": ("train", None, "annotations/instances_train.json"),
            "train/b.jpg": ("train", None, "annotations/instances_train.json"),
        },
        "derived": {"annotations/instances_train.json": data},
    }


def _table(root: Path) -> dict[str, Any]:
    (root / "train.csv").write_text("text,label\nhello there,a\n", encoding="utf-8")
    (root / "val").mkdir()
    (root / "val/b.csv").write_text("text,label\ngood bye,b\n", encoding="utf-8")
    return {"sources": {"train.csv": ("train", None, None), "val/b.csv": ("val", None, None)}}


VOC_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotation>
  <folder>VOC</folder>
  <filename>{name}.jpg</filename>
  <source><database>augtool</database></source>
  <size><width>32</width><height>24</height><depth>3</depth></size>
  <segmented>0</segmented>
  <object>
    <name>dog</name>
    <pose>Left</pose>
    <truncated>0</truncated>
    <difficult>1</difficult>
    <bndbox><xmin>2</xmin><ymin>3</ymin><xmax>12</xmax><ymax>11</ymax></bndbox>
  </object>
  <!-- a comment is carried -->
  <object>
    <name>person</name>
    <truncated>0</truncated>
    <difficult>0</difficult>
    <bndbox><xmin>10</xmin><ymin>4</ymin><xmax>30</xmax><ymax>22</ymax></bndbox>
    <part><name>head</name><bndbox><xmin>20</xmin><ymin>4</ymin><xmax>26</xmax><ymax>9</ymax></bndbox></part>
  </object>
</annotation>
"""


def _voc(root: Path) -> dict[str, Any]:
    _image(root / "JPEGImages/a.jpg", 1)
    _image(root / "JPEGImages/b.jpg", 2)
    (root / "Annotations").mkdir()
    for name in ("a", "b"):
        (root / f"Annotations/{name}.xml").write_text(VOC_XML.format(name=name))
    lists = root / "ImageSets/Main"
    lists.mkdir(parents=True)
    (lists / "train.txt").write_text("a\n")
    (lists / "val.txt").write_text("b\n")
    (lists / "trainval.txt").write_text("a\nb\n")
    return {
        "sources": {
            "JPEGImages/a.jpg": ("train", None, "Annotations/a.xml"),
            "JPEGImages/b.jpg": ("val", None, "Annotations/b.xml"),
        },
        "derived": {
            "ImageSets/Main/train.txt": b"a\n",
            "ImageSets/Main/val.txt": b"b\n",
            "ImageSets/Main/trainval.txt": b"a\nb\n",
        },
    }


def labelme_json(name: str, shapes: list[dict[str, Any]]) -> str:
    """A LabelMe JSON as LabelMe writes it (two-space indents, no final newline)."""
    document = {"version": "5.5.0", "flags": {}, "shapes": shapes, "imagePath": name,
                "imageData": None, "imageHeight": H, "imageWidth": W}  # fmt: skip
    return json.dumps(document, ensure_ascii=False, indent=2)


def _labelme(root: Path) -> dict[str, Any]:
    _image(root / "train/a.jpg", 1)
    _image(root / "val/b.jpg", 2)
    shape = {"label": "cat", "group_id": None, "description": "", "flags": {}, "mask": None}
    shapes = [
        {**shape, "points": [[2.0, 3.0], [12.5, 11.0]], "shape_type": "rectangle"},
        {**shape, "label": "dog", "points": [[4.0, 4.0], [20.0, 4.0], [10.0, 20.0]],
         "shape_type": "polygon"},
    ]  # fmt: skip
    (root / "train/a.json").write_text(labelme_json("a.jpg", shapes))
    (root / "val/b.json").write_text(labelme_json("b.jpg", shapes[1:]))
    return {
        "sources": {
            "train/a.jpg": ("train", None, "train/a.json"),
            "val/b.jpg": ("val", None, "val/b.json"),
        },
    }


def _imagelist(root: Path) -> dict[str, Any]:
    _image(root / "train/cat/a.jpg", 1)
    _image(root / "train/b.jpg", 2)
    _image(root / "val/c.jpg", 3)
    csv_text = 'file_name,label,caption\ncat/a.jpg,cat,"a cat, sitting"\nb.jpg,dog,a dog\n'
    (root / "train/metadata.csv").write_text(csv_text)
    jsonl = '{"file_name": "val/c.jpg", "label": "cat", "extra": [1, 2]}\n'
    (root / "metadata.jsonl").write_text(jsonl)
    return {
        "sources": {
            "train/cat/a.jpg": ("train", "cat", None),
            "train/b.jpg": ("train", "dog", None),
            "val/c.jpg": ("val", "cat", None),
        },
        "derived": {"metadata.jsonl": jsonl.encode(), "train/metadata.csv": csv_text.encode()},
        # An image recipe's endings: the tables are not candidates (as the text medium's are).
        "extensions": (".jpg", ".png"),
    }


#: One tiny dataset per layout: what it writes, and what discovery must find in it.
DATASETS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "flat": _flat,
    "imagefolder": _imagefolder,
    "yolo": _yolo,
    "masks": _masks,
    "coco": _coco,
    "table": _table,
    "voc": _voc,
    "labelme": _labelme,
    "imagelist": _imagelist,
}


def _discover(root: Path, layout: str, expected: dict[str, Any] | None = None) -> Dataset:
    extensions = (expected or {}).get("extensions", EXTENSIONS)
    return discover(root, layout, extensions, SPLITS, ("train",))


def test_every_registered_layout_is_tested() -> None:
    assert set(registry.LAYOUTS) == set(DATASETS)


@pytest.mark.parametrize("name", list(DATASETS))
def test_auto_detects_the_layout(tmp_path: Path, name: str) -> None:
    expected = DATASETS[name](tmp_path)
    assert _discover(tmp_path, "auto", expected).layout == name


@pytest.mark.parametrize("name", list(DATASETS))
def test_discovery_finds_sources_and_their_labels(tmp_path: Path, name: str) -> None:
    expected = DATASETS[name](tmp_path)
    dataset = _discover(tmp_path, name, expected)
    found = {s.path: (s.split, s.label, s.annotation) for s in dataset.sources}
    assert found == expected["sources"]
    assert dataset.skipped == ()
    assert dataset.extra_files == expected.get("copied", ())
    assert all(s.augment == (s.split in (None, "train")) for s in dataset.sources)


@pytest.mark.parametrize("name", list(DATASETS))
def test_labels_round_trip_through_an_identity_derive(tmp_path: Path, name: str) -> None:
    expected = DATASETS[name](tmp_path)
    dataset = _discover(tmp_path, name, expected)
    layout = registry.get(name)
    rules = label_rules(name, layout.vocabulary(dataset), {})
    assert (rules is not None) == layout.labelled
    limits = InputLimits(("JPEG", "PNG"))
    for task in make_plan(dataset, 1, 0, "png", "copy"):
        source = task.source
        data = (tmp_path / source.path).read_bytes()
        if task.payload is not None:
            labels = SourceLabels(f"{source.annotation}: {source.path}", payload=task.payload)
        elif source.annotation is not None:
            labels = SourceLabels(source.annotation, (tmp_path / source.annotation).read_bytes())
        else:
            assert rules is None or not layout.label_files
            continue
        assert rules is not None
        variant = derive(open_source(data, limits, labels=labels, rules=rules))
        moved = variant.moved
        assert moved is not None
        if labels.data is not None:
            # The label file comes out byte for byte, named as the format names it.
            assert moved.label == labels.data
            assert task.labels[0] == source.annotation
            assert moved.said == {"dropped": []}
        else:
            fields = moved.image_fields
            original = layout.original_fields(labels, (H, W))
            assert fields[layout.record_fields[0]] == original[layout.record_fields[0]]


@pytest.mark.parametrize("name", list(DATASETS))
def test_dataset_files_come_out_as_they_went_in(tmp_path: Path, name: str) -> None:
    expected = DATASETS[name](tmp_path)
    dataset = _discover(tmp_path, name, expected)
    layout = registry.get(name)
    derived = expected.get("derived", {})
    assert layout.derived_names(dataset.state) == list(derived)
    images: dict[str, list[dict[str, Any]]] = {}
    for task in make_plan(dataset, 0, 0, "png", "copy"):
        labels = None if task.payload is None else SourceLabels("x", payload=task.payload)
        fields = layout.original_fields(labels, (H, W))
        source = {"path": task.source.path, "sha256": "0" * 64}
        record = {"type": "file", "path": task.source.path, "split": task.source.split,
                  "source": source, "image_size": [H, W], **fields}  # fmt: skip
        # As the engine and validate keep them: what the layout's derived files are made of.
        kept = layout.derived_line(record)
        if kept is not None:
            images.setdefault(str(task.source.split), []).append(kept)
    for file_name, data in derived.items():
        made = layout.derived_file(dataset.state, file_name, images)
        assert made is not None
        assert (made if isinstance(data, bytes) else json.loads(made)) == data
        # validate --recompute makes it again from the same lines, from the source folder.
        _, state = layout.source_rules(tmp_path)
        again = layout.derived_file(state, file_name, images)
        assert again is not None and hashlib.sha256(again).digest() == hashlib.sha256(made).digest()
    assert layout.derived_file(dataset.state, "no/such.json", images) is None


@pytest.mark.parametrize("name", ["yolo", "masks", "coco", "voc", "imagelist"])
def test_a_layout_asked_for_without_its_files_is_an_input_error(tmp_path: Path, name: str) -> None:
    from augtool.errors import InputError

    _flat(tmp_path)
    with pytest.raises(InputError):
        _discover(tmp_path, name)


WORDS = ("flat", "table")


def test_no_layout_is_named_outside_the_layouts() -> None:
    """The engine, plan, worker, derive, validate and preview ask the registry; none names a
    layout."""
    names = "|".join(registry.LAYOUTS)
    pattern = re.compile(rf"\b({names})\b", re.IGNORECASE)
    found = []
    for folder in ("run", "validate", "preview"):
        for path in sorted((ROOT / "augtool" / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                # "flat" and "table" are also English words; only as a quoted name is either
                # the layout's.
                hits = [m for m in pattern.findall(line) if m.lower() not in WORDS]
                if hits or any(f'"{word}"' in line for word in WORDS):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == []
