"""YOLO boxes, segmentation polygons and oriented boxes (OBB) moved with their image land on the
object's pixels: each test image holds one coloured object, and the written label must cover the
pixels of that colour in the variant. Labels read back by Ultralytics' rules
(``tests/yolo_reader.py``); a line outside the image is clipped and recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yolo_reader
from conftest import invoke, read_manifest
from PIL import Image, ImageDraw

from augtool.layouts import YoloFormat
from augtool.layouts.oriented import enclosing_rectangle

H, W = 120, 160
COLOUR = (230, 30, 40)
#: The objects, in pixels: a box, a rotated rectangle (OBB corners) and an L-shaped polygon.
BOX = [(40, 30), (100, 30), (100, 80), (40, 80)]
OBB = [(60, 20), (120, 50), (100, 90), (40, 60)]
L_SHAPE = [(30, 20), (70, 20), (70, 60), (110, 60), (110, 100), (30, 100)]

RECIPE = """\
version: 1
seed: 11
variants: 8
output: {format: png}
pipeline:
  - hflip: {p: 0.5}
  - affine: {rotate: 35, scale: [0.8, 1.2], translate_percent: 0.25, interpolation: nearest}
  - random_resized_crop: {size: [96, 128], scale: [0.5, 1.0], interpolation: nearest}
"""


def _normalised(points: list[tuple[int, int]]) -> str:
    return " ".join(f"{x / W:.6f} {y / H:.6f}" for x, y in points)


def _dataset(root: Path) -> Path:
    """One image per shape, each with one object of COLOUR on grey."""
    lines = {
        "box": f"0 {70 / W:.6f} {55 / H:.6f} {60 / W:.6f} {50 / H:.6f}\n",
        "obb": f"1 {_normalised(OBB)}\n",
        "seg": f"2 {_normalised(L_SHAPE)}\n",
    }
    shapes = {"box": BOX, "obb": OBB, "seg": L_SHAPE}
    for index, (name, line) in enumerate(lines.items()):
        image = Image.new("RGB", (W, H), (90 + index, 90, 90))
        if name == "box":  # pixels 40-99 x 30-79: the box's pixel edges are 40-100 x 30-80
            ImageDraw.Draw(image).rectangle([40, 30, 99, 79], fill=COLOUR)
        else:
            ImageDraw.Draw(image).polygon(shapes[name], fill=COLOUR)
        (root / "images/train").mkdir(parents=True, exist_ok=True)
        (root / "labels/train").mkdir(parents=True, exist_ok=True)
        image.save(root / f"images/train/{name}.png")
        (root / f"labels/train/{name}.txt").write_text(line)
    (root / "data.yaml").write_text("train: images/train\nnames: [box, obb, seg]\n")
    return root


def _object_pixels(path: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return np.all(np.abs(pixels - COLOUR) < 40, axis=2)


def _label_mask(row: list[float], size: tuple[int, int]) -> np.ndarray:
    height, width = size
    mask = Image.new("L", (width, height), 0)
    if len(row) == 5:
        _, cx, cy, w, h = row
        box = [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width,
               (cy + h / 2) * height]  # fmt: skip
        ImageDraw.Draw(mask).rectangle([box[0], box[1], box[2] - 1, box[3] - 1], fill=1)
    else:
        points = [(x * width, y * height) for x, y in np.reshape(row[1:], (-1, 2))]
        ImageDraw.Draw(mask).polygon(points, fill=1, outline=1)
    return np.asarray(mask, dtype=bool)


def _assert_covers(row: list[float], objects: np.ndarray, name: str) -> None:
    """Most object pixels lie in the label, and every one within two pixels of it (pixels on
    the outline round either way when the image is resampled)."""
    import cv2

    mask = _label_mask(row, objects.shape)
    covered = (mask & objects).sum() / objects.sum()
    assert covered >= 0.93, (name, covered)
    near = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    assert not (objects & ~near).any(), (name, int((objects & ~near).sum()))


def _expand(tmp_path: Path, source: Path, recipe: str = RECIPE) -> tuple[Path, list[dict]]:
    (tmp_path / "r.yaml").write_text(recipe)
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--quiet", "--strict")
    assert result.exit_code == 0, result.output
    check = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source,
                   "--recompute", "all", "--quiet")  # fmt: skip
    assert check.exit_code == 0, check.output
    return out, read_manifest(out)


def test_moved_boxes_polygons_and_oriented_boxes_cover_their_object(tmp_path: Path) -> None:
    out, _ = _expand(tmp_path, _dataset(tmp_path / "in"))
    _, splits = yolo_reader.read_dataset(out)  # every line by Ultralytics' rules
    checked = {"box": 0, "obb": 0, "seg": 0}
    for image, rows in splits["train"].labels.items():
        shape = image.name.split("__")[0].removesuffix(".png")
        objects = _object_pixels(image)
        if objects.sum() < 30:  # moved (nearly) out of view: the label is dropped
            assert rows == [] or objects.sum() > 0
            continue
        (row,) = rows
        size = objects.shape
        if shape == "obb":
            assert len(row) == 9  # four corners, always
        _assert_covers(row, objects, image.name)
        if shape == "seg":  # the polygon is the object, not a box around it
            area = _label_mask(row, size).sum()
            assert area <= 1.15 * objects.sum() + 40, (image.name, area, objects.sum())
        checked[shape] += 1
    assert min(checked.values()) >= 5, checked


def test_an_oriented_box_the_border_cuts_stays_four_corners_inside(tmp_path: Path) -> None:
    source = _dataset(tmp_path / "in")
    recipe = (
        "version: 1\nvariants: 1\noutput: {format: png}\npipeline:\n"
        "  - affine: {translate_percent: [0.3, 0.3], rotate: [20, 20], interpolation: nearest}\n"
    )
    out, _ = _expand(tmp_path, source, recipe)
    row = yolo_reader.read_labels(out / "labels/train/obb__v00.txt", 3)[0]
    assert len(row) == 9 and min(row[1:]) >= 0 and max(row[1:]) <= 1
    objects = _object_pixels(out / "images/train/obb__v00.png")
    assert 0 < objects.sum() < _object_pixels(source / "images/train/obb.png").sum()  # cut
    _assert_covers(row, objects, "obb__v00.png")
    _, _, w, h, _ = yolo_reader.oriented(row, objects.shape)
    assert w * h < 1.6 * objects.sum()  # a rectangle around what is left, not the whole image


def test_oriented_and_polygon_lines_round_trip_exactly() -> None:
    text = (
        f"1 {_normalised(OBB)}\n2 {_normalised(L_SHAPE)}\n0 0.437500 0.458333 0.375000 0.416667\n"
    ).encode()
    fmt = YoloFormat()
    assert fmt.write(fmt.read(text, "x.txt", (H, W))) == text


def test_a_line_outside_the_image_is_clipped_and_recorded(tmp_path: Path) -> None:
    source = _dataset(tmp_path / "in")
    (source / "labels/train/box.txt").write_text(
        "0 0.950000 0.500000 0.200000 0.200000\n"  # reaches x = 1.05
        f"1 {_normalised(OBB)}\n"
        "2 -0.100000 0.100000 0.500000 0.100000 0.500000 0.500000\n"  # a vertex left of 0
    )
    recipe = "version: 1\nvariants: 1\npipeline:\n  - random_brightness_contrast: {p: 1.0}\n"
    out, records = _expand(tmp_path, source, recipe)
    (record,) = [r for r in records if r.get("path") == "labels/train/box__v00.txt"]
    assert record["clipped"] == [1, 3]
    assert record["dropped"] == []
    lines = (out / "labels/train/box__v00.txt").read_text().splitlines()
    assert lines[0] == "0 0.925000 0.500000 0.150000 0.200000"
    assert lines[2] == "2 0.000000 0.166667 0.000000 0.100000 0.500000 0.100000 0.500000 0.500000"
    yolo_reader.read_labels(out / "labels/train/box__v00.txt", 3)  # in bounds now
    unclipped = [r for r in records if r.get("path") == "labels/train/obb__v00.txt"]
    assert "clipped" not in unclipped[0]


@pytest.mark.parametrize("angle", [0.0, 0.3, 1.0])
def test_the_enclosing_rectangle_holds_the_cut_polygon_inside_the_image(angle: float) -> None:
    centre = np.array([5.0, 40.0])
    corners = np.array([[-30, -12], [30, -12], [30, 12], [-30, 12]], dtype=float)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    quad = corners @ rotation.T + centre
    from augtool.media.image.targets import clip_polygon

    cut = clip_polygon(quad, (80, 100))
    rectangle = enclosing_rectangle(cut, (80, 100))
    assert rectangle.shape == (4, 2)
    assert rectangle.min() >= 0 and rectangle[:, 0].max() <= 100 and rectangle[:, 1].max() <= 80
    sides = np.diff(np.vstack([rectangle, rectangle[:1]]), axis=0)
    assert abs(float(np.dot(sides[0], sides[1]))) < 1e-6  # a rectangle: right angles
    import cv2

    for x, y in cut:  # every point of what is left lies in it
        assert cv2.pointPolygonTest(rectangle.astype(np.float32), (x, y), True) >= -1e-3
