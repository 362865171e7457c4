"""Build ``samples/detection-roboflow-yolo``: the YOLO sample as Roboflow exports it ("YOLOv8").

Roboflow's export is the most common YOLO dataset there is, and its shape is not Ultralytics'
own: one folder per split (``train/``, ``valid/``, ``test/``), each with ``images/`` and
``labels/``; a ``data.yaml`` whose split paths start with ``../`` (``train: ../train/images``,
which Ultralytics resolves as ``train/images`` below the dataset), ``nc`` and ``names`` as a
list, a ``roboflow:`` block; file names with ``_jpg.rf.<hash>`` added; README files at the top.

Made from ``samples/detection-yolo`` (see ``samples/LICENSES.md`` for the photos): the images
and label lines are copied unchanged, renamed as Roboflow names them. Deterministic; regenerate
with ``python samples/make_roboflow_yolo.py``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "detection-yolo"
TARGET = HERE / "detection-roboflow-yolo"

#: Roboflow's split folder -> the sample images it holds (split/stem in detection-yolo).
SPLITS = {
    "train": [
        "train/astronaut_001",
        "train/background_001",
        "train/cat_001",
        "train/cup_001",
        "train/rocket_001",
    ],
    "valid": ["val/cat_003", "val/rocket_004"],
    "test": ["val/cup_003"],
}

DATA_YAML = """\
train: ../train/images
val: ../valid/images
test: ../test/images

nc: 4
names: ['cat', 'cup', 'rocket', 'person']

roboflow:
  workspace: augtool
  project: samples-detection
  version: 1
  license: CC0
  url: https://example.invalid/augtool/samples-detection/1
"""

README = """\
samples-detection - v1

This dataset was exported in YOLOv8 format (a hand-made stand-in for a Roboflow export, built by
samples/make_roboflow_yolo.py from samples/detection-yolo; see samples/LICENSES.md).
"""


def main() -> None:
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for split, names in SPLITS.items():
        (TARGET / split / "images").mkdir(parents=True)
        (TARGET / split / "labels").mkdir(parents=True)
        for name in names:
            source_split, stem = name.split("/")
            data = (SOURCE / "images" / source_split / f"{stem}.jpg").read_bytes()
            new_stem = f"{stem}_jpg.rf.{hashlib.sha256(data).hexdigest()[:32]}"
            (TARGET / split / "images" / f"{new_stem}.jpg").write_bytes(data)
            label = SOURCE / "labels" / source_split / f"{stem}.txt"
            text = label.read_bytes() if label.is_file() else b""
            (TARGET / split / "labels" / f"{new_stem}.txt").write_bytes(text)
    (TARGET / "data.yaml").write_text(DATA_YAML, encoding="utf-8")
    (TARGET / "README.roboflow.txt").write_text(README, encoding="utf-8")


if __name__ == "__main__":
    main()
