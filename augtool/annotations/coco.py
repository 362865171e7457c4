"""COCO instances: one JSON per split (``annotations/instances_<split>.json``), images beside it.

Read: each split's JSON names its images (``file_name``, relative to the split's image folder:
``<split>/``, ``images/<split>/``, ``images/`` or the dataset root, the first that exists) and
their annotations: ``bbox`` [x, y, w, h], polygon ``segmentation``, optional ``keypoints``.
RLE masks (``iscrowd: 1``) are not transformed: such an image is refused with the reason, never
written with a mask that no longer matches it.

Written: the same JSON per split, with every original and augmented image of that split, in
path order, ids renumbered from 1 (images and annotations), categories, licences and info kept
exactly, ``area`` recomputed (polygon area, or the box's without a polygon), keypoints that left
the image set to (0, 0, 0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from augtool.annotations.base import AnnotationError
from augtool.targets import Targets, polygon_area

ANNOTATIONS_FOLDER = "annotations"


@dataclass
class CocoSplit:
    json_path: str  # relative to the dataset root
    image_folder: str  # "" for the root
    head: dict[str, Any]  # everything but images and annotations (info, licenses, categories)


@dataclass
class CocoDataset:
    splits: dict[str, CocoSplit] = field(default_factory=dict)
    #: image path (relative to the root) -> (split, image entry, its annotations)
    images: dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]] = field(
        default_factory=dict
    )


def read_coco_dataset(root: Path) -> CocoDataset:
    folder = root / ANNOTATIONS_FOLDER
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise AnnotationError(f"{root}: no {ANNOTATIONS_FOLDER}/*.json (a COCO dataset's labels)")
    dataset = CocoDataset()
    for path in files:
        split = path.stem.removeprefix("instances_")
        rel = f"{ANNOTATIONS_FOLDER}/{path.name}"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise AnnotationError(f"{rel}: cannot read: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise AnnotationError(f"{rel}: expected a COCO object with 'images' and 'annotations'")
        image_folder = _image_folder(root, split)
        head = {k: v for k, v in data.items() if k not in ("images", "annotations")}
        dataset.splits[split] = CocoSplit(rel, image_folder, head)
        by_image: dict[Any, list[dict[str, Any]]] = {}
        for ann in data.get("annotations") or []:
            by_image.setdefault(ann.get("image_id"), []).append(ann)
        for entry in data["images"]:
            name = entry.get("file_name")
            if not isinstance(name, str) or _unsafe(name):
                raise AnnotationError(
                    f"{rel}: image {entry.get('id')!r}: file_name {name!r} points outside the "
                    "dataset; use a path inside it"
                )
            path_in_root = str(PurePosixPath(image_folder) / name) if image_folder else name
            dataset.images[path_in_root] = (split, entry, by_image.get(entry.get("id"), []))
    return dataset


def _image_folder(root: Path, split: str) -> str:
    for candidate in (split, f"images/{split}", "images"):
        if (root / candidate).is_dir():
            return candidate
    return ""


def _unsafe(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or name.startswith("~") or ".." in pure.parts or ":" in name[:2]


def to_targets(anns: list[dict[str, Any]], size: tuple[int, int], where: str) -> Targets:
    """An image's annotations as targets; each box, polygon part and keypoint set is labelled
    with the index of its annotation, so they are put back together after the move."""
    boxes, box_labels, polygons, polygon_labels, keypoints = [], [], [], [], []
    for index, ann in enumerate(anns):
        segmentation = ann.get("segmentation") or []
        if ann.get("iscrowd") or isinstance(segmentation, dict):
            raise AnnotationError(
                f"{where}: annotation {ann.get('id')!r} is an RLE mask (iscrowd), which augtool "
                "does not transform; the image is refused rather than written with a stale mask"
            )
        try:
            x, y, w, h = (float(v) for v in ann["bbox"])
        except (KeyError, TypeError, ValueError):
            raise AnnotationError(
                f"{where}: annotation {ann.get('id')!r}: bbox must be [x, y, width, height]"
            ) from None
        boxes.append([x, y, x + w, y + h])
        box_labels.append({"ann": index})
        for part in segmentation:
            points = np.asarray(part, dtype=np.float64).reshape(-1, 2)
            polygons.append(points)
            polygon_labels.append({"ann": index})
        if "keypoints" in ann:
            keypoints.append(np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3))
    return Targets(
        size,
        boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        box_labels=box_labels,
        polygons=polygons,
        polygon_labels=polygon_labels,
        keypoints=keypoints,
    )


def from_targets(
    anns: list[dict[str, Any]], targets: Targets, swap: dict[int, list[int]] | None = None
) -> list[dict[str, Any]]:
    """The annotations again, moved: boxes, polygons, keypoints, a fresh area; an annotation
    whose box was dropped is left out. ``swap`` reorders keypoints per category (flip pairs).
    Ids are left out: they are given when the split's JSON is written."""
    parts: dict[int, list[list[float]]] = {}
    for polygon, label in zip(targets.polygons, targets.polygon_labels, strict=True):
        if len(polygon) >= 3:
            parts.setdefault(label["ann"], []).append(_numbers(np.asarray(polygon).reshape(-1)))
    with_keypoints = [i for i, ann in enumerate(anns) if "keypoints" in ann]
    moved_keypoints = dict(zip(with_keypoints, targets.keypoints, strict=True))
    out = []
    for box, label in zip(targets.boxes, targets.box_labels, strict=True):
        index = label["ann"]
        ann = {k: v for k, v in anns[index].items() if k not in ("id", "image_id")}
        x0, y0, x1, y1 = (float(v) for v in box)
        ann["bbox"] = _numbers([x0, y0, x1 - x0, y1 - y0])
        if "segmentation" in ann:
            ann["segmentation"] = parts.get(index, [])
        polygons = [np.asarray(p).reshape(-1, 2) for p in ann.get("segmentation", [])]
        area = sum(polygon_area(p) for p in polygons) if polygons else (x1 - x0) * (y1 - y0)
        ann["area"] = round(float(area), 4)
        if index in moved_keypoints:
            points = np.array(moved_keypoints[index])
            order = (swap or {}).get(ann.get("category_id"))
            if order is not None:
                points = points[order]
            points[points[:, 2] == 0] = 0.0
            ann["keypoints"] = _numbers(points.reshape(-1))
            ann["num_keypoints"] = int(np.count_nonzero(points[:, 2] > 0))
        out.append(ann)
    return out


def _numbers(values: Any) -> list[float]:
    return [round(float(v), 4) for v in values]


def keypoint_swaps(
    categories: list[dict[str, Any]], pairs: list[tuple[str, str]]
) -> dict[int, list[int]]:
    """Per category with named keypoints: the row order after a mirror (left <-> right)."""
    swaps: dict[int, list[int]] = {}
    for category in categories:
        names = category.get("keypoints")
        if not isinstance(names, list):
            continue
        order = list(range(len(names)))
        for left, right in pairs:
            if left in names and right in names:
                i, j = names.index(left), names.index(right)
                order[i], order[j] = j, i
        if order != list(range(len(names))):
            swaps[category["id"]] = order
    return swaps


def split_json(split: CocoSplit, images: list[dict[str, Any]]) -> bytes:
    """A split's COCO JSON from its image records (in path order): ids from 1."""
    entries, annotations = [], []
    prefix = split.image_folder + "/" if split.image_folder else ""
    for image_id, record in enumerate(images, start=1):
        coco = record["coco"]
        height, width = record["image_size"]
        name = record["path"].removeprefix(prefix)
        entries.append({**coco["image"], "id": image_id, "file_name": name,
                        "width": width, "height": height})  # fmt: skip
        for ann in coco["annotations"]:
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, **ann})
    data = {**split.head, "images": entries, "annotations": annotations}
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
