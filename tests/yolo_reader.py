"""A YOLO dataset read by Ultralytics' rules, written here from its documentation and its
``check_det_dataset`` / ``img2label_paths`` / ``verify_image_label`` (ultralytics itself pulls in
torch, too heavy for the test extra):

- ``data.yaml``: split paths relative to the dataset root; a ``../X`` that does not exist is
  ``X`` below the root (Roboflow's exports); a split may be a ``.txt`` list of images (CVAT),
  read here relative to the list's folder; ``names`` a list or a mapping; ``nc`` must agree.
- An image's labels: the last ``/images/`` of its path becomes ``/labels/``, the ending ``.txt``.
- A label line: ``class cx cy w h`` or ``class x1 y1 x2 y2 ...`` (a polygon; an oriented box is
  one of four corners), every coordinate within [0, 1], the class below ``nc``. An image whose
  file breaks a rule is dropped by Ultralytics with a warning; here it raises.
- Oriented boxes become (cx, cy, w, h, angle) by ``cv2.minAreaRect`` of the corners, as
  Ultralytics' ``xyxyxyxy2xywhr`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

IMAGE_ENDINGS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class Corrupt(Exception):
    """A label file Ultralytics would drop its image for."""


@dataclass
class Split:
    images: list[Path] = field(default_factory=list)
    labels: dict[Path, list[list[float]]] = field(default_factory=dict)


def label_path(image: Path) -> Path:
    text = image.as_posix()
    head, sep, tail = text.rpartition("/images/")
    if not sep:
        raise Corrupt(f"{image}: no /images/ folder in its path")
    return Path(f"{head}/labels/{tail}").with_suffix(".txt")


def read_dataset(root: Path) -> tuple[dict[int, str], dict[str, Split]]:
    """The class names and each split's images and label lines."""
    data = yaml.safe_load((root / "data.yaml").read_text(encoding="utf-8"))
    names = data["names"]
    names = dict(enumerate(names)) if isinstance(names, list) else dict(names)
    if "nc" in data and data["nc"] != len(names):
        raise Corrupt(f"nc {data['nc']} != {len(names)} names")
    splits: dict[str, Split] = {}
    for key in ("train", "val", "test"):
        if not data.get(key):
            continue
        folder = (root / data[key]).resolve()
        if not folder.exists() and data[key].startswith("../"):
            folder = (root / data[key][3:]).resolve()
        if folder.is_file():  # a list of images, each relative to the list's folder
            lines = folder.read_text(encoding="utf-8").split()
            images = [(folder.parent / line.removeprefix("./")).resolve() for line in lines]
            splits[key] = read_images(images, len(names))
        elif folder.is_dir():
            splits[key] = read_split(folder, len(names))
        else:
            raise Corrupt(f"{key}: {folder} not found")
    return names, splits


def read_split(folder: Path, classes: int) -> Split:
    images = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_ENDINGS)
    return read_images(images, classes)


def read_images(images: list[Path], classes: int) -> Split:
    split = Split()
    for image in images:
        if not image.is_file():
            raise Corrupt(f"{image}: listed but not there")
        split.images.append(image)
        labels = label_path(image)
        split.labels[image] = read_labels(labels, classes) if labels.is_file() else []
    return split


def read_labels(path: Path, classes: int) -> list[list[float]]:
    rows = [line.split() for line in path.read_text(encoding="utf-8").splitlines()]
    rows = [[float(v) for v in row] for row in rows if row]
    for row in rows:
        if len(row) != 5 and (len(row) < 7 or len(row) % 2 == 0):
            raise Corrupt(f"{path}: a line of {len(row)} columns")
        if not 0 <= row[0] < classes or row[0] != int(row[0]):
            raise Corrupt(f"{path}: class {row[0]} is not one of the {classes}")
        if min(row[1:]) < 0 or max(row[1:]) > 1:
            raise Corrupt(f"{path}: non-normalized or out of bounds coordinates")
    return rows


def oriented(row: list[float], size: tuple[int, int]) -> tuple[float, ...]:
    """An oriented box line as (cx, cy, w, h, angle) in pixels, as Ultralytics takes it."""
    import cv2

    height, width = size
    corners = (np.array(row[1:], dtype=np.float32).reshape(-1, 2) * (width, height)).astype(
        np.float32
    )
    (cx, cy), (w, h), angle = cv2.minAreaRect(corners)
    return cx, cy, w, h, angle
