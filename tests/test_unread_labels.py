"""Label files the chosen layout does not read are skipped inputs with a warning, whatever the
layout: never dropped without a word, and a failure under ``--strict``."""

from __future__ import annotations

from pathlib import Path

from conftest import SIZE, invoke, jpeg_bytes, read_manifest

RECIPE = "version: 1\nseed: 1\nvariants: 1\npipeline:\n  - hflip: {p: 1.0}\n"


def _image(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed, SIZE))


def _text(path: Path, text: str = "x\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def voc(root: Path, count: int = 2) -> Path:
    """Pascal VOC's folders: ``JPEGImages/``, ``Annotations/*.xml``, ``ImageSets/Main``."""
    for index in range(count):
        _image(root / f"JPEGImages/{index:03d}.jpg", index)
        _text(root / f"Annotations/{index:03d}.xml", "<annotation></annotation>\n")
    _text(root / "ImageSets/Main/train.txt", "000\n")
    return root


def _expand(
    tmp_path: Path, source: Path, *args: str, layout: str = "auto"
) -> tuple[int, str, list[dict]]:
    (tmp_path / "r.yaml").write_text(RECIPE + f"input: {{layout: {layout}}}\n")
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--quiet", *args)
    return result.exit_code, result.stderr, read_manifest(out)


def test_voc_taken_as_an_imagefolder_says_its_xml_is_not_read(tmp_path: Path) -> None:
    """Once exit 0 under --strict, the XMLs neither copied nor moved, without a word. (``auto``
    now takes such a folder as ``voc``; asked for, ``imagefolder`` still does not read them.)"""
    code, stderr, records = _expand(
        tmp_path, voc(tmp_path / "in"), "--strict", layout="imagefolder"
    )
    assert code == 1
    assert records[0]["layout"] == "imagefolder"
    reason = "a label file the imagefolder layout does not read; it is not in the output"
    skipped = {r["path"]: r["reason"] for r in records if r["type"] == "skipped"}
    assert skipped == {"Annotations/000.xml": reason, "Annotations/001.xml": reason}
    assert stderr.splitlines() == [
        "warning: 2 label files the imagefolder layout does not read, left out of the output: "
        "Annotations/000.xml, Annotations/001.xml; set input.layout to the layout that reads "
        "them (--strict fails on them)",
        f"Error: --strict: 2 inputs skipped; Annotations/000.xml: {reason} (and 1 more)",
    ]


def test_without_strict_it_is_a_warning_naming_the_first_few(tmp_path: Path) -> None:
    code, stderr, _ = _expand(tmp_path, voc(tmp_path / "in", count=7), layout="imagefolder")
    assert code == 0
    (line,) = stderr.splitlines()
    assert line.startswith("warning: 7 label files the imagefolder layout does not read")
    assert "Annotations/004.xml and 2 more;" in line
    assert "Annotations/005.xml" not in line


def test_label_files_beside_images_and_in_label_folders(tmp_path: Path) -> None:
    """Beside an image (a caption, a LabelMe JSON) or in labels/ (a YOLO classes.txt): named.
    Elsewhere (a README, VOC's ImageSets lists) and the labels the layout reads: not."""
    root = tmp_path / "in"
    for split, seed in (("train", 0), ("val", 1)):
        _image(root / f"images/{split}/a{seed}.jpg", seed)
        _text(root / f"labels/{split}/a{seed}.txt", "0 0.5 0.5 0.2 0.2\n")
    _text(root / "labels/train/classes.txt", "thing\n")
    _text(root / "images/train/a0.json", "{}\n")
    _text(root / "README.dataset.txt", "about\n")
    _text(root / "notes/todo.txt", "later\n")
    code, _, records = _expand(tmp_path, root)
    assert code == 0
    assert records[0]["layout"] == "yolo"
    skipped = sorted(r["path"] for r in records if r["type"] == "skipped")
    assert skipped == ["images/train/a0.json", "labels/train/classes.txt"]


def test_a_dataset_whose_layout_reads_every_label_file_warns_of_none(tmp_path: Path) -> None:
    root = tmp_path / "in"
    _image(root / "images/train/a.jpg", 0)
    _text(root / "labels/train/a.txt", "0 0.5 0.5 0.2 0.2\n")
    _text(root / "data.yaml", "train: images/train\nnames: [thing]\n")
    code, stderr, records = _expand(tmp_path, root, "--strict")
    assert (code, stderr) == (0, "")
    assert not [r for r in records if r["type"] == "skipped"]
