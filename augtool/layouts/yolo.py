"""YOLO (Ultralytics) labels: one text file per image, one object per line, normalised.

- Detection: ``class cx cy w h``; segmentation: ``class x1 y1 x2 y2 ...`` (a polygon, 3+ points).
- An image without a label file, or with an empty one, is a background image and stays one.
- The dataset's ``data.yaml`` names the classes and the split folders (``train: images/train``).

Written back in the order the objects were read, numbers with six decimals; an object whose box
was dropped (too little of it left in the image) is left out, and the manifest says which.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from augtool.errors import InputError
from augtool.layouts.base import AnnotationError
from augtool.layouts.labelfiles import LabelFileLayout, LabelFormat, missing_files
from augtool.layouts.yolo_data import (
    IMAGES,
    find_yaml,
    folder_splits,
    has_label_folders,
    read_data_yaml,
    yaml_splits,
)
from augtool.media.image.targets import Targets


class YoloFormat(LabelFormat):
    name = "yolo"
    folder = "labels"
    ending = ".txt"

    def read(self, data: bytes, path: str, size: tuple[int, int]) -> Targets:
        height, width = size
        try:
            # utf-8-sig: editors on Windows start a file with a byte-order mark, which is no label.
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise AnnotationError(f"{path}: not UTF-8 text") from None
        boxes: list[list[float]] = []
        box_labels: list[dict[str, int]] = []
        polygons: list[np.ndarray] = []
        polygon_labels: list[dict[str, int]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            cls, values = _parse_line(parts, path, number)
            if len(values) == 4:
                cx, cy, w, h = values
                boxes.append(
                    [(cx - w / 2) * width, (cy - h / 2) * height,
                     (cx + w / 2) * width, (cy + h / 2) * height]
                )  # fmt: skip
                box_labels.append({"class": cls, "line": number})
            else:
                points = np.array(values, dtype=np.float64).reshape(-1, 2) * (width, height)
                polygons.append(points)
                polygon_labels.append({"class": cls, "line": number})
        return Targets(
            size,
            boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
            box_labels=box_labels,
            polygons=polygons,
            polygon_labels=polygon_labels,
        )

    def write(self, targets: Targets) -> bytes:
        height, width = targets.size
        lines: list[tuple[int, str]] = []
        for box, label in zip(targets.boxes, targets.box_labels, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            values = [(x0 + x1) / 2 / width, (y0 + y1) / 2 / height,
                      (x1 - x0) / width, (y1 - y0) / height]  # fmt: skip
            lines.append((label["line"], _line(label["class"], values)))
        for polygon, label in zip(targets.polygons, targets.polygon_labels, strict=True):
            values = (np.asarray(polygon) / (width, height)).reshape(-1).tolist()
            lines.append((label["line"], _line(label["class"], values)))
        lines.sort(key=lambda item: item[0])
        return "".join(text + "\n" for _, text in lines).encode("utf-8")


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

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return find_yaml(root) is not None or has_label_folders(root, split_names)

    def prepare(
        self, root: Path, split_names: set[str]
    ) -> tuple[tuple[str, ...], dict[int, str], dict[str, tuple[str, ...]]]:
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
        return extra, splits.names, splits.folders

    def split_of(
        self, rel: str, folders: dict[str, tuple[str, ...]], names: set[str]
    ) -> str | bool | None:
        if not folders:  # one images/ folder, no splits
            return None if IMAGES in rel.split("/")[:-1] else False
        for split, places in folders.items():
            if any(rel.startswith(folder + "/") for folder in places):
                return split
        return False

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        if find_yaml(source_root) is None:
            return (), None
        return tuple(sorted(read_data_yaml(source_root)[1].items())), None


NO_FILES = (
    "no data.yaml and no labels/ folder of .txt files beside an images/ one (a YOLO dataset's "
    "labels)"
)
