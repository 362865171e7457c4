"""Build the export-shape samples from the bundled annotated samples (no new photos).

* ``samples/detection-voc``: Pascal VOC (``JPEGImages/``, ``Annotations/*.xml``,
  ``ImageSets/Main/{train,val,trainval}.txt``), from ``samples/detection-yolo``: each YOLO
  box (or a polygon's extent) becomes an object's ``bndbox`` in integer pixels.

Regenerate with ``python samples/make_layout_samples.py`` (deterministic: the images are
copied byte for byte, the label files are made from the YOLO labels alone).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
YOLO = HERE / "detection-yolo"
NAMES = {0: "cat", 1: "cup", 2: "rocket", 3: "person"}
#: A few images of each split are enough to show the layout.
PICK = {
    "train": ("astronaut_001", "cat_001", "cup_001", "rocket_001"),
    "val": ("cup_003", "rocket_004"),
}


def yolo_boxes(label: Path, width: int, height: int) -> list[tuple[str, list[int]]]:
    """Each line's class name and pixel box (a polygon's extent)."""
    out = []
    for line in label.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        cls, values = int(parts[0]), [float(v) for v in parts[1:]]
        if len(values) == 4:
            cx, cy, w, h = values
            box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
        else:
            xs, ys = values[0::2], values[1::2]
            box = [min(xs), min(ys), max(xs), max(ys)]
        scaled = [box[0] * width, box[1] * height, box[2] * width, box[3] * height]
        out.append((NAMES[cls], [round(v) for v in scaled]))
    return out


def voc_xml(name: str, width: int, height: int, objects: list[tuple[str, list[int]]]) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<annotation>",
        "  <folder>detection-voc</folder>",
        f"  <filename>{name}.jpg</filename>",
        "  <source><database>augtool samples (scikit-image photos)</database></source>",
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>",
        "  <segmented>0</segmented>",
    ]
    for index, (cls, (x0, y0, x1, y1)) in enumerate(objects):
        difficult = 1 if cls == "rocket" and index else 0
        lines += [
            "  <object>",
            f"    <name>{cls}</name>",
            "    <pose>Unspecified</pose>",
            "    <truncated>0</truncated>",
            f"    <difficult>{difficult}</difficult>",
            f"    <bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
            f"<ymax>{y1}</ymax></bndbox>",
            "  </object>",
        ]
    lines.append("</annotation>")
    return "\n".join(lines) + "\n"


def make_voc(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "ImageSets/Main").mkdir(parents=True)
    (out / "JPEGImages").mkdir()
    (out / "Annotations").mkdir()
    for split, names in PICK.items():
        for name in names:
            image = YOLO / f"images/{split}/{name}.jpg"
            shutil.copyfile(image, out / f"JPEGImages/{name}.jpg")
            with Image.open(image) as img:
                width, height = img.size
            objects = yolo_boxes(YOLO / f"labels/{split}/{name}.txt", width, height)
            (out / f"Annotations/{name}.xml").write_text(voc_xml(name, width, height, objects))
        (out / f"ImageSets/Main/{split}.txt").write_text("".join(f"{n}\n" for n in sorted(names)))
    every = sorted(n for names in PICK.values() for n in names)
    (out / "ImageSets/Main/trainval.txt").write_text("".join(f"{n}\n" for n in every))


if __name__ == "__main__":
    make_voc(HERE / "detection-voc")
