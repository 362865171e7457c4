"""YOLO (Ultralytics) labels: one text file per image, one object per line, normalised.

- Detection: ``class cx cy w h``; segmentation: ``class x1 y1 x2 y2 ...`` (a polygon, 3+ points);
  an oriented box: ``class x1 y1 x2 y2 x3 y3 x4 y4`` (four corners), which stays four corners
  (:mod:`augtool.layouts.oriented`).
- A line reaching outside the image (numbers outside [0, 1]) is clipped to it as read, and the
  label file's line in the manifest says so (``clipped``).
- An image without a label file, or with an empty one, is a background image and stays one.
- The dataset's ``data.yaml`` names the classes and the split folders (``train: images/train``).

Written back in the order the objects were read, numbers with six decimals; an object whose box
was dropped (too little of it left in the image) is left out, and the manifest says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from augtool.errors import InputError
from augtool.layouts import class_counts as counters
from augtool.layouts.base import AnnotationError, Record
from augtool.layouts.labelfiles import (
    LabelFileLayout,
    LabelFormat,
    Prepared,
    label_order,
    missing_files,
)
from augtool.layouts.oriented import enclosing_rectangle
from augtool.layouts.yolo_data import (
    IMAGES,
    YoloSplits,
    dotted,
    find_yaml,
    folder_splits,
    has_label_folders,
    list_text,
    read_data_yaml,
    yaml_splits,
)
from augtool.media.image.targets import Targets, clip_polygon


class YoloFormat(LabelFormat):
    name = "yolo"
    folder = "labels"
    ending = ".txt"

    def read(self, data: bytes, path: str, size: tuple[int, int]) -> Targets:
        try:
            # utf-8-sig: editors on Windows start a file with a byte-order mark, which is no label.
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AnnotationError(f"{path}: not UTF-8 text") from None
        boxes: list[np.ndarray] = []
        box_labels: list[dict[str, Any]] = []
        polygons: list[np.ndarray] = []
        polygon_labels: list[dict[str, Any]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            cls, values = _parse_line(parts, path, number)
            label: dict[str, Any] = {"class": cls, "line": number}
            if len(values) == OBB_NUMBERS:
                label["obb"] = True
            if _outside(values):
                label["clipped"] = True
            if len(values) == 4:
                boxes.append(_box(values, size, clip="clipped" in label))
                box_labels.append(label)
            else:
                points = np.array(values, dtype=np.float64).reshape(-1, 2) * size[::-1]
                polygons.append(clip_polygon(points, size) if "clipped" in label else points)
                polygon_labels.append(label)
        return Targets(
            size,
            boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
            box_labels=box_labels,
            polygons=polygons,
            polygon_labels=polygon_labels,
        )

    def write(self, targets: Targets) -> bytes:
        height, width = targets.size
        lines: list[tuple[tuple[int, int], str]] = []
        for box, label in zip(targets.boxes, targets.box_labels, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            values = [(x0 + x1) / 2 / width, (y0 + y1) / 2 / height,
                      (x1 - x0) / width, (y1 - y0) / height]  # fmt: skip
            lines.append((label_order(label), _line(label["class"], values)))
        for polygon, label in zip(targets.polygons, targets.polygon_labels, strict=True):
            if label.get("obb") and len(polygon) != 4:
                # The border cut the oriented box: four corners again, inside the image.
                polygon = enclosing_rectangle(polygon, targets.size)
            values = (np.asarray(polygon) / (width, height)).reshape(-1).tolist()
            lines.append((label_order(label), _line(label["class"], values)))
        lines.sort(key=lambda item: item[0])
        return "".join(text + "\n" for _, text in lines).encode("utf-8")


#: An oriented box's line: four corners (``class x1 y1 x2 y2 x3 y3 x4 y4``).
OBB_NUMBERS = 8
#: How far outside [0, 1] a number may lie and still be taken as on the border: numbers written
#: with six decimals round by 5e-7, and a box's centre plus half its size adds a little more.
TOLERANCE = 1e-6


def _outside(values: list[float]) -> bool:
    """Whether the line's object reaches outside the image (beyond rounding)."""
    if len(values) == 4:
        cx, cy, w, h = values
        edges = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    else:
        edges = values
    return min(edges) < -TOLERANCE or max(edges) > 1 + TOLERANCE


def _box(values: list[float], size: tuple[int, int], clip: bool) -> np.ndarray:
    height, width = size
    cx, cy, w, h = values
    box = np.array(
        [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height]
    )
    return np.clip(box, 0.0, [width, height, width, height]) if clip else box


def _parse_line(parts: list[str], path: str, number: int) -> tuple[int, list[float]]:
    expected = "'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...' (normalised numbers)"
    try:
        cls = int(parts[0])
        values = [float(v) for v in parts[1:]]
    except ValueError:
        raise AnnotationError(f"{path}:{number}: expected {expected}") from None
    if cls < 0 or not all(math.isfinite(v) for v in values):
        raise AnnotationError(f"{path}:{number}: expected {expected}")
    if len(values) != 4 and (len(values) < 6 or len(values) % 2):
        raise AnnotationError(f"{path}:{number}: expected {expected}; got {len(values)} numbers")
    if len(values) == 4 and min(values[2:]) < 0:
        # Refused, as Ultralytics and the COCO reader do: the box around its corners would
        # turn it positive after a geometric step, while a pixel step dropped it.
        raise AnnotationError(
            f"{path}:{number}: expected {expected}; a box's width and height cannot be negative"
        )
    return cls, values


def _line(cls: int, values: list[float]) -> str:
    clipped = (min(max(v, 0.0), 1.0) for v in values)
    return " ".join([str(cls), *(f"{v:.6f}" for v in clipped)])


class YoloLayout(LabelFileLayout):
    """Ultralytics and Roboflow: each image's labels in the same place under ``labels/``
    (``images/train/x.jpg`` -> ``labels/train/x.txt``, ``train/images/x.jpg`` ->
    ``train/labels/x.txt``); the splits from ``data.yaml`` (copied as it is) or, without one,
    from the folders (:mod:`augtool.layouts.yolo_data`)."""

    name = "yolo"
    detect_order = 10
    format = YoloFormat
    object_labels = True
    takes_partners = True
    outlines = True

    def class_counts(self, data: bytes, where: str) -> dict[str, int] | None:
        return counters.yolo(data, where)

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return find_yaml(root) is not None or has_label_folders(root, split_names)

    def prepare(self, root: Path, split_names: set[str]) -> Prepared:
        try:
            if find_yaml(root) is None:
                if not has_label_folders(root, split_names):
                    raise missing_files(root, NO_FILES)
                splits = folder_splits(root, split_names)
            else:
                splits = yaml_splits(root)
        except AnnotationError as exc:
            raise InputError(str(exc)) from None
        extra = () if splits.yaml_name is None else (splits.yaml_name,)
        return Prepared(
            extra, splits.names, splits.folders, splits.listed, splits.lists, _state(root, splits)
        )

    def split_of(
        self, rel: str, folders: dict[str, tuple[str, ...]], names: set[str]
    ) -> str | bool | None:
        if not folders:  # one images/ folder, no splits
            return None if IMAGES in rel.split("/")[:-1] else False
        for split, places in folders.items():
            if any(rel.startswith(folder + "/") for folder in places):
                return split
        return False

    def derived_line(self, record: Record) -> Record | None:
        """An image line of a split: its path goes into the split's list file."""
        if record.get("kind") is not None or record.get("split") is None:
            return None
        return {"path": record.get("path")}

    def derived_names(self, state: YoloLists | None) -> list[str]:
        return [] if state is None else [state.lists[split] for split in sorted(state.lists)]

    def derived_file(
        self, state: YoloLists | None, name: str, images: dict[str, list[Record]]
    ) -> bytes | None:
        """A split's list file: every output image of the split, in path order."""
        for split, list_path in (state.lists if state is not None else {}).items():
            if list_path == name:
                paths = [str(r["path"]) for r in images.get(split, [])]
                return list_text(list_path, paths, list_path in state.dotted)
        return None

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        if find_yaml(source_root) is None:
            return (), None
        splits = yaml_splits(source_root)
        return tuple(sorted(splits.names.items())), _state(source_root, splits)


@dataclass(frozen=True)
class YoloLists:
    """The splits given as list files (split -> list file), written again with every output
    image; ``dotted``: the lists whose lines start with ``./``."""

    lists: dict[str, str]
    dotted: frozenset[str]


def _state(root: Path, splits: YoloSplits) -> YoloLists | None:
    if not splits.lists:
        return None
    lists = splits.lists
    return YoloLists(lists, frozenset(f for f in lists.values() if dotted(root, f)))


NO_FILES = (
    "no data.yaml and no labels/ folder of .txt files beside an images/ one (a YOLO dataset's "
    "labels)"
)


__all__ = ["YoloFormat", "YoloLayout", "read_data_yaml"]
