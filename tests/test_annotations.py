"""YOLO labels and segmentation masks, written back moved with their image."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, invoke, read_manifest
from PIL import Image

from augtool.layouts import AnnotationError, YoloFormat

H, W = 96, 128
BOX = (40, 30, 90, 70)  # x0, y0, x1, y1 of the bright object, in pixels


def picture() -> np.ndarray:
    """A dark image with one bright rectangle (the object) at BOX."""
    image = np.full((H, W, 3), 30, dtype=np.uint8)
    x0, y0, x1, y1 = BOX
    image[y0:y1, x0:x1] = (250, 240, 230)
    return image


def val_picture() -> np.ndarray:
    """The object at BOX on a background of large squares: another photo of it, not a near
    copy (their perceptual hashes differ in 14 of 64 bits)."""
    image = picture()
    rows, columns = np.mgrid[0:H, 0:W]
    squares = ((rows // 24 + columns // 32) % 2 * 160).astype(np.uint8)[..., None]
    x0, y0, x1, y1 = BOX
    background = np.ones((H, W, 1), dtype=bool)
    background[y0:y1, x0:x1] = False
    return np.where(background, image + squares, image)


def yolo_line(cls: int, box: tuple[float, float, float, float]) -> str:
    x0, y0, x1, y1 = box
    return f"{cls} {(x0 + x1) / 2 / W} {(y0 + y1) / 2 / H} {(x1 - x0) / W} {(y1 - y0) / H}\n"


def make_yolo(root: Path) -> Path:
    for split in ("train", "val"):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        # val's own picture: the same content in two splits (or a near copy, which the
        # near-duplicate check finds) would be leakage.
        Image.fromarray(picture() if split == "train" else val_picture()).save(
            root / "images" / split / "obj.png"
        )
        (root / "labels" / split / "obj.txt").write_text(yolo_line(0, BOX))
    Image.fromarray(np.full((H, W, 3), 30, np.uint8)).save(root / "images/train/bg_none.png")
    Image.fromarray(np.full((H, W, 3), 60, np.uint8)).save(root / "images/train/bg_empty.png")
    (root / "labels/train/bg_empty.txt").write_text("")
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames: [left_thing, right_thing]\n"
    )
    return root


RECIPE = """\
version: 1
seed: 5
variants: 6
output: {format: png}
targets: {flip_pairs: [[left_thing, right_thing]]}
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 25}
  - random_resized_crop: {size: [72, 96], scale: [0.7, 1.0]}
  - random_brightness_contrast: {}
"""


def expand_records(
    tmp_path: Path, source: Path, recipe: str = RECIPE, every_input_skipped: bool = False
) -> tuple[Path, list[dict]]:
    """Expand ``source`` with ``recipe``; the output and its manifest records. A run that
    skips every input writes its manifest and exits 1."""
    (tmp_path / "r.yaml").write_text(recipe)
    if not every_input_skipped:
        out = expand(tmp_path / "r.yaml", source, tmp_path / "out", "--quiet")
        return out, read_manifest(out)[1:-1]
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--quiet")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[-1].startswith("Error: every input was skipped (1 of 1); ")
    return out, read_manifest(out)[1:-1]


def read_boxes(path: Path, size: tuple[int, int]) -> list[tuple[int, np.ndarray]]:
    found = []
    for line in path.read_text().splitlines():
        cls, cx, cy, w, h = (float(v) for v in line.split())
        height, width = size
        box = np.array(
            [(cx - w / 2) * width, (cy - h / 2) * height,
             (cx + w / 2) * width, (cy + h / 2) * height]
        )  # fmt: skip
        found.append((int(cls), box))
    return found


def test_yolo_labels_follow_their_image(tmp_path: Path) -> None:
    out, records = expand_records(tmp_path, make_yolo(tmp_path / "in"))
    assert (out / "data.yaml").read_bytes() == (tmp_path / "in/data.yaml").read_bytes()
    labels = [r for r in records if r.get("kind") == "label" and r["role"] == "augmented"]
    assert len(labels) == 6 * 2  # obj and bg_empty; bg_none has no label file
    mirrored = 0
    for record in labels:
        if not record["image"].endswith(tuple(f"obj__v0{i}.png" for i in range(6))):
            assert (out / record["path"]).read_text() == ""  # background stays background
            continue
        image = np.asarray(Image.open(out / record["image"]))
        bright = np.argwhere(image.mean(axis=2) > 150)
        (y0, x0), (y1, x1) = bright.min(axis=0), bright.max(axis=0) + 1
        ((cls, box),) = read_boxes(out / record["path"], image.shape[:2])
        # The enclosing box of the rotated corners contains the object's pixels, snugly.
        assert box[0] <= x0 + 1.5 and box[1] <= y0 + 1.5
        assert box[2] >= x1 - 1.5 and box[3] >= y1 - 1.5
        inside = (x1 - x0) * (y1 - y0) / ((box[2] - box[0]) * (box[3] - box[1]))
        assert inside > 0.55
        flipped = "flipped_labels" in record
        mirrored += flipped
        assert cls == (1 if flipped else 0)
    assert 0 < mirrored < 6
    assert not (out / "labels/train/bg_none__v00.txt").exists()
    assert not any(r["path"].startswith("labels/val/obj__") for r in records)


@pytest.mark.parametrize("follow_links", [False, True])
def test_yolo_labels_behind_a_linked_folder(tmp_path: Path, follow_links: bool) -> None:
    """A labels folder that is a link is read as the images are: only with follow_links. Without
    it, its images are skipped with the reason (never silently left unlabelled); either way
    validate --source reads the labels where expand read them."""
    import shutil

    source = make_yolo(tmp_path / "in")
    shutil.move(source / "labels/val", tmp_path / "val_labels")
    (source / "labels/val").symlink_to(tmp_path / "val_labels", target_is_directory=True)
    recipe = RECIPE.replace("variants: 6", "variants: 1")
    out, records = expand_records(
        tmp_path, source, recipe + f"input: {{follow_links: {follow_links}}}\n"
    )
    skips = {r["path"]: r["reason"] for r in records if r["type"] == "skipped"}
    hint = "(set input.follow_links: true to read it)"
    if follow_links:
        assert skips == {}
        assert (out / "labels/val/obj.txt").read_bytes() == (
            tmp_path / "val_labels/obj.txt"
        ).read_bytes()
    else:
        assert skips == {
            "images/val/obj.png": "its labels labels/val/obj.txt lie behind labels/val, a "
            f"symbolic link to a folder {hint}",
            "labels/val": f"a symbolic link to a folder {hint}",
        }
        assert not (out / "images/val/obj.png").exists()
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert result.exit_code == 0, result.output


def test_a_box_pushed_out_of_the_image_is_dropped_and_recorded(tmp_path: Path) -> None:
    source = make_yolo(tmp_path / "in")
    recipe = """\
version: 1
variants: 1
targets: {bbox: {min_visibility: 0.5}}
pipeline:
  - affine: {translate_percent: [0.55, 0.55]}
"""
    out, records = expand_records(tmp_path, source, recipe)
    (record,) = [r for r in records if r["path"] == "labels/train/obj__v00.txt"]
    assert record["dropped"] == [{"class": 0, "line": 1}]
    assert (out / record["path"]).read_text() == ""


def yolo_pair(root: Path, lines: str, size: tuple[int, int] = (100, 100)) -> Path:
    """A one-image YOLO dataset: a black picture of ``size`` (height, width) with ``lines``."""
    (root / "images/train").mkdir(parents=True)
    (root / "labels/train").mkdir(parents=True)
    Image.new("RGB", size[::-1]).save(root / "images/train/a.png")
    (root / "labels/train/a.txt").write_text(lines)
    (root / "data.yaml").write_text("train: images/train\nnames: [left_hand, right_hand]\n")
    return root


CENTRE_CROP = "version: 1\nvariants: 1\npipeline:\n  - center_crop: {size: [40, 40]}\n"


def test_a_box_cut_away_by_a_rounding_error_is_dropped_not_written_as_zero(
    tmp_path: Path,
) -> None:
    # The box spans x, y in [10, 30] (0.2 + 0.1 of 100 px is 30.000000000000004); the crop
    # keeps [30, 70]: nothing of the object is left, whatever the last bits say.
    lines = "0 0.2 0.2 0.2 0.2\n1 0.5 0.5 0.2 0.2\n"
    out, records = expand_records(tmp_path, yolo_pair(tmp_path / "in", lines), CENTRE_CROP)
    (record,) = [r for r in records if r["path"] == "labels/train/a__v00.txt"]
    assert record["dropped"] == [{"class": 0, "line": 1}]
    assert (out / record["path"]).read_text() == "1 0.500000 0.500000 0.500000 0.500000\n"


def test_a_dropped_yolo_polygon_is_recorded_in_line_order(tmp_path: Path) -> None:
    lines = (
        "1 0.4 0.4 0.6 0.4 0.6 0.6 0.4 0.6\n"  # in the crop window
        "0 0.1 0.1 0.3 0.1 0.3 0.3 0.1 0.3\n"  # wholly outside it
        "0 0.05 0.2 0.1 0.1\n"  # a box outside it
    )
    out, records = expand_records(tmp_path, yolo_pair(tmp_path / "in", lines), CENTRE_CROP)
    (record,) = [r for r in records if r["path"] == "labels/train/a__v00.txt"]
    assert record["dropped"] == [{"class": 0, "line": 2}, {"class": 0, "line": 3}]
    written = (out / record["path"]).read_text().splitlines()
    assert written == ["1 0.250000 0.250000 0.750000 0.250000 0.750000 0.750000 0.250000 0.750000"]


def test_flip_pairs_swap_the_classes_of_yolo_polygons(tmp_path: Path) -> None:
    lines = "0 0.1 0.1 0.3 0.1 0.3 0.3\n1 0.6 0.6 0.9 0.6 0.9 0.9\n"
    recipe = (
        "version: 1\nvariants: 1\ntargets: {flip_pairs: [[left_hand, right_hand]]}\n"
        "pipeline:\n  - hflip: {p: 1}\n"
    )
    out, records = expand_records(tmp_path, yolo_pair(tmp_path / "in", lines), recipe)
    (record,) = [r for r in records if r["path"] == "labels/train/a__v00.txt"]
    assert record["flipped_labels"] == ["left_hand", "right_hand"]
    classes = [line.split()[0] for line in (out / record["path"]).read_text().splitlines()]
    assert classes == ["1", "0"]


def test_a_palette_mask_keeps_its_palette(tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / "images").mkdir(parents=True)
    (source / "masks").mkdir()
    Image.fromarray(picture()).save(source / "images/obj.png")
    mask = Image.fromarray((picture()[:, :, 0] > 150).astype(np.uint8) * 2, "L")
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0]
    mask.putpalette(palette)
    mask.save(source / "masks/obj.png")
    out, _ = expand_records(
        tmp_path, source, "version: 1\nvariants: 1\npipeline:\n  - hflip: {p: 1}\n"
    )
    with Image.open(out / "masks/obj__v00.png") as moved:
        assert moved.mode == "P" and moved.getpalette()[:9] == palette
        np.testing.assert_array_equal(np.asarray(moved), np.asarray(mask)[:, ::-1])


def test_masks_stay_aligned_with_their_image(tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / "images").mkdir(parents=True)
    (source / "masks").mkdir()
    Image.fromarray(picture()).save(source / "images/obj.png")
    mask = np.zeros((H, W), np.uint8)
    x0, y0, x1, y1 = BOX
    mask[y0:y1, x0:x1] = 3
    Image.fromarray(mask).save(source / "masks/obj.png")
    out, records = expand_records(tmp_path, source, RECIPE.replace("targets: {flip_pairs", "#"))
    assert {r["path"] for r in records if r.get("kind") == "label"} == {
        "masks/obj.png",
        *(f"masks/obj__v{i:02d}.png" for i in range(6)),
    }
    for i in range(6):
        image = np.asarray(Image.open(out / f"images/obj__v{i:02d}.png")).mean(axis=2) > 150
        moved = np.asarray(Image.open(out / f"masks/obj__v{i:02d}.png"))
        assert set(np.unique(moved)) <= {0, 3}
        union = np.count_nonzero(image | (moved == 3))
        assert np.count_nonzero(image & (moved == 3)) / union > 0.9


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "masks/obj.png: not a PNG mask"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, "masks/obj.png: not a PNG mask"),
    ],
    ids=["empty", "bad-chunk"],
)
def test_a_mask_that_does_not_decode_skips_its_image_with_a_stable_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    """Pillow's message names the buffer it read (``<_io.BytesIO object at 0x7f...>``): a
    memory address in the reason would make every run's manifest differ."""
    source = tmp_path / "in"
    (source / "images").mkdir(parents=True)
    (source / "masks").mkdir()
    Image.fromarray(picture()).save(source / "images/obj.png")
    (source / "masks/obj.png").write_bytes(content)
    out, records = expand_records(tmp_path, source, every_input_skipped=True)
    first = (out / "manifest.jsonl").read_bytes()
    (skip,) = [r for r in records if r["type"] == "skipped"]
    assert skip["path"] == "images/obj.png"
    assert skip["reason"].startswith(reason)
    assert " at 0x" not in skip["reason"]
    rerun = tmp_path / "again"
    rerun.mkdir()
    again, _ = expand_records(rerun, source, every_input_skipped=True)
    assert again.joinpath("manifest.jsonl").read_bytes() == first


def test_a_label_line_that_does_not_parse_skips_its_image(tmp_path: Path) -> None:
    source = make_yolo(tmp_path / "in")
    (source / "labels/train/obj.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.5 oops 0.2 0.2\n")
    _, records = expand_records(tmp_path, source)
    (skip,) = [r for r in records if r["type"] == "skipped"]
    assert skip["path"] == "images/train/obj.png"
    assert skip["reason"].startswith("labels/train/obj.txt:2: expected 'class cx cy w h'")


@pytest.mark.parametrize("step", ["hflip: {p: 1}", "random_brightness_contrast: {p: 1}"])
@pytest.mark.parametrize("size", ["-0.2 0.2", "0.2 -0.2"])
def test_a_yolo_box_of_negative_size_skips_its_image(tmp_path: Path, step: str, size: str) -> None:
    """A negative width was once dropped by a pixel step but turned positive by a geometric one
    (the box around its corners): the output depended on the steps. Ultralytics refuses it, and
    COCO's reader refuses a negative bbox size."""
    source = make_yolo(tmp_path / "in")
    (source / "labels/train/obj.txt").write_text(f"0 0.5 0.5 0.2 0.2\n0 0.5 0.5 {size}\n")
    recipe = f"version: 1\nseed: 1\nvariants: 1\npipeline:\n  - {step}\n"
    out, records = expand_records(tmp_path, source, recipe)
    (skip,) = [r for r in records if r["type"] == "skipped"]
    assert skip["path"] == "images/train/obj.png"
    assert skip["reason"] == (
        "labels/train/obj.txt:2: expected 'class cx cy w h' or 'class x1 y1 x2 y2 x3 y3 ...' "
        "(normalised numbers); a box's width and height cannot be negative"
    )
    assert not (out / "labels/train/obj.txt").exists()


@pytest.mark.parametrize("value", ["../elsewhere", "/etc", "~/images"])
def test_data_yaml_paths_outside_the_dataset_are_refused(tmp_path: Path, value: str) -> None:
    source = make_yolo(tmp_path / "in")
    (source / "data.yaml").write_text(f"train: {value}\nnames: [a]\n")
    (tmp_path / "r.yaml").write_text("version: 1\npipeline: []\n")
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "points outside the dataset" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("names: [a\n", "2:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        (
            "names: [a]\ntrain: images/train\n\x01",
            "3:1: invalid YAML: unacceptable character #x0001: special characters are not allowed",
        ),
    ],
)
def test_data_yaml_that_does_not_parse_is_one_line(tmp_path: Path, text: str, problem: str) -> None:
    """PyYAML's own message is six lines (context, snippet, caret)."""
    source = make_yolo(tmp_path / "in")
    (source / "data.yaml").write_text(text)
    (tmp_path / "r.yaml").write_text("version: 1\npipeline: []\n")
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {source / 'data.yaml'}:{problem}\n"
    assert not out.exists()


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        (
            "yolo",
            "no data.yaml and no labels/ folder of .txt files beside an images/ one (a YOLO "
            "dataset's labels)",
        ),
        (
            "coco",
            "no annotations/*.json and no <split>/_annotations.coco.json (a COCO dataset's labels)",
        ),
        ("masks", "no masks/ folder beside an images/ one (a masks dataset's labels)"),
    ],
)
def test_an_annotated_layout_asked_for_needs_its_files(
    tmp_path: Path, layout: str, problem: str
) -> None:
    """layout: masks on a folder without images/ and masks/ once wrote an empty dataset (exit 0)."""
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(picture()).save(source / "a.png")
    (tmp_path / "r.yaml").write_text(f"version: 1\ninput: {{layout: {layout}}}\npipeline: []\n")
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {source}: {problem}\n"
    assert not out.exists()


def test_yolo_round_trip_keeps_the_numbers() -> None:
    text = b"3 0.25 0.5 0.125 0.25\n1 0.1 0.2 0.3 0.2 0.2 0.4\n"
    fmt = YoloFormat()
    written = fmt.write(fmt.read(text, "x.txt", (480, 640)))
    assert written == b"3 0.250000 0.500000 0.125000 0.250000\n1 0.100000 0.200000 0.300000 " \
        b"0.200000 0.200000 0.400000\n"  # fmt: skip
    with pytest.raises(AnnotationError, match=r"x.txt:1: .*got 3 numbers"):
        fmt.read(b"0 0.1 0.2 0.3\n", "x.txt", (10, 10))


def test_changing_one_label_file_redoes_only_its_image(tmp_path: Path) -> None:
    source = make_yolo(tmp_path / "in")
    expand_records(tmp_path, source)
    (source / "labels/train/obj.txt").write_text(yolo_line(0, (10, 10, 50, 40)))
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "out", "--json")
    summary = json.loads(result.stdout)
    assert (summary["made"], summary["removed"]) == (1 + 6 + 1 + 6, 0)
    validated = invoke("validate", "manifest", tmp_path / "out/manifest.jsonl", "--source", source)
    assert validated.exit_code == 0, validated.stdout


# --- COCO -------------------------------------------------------------------------------------

COCO_SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "detection-coco"


def coco_recipe(pipeline: str, extra: str = "") -> str:
    return f"version: 1\nseed: 3\nvariants: 3\n{extra}pipeline:\n{pipeline}"


def test_coco_output_keeps_categories_and_renumbers_ids(tmp_path: Path) -> None:
    pipeline = "  - rotate: {limit: 15}\n  - random_resized_crop: {size: [160, 160]}\n"
    out, _ = expand_records(tmp_path, COCO_SAMPLE, coco_recipe(pipeline))
    source = json.loads((COCO_SAMPLE / "annotations/instances_train.json").read_text())
    written = json.loads((out / "annotations/instances_train.json").read_text())
    for key in ("info", "licenses", "categories"):
        assert written[key] == source[key]
    assert [i["id"] for i in written["images"]] == list(range(1, len(written["images"]) + 1))
    assert [a["id"] for a in written["annotations"]] == list(
        range(1, len(written["annotations"]) + 1)
    )
    assert len(written["images"]) == len(source["images"]) * 4
    by_name = {i["file_name"]: i for i in written["images"]}
    for image in source["images"]:
        # Originals keep their annotations exactly (ids aside).
        copy = by_name[image["file_name"]]
        assert (copy["width"], copy["height"]) == (image["width"], image["height"])

        def strip(anns: list[dict], image_id: int) -> list[dict]:
            return [
                {k: v for k, v in a.items() if k not in ("id", "image_id")}
                for a in anns
                if a["image_id"] == image_id
            ]

        assert strip(written["annotations"], copy["id"]) == strip(
            source["annotations"], image["id"]
        )
    for ann in written["annotations"]:
        x, y, w, h = ann["bbox"]
        image = next(i for i in written["images"] if i["id"] == ann["image_id"])
        assert x >= 0 and y >= 0 and x + w <= image["width"] + 1e-6
        assert y + h <= image["height"] + 1e-6


def coco_triangle(root: Path) -> Path:
    """One 80x60 image with one triangle annotation (area 50) in a 10x10 box, and a square."""
    (root / "annotations").mkdir(parents=True)
    (root / "train").mkdir()
    Image.new("RGB", (80, 60)).save(root / "train/a.png")
    anns = [
        {"id": 7, "image_id": 5, "category_id": 1, "iscrowd": 0, "bbox": [60, 40, 10, 10],
         "area": 50, "segmentation": [[60, 40, 70, 40, 60, 50]]},
        {"id": 8, "image_id": 5, "category_id": 1, "iscrowd": 0, "bbox": [10, 10, 20, 20],
         "area": 400, "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]]},
    ]  # fmt: skip
    data = {
        "categories": [{"id": 1, "name": "thing"}],
        "images": [{"id": 5, "file_name": "a.png", "width": 80, "height": 60}],
        "annotations": anns,
    }
    (root / "annotations/instances_train.json").write_text(json.dumps(data))
    return root


def test_a_coco_annotation_whose_polygon_is_too_small_is_dropped(tmp_path: Path) -> None:
    # The triangle's area (50) is under min_area, though its box's (100) is not.
    recipe = "version: 1\nvariants: 1\ntargets: {bbox: {min_area: 60}}\npipeline:\n  - vflip: {}\n"
    out, records = expand_records(tmp_path, coco_triangle(tmp_path / "in"), recipe)
    (record,) = [r for r in records if r["path"] == "train/a__v00.png"]
    assert record["dropped"] == [7]
    (kept,) = record["coco"]["annotations"]
    assert kept["area"] == 400.0 and kept["bbox"] == [10.0, 30.0, 20.0, 20.0]
    written = json.loads((out / "annotations/instances_train.json").read_text())
    assert [a["area"] for a in written["annotations"] if a["image_id"] == 2] == [400.0]


def test_a_coco_annotation_whose_polygon_left_the_image_is_dropped(tmp_path: Path) -> None:
    # Shifted 64 px left and 48 up: a 6 x 2 px corner of the triangle's box stays in view,
    # nothing of the triangle does (its hypotenuse ends at x + y = -2).
    recipe = "version: 1\nvariants: 1\npipeline:\n  - affine: {translate_percent: [-0.8, -0.8]}\n"
    _, records = expand_records(tmp_path, coco_triangle(tmp_path / "in"), recipe)
    (record,) = [r for r in records if r["path"] == "train/a__v00.png"]
    assert record["dropped"] == [7, 8] and record["coco"]["annotations"] == []


def test_coco_boxes_evaluate_against_themselves_at_ap_1(tmp_path: Path) -> None:
    pytest.importorskip("pycocotools")
    import contextlib
    import io

    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    pipeline = "  - hflip: {p: 0.5}\n  - affine: {scale: [0.9, 1.1], rotate: 10}\n"
    out, _ = expand_records(tmp_path, COCO_SAMPLE, coco_recipe(pipeline))
    with contextlib.redirect_stdout(io.StringIO()):
        truth = COCO(str(out / "annotations/instances_train.json"))
        detections = [{**a, "score": 1.0} for a in truth.loadAnns(truth.getAnnIds())]
        evaluation = COCOeval(truth, truth.loadRes(detections), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_coco_keypoints_swap_sides_on_a_mirror(tmp_path: Path) -> None:
    out, _ = expand_records(
        tmp_path,
        COCO_SAMPLE,
        coco_recipe("  - hflip: {p: 1}\n", "targets: {flip_pairs: [[left_eye, right_eye]]}\n"),
    )
    written = json.loads((out / "annotations/instances_train.json").read_text())
    source = json.loads((COCO_SAMPLE / "annotations/instances_train.json").read_text())
    (person,) = [a for a in source["annotations"] if "keypoints" in a]
    image = next(i for i in source["images"] if i["id"] == person["image_id"])
    stem = image["file_name"].rsplit(".", 1)[0]
    mirrored_image = next(i for i in written["images"] if i["file_name"] == f"{stem}__v00.jpg")
    (moved,) = [
        a for a in written["annotations"]
        if a["image_id"] == mirrored_image["id"] and "keypoints" in a
    ]  # fmt: skip
    width = image["width"]
    left, right = person["keypoints"][0:3], person["keypoints"][3:6]
    # The new left eye is the old right eye, mirrored.
    assert moved["keypoints"][0] == pytest.approx(width - right[0], abs=1e-3)
    assert moved["keypoints"][3] == pytest.approx(width - left[0], abs=1e-3)


def test_coco_rle_masks_are_refused_not_corrupted(tmp_path: Path) -> None:
    import shutil

    source = tmp_path / "in"
    shutil.copytree(COCO_SAMPLE, source)
    path = source / "annotations/instances_train.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["iscrowd"] = 1
    data["annotations"][0]["segmentation"] = {"counts": [10, 5], "size": [4, 5]}
    path.write_text(json.dumps(data))
    image = next(i for i in data["images"] if i["id"] == data["annotations"][0]["image_id"])
    _, records = expand_records(tmp_path, source, coco_recipe("  - hflip: {}\n"))
    (skip,) = [r for r in records if r["type"] == "skipped"]
    assert skip["path"] == f"train/{image['file_name']}"
    assert "annotation 1 (annotations[0]): it is an RLE mask (iscrowd)" in skip["reason"]


@pytest.mark.parametrize("category", [5, "7"])
def test_coco_annotation_of_an_unlisted_category_skips_its_image(
    tmp_path: Path, category: object
) -> None:
    """A category id its JSON does not list (pycocotools' loadCats and Detectron2's id mapping
    fail on it) skips the image with its reason; the other images are augmented."""
    import shutil

    source = tmp_path / "in"
    shutil.copytree(COCO_SAMPLE, source)
    path = source / "annotations/instances_train.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["category_id"] = category
    path.write_text(json.dumps(data))
    image = next(i for i in data["images"] if i["id"] == data["annotations"][0]["image_id"])
    _, records = expand_records(tmp_path, source, coco_recipe("  - hflip: {}\n"))
    (skip,) = [r for r in records if r["type"] == "skipped"]
    assert skip["path"] == f"train/{image['file_name']}"
    expected = f"annotations[0]): category_id {category!r} is not among the JSON's categories"
    assert expected in skip["reason"]
    assert any(r["type"] == "file" and r["role"] == "augmented" for r in records)


def test_coco_file_names_outside_the_dataset_are_refused(tmp_path: Path) -> None:
    import shutil

    source = tmp_path / "in"
    shutil.copytree(COCO_SAMPLE, source)
    path = source / "annotations/instances_val.json"
    data = json.loads(path.read_text())
    data["images"][0]["file_name"] = "../../etc/passwd"
    path.write_text(json.dumps(data))
    (tmp_path / "r.yaml").write_text("version: 1\npipeline: []\n")
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "file_name '../../etc/passwd' points outside the dataset" in result.stderr


def test_preview_draws_the_moved_boxes_on_every_tile(tmp_path: Path) -> None:
    source = make_yolo(tmp_path / "in")
    (tmp_path / "r.yaml").write_text(RECIPE)
    sheet = tmp_path / "sheet.png"
    options = ("--sources", "3", "--variants", "2", "--quiet")
    result = invoke(*("preview", tmp_path / "r.yaml", source, "-o", sheet), *options)
    assert result.exit_code == 0, result.output
    pixels = np.asarray(Image.open(sheet).convert("RGB")).astype(int)
    red = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] < 60) & (pixels[:, :, 2] < 60)
    assert red.sum() > 100  # a box outline on each of the three tiles
    # Without labels, nothing is drawn.
    (source / "labels/train/obj.txt").unlink()
    (source / "labels/train/bg_empty.txt").unlink()
    result = invoke(*("preview", tmp_path / "r.yaml", source, "-o", sheet), *options)
    pixels = np.asarray(Image.open(sheet).convert("RGB")).astype(int)
    red = (pixels[:, :, 0] > 200) & (pixels[:, :, 1] < 60) & (pixels[:, :, 2] < 60)
    assert red.sum() == 0


def test_coco_reruns_are_incremental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    import augtool.run.engine

    source = tmp_path / "in"
    shutil.copytree(COCO_SAMPLE, source)
    recipe = coco_recipe("  - hflip: {p: 0.5}\n  - rotate: {limit: 10}\n")
    out, _ = expand_records(tmp_path, source, recipe)
    before = (out / "annotations/instances_train.json").read_bytes()

    def no_work(*args: object, **kwargs: object) -> list:
        raise AssertionError("an unchanged COCO image was sent to a worker")

    with monkeypatch.context() as patched:
        patched.setattr(augtool.run.engine, "process_tasks", no_work)
        expand_records(tmp_path, source, recipe)
    assert (out / "annotations/instances_train.json").read_bytes() == before
    # One annotation moved: only its image (and the split's JSON) is made again.
    path = source / "annotations/instances_train.json"
    data = json.loads(path.read_text())
    data["annotations"][0]["bbox"][0] += 2
    path.write_text(json.dumps(data))
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--json")
    summary = json.loads(result.stdout)
    assert summary["made"] == 1 + 3 + 1  # the original, 3 variants, the train JSON
    assert (out / "annotations/instances_train.json").read_bytes() != before


def make_coco(root: Path, images: list, annotations: object, **head: object) -> Path:
    """A small COCO dataset: a 64x48 picture per listed file name, one split JSON (train)."""
    (root / "annotations").mkdir(parents=True)
    (root / "train").mkdir()
    for entry in images:
        if isinstance(entry, dict) and isinstance(entry.get("file_name"), str):
            Image.new("RGB", (64, 48), (90, 90, 90)).save(root / "train" / entry["file_name"])
    data = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "x"}]}
    (root / "annotations/instances_train.json").write_text(json.dumps({**data, **head}))
    return root


def coco_image(image_id: object, name: str) -> dict:
    return {"id": image_id, "file_name": name, "width": 64, "height": 48}


def coco_box(ann_id: object, image_id: object, **extra: object) -> dict:
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "bbox": [1, 1, 10, 10],
            "iscrowd": 0, **extra}  # fmt: skip


def refused(tmp_path: Path, source: Path) -> str:
    """Expand ``source``: exit 2, nothing written; the one error line."""
    (tmp_path / "r.yaml").write_text("version: 1\nvariants: 1\npipeline:\n  - hflip: {p: 1}\n")
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out)
    assert result.exit_code == 2, result.output
    assert not out.exists()
    (line,) = result.stderr.splitlines()
    return line


ONE = [coco_image(1, "a.jpg")]


@pytest.mark.parametrize(
    ("images", "annotations", "head", "expected"),
    [
        ([*ONE, 5], [], {}, "images[1] is 5, not an object"),
        (ONE, [coco_box(1, 1), 7], {}, "annotations[1] is 7, not an object"),
        (ONE, {"1": coco_box(1, 1)}, {}, "'annotations' is {\"1\": {"),
        (ONE, [], {"categories": {"id": 1}}, "'categories' is {\"id\": 1}, not a list"),
        (ONE, [], {"categories": ["x"]}, 'categories[0] is "x", not an object'),
        ([*ONE, {"file_name": "b.jpg"}], [], {}, "images[1] has no 'id'"),
        (ONE, [coco_box([1], 1)], {}, "annotations[0]: id [1] is not an id"),
        (ONE, [], {"categories": [{"id": [1]}]}, "categories[0] id [1] is not an id"),
        (ONE, [], {"categories": [{"id": 1, "name": ["l"]}]}, 'name ["l"] is not a string'),
        (ONE, [], {"categories": [{"id": 1, "keypoints": "lr"}]}, "keypoints must be a list"),
        (ONE, [], {"categories": [{"id": 1}, {"id": 1}]}, "category id 1 is used twice"),
    ],
)
def test_coco_entries_of_the_wrong_kind_are_refused(
    tmp_path: Path, images: list, annotations: object, head: dict, expected: str
) -> None:
    line = refused(tmp_path, make_coco(tmp_path / "in", images, annotations, **head))
    assert line.startswith("Error: annotations/instances_train.json: ")
    assert expected in line


def test_coco_duplicate_image_ids_and_orphan_annotations_are_refused(tmp_path: Path) -> None:
    images = [coco_image(1, "a.jpg"), coco_image(1, "b.jpg"), coco_image(3, "c.jpg")]
    anns = [coco_box(1, 1), coco_box(2, 3), coco_box(3, 99)]
    line = refused(tmp_path / "ids", make_coco(tmp_path / "ids/in", images, anns))
    assert line == (
        "Error: annotations/instances_train.json: image id 1 is used twice (images[0] and "
        "images[1]); each image needs its own id"
    )
    images[1]["id"] = 2
    line = refused(tmp_path / "orphan", make_coco(tmp_path / "orphan/in", images, anns))
    assert line == (
        "Error: annotations/instances_train.json: annotation 3 (annotations[2]): image_id 99 "
        "matches no image in its 'images'"
    )
    anns[2]["image_id"] = 3
    anns[2]["id"] = 1
    line = refused(tmp_path / "anns", make_coco(tmp_path / "anns/in", images, anns))
    assert line == (
        "Error: annotations/instances_train.json: annotation id 1 is used twice "
        "(annotations[0] and annotations[2]); each annotation needs its own id"
    )
    images[1]["file_name"] = "./a.jpg"
    line = refused(tmp_path / "names", make_coco(tmp_path / "names/in", images, anns[:2]))
    assert line == (
        "Error: annotations/instances_train.json: train/a.jpg is listed twice (image 1 and "
        "image 2); list each image once"
    )


def test_coco_image_listed_by_two_splits_is_refused(tmp_path: Path) -> None:
    source = make_coco(tmp_path / "in", ONE, [coco_box(1, 1)])
    (source / "train").rename(source / "images")  # one image folder for every split
    val = {"images": [coco_image(5, "a.jpg")], "annotations": [], "categories": []}
    (source / "annotations/instances_val.json").write_text(json.dumps(val))
    line = refused(tmp_path, source)
    assert line == (
        "Error: annotations/instances_val.json and annotations/instances_train.json: "
        "images/a.jpg is listed twice (image 1 and image 5); list each image once"
    )
    # Split JSONs whose images lie at the root: no split could be checked for leakage.
    for path in (source / "images").iterdir():
        path.rename(source / path.name)
    (source / "images").rmdir()
    (tmp_path / "root").mkdir()
    line = refused(tmp_path / "root", source)
    assert line == (
        f"Error: {source}: several COCO JSONs (annotations/instances_train.json, "
        "annotations/instances_val.json) and no split folder (train/ or images/train/) nor "
        "images/ folder holding their images; put them in images/ or each split's in the "
        "folder named after its JSON"
    )
    # A JSON of a dataset without splits beside a split's.
    (source / "annotations/instances_val.json").rename(source / "annotations/instances.json")
    (tmp_path / "unsplit").mkdir()
    line = refused(tmp_path / "unsplit", source)
    assert line == (
        f"Error: {source}: annotations/instances.json is the JSON of a dataset without splits, "
        "beside others (annotations/instances.json, annotations/instances_train.json); keep "
        "it alone, or name each JSON after its split"
    )
    # Two JSONs of one split (train.json beside instances_train.json) would list its images
    # twice.
    (source / "train").mkdir()
    (source / "a.jpg").rename(source / "train/a.jpg")
    (source / "annotations/instances.json").rename(source / "annotations/train.json")
    (tmp_path / "again").mkdir()
    line = refused(tmp_path / "again", source)
    assert line == (
        f"Error: {source}: annotations/instances_train.json and annotations/train.json are "
        "both the JSON of split 'train'; keep one JSON per split"
    )


def test_coco_annotations_that_cannot_be_moved_skip_their_image(tmp_path: Path) -> None:
    bad = {
        "short_polygon": {"segmentation": [[1, 1, 10, 1, 10]]},
        "two_point_polygon": {"segmentation": [[1, 1, 10, 1]]},
        "nan_polygon": {"segmentation": [[1, 1, 10, 1, 10, float("nan")]]},
        "flat_polygon": {"segmentation": [1, 1, 10, 1, 10, 10]},
        "text_polygon": {"segmentation": "1 1 10 1 10 10"},
        "word_polygon": {"segmentation": [["a", 1, 10, 1, 10, 10]]},
        "keypoints_pair": {"keypoints": [5, 5]},
        "keypoints_text": {"keypoints": "5 5 2"},
        "keypoints_count": {"category_id": 2, "keypoints": [5, 5, 2]},
        "nan_bbox": {"bbox": [1, 1, float("nan"), 10]},
        "negative_bbox": {"bbox": [1, 1, -3, 10]},
        "text_bbox": {"bbox": "1234"},
        "huge_bbox": {"bbox": [1, 1, 10**400, 10]},
        "listed_category": {"category_id": [1]},
    }
    images = [coco_image(i, f"{name}.jpg") for i, name in enumerate(["good", *bad], start=1)]
    anns = [coco_box(1, 1, segmentation=[[1, 1, 10, 1, 10, 10]], keypoints=[])]
    anns += [coco_box(i, i, **extra) for i, extra in enumerate(bad.values(), start=2)]
    categories = [{"id": 1, "name": "x"}, {"id": 2, "name": "y", "keypoints": ["l", "r"]}]
    source = make_coco(tmp_path / "in", images, anns, categories=categories)
    _, records = expand_records(
        tmp_path, source, "version: 1\nvariants: 1\npipeline:\n  - hflip: {}\n"
    )
    reasons = {r["path"]: r["reason"] for r in records if r["type"] == "skipped"}
    assert sorted(reasons) == sorted(f"train/{name}.jpg" for name in bad)
    for index, name in enumerate(bad, start=2):
        prefix = f"annotations/instances_train.json: train/{name}.jpg: annotation {index} "
        assert reasons[f"train/{name}.jpg"].startswith(prefix + f"(annotations[{index - 1}]): ")
    assert "segmentation[0] must be a polygon" in reasons["train/short_polygon.jpg"]
    assert "segmentation must be a list of polygons" in reasons["train/flat_polygon.jpg"]
    assert "keypoints must be [x1, y1, v1" in reasons["train/keypoints_pair.jpg"]
    assert reasons["train/keypoints_count.jpg"].endswith(
        "it has 1 keypoint(s), but its category 2 names 2"
    )
    assert "bbox must be [x, y, width, height]" in reasons["train/negative_bbox.jpg"]
    written = json.loads((tmp_path / "out/annotations/instances_train.json").read_text())
    assert [i["file_name"] for i in written["images"]] == ["good.jpg", "good__v00.jpg"]


def test_coco_to_targets_refuses_what_it_cannot_move() -> None:
    from augtool.layouts.coco import to_targets

    ann = {"id": 4, "bbox": [0, 0, 5, 5], "keypoints": [1, 2]}
    with pytest.raises(AnnotationError, match=r"^x.json: a.jpg: annotation 4: keypoints must"):
        to_targets([ann], (10, 10), "x.json: a.jpg")


def test_a_label_file_that_is_a_link_skips_its_image_not_leaves_it_unlabelled(
    tmp_path: Path,
) -> None:
    source = yolo_pair(tmp_path / "in", "0 0.5 0.5 0.2 0.2\n")
    label = source / "labels/train/a.txt"
    label.rename(source / "elsewhere.txt")
    label.symlink_to(source / "elsewhere.txt")
    recipe = "version: 1\nvariants: 1\npipeline: []\n"
    _, records = expand_records(tmp_path, source, recipe, every_input_skipped=True)
    (skip,) = [r for r in records if r["type"] == "skipped"]
    assert skip["path"] == "images/train/a.png"
    assert skip["reason"] == "its labels labels/train/a.txt are a symbolic link, which is not read"


def test_flip_pairs_naming_no_class_of_the_dataset_are_warned_about(tmp_path: Path) -> None:
    source = yolo_pair(tmp_path / "in", "0 0.5 0.5 0.2 0.2\n")
    (tmp_path / "r.yaml").write_text(
        "version: 1\nvariants: 1\ntargets: {flip_pairs: [[left_hand, right_hnd]]}\n"
        "pipeline:\n  - hflip: {p: 1}\n"
    )
    args = [
        "expand",
        str(tmp_path / "r.yaml"),
        str(source),
        "-o",
        str(tmp_path / "o"),
        "--json",
        "-q",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    warning = (
        "targets.flip_pairs names 'right_hnd', which the dataset (yolo) does not name: those "
        "pairs swap nothing"
    )
    assert json.loads(result.stdout)["warnings"] == [warning]
    assert result.stderr == f"warning: {warning}\n"


def test_a_yolo_label_file_may_start_with_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    """Windows editors save "UTF-8" with a BOM; it is no part of the first label's class."""
    text = b"3 0.25 0.5 0.125 0.25\n1 0.1 0.2 0.3 0.2 0.2 0.4\n"
    fmt = YoloFormat()
    plain = fmt.read(text, "x.txt", (480, 640))
    marked = fmt.read(b"\xef\xbb\xbf" + text, "x.txt", (480, 640))
    assert fmt.write(marked) == fmt.write(plain)
    assert marked.box_labels == plain.box_labels
    (tmp_path / "data.yaml").write_bytes(b"\xef\xbb\xbfnames: [cat]\ntrain: images/train\n")
    from augtool.layouts.yolo import read_data_yaml

    assert read_data_yaml(tmp_path)[1] == {0: "cat"}
