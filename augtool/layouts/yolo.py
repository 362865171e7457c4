"""YOLO (Ultralytics) labels: one text file per image, one object per line, normalised.

- Detection: ``class cx cy w h``; segmentation: ``class x1 y1 x2 y2 ...`` (a polygon, 3+ points).
- An image without a label file, or with an empty one, is a background image and stays one.
- The dataset's ``data.yaml`` names the classes and the split folders (``train: images/train``).

Written back in the order the objects were read, numbers with six decimals; an object whose box
was dropped (too little of it left in the image) is left out, and the manifest says which.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from augtool.errors import InputError
from augtool.layouts.base import AnnotationError
from augtool.layouts.labelfiles import LabelFileLayout, LabelFormat
from augtool.media.image.targets import Targets

SPLIT_KEYS = ("train", "val", "test")


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


def read_data_yaml(root: Path) -> tuple[str, dict[int, str], dict[str, str]]:
    """``data.yaml`` (or ``dataset.yaml``): its file name, the class names and the split folders
    (relative to the dataset root). Paths that leave the dataset are refused."""
    for name in ("data.yaml", "dataset.yaml"):
        if (root / name).is_file():
            break
    else:
        raise AnnotationError(f"{root}: no data.yaml (a YOLO dataset names its splits there)")
    # Here, not at the top: workers import this module and never read YAML.
    import yaml

    from augtool.recipe.yaml_source import yaml_problem

    path = root / name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{path}: cannot read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem, line, column = yaml_problem(exc, text)
        where = path if line is None else f"{path}:{line}:{column}"
        raise AnnotationError(f"{where}: invalid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise AnnotationError(f"{path}: expected a mapping with names and train/val paths")
    names = _names(data.get("names"), path)
    base = data.get("path", ".")
    if base not in (".", "", None, "./"):
        _refuse_unsafe(str(base), path, "path")
    splits: dict[str, str] = {}
    for key in SPLIT_KEYS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise AnnotationError(f"{path}: {key}: expected one folder path, got {value!r}")
        folder = _refuse_unsafe(value, path, key)
        if base not in (".", "", None, "./"):
            folder = str(PurePosixPath(str(base)) / folder)
        splits[key] = folder.rstrip("/")
    if not splits:
        raise AnnotationError(f"{path}: names no split folder (train:, val:, test:)")
    return name, names, splits


def _names(value: Any, path: Path) -> dict[int, str]:
    if isinstance(value, list):
        return {i: str(v) for i, v in enumerate(value)}
    if isinstance(value, dict) and all(isinstance(k, int) for k in value):
        return {int(k): str(v) for k, v in value.items()}
    raise AnnotationError(f"{path}: names: expected a list or a mapping of class id to name")


def _refuse_unsafe(value: str, path: Path, key: str) -> str:
    pure = PurePosixPath(value.replace("\\", "/"))
    if (
        pure.is_absolute()
        or value.startswith("~")
        or ".." in pure.parts
        or (len(value) > 1 and value[1] == ":")
    ):
        raise AnnotationError(
            f"{path}: {key}: {value!r} points outside the dataset; use a path inside it"
        )
    return str(pure).removeprefix("./")


class YoloLayout(LabelFileLayout):
    """Ultralytics: ``data.yaml`` names the classes and the split folders (``train:
    images/train``); each image's labels are in the same place under ``labels/``
    (``labels/train/x.txt``). ``data.yaml`` is copied as it is."""

    name = "yolo"
    detect_order = 10
    format = YoloFormat
    object_labels = True

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        return (root / "data.yaml").is_file() or (root / "dataset.yaml").is_file()

    def prepare(self, root: Path) -> tuple[tuple[str, ...], dict[int, str], dict[str, str]]:
        try:
            yaml_name, class_names, folders = read_data_yaml(root)
        except AnnotationError as exc:
            raise InputError(str(exc)) from None
        return (yaml_name,), class_names, folders

    def split_of(self, rel: str, folders: dict[str, str], names: set[str]) -> str | bool | None:
        for split, folder in folders.items():
            if rel.startswith(folder + "/"):
                return split
        return False

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        return tuple(sorted(read_data_yaml(source_root)[1].items())), None
