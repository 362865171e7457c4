"""LabelMe: one JSON per image, its rectangles and polygons moved onto the object's pixels,
written back naming the variant, and read by a third-party LabelMe reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, invoke, read_manifest, skipped
from PIL import Image

from augtool.layouts import AnnotationError, labelme

H, W = 90, 120
RED, GREEN = (255, 0, 0), (0, 255, 0)
BOX = (10.0, 12.0, 50.0, 40.0)  # the red rectangle
TRIANGLE = [[70.0, 20.0], [110.0, 20.0], [90.0, 80.0]]  # the green triangle


def picture(seed: int = 0) -> np.ndarray:
    image = Image.new("RGB", (W, H), (128 + seed,) * 3)
    from PIL import ImageDraw

    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = BOX
    draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=RED)
    draw.polygon([tuple(p) for p in TRIANGLE], fill=GREEN)
    return np.asarray(image)


def shapes(box: tuple[float, ...] = BOX, triangle: list[list[float]] = TRIANGLE) -> list[dict]:
    common = {"group_id": None, "description": "", "flags": {}}
    return [
        {"label": "left_red", "points": [list(box[:2]), list(box[2:])], **common,
         "shape_type": "rectangle"},
        {"label": "green", "points": triangle, **common, "shape_type": "polygon"},
    ]  # fmt: skip


def document(name: str, found: list[dict], image_data: str | None = None) -> str:
    return json.dumps(
        {
            "version": "5.5.0",
            "flags": {},
            "shapes": found,
            "imagePath": name,
            "imageData": image_data,
            "imageHeight": H,
            "imageWidth": W,
        },
        indent=2,
    )


def make_labelme(root: Path) -> Path:
    for split, seed in (("train", 0), ("val", 1)):
        (root / split).mkdir(parents=True)
        Image.fromarray(picture(seed)).save(root / split / "a.png")
        (root / split / "a.json").write_text(document("a.png", shapes(), "aGVsbG8="))
    Image.new("RGB", (W, H), (40, 40, 40)).save(root / "train/unlabelled.png")
    return root


RECIPE = """\
version: 1
seed: 8
variants: 6
input: {layout: labelme}
output: {format: png}
targets: {flip_pairs: [[left_red, right_red]]}
# the test pictures differ only in shade, which the near-duplicate check rightly pairs
splits: {on_leak: ignore}
pipeline:
  - hflip: {p: 0.5}
  - affine: {scale: [0.8, 1.2], translate_percent: 0.1, rotate: 20}
  - random_resized_crop: {size: [80, 100], scale: [0.6, 1.0]}
"""


def run(tmp_path: Path, source: Path, recipe: str = RECIPE, *args: str) -> Path:
    (tmp_path / "r.yaml").write_text(recipe)
    return expand(tmp_path / "r.yaml", source, tmp_path / "out", "--quiet", *args)


def mask_of(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    return np.abs(image.astype(int) - colour).max(axis=2) < 60


def test_moved_shapes_land_on_the_objects_pixels(tmp_path: Path) -> None:
    from PIL import ImageDraw

    out = run(tmp_path, make_labelme(tmp_path / "in"))
    variants = sorted((out / "train").glob("a__v*.png"))
    assert len(variants) == 6
    for path in variants:
        with Image.open(path) as opened:
            image = np.asarray(opened.convert("RGB"))
        found = json.loads(path.with_suffix(".json").read_text())
        assert found["imagePath"] == path.name
        assert found["imageData"] is None
        assert (found["imageHeight"], found["imageWidth"]) == image.shape[:2]
        by_label = {s["label"]: s for s in found["shapes"]}
        red = by_label.get("left_red") or by_label["right_red"]
        # The red rectangle's pixels lie inside its moved box (rotated: the enclosing box).
        (x0, y0), (x1, y1) = red["points"]
        ys, xs = np.nonzero(mask_of(image, RED))
        assert xs.min() >= x0 - 1.5 and xs.max() + 1 <= x1 + 1.5
        assert ys.min() >= y0 - 1.5 and ys.max() + 1 <= y1 + 1.5
        # The green polygon, drawn again from its moved points, covers the green pixels.
        drawn = Image.new("L", (image.shape[1], image.shape[0]), 0)
        points = [tuple(p) for p in by_label["green"]["points"]]
        ImageDraw.Draw(drawn).polygon(points, fill=255)
        ours, seen = np.asarray(drawn) > 0, mask_of(image, GREEN)
        overlap = (ours & seen).sum() / max(1, (ours | seen).sum())
        assert overlap > 0.85, (path.name, overlap)
    labels = [r for r in read_manifest(out) if r.get("kind") == "label"]
    flipped = [r for r in labels if r.get("flipped_labels") == ["left_red"]]
    assert 0 < len(flipped) < 6
    for record in flipped:
        assert json.loads((out / record["path"]).read_text())["shapes"][0]["label"] == "right_red"


def test_validate_rederives_every_label_file(tmp_path: Path) -> None:
    source = make_labelme(tmp_path / "in")
    out = run(tmp_path, source, RECIPE.replace("input: {layout: labelme}\n", ""), "--strict")
    assert read_manifest(out)[0]["layout"] == "labelme"
    result = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert result.exit_code == 0, result.output
    # 12 images (6 of a.png, 6 of unlabelled.png) and the 6 JSONs of a.png's variants.
    assert "18 outputs re-derived" in result.output
    # An unlabelled image stays unlabelled; an original's JSON is copied as it is.
    assert not list((out / "train").glob("unlabelled*.json"))
    assert (out / "train/a.json").read_bytes() == (source / "train/a.json").read_bytes()


def test_a_shape_augtool_cannot_move_skips_its_image(tmp_path: Path) -> None:
    source = make_labelme(tmp_path / "in")
    circle = {"label": "c", "points": [[5.0, 5.0], [9.0, 9.0]], "shape_type": "circle"}
    (source / "train/a.json").write_text(document("a.png", [*shapes(), circle]))
    out = run(tmp_path, source)
    assert skipped(out)["train/a.png"] == (
        "train/a.json: shapes[2] is a 'circle', which augtool does not move (it moves "
        "rectangle, polygon)"
    )


def test_a_shape_outside_its_image_is_clipped_or_dropped_and_recorded(tmp_path: Path) -> None:
    source = make_labelme(tmp_path / "in")
    gone = {"label": "gone", "points": [[200.0, 5.0], [240.0, 30.0]], "shape_type": "rectangle"}
    found = [*shapes((-20.0, 12.0, 50.0, 140.0)), gone]
    (source / "train/a.json").write_text(document("a.png", found))
    recipe = RECIPE.replace(
        "  - affine: {scale: [0.8, 1.2], translate_percent: 0.1, rotate: 20}\n"
        "  - random_resized_crop: {size: [80, 100], scale: [0.6, 1.0]}\n",
        "  - color_jitter: {brightness: 0.2}\n",
    )
    out = run(tmp_path, source, recipe)
    records = {r["path"]: r for r in read_manifest(out) if r["type"] == "file"}
    for index in range(6):
        path = f"train/a__v{index:02d}.json"
        moved = json.loads((out / path).read_text())["shapes"]
        assert len(moved) == 2
        values = [v for shape in moved for point in shape["points"] for v in point]
        assert min(values) >= 0 and max(values) <= W
        assert records[path]["dropped"] == [{"shape": 2, "label": "gone"}]


def test_a_third_party_labelme_reader_reads_the_output(tmp_path: Path) -> None:
    globox = pytest.importorskip("globox")
    out = run(tmp_path, make_labelme(tmp_path / "in"))
    annotations = globox.AnnotationSet.from_labelme(out / "train")
    assert len(annotations) == 1 + 6
    for annotation in annotations:
        with Image.open(out / "train" / annotation.image_id) as image:
            assert annotation.image_size == image.size
        assert {b.label for b in annotation.boxes} <= {"left_red", "right_red", "green"}


def test_read_and_write_without_a_move_gives_the_file_back() -> None:
    data = document("a.png", shapes()).encode()
    targets = labelme.read(data, "a.json", (H, W))
    assert labelme.write(data, "a.json", targets, {}) == (data, [])
    renamed = labelme.named(data, "a.json", "a__v00.png")
    assert json.loads(renamed)["imagePath"] == "a__v00.png"


def test_malformed_shapes_are_annotation_errors() -> None:
    bad = [{"label": "x", "points": [[1.0, 2.0]], "shape_type": "rectangle"}]
    with pytest.raises(AnnotationError, match="two corner points"):
        labelme.read(document("a.png", bad).encode(), "a.json", (H, W))
    with pytest.raises(AnnotationError, match="not a LabelMe JSON"):
        labelme.read(b"[]", "a.json", (H, W))
