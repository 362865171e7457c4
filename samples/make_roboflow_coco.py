"""Build ``samples/detection-roboflow-coco`` from ``samples/detection-coco``: the same photos and
boxes in the shape of a Roboflow "COCO JSON" export.

Roboflow writes one folder per split (``train/``, ``valid/``, ``test/``), each holding its
images and an ``_annotations.coco.json`` whose ``file_name`` entries are bare names
(``<stem>_jpg.rf.<hash>.jpg``). Image and annotation ids start at 0; category 0 is the project
itself (``supercategory: none``) and the classes follow from 1 with the project as their
supercategory; an object detection export carries boxes only (``segmentation: []``).

The images are copied byte for byte (their hash names them, as Roboflow's do); the boxes are
detection-coco's, the polygons and keypoints left out. Deterministic: run it again and the
files come out the same::

    python samples/make_roboflow_coco.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "detection-coco"
TARGET = HERE / "detection-roboflow-coco"
PROJECT = "photo-objects"
#: split folder -> (detection-coco split, its images)
SPLITS = {
    "train": ("train", ["astronaut_001.jpg", "cat_001.jpg", "cup_001.jpg", "rocket_001.jpg"]),
    "valid": ("val", ["astronaut_002.jpg", "cup_003.jpg"]),
    "test": ("val", ["cat_003.jpg"]),
}
EXPORTED = "2026-01-15T09:30:00+00:00"


def roboflow_name(path: Path) -> str:
    stem, ending = path.stem, path.suffix.lstrip(".")
    digest = hashlib.md5(path.read_bytes()).hexdigest()  # a name, as Roboflow gives, not a check
    return f"{stem}_{ending}.rf.{digest}.{ending}"


def split_json(source: dict[str, Any], wanted: list[str], folder: Path) -> dict[str, Any]:
    names = [c["name"] for c in source["categories"]]
    new_id = {c["id"]: index for index, c in enumerate(source["categories"], start=1)}
    images, annotations = [], []
    by_name = {image["file_name"]: image for image in source["images"]}
    for image_id, name in enumerate(wanted):
        image = by_name[name]
        path = SOURCE / folder.name / name
        images.append({"id": image_id, "license": image["license"],
                       "file_name": roboflow_name(path), "height": image["height"],
                       "width": image["width"], "date_captured": EXPORTED})  # fmt: skip
        for ann in source["annotations"]:
            if ann["image_id"] == image["id"]:
                x, y, w, h = ann["bbox"]
                annotations.append({"id": len(annotations), "image_id": image_id,
                                    "category_id": new_id[ann["category_id"]], "bbox": [x, y, w, h],
                                    "area": round(w * h, 3), "segmentation": [],
                                    "iscrowd": 0})  # fmt: skip
    categories = [{"id": 0, "name": PROJECT, "supercategory": "none"}]
    categories += [{"id": i, "name": n, "supercategory": PROJECT} for i, n in enumerate(names, 1)]
    return {
        "info": {
            "year": "2026",
            "version": "1",
            "contributor": "",
            "description": "augtool sample: detection-coco as a Roboflow COCO export",
            "url": "https://scikit-image.org/docs/stable/api/skimage.data.html",
            "date_created": EXPORTED,
        },
        "licenses": source["licenses"],
        "categories": categories,
        "images": images,
        "annotations": annotations,
    }


def main() -> None:
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for split, (from_split, wanted) in SPLITS.items():
        folder = TARGET / split
        folder.mkdir(parents=True)
        source = json.loads((SOURCE / f"annotations/instances_{from_split}.json").read_text())
        for name in wanted:
            path = SOURCE / from_split / name
            shutil.copyfile(path, folder / roboflow_name(path))
        data = split_json(source, wanted, SOURCE / from_split)
        text = json.dumps(data, separators=(",", ":")) + "\n"
        (folder / "_annotations.coco.json").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
