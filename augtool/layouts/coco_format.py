"""The COCO instances file format: a JSON per split, or one for all (where they lie, and which
split each is: :mod:`augtool.layouts.coco_shapes`).

Read: each JSON names its images (``file_name``, relative to its image folder) and their
annotations: ``bbox`` [x, y, w, h], polygon ``segmentation``, optional ``keypoints``.
RLE masks (``iscrowd: 1``) are not transformed: such an image is refused with the reason, never
written with a mask that no longer matches it. So is an image with any other annotation that
cannot be moved (:func:`annotation_problem`). A JSON whose structure cannot be trusted (an entry
that is not an object, an id used twice, an annotation of no listed image) is refused whole.

Written: the same JSON per split, with every original and augmented image of that split, in
path order, ids renumbered from 1 (images and annotations), categories, licences and info kept
exactly, ``area`` recomputed (polygon area, or the box's without a polygon), keypoints that left
the image set to (0, 0, 0), visibility flags as integers. After a geometric step the box of an
annotation with a polygon is its moved, clipped polygon's extent
(:func:`augtool.media.image.targets.fit_boxes`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from augtool.layouts.base import AnnotationError
from augtool.layouts.coco_shapes import coco_files, image_folder
from augtool.media.image.targets import Targets, polygon_area


@dataclass
class CocoSplit:
    json_path: str  # relative to the dataset root
    image_folder: str  # "" for the root
    head: dict[str, Any]  # everything but images and annotations (info, licenses, categories)


@dataclass
class CocoDataset:
    #: by split; the one JSON of a dataset without splits is under None
    splits: dict[str | None, CocoSplit] = field(default_factory=dict)
    #: image path (relative to the root) -> (split, image entry, its annotations)
    images: dict[str, tuple[str | None, dict[str, Any], list[dict[str, Any]]]] = field(
        default_factory=dict
    )
    #: image path -> why its annotations cannot be moved (the image is skipped, with that reason)
    refused: dict[str, str] = field(default_factory=dict)


#: The image entry's fields the output JSON sets itself (``split_json``); a task carries the rest.
_SET_ON_OUTPUT = ("id", "file_name", "width", "height")


def image_task(entry: dict[str, Any], anns: list[dict[str, Any]]) -> tuple[dict[str, Any], Any]:
    """What a source's task carries of its COCO image: the entry's other fields, and its
    annotations (both hashed into the outputs' ``coco.from``)."""
    return {k: v for k, v in entry.items() if k not in _SET_ON_OUTPUT}, anns


def categories_of(dataset: CocoDataset) -> list[dict[str, Any]]:
    """Every split's categories, in split order."""
    return [c for split in dataset.splits.values() for c in split.head.get("categories", [])]


def read_coco_dataset(root: Path) -> CocoDataset:
    """Every COCO JSON of the dataset (:func:`~augtool.layouts.coco_shapes.coco_files`).
    Raises :class:`AnnotationError` naming the JSON when its structure cannot be trusted
    (nothing is written then): an entry that is not an object, an image id or ``file_name``
    used twice, an annotation of no listed image, an annotation id used twice."""
    dataset = CocoDataset()
    for file in coco_files(root):
        split, rel = file.split, file.json_path
        try:
            data = json.loads((root / rel).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise AnnotationError(f"{rel}: cannot read: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("images"), list):
            raise AnnotationError(f"{rel}: expected a COCO object with 'images' and 'annotations'")
        images = _objects(data, "images", rel)
        annotations = _objects(data, "annotations", rel)
        categories = _objects(data, "categories", rel)
        keypoint_counts = _keypoint_counts(rel, categories)
        category_ids = {category["id"] for category in categories}
        names = [e["file_name"] for e in images if isinstance(e.get("file_name"), str)]
        folder = image_folder(root, file, names)
        head = {k: v for k, v in data.items() if k not in ("images", "annotations")}
        dataset.splits[split] = CocoSplit(rel, folder, head)
        by_image = _annotations_by_image(rel, images, annotations)
        for entry in images:
            name = entry.get("file_name")
            if not isinstance(name, str) or _unsafe(name):
                raise AnnotationError(
                    f"{rel}: image {entry.get('id')!r}: file_name {name!r} points outside the "
                    "dataset; use a path inside it"
                )
            path_in_root = str(PurePosixPath(folder) / name) if folder else name
            if path_in_root in dataset.images:
                other_split, other, _ = dataset.images[path_in_root]
                other_json = dataset.splits[other_split].json_path
                where = "" if other_split == split else f" and {other_json}"
                raise AnnotationError(
                    f"{rel}{where}: {path_in_root} is listed twice (image {other.get('id')!r} "
                    f"and image {entry.get('id')!r}); list each image once"
                )
            anns = by_image[entry["id"]]
            dataset.images[path_in_root] = (split, entry, anns)
            for ann in anns:
                problem = annotation_problem(ann, keypoint_counts, category_ids)
                if problem is not None:
                    index = next(i for i, a in enumerate(annotations) if a is ann)
                    name = _annotation_name(ann, index)
                    dataset.refused[path_in_root] = f"{rel}: {path_in_root}: {name}: {problem}"
                    break
    return dataset


def _annotations_by_image(
    rel: str, images: list[dict[str, Any]], annotations: list[dict[str, Any]]
) -> dict[Any, list[dict[str, Any]]]:
    """Each image id's annotations, in their order; refuses an id used twice and an annotation
    of no listed image (it would be lost without a trace)."""
    by_image: dict[Any, list[dict[str, Any]]] = {i: [] for i in _ids(rel, images, "image")}
    ann_index: dict[Any, int] = {}
    for index, ann in enumerate(annotations):
        ann_id = ann.get("id")
        if "id" in ann and not _is_id(ann_id):
            raise AnnotationError(
                f"{rel}: annotations[{index}]: id {ann_id!r} is not an id (a number or a string)"
            )
        if ann_id in ann_index:
            raise AnnotationError(
                f"{rel}: annotation id {ann_id!r} is used twice (annotations"
                f"[{ann_index[ann_id]}] and annotations[{index}]); each annotation needs "
                "its own id"
            )
        if "id" in ann:
            ann_index[ann_id] = index
        image_id = ann.get("image_id")
        if not _is_id(image_id) or image_id not in by_image:
            raise AnnotationError(
                f"{rel}: {_annotation_name(ann, index)}: image_id {image_id!r} matches no "
                "image in its 'images'"
            )
        by_image[image_id].append(ann)
    return by_image


def _ids(rel: str, entries: list[dict[str, Any]], noun: str) -> dict[Any, int]:
    """Each entry's id and its index, in order; refuses an entry without an id of its own (a
    number or a string) and an id used twice."""
    where = "categories" if noun == "category" else f"{noun}s"
    seen: dict[Any, int] = {}
    for index, entry in enumerate(entries):
        value = entry.get("id")
        if not _is_id(value):
            problem = "has no 'id'" if "id" not in entry else f"id {value!r} is not an id"
            raise AnnotationError(f"{rel}: {where}[{index}] {problem} (a number or a string)")
        if value in seen:
            raise AnnotationError(
                f"{rel}: {noun} id {value!r} is used twice ({where}[{seen[value]}] and "
                f"{where}[{index}]); each {noun} needs its own id"
            )
        seen[value] = index
    return seen


def _annotation_name(ann: dict[str, Any], index: int) -> str:
    return (
        f"annotation {ann['id']!r} (annotations[{index}])"
        if "id" in ann
        else f"annotations[{index}]"
    )


def _keypoint_counts(rel: str, categories: list[dict[str, Any]]) -> dict[Any, int]:
    """How many keypoints each category names (those that name them). Refuses a category
    without an id of its own, or with a name or keypoint names of the wrong kind: flip pairs
    and output categories are matched through them."""
    counts: dict[Any, int] = {}
    for (category_id, index), category in zip(
        _ids(rel, categories, "category").items(), categories, strict=True
    ):
        if "name" in category and not isinstance(category["name"], str):
            raise AnnotationError(
                f"{rel}: categories[{index}]: name {_kind(category['name'])} is not a string"
            )
        names = category.get("keypoints")
        if names is not None:
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise AnnotationError(
                    f"{rel}: categories[{index}]: keypoints must be a list of names, not "
                    f"{_kind(names)}"
                )
            counts[category_id] = len(names)
    return counts


def annotation_problem(
    ann: dict[str, Any],
    keypoint_counts: dict[Any, int] | None = None,
    category_ids: set[Any] | None = None,
) -> str | None:
    """Why this annotation cannot be moved with its image, or None when it can. With
    ``keypoint_counts`` (per category id), its keypoints must be as many as its category names;
    with ``category_ids`` (of a JSON that lists categories), its category must be one of them:
    written out as it is, an unknown category makes the loaders that look it up fail
    (pycocotools' ``loadCats``, Detectron2's id mapping)."""
    segmentation = ann.get("segmentation")
    if ann.get("iscrowd") or isinstance(segmentation, dict):
        return (
            "it is an RLE mask (iscrowd), which augtool does not transform; the image is refused "
            "rather than written with a stale mask"
        )
    bbox = ann.get("bbox")
    if (
        not _numbers_ok(bbox)
        or len(bbox) != 4
        or bbox[2] < 0
        or bbox[3] < 0
        or not _numbers_ok([float(bbox[0]) + bbox[2], float(bbox[1]) + bbox[3]])
    ):
        return (
            f"bbox must be [x, y, width, height] (finite numbers, no negative size), not "
            f"{_kind(bbox)}"
        )
    if segmentation is not None:
        if not isinstance(segmentation, list) or not all(
            isinstance(part, list) for part in segmentation
        ):
            return (
                "segmentation must be a list of polygons [[x1, y1, x2, y2, ...]], not "
                f"{_kind(segmentation)}"
            )
        for index, part in enumerate(segmentation):
            if not _numbers_ok(part) or len(part) < 6 or len(part) % 2:
                return (
                    f"segmentation[{index}] must be a polygon [x1, y1, x2, y2, x3, y3, ...] "
                    f"(finite numbers, at least 3 points), not {_kind(part)}"
                )
    if "category_id" in ann and not _is_id(ann["category_id"]):
        return f"category_id {_kind(ann['category_id'])} is not an id (a number or a string)"
    if category_ids and "category_id" in ann and ann["category_id"] not in category_ids:
        return f"category_id {ann['category_id']!r} is not among the JSON's categories"
    if "keypoints" in ann:
        keypoints = ann["keypoints"]
        if not _numbers_ok(keypoints) or len(keypoints) % 3:
            return (
                f"keypoints must be [x1, y1, v1, x2, y2, v2, ...] (finite numbers, three a "
                f"keypoint), not {_kind(keypoints)}"
            )
        category = ann.get("category_id")
        expected = (keypoint_counts or {}).get(category) if _is_id(category) else None
        if expected is not None and len(keypoints) != 3 * expected:
            return (
                f"it has {len(keypoints) // 3} keypoint(s), but its category {category!r} "
                f"names {expected}"
            )
    return None


def _numbers_ok(values: Any) -> bool:
    """A list of finite numbers (booleans are not numbers here; an integer too big for a float
    is not finite)."""
    if not isinstance(values, (list, tuple)):
        return False
    try:
        return all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        )
    except OverflowError:
        return False


def _objects(data: dict[str, Any], key: str, rel: str) -> list[dict[str, Any]]:
    """``data[key]``: a list of objects (an empty list when the key is absent)."""
    items = data.get(key, [])
    if not isinstance(items, list):
        raise AnnotationError(f"{rel}: '{key}' is {_kind(items)}, not a list")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise AnnotationError(f"{rel}: {key}[{index}] is {_kind(item)}, not an object")
    return items


def _kind(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False, default=str)
    return shown if len(shown) <= 40 else f"{shown[:37]}..."


def _is_id(value: Any) -> bool:
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def _unsafe(name: str) -> bool:
    pure = PurePosixPath(name.replace("\\", "/"))
    return pure.is_absolute() or name.startswith("~") or ".." in pure.parts or ":" in name[:2]


def to_targets(anns: list[dict[str, Any]], size: tuple[int, int], where: str) -> Targets:
    """An image's annotations as targets; each box, polygon part and keypoint set is labelled
    with the index of its annotation, so they are put back together after the move."""
    boxes, box_labels, polygons, polygon_labels, keypoints = [], [], [], [], []
    for index, ann in enumerate(anns):
        problem = annotation_problem(ann)
        if problem is not None:
            raise AnnotationError(f"{where}: annotation {ann.get('id')!r}: {problem}")
        x, y, w, h = (float(v) for v in ann["bbox"])
        boxes.append([x, y, x + w, y + h])
        box_labels.append({"ann": index})
        for part in ann.get("segmentation") or []:
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
            # COCO's visibility flag is an integer (0, 1, 2); coordinates stay numbers.
            ann["keypoints"] = [
                value
                for x, y, v in points
                for value in (round(float(x), 4), round(float(y), 4), int(v))
            ]
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
            swaps[category.get("id")] = order
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
