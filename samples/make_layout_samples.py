"""Build the export-shape samples from the bundled annotated samples (no new photos).

* ``samples/detection-voc``: Pascal VOC (``JPEGImages/``, ``Annotations/*.xml``,
  ``ImageSets/Main/{train,val,trainval}.txt``), from ``samples/detection-yolo``: each YOLO
  box (or a polygon's extent) becomes an object's ``bndbox`` in integer pixels.
* ``samples/classification-list``: a classification list as Hugging Face's
  ``imagefolder`` reads it (``metadata.csv`` with ``file_name``, ``label`` and a caption),
  over a few of ``samples/photos``, in flat ``train/`` and ``val/`` folders.
* ``samples/detection-labelme``: LabelMe (``<split>/x.jpg`` + ``<split>/x.json``), from the
  same images: each YOLO box a ``rectangle``, each YOLO polygon a ``polygon``, in pixels.

Regenerate with ``python samples/make_layout_samples.py`` (deterministic: the images are
copied byte for byte, the label files are made from the YOLO labels alone).
"""

from __future__ import annotations

import csv
import json
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


def yolo_shapes(label: Path, width: int, height: int) -> list[dict]:
    """Each line as a LabelMe shape: a box as a rectangle, a polygon as a polygon."""
    shapes = []
    for line in label.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        cls, values = int(parts[0]), [float(v) for v in parts[1:]]
        if len(values) == 4:
            cx, cy, w, h = values
            corners = [[cx - w / 2, cy - h / 2], [cx + w / 2, cy + h / 2]]
            kind = "rectangle"
        else:
            corners = [list(p) for p in zip(values[0::2], values[1::2], strict=True)]
            kind = "polygon"
        points = [[round(x * width, 2), round(y * height, 2)] for x, y in corners]
        shape = {"label": NAMES[cls], "points": points, "group_id": None, "description": ""}
        shapes.append({**shape, "shape_type": kind, "flags": {}, "mask": None})
    return shapes


def make_labelme(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    for split, names in PICK.items():
        (out / split).mkdir(parents=True)
        for name in names:
            image = YOLO / f"images/{split}/{name}.jpg"
            shutil.copyfile(image, out / f"{split}/{name}.jpg")
            with Image.open(image) as img:
                width, height = img.size
            shapes = yolo_shapes(YOLO / f"labels/{split}/{name}.txt", width, height)
            document = {"version": "5.5.0", "flags": {}, "shapes": shapes,
                        "imagePath": f"{name}.jpg", "imageData": None,
                        "imageHeight": height, "imageWidth": width}  # fmt: skip
            text = json.dumps(document, ensure_ascii=False, indent=2)
            (out / f"{split}/{name}.json").write_text(text)


PHOTOS = HERE / "photos"
LISTED = {
    "train": ("cat/cat_001.jpg", "cat/cat_002.jpg", "coffee/coffee_001.jpg",
              "coffee/coffee_002.jpg"),
    "val": ("cat/cat_010.jpg", "coffee/coffee_010.jpg"),
}  # fmt: skip
CAPTIONS = {"cat": "a cat, photographed", "coffee": "a cup of coffee"}


def make_list(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    rows = []
    for split, names in LISTED.items():
        (out / split).mkdir(parents=True)
        for name in names:
            label, file_name = name.split("/")
            shutil.copyfile(PHOTOS / split / name, out / split / file_name)
            rows.append({"file_name": f"{split}/{file_name}", "label": label,
                         "caption": CAPTIONS[label]})  # fmt: skip
    with (out / "metadata.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["file_name", "label", "caption"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


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
    make_labelme(HERE / "detection-labelme")
    make_list(HERE / "classification-list")
