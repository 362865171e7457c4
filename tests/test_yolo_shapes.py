"""YOLO datasets in the shapes tools export them: Ultralytics' folders without ``data.yaml``,
Roboflow's export, one ``images/`` + ``labels/`` without splits, and ``data.yaml`` in its forms.
Each is found by ``auto``, keeps val out of the augmented splits, validates with ``--recompute
all`` and reads back by Ultralytics' rules (``tests/yolo_reader.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yolo_reader
from conftest import invoke, read_manifest
from PIL import Image

from augtool.layouts.discovery import discover

H, W = 60, 80
LINE = "0 0.437500 0.333333 0.375000 0.333333\n"  # the red rectangle: x 20-50, y 10-30

RECIPE = """\
version: 1
seed: 3
variants: 2
output: {format: png}
# the test pictures differ only in shade, which the near-duplicate check rightly pairs
splits: {on_leak: ignore}
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 10}
"""


def _image(path: Path, shade: int) -> None:
    """A grey image (its own shade: two splits never share content) with a red rectangle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.full((H, W, 3), 20 + shade, np.uint8)
    pixels[10:30, 20:50] = (200, 40, 40)
    Image.fromarray(pixels).save(path)


def _label(path: Path, text: str = LINE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def ultralytics(root: Path) -> Path:
    """``images/{train,val}`` + ``labels/{train,val}``, no ``data.yaml``."""
    for shade, split in enumerate(("train", "val")):
        _image(root / f"images/{split}/a{shade}.png", shade)
        _label(root / f"labels/{split}/a{shade}.txt")
    return root


ROBOFLOW_YAML = """\
train: ../train/images
val: ../valid/images
test: ../test/images

nc: 1
names: ['thing']

roboflow:
  workspace: someone
  project: things
  version: 1
  license: CC BY 4.0
  url: https://example.invalid/things/1
"""


def roboflow(root: Path, data_yaml: bool = True) -> Path:
    """Roboflow's YOLOv8 export: ``<split>/images`` + ``<split>/labels``, val called valid."""
    for shade, split in enumerate(("train", "valid", "test")):
        _image(root / f"{split}/images/a{shade}.png", shade)
        _label(root / f"{split}/labels/a{shade}.txt")
    if data_yaml:
        (root / "data.yaml").write_text(ROBOFLOW_YAML)
    (root / "README.roboflow.txt").write_text("Exported from Roboflow.\n")
    return root


def unsplit(root: Path) -> Path:
    _image(root / "images/a.png", 0)
    _label(root / "labels/a.txt")
    _image(root / "images/b.png", 1)  # a background image: no label file
    return root


def _expand(tmp_path: Path, source: Path, *args: str) -> tuple[Path, list[dict]]:
    (tmp_path / "r.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--strict", *args)
    assert result.exit_code == 0, result.output
    check = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source,
                   "--recompute", "all")  # fmt: skip
    assert check.exit_code == 0, check.output
    return out, read_manifest(out)


def _augmented_splits(records: list[dict]) -> set[str | None]:
    return {r["split"] for r in records if r.get("role") == "augmented"}


def test_ultralytics_folders_without_data_yaml(tmp_path: Path) -> None:
    """Once an ImageFolder with the class ``train``: labels dropped, val augmented (leakage)."""
    out, records = _expand(tmp_path, ultralytics(tmp_path / "in"))
    header = records[0]
    assert header["layout"] == "yolo"
    assert header["splits"]["found"] == ["train", "val"]
    assert _augmented_splits(records) == {"train"}
    assert (out / "labels/val/a1.txt").read_text() == LINE
    assert sorted(p.name for p in (out / "labels/train").iterdir()) == [
        "a0.txt", "a0__v00.txt", "a0__v01.txt"
    ]  # fmt: skip
    assert not any(r["type"] == "skipped" for r in records)


def test_roboflow_export(tmp_path: Path) -> None:
    """Once refused (exit 2): ``train: ../train/images``."""
    source = roboflow(tmp_path / "in")
    out, records = _expand(tmp_path, source)
    header = records[0]
    assert header["layout"] == "yolo"
    assert header["splits"]["found"] == ["test", "train", "val"]
    assert header["splits"]["folders"]["val"] == ["valid/images", "valid/labels"]
    assert _augmented_splits(records) == {"train"}
    splits = {r["path"]: r["split"] for r in records if r.get("type") == "file"}
    assert splits["valid/images/a1.png"] == splits["valid/labels/a1.txt"] == "val"
    assert (out / "data.yaml").read_bytes() == (source / "data.yaml").read_bytes()
    names, read = yolo_reader.read_dataset(out)
    assert names == {0: "thing"}
    assert [p.name for p in read["train"].images] == ["a0.png", "a0__v00.png", "a0__v01.png"]
    assert [p.name for p in read["val"].images] == ["a1.png"]
    assert all(len(rows) == 1 for rows in read["train"].labels.values())


def test_roboflow_export_without_a_test_split(tmp_path: Path) -> None:
    """Roboflow writes ``test: ../test/images`` when the version has no test images and no
    ``test/`` folder; Ultralytics trains on it (it maps a missing ``../X`` to ``X`` and never
    opens test). It was refused whole (exit 2) as a path outside the dataset."""
    source = roboflow(tmp_path / "in")
    for path in sorted((source / "test").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (source / "test").rmdir()
    out, records = _expand(tmp_path, source)
    assert records[0]["splits"]["found"] == ["train", "val"]
    assert _augmented_splits(records) == {"train"}
    assert (out / "data.yaml").read_bytes() == (source / "data.yaml").read_bytes()
    validated = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert validated.exit_code == 0, validated.output


def test_a_missing_roboflow_train_folder_is_still_refused(tmp_path: Path) -> None:
    source = roboflow(tmp_path / "in")
    (source / "data.yaml").write_text(ROBOFLOW_YAML.replace("../train/", "../trian/"))
    (tmp_path / "r.yaml").write_text("version: 1\npipeline: []\n")
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "train: '../trian/images' points outside the dataset" in result.stderr


def test_roboflow_folders_without_data_yaml_know_valid(tmp_path: Path) -> None:
    _, records = _expand(tmp_path, roboflow(tmp_path / "in", data_yaml=False))
    assert records[0]["splits"]["found"] == ["test", "train", "valid"]
    assert "folders" not in records[0]["splits"]
    assert _augmented_splits(records) == {"train"}


def test_one_images_folder_without_splits_is_augmented(tmp_path: Path) -> None:
    out, records = _expand(tmp_path, unsplit(tmp_path / "in"))
    assert records[0]["layout"] == "yolo"
    assert records[0]["splits"]["found"] == []
    assert _augmented_splits(records) == {None}
    assert (out / "labels/a__v00.txt").is_file()
    assert not (out / "labels/b__v00.txt").exists()  # background stays background


def test_a_split_moved_to_another_folder_is_caught(tmp_path: Path) -> None:
    """validate checks paths against the folders data.yaml names (``val: valid/images``)."""
    out, _ = _expand(tmp_path, roboflow(tmp_path / "in"))
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines()
    edited = [
        line.replace('"split":"val"', '"split":"train"') if "valid/images/a1.png" in line else line
        for line in lines
    ]
    assert edited != lines
    manifest.write_text("\n".join(edited) + "\n")
    check = invoke("validate", "manifest", manifest, "--json")
    assert check.exit_code == 1
    problems = json.dumps(json.loads(check.stdout))
    assert "recorded in split 'train' but is not under it" in problems


def _splits(root: Path) -> dict[str, str | None]:
    dataset = discover(root, "auto", (".png",), ("train", "val", "test"), ("train",))
    assert dataset.layout == "yolo"
    return {s.path: s.split for s in dataset.sources}


def test_data_yaml_path_inside_the_dataset_is_the_root(tmp_path: Path) -> None:
    _image(tmp_path / "data/images/train/a.png", 0)
    _label(tmp_path / "data/labels/train/a.txt")
    (tmp_path / "data.yaml").write_text("path: data\ntrain: images/train\nnames: {0: thing}\n")
    assert _splits(tmp_path) == {"data/images/train/a.png": "train"}


@pytest.mark.parametrize("path", ["/content/datasets/things", "../datasets/things", "things"])
def test_data_yaml_path_elsewhere_is_where_the_dataset_was(tmp_path: Path, path: str) -> None:
    """``path:`` names the dataset's folder on the machine that trains (absolute, or below
    Ultralytics' datasets folder): here the input folder is that root."""
    ultralytics(tmp_path)
    (tmp_path / "data.yaml").write_text(
        f"path: {path}\ntrain: images/train\nval: images/val\nnames: [thing]\n"
    )
    assert _splits(tmp_path) == {"images/train/a0.png": "train", "images/val/a1.png": "val"}


def test_data_yaml_split_lists_and_nc(tmp_path: Path) -> None:
    ultralytics(tmp_path)
    _image(tmp_path / "images/extra/b.png", 5)
    (tmp_path / "data.yaml").write_text(
        "train: [images/train, images/extra]\nval: images/val\nnc: 2\n"
    )
    assert _splits(tmp_path) == {
        "images/extra/b.png": "train",
        "images/train/a0.png": "train",
        "images/val/a1.png": "val",
    }
    from augtool.layouts.yolo import read_data_yaml

    assert read_data_yaml(tmp_path)[1] == {0: "class_0", 1: "class_1"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("train: images/train\nnc: 2\nnames: [a]\n", "nc is 2 but names has 1 classes"),
        ("train: train.txt\nnames: [a]\n", "train.txt lists '../x.png', outside the dataset"),
        ("train: ../elsewhere/images\nnames: [a]\n", "points outside the dataset"),
        ("train: images/train\nnames: [a]\nkpt_shape: [17, 3]\n", "pose labels (keypoints)"),
    ],
)
def test_data_yaml_that_cannot_be_followed_is_refused(
    tmp_path: Path, text: str, problem: str
) -> None:
    source = ultralytics(tmp_path / "in")
    (source / "train.txt").write_text("images/train/a0.png\n../x.png\n")
    (source / "data.yaml").write_text(text)
    (tmp_path / "r.yaml").write_text(RECIPE)
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert problem in result.stderr
    assert not (tmp_path / "out").exists()


def test_the_roboflow_sample_expands_and_reads_back(tmp_path: Path) -> None:
    """The bundled sample through its config, as CI runs it, then Ultralytics' rules."""
    from conftest import ROOT

    config = ROOT / "configs/detection-roboflow-yolo.yaml"
    out = tmp_path / "out"
    result = invoke("expand", config, "-o", out, "--strict", "--quiet")
    assert result.exit_code == 0, result.output
    check = invoke("validate", "manifest", out / "manifest.jsonl", "--source",
                   ROOT / "samples/detection-roboflow-yolo", "--recompute", "all")  # fmt: skip
    assert check.exit_code == 0, check.output
    names, splits = yolo_reader.read_dataset(out)
    assert names == {0: "cat", 1: "cup", 2: "rocket", 3: "person"}
    assert (len(splits["train"].images), len(splits["val"].images)) == (15, 2)
    assert len(splits["test"].images) == 1
    header = read_manifest(out)[0]
    assert header["layout"] == "yolo"
    assert header["splits"]["found"] == ["test", "train", "val"]


def test_split_folders_named_otherwise_validate(tmp_path: Path) -> None:
    """COCO's own data.yaml shape (``train: images/train2017``): the split is the key, its
    folder another name; expand's output once failed validate ("not under it")."""
    source = tmp_path / "in"
    for shade, folder in enumerate(("train2017", "val2017")):
        _image(source / f"images/{folder}/a{shade}.png", shade)
        _label(source / f"labels/{folder}/a{shade}.txt")
    (source / "data.yaml").write_text(
        "path: ../datasets/coco\ntrain: images/train2017\nval: images/val2017\nnames: [thing]\n"
    )
    _, records = _expand(tmp_path, source)
    assert records[0]["splits"]["folders"] == {
        "train": ["images/train2017", "labels/train2017"],
        "val": ["images/val2017", "labels/val2017"],
    }
    assert _augmented_splits(records) == {"train"}


def cvat(root: Path) -> Path:
    """CVAT's YOLOv8 export: ``data.yaml`` names list files (``train: train.txt``)."""
    ultralytics(root)
    _image(root / "images/train/b.png", 7)
    _label(root / "labels/train/b.txt")
    (root / "data.yaml").write_text(
        "path: ./\ntrain: train.txt\nval: val.txt\nnames:\n  0: thing\n"
    )
    (root / "train.txt").write_text("images/train/a0.png\nimages/train/b.png\n")
    (root / "val.txt").write_text("images/val/a1.png\n")
    return root


def test_cvat_list_files_are_written_again_with_the_variants(tmp_path: Path) -> None:
    """Once refused; copied as they are, the lists would leave every variant out of training."""
    source = cvat(tmp_path / "in")
    out, records = _expand(tmp_path, source)
    assert records[0]["splits"]["found"] == ["train", "val"]
    assert _augmented_splits(records) == {"train"}
    assert (out / "train.txt").read_text().splitlines() == [
        "images/train/a0.png", "images/train/a0__v00.png", "images/train/a0__v01.png",
        "images/train/b.png", "images/train/b__v00.png", "images/train/b__v01.png",
    ]  # fmt: skip
    assert (out / "val.txt").read_bytes() == (source / "val.txt").read_bytes()
    assert (out / "data.yaml").read_bytes() == (source / "data.yaml").read_bytes()
    _, splits = yolo_reader.read_dataset(out)
    assert len(splits["train"].images) == 6
    assert all(rows for rows in splits["train"].labels.values())


def test_images_a_list_leaves_out_or_names_wrongly_are_skipped(tmp_path: Path) -> None:
    source = cvat(tmp_path / "in")
    (source / "train.txt").write_text("./images/train/a0.png\n./images/train/gone.png\n")
    (tmp_path / "r.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    skips = {r["path"]: r["reason"] for r in read_manifest(out) if r["type"] == "skipped"}
    assert skips == {
        "images/train/b.png": "outside the image folders (train.txt, val.txt)",
        "images/train/gone.png": "listed in train.txt but not a readable image file here",
    }
    assert (out / "train.txt").read_text().splitlines() == [
        "./images/train/a0.png", "./images/train/a0__v00.png", "./images/train/a0__v01.png"
    ]  # fmt: skip
