"""Small detection datasets for the synthesis tests: every source image holds one coloured
rectangle (its class by index), labelled in the layout's own format, so a test can check that
each output label lies on its object's pixels."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
from conftest import coloured, invoke, random_pixels
from PIL import Image

#: One object colour per source image (and its YOLO class / COCO category, by index).
COLOURS = [(220, 30, 30), (30, 30, 220), (30, 200, 30), (200, 200, 30), (200, 30, 200)]
SIZES = [(40, 48), (36, 60), (50, 40), (30, 30), (44, 52)]  # (height, width)
MOSAIC = "  - mosaic: {size: [64, 80]}\n"


def source_object(index: int) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    height, width = SIZES[index]
    box = (width // 5, height // 4, width // 5 + width // 2, height // 4 + height // 2)
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    image[box[1] : box[3], box[0] : box[2]] = COLOURS[index]
    return image, box


def write_yolo(root: Path) -> Path:
    """train/ holds five PNGs with one rectangle each (class = its index); val/ one of noise."""
    names = "".join(f"  {i}: c{i}\n" for i in range(len(COLOURS)))
    root.mkdir(parents=True)
    (root / "data.yaml").write_text(f"train: images/train\nval: images/val\nnames:\n{names}")
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    Image.fromarray(random_pixels((40, 40, 3))).save(root / "images" / "val" / "v.png")
    (root / "labels" / "val" / "v.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    for split, indices in (("train", range(5)),):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for index in indices:
            image, (x0, y0, x1, y1) = source_object(index)
            height, width = SIZES[index]
            Image.fromarray(image).save(root / "images" / split / f"s{index}.png")
            line = f"{index} {(x0 + x1) / 2 / width} {(y0 + y1) / 2 / height} "
            line += f"{(x1 - x0) / width} {(y1 - y0) / height}\n"
            (root / "labels" / split / f"s{index}.txt").write_text(line)
    return root


def write_coco(root: Path) -> Path:
    """train/ with five PNGs, each one rectangle annotated as a box and a polygon."""
    (root / "train").mkdir(parents=True)
    (root / "annotations").mkdir()
    images, anns = [], []
    for index in range(5):
        image, (x0, y0, x1, y1) = source_object(index)
        height, width = SIZES[index]
        Image.fromarray(image).save(root / "train" / f"s{index}.png")
        images.append({"id": index + 1, "file_name": f"s{index}.png", "width": width,
                       "height": height})  # fmt: skip
        polygon = [x0, y0, x1, y0, x1, y1, x0, y1]
        anns.append({"id": 10 + index, "image_id": index + 1, "category_id": index + 1,
                     "bbox": [x0, y0, x1 - x0, y1 - y0], "area": (x1 - x0) * (y1 - y0),
                     "iscrowd": 0, "segmentation": [polygon]})  # fmt: skip
    categories = [{"id": i + 1, "name": f"c{i}"} for i in range(5)]
    data = {"images": images, "annotations": anns, "categories": categories}
    (root / "annotations" / "instances_train.json").write_text(json.dumps(data))
    return root


def write_labelme(root: Path) -> Path:
    """Five rectangles, each a LabelMe shape ``c<index>``: a polygon for even indices, a
    rectangle for odd ones; ``s4`` has no JSON (an unlabelled image)."""
    root.mkdir(parents=True)
    for index in range(len(COLOURS)):
        image, (x0, y0, x1, y1) = source_object(index)
        height, width = SIZES[index]
        Image.fromarray(image).save(root / f"s{index}.png")
        if index == 4:
            continue
        if index % 2:
            shape = {"shape_type": "rectangle", "points": [[x0, y0], [x1, y1]]}
        else:
            shape = {"shape_type": "polygon", "points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]}
        document = {
            "version": "5.4.1",
            "shapes": [{"label": f"c{index}", **shape, "flags": {}}],
            "imagePath": f"s{index}.png",
            "imageData": None,
            "imageHeight": height,
            "imageWidth": width,
        }
        (root / f"s{index}.json").write_text(json.dumps(document, indent=2))
    return root


def recipe(path: Path, steps: str, variants: int = 3) -> Path:
    path.write_text(f"version: 1\nseed: 5\nvariants: {variants}\noutput: {{format: png}}\n"
                    f"pipeline:\n{steps}")  # fmt: skip
    return path


def assert_on_pixels(pixels: np.ndarray, boxes: list[tuple[int, list[float]]]) -> None:
    """Each labelled box is tight on its object's pixels (to within a pixel of resampling),
    and every object pixel lies in a box of its class (a source may be drawn twice)."""
    height, width = pixels.shape[:2]
    covered = {index: np.zeros((height, width), dtype=bool) for index in range(len(COLOURS))}
    for index, (x0, y0, x1, y1) in boxes:
        left, top = max(int(np.floor(x0)) - 1, 0), max(int(np.floor(y0)) - 1, 0)
        right, bottom = min(int(np.ceil(x1)) + 1, width), min(int(np.ceil(y1)) + 1, height)
        covered[index][top:bottom, left:right] = True
        rows, cols = np.nonzero(coloured(pixels[top:bottom, left:right], COLOURS[index]))
        assert len(rows), f"a box of class {index} where none of its pixels show"
        assert abs(left + cols.min() - x0) <= 1.01 and abs(left + cols.max() + 1 - x1) <= 1.01
        assert abs(top + rows.min() - y0) <= 1.01 and abs(top + rows.max() + 1 - y1) <= 1.01
    for index, colour in enumerate(COLOURS):
        rows, cols = np.nonzero(coloured(pixels, colour) & ~covered[index])
        # A sliver a pixel thin is no object (COCO drops boxes under a pixel wide or high).
        sliver = not len(rows) or min(np.ptp(rows), np.ptp(cols)) < 1
        assert sliver, f"class {index} shows where no box of its class is"


def yolo_boxes(text: str, size: tuple[int, int]) -> list[tuple[int, list[float]]]:
    height, width = size
    found = []
    for line in text.splitlines():
        cls, cx, cy, w, h = line.split()
        x, y, bw, bh = float(cx) * width, float(cy) * height, float(w) * width, float(h) * height
        found.append((int(cls), [x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2]))
    return found


def recompute(out: Path, source: Path) -> None:
    manifest = out / "manifest.jsonl"
    result = invoke("validate", "manifest", manifest, "--source", source, "--recompute", "all")
    assert result.exit_code == 0, result.output


def coco_eval(gt_path: Path, kind: str) -> float:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(gt_path))
        found = [{**ann, "score": 1.0} for ann in truth.dataset["annotations"]]
        evaluation = COCOeval(truth, truth.loadRes(found), kind)
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    return float(evaluation.stats[0])
