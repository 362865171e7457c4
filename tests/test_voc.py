"""Pascal VOC: XMLs read safely, written back moved (boxes on the object's pixels, size,
truncated, filename), split lists derived, and the output read by a third-party VOC reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, invoke, read_manifest, skipped
from PIL import Image

from augtool.layouts import AnnotationError, safexml, voc_format

H, W = 90, 120
#: Each object: a pure colour filling its box (x0, y0, x1, y1) on a grey background.
OBJECTS = {
    "red": ((255, 0, 0), (10, 12, 50, 40)),
    "green": ((0, 255, 0), (70, 20, 110, 80)),
    "blue": ((0, 0, 255), (30, 55, 60, 85)),
}


def picture(seed: int = 0) -> np.ndarray:
    image = np.full((H, W, 3), 128 + seed, dtype=np.uint8)
    for colour, (x0, y0, x1, y1) in OBJECTS.values():
        image[y0:y1, x0:x1] = colour
    return image


def xml(name: str, objects: dict[str, tuple[int, int, int, int]], extra: str = "") -> str:
    size = f"<size><width>{W}</width><height>{H}</height><depth>3</depth></size>"
    parts = [f"<annotation>\n  <filename>{name}</filename>\n{extra}  {size}\n"]
    for label, (x0, y0, x1, y1) in objects.items():
        parts.append(
            f"  <object>\n    <name>{label}</name>\n    <pose>Left</pose>\n"
            "    <truncated>0</truncated>\n    <difficult>1</difficult>\n"
            f"    <bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
            f"<ymax>{y1}</ymax></bndbox>\n  </object>\n"
        )
    return "".join(parts) + "</annotation>\n"


def make_voc(root: Path, lists: bool = True) -> Path:
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    boxes = {label: box for label, (_, box) in OBJECTS.items()}
    for index, name in enumerate(("a", "b")):
        Image.fromarray(picture(index)).save(root / f"JPEGImages/{name}.png")
        (root / f"Annotations/{name}.xml").write_text(xml(f"{name}.png", boxes))
    if lists:
        (root / "ImageSets/Main").mkdir(parents=True)
        (root / "ImageSets/Main/train.txt").write_text("a\n")
        (root / "ImageSets/Main/val.txt").write_text("b\n")
    return root


RECIPE = """\
version: 1
seed: 3
variants: 6
input: {layout: voc}
output: {format: png}
targets: {flip_pairs: [[Left, Right]]}
# the test pictures differ only in shade, which the near-duplicate check rightly pairs
splits: {on_leak: ignore}
pipeline:
  - hflip: {p: 0.5}
  - vflip: {p: 0.3}
  - affine: {scale: [0.8, 1.2], translate_percent: 0.15}
  - random_resized_crop: {size: [80, 100], scale: [0.6, 1.0]}
"""


def run(tmp_path: Path, source: Path, recipe: str = RECIPE, *args: str) -> Path:
    (tmp_path / "r.yaml").write_text(recipe)
    return expand(tmp_path / "r.yaml", source, tmp_path / "out", "--quiet", *args)


def objects_of(path: Path) -> dict[str, dict[str, str]]:
    """Each object's fields (and its box as 'box') of a VOC XML, by name."""
    found = {}
    for obj in ET.parse(path).getroot().iter("object"):
        box = obj.find("bndbox")
        assert box is not None
        fields = {child.tag: (child.text or "") for child in obj if child.tag != "bndbox"}
        fields["box"] = " ".join(box.findtext(c) or "" for c in voc_format.CORNERS)
        found[fields["name"]] = fields
    return found


def colour_extent(image: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray | None:
    """The pixel-edge box of the pixels of ``colour`` (nearly: resampling blends edges)."""
    close = np.abs(image.astype(int) - colour).max(axis=2) < 60
    ys, xs = np.nonzero(close)
    if not len(xs):
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=float)


def test_moved_boxes_land_on_the_objects_pixels(tmp_path: Path) -> None:
    out = run(tmp_path, make_voc(tmp_path / "voc"))
    variants = sorted((out / "JPEGImages").glob("a__v*.png"))
    assert len(variants) == 6
    labels = {r["path"]: r for r in read_manifest(out) if r.get("kind") == "label"}
    flips = truncated = 0
    for image_path in variants:
        poses = set()
        with Image.open(image_path) as opened:
            image = np.asarray(opened.convert("RGB"))
        label = out / "Annotations" / (image_path.stem + ".xml")
        root = ET.parse(label).getroot()
        assert root.findtext("filename") == image_path.name
        assert root.findtext("size/width") == str(image.shape[1])
        assert root.findtext("size/height") == str(image.shape[0])
        for name, fields in objects_of(label).items():
            box = np.array([float(v) for v in fields["box"].split()])
            seen = colour_extent(image, OBJECTS[name][0])
            assert seen is not None
            # Boxes are written in whole pixels; resampling blurs an edge by a pixel.
            assert np.abs(box - seen).max() <= 2.0, (image_path.name, name, box, seen)
            # A box the border cut is marked truncated (one that only reaches it may not be).
            on_edge = box[0] == 0 or box[1] == 0 or box[2] == image.shape[1]
            on_edge = on_edge or box[3] == image.shape[0]
            if fields["truncated"] == "1":
                assert on_edge, (image_path.name, name)
                truncated += 1
            assert fields["difficult"] == "1"
            poses.add(fields["pose"])
        assert len(poses) == 1
        said = labels[f"Annotations/{label.name}"].get("flipped_labels")
        assert (poses == {"Right"}) == (said == ["Left"])
        flips += said is not None
    assert 0 < flips < 6
    assert truncated > 0


def test_split_lists_name_every_output_and_validate_rederives_them(tmp_path: Path) -> None:
    source = make_voc(tmp_path / "voc")
    out = run(tmp_path, source)
    train = (out / "ImageSets/Main/train.txt").read_text().split()
    assert train == ["a"] + [f"a__v{i:02d}" for i in range(6)]
    assert (out / "ImageSets/Main/val.txt").read_text() == "b\n"
    for image_id in train:
        assert (out / f"JPEGImages/{image_id}.png").is_file()
        assert (out / f"Annotations/{image_id}.xml").is_file()
    result = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert result.exit_code == 0, result.output
    # 6 variants, their 6 XMLs and the 2 split lists are derived again, byte for byte.
    assert "14 outputs re-derived" in result.output
    (out / "ImageSets/Main/train.txt").write_text("a\n")
    result = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert result.exit_code == 1


def test_a_dataset_without_split_lists_is_augmented(tmp_path: Path) -> None:
    out = run(tmp_path, make_voc(tmp_path / "voc", lists=False))
    assert len(list((out / "JPEGImages").glob("*__v*.png"))) == 12
    assert not (out / "ImageSets").exists()
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", tmp_path / "voc",
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_auto_detects_voc_and_strict_passes(tmp_path: Path) -> None:
    source = make_voc(tmp_path / "voc")
    out = run(tmp_path, source, RECIPE.replace("input: {layout: voc}\n", ""), "--strict")
    assert read_manifest(out)[0]["layout"] == "voc"


BOMB = """<?xml version="1.0"?>
<!DOCTYPE annotation [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<annotation><filename>&c;</filename></annotation>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE annotation [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<annotation><filename>&secret;</filename></annotation>
"""


@pytest.mark.parametrize("text", [BOMB, EXTERNAL], ids=["entity-bomb", "external-entity"])
def test_an_xml_with_entities_is_a_one_line_skip(tmp_path: Path, text: str) -> None:
    source = make_voc(tmp_path / "voc")
    (source / "Annotations/a.xml").write_text(text)
    out = run(tmp_path, source)
    reason = skipped(out)["JPEGImages/a.png"]
    assert reason == (
        "Annotations/a.xml: it declares a DOCTYPE (where entities are declared), which augtool "
        "does not read"
    )
    assert "\n" not in reason
    assert not (out / "JPEGImages/a.png").exists()
    # --strict fails on the skip.
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", tmp_path / "o2", "--strict",
                    "--quiet")  # fmt: skip
    assert result.exit_code == 1


def test_the_parser_refuses_entities_before_expanding_them() -> None:
    for text in (BOMB, EXTERNAL):
        with pytest.raises(safexml.UnsafeXML, match="DOCTYPE"):
            safexml.parse(text.encode())
    # An entity used without a declaration is not expanded either.
    with pytest.raises(safexml.UnsafeXML, match="undefined entity"):
        safexml.parse(b"<annotation>&secret;</annotation>")


@pytest.mark.parametrize("name", ["../../etc/passwd.jpg", "/etc/x.jpg", "C:\\x.jpg", "~/x.jpg"])
def test_a_filename_that_leaves_the_dataset_is_refused(tmp_path: Path, name: str) -> None:
    source = make_voc(tmp_path / "voc")
    boxes = {label: box for label, (_, box) in OBJECTS.items()}
    (source / "Annotations/a.xml").write_text(xml(name, boxes))
    out = run(tmp_path, source)
    assert "points outside the dataset" in skipped(out)["JPEGImages/a.png"]


def test_a_box_outside_its_image_is_clipped_and_recorded(tmp_path: Path) -> None:
    source = make_voc(tmp_path / "voc")
    boxes = {"red": (-20, 12, 50, 40), "green": (70, 20, 200, 80), "gone": (300, 300, 340, 330)}
    (source / "Annotations/a.xml").write_text(xml("a.png", boxes))
    recipe = RECIPE.replace("  - vflip: {p: 0.3}\n", "").replace(
        "  - affine: {scale: [0.8, 1.2], translate_percent: 0.15}\n"
        "  - random_resized_crop: {size: [80, 100], scale: [0.6, 1.0]}\n",
        "  - color_jitter: {brightness: 0.2}\n",
    )
    out = run(tmp_path, source, recipe)
    records = {r["path"]: r for r in read_manifest(out) if r["type"] == "file"}
    for index in range(6):
        label = out / f"Annotations/a__v{index:02d}.xml"
        found = objects_of(label)
        assert set(found) == {"red", "green"}
        assert found["red"]["truncated"] == found["green"]["truncated"] == "1"
        boxes_seen = [float(v) for f in found.values() for v in f["box"].split()]
        assert min(boxes_seen) >= 0 and max(boxes_seen) <= W
        assert records[f"Annotations/a__v{index:02d}.xml"]["dropped"] == [
            {"object": 2, "name": "gone"}
        ]


def test_read_and_write_without_a_move_gives_the_file_back() -> None:
    text = xml("a.png", {"red": (10, 12, 50, 40)}, "  <!-- kept -->\n  <extra k='v'>x</extra>\n")
    data = text.replace("'v'", '"v"').encode()
    targets = voc_format.read(data, "a.xml", (H, W))
    assert voc_format.write(data, "a.xml", targets, {}) == (data, [])
    named = voc_format.named(data, "a.xml", "a__v00.png")
    assert named == data.replace(b"<filename>a.png", b"<filename>a__v00.png")


def test_a_malformed_box_is_an_annotation_error() -> None:
    data = xml("a.png", {"red": (50, 12, 10, 40)}).encode()
    with pytest.raises(AnnotationError, match="xmin > xmax"):
        voc_format.read(data, "a.xml", (H, W))
    with pytest.raises(AnnotationError, match="not a number"):
        voc_format.read(data.replace(b"<xmin>50", b"<xmin>nope"), "a.xml", (H, W))


def test_a_third_party_voc_reader_reads_the_output(tmp_path: Path) -> None:
    globox = pytest.importorskip("globox")
    out = run(tmp_path, make_voc(tmp_path / "voc"))
    annotations = globox.AnnotationSet.from_pascal_voc(out / "Annotations")
    assert len(annotations) == 2 + 6
    for annotation in annotations:
        with Image.open(out / "JPEGImages" / annotation.image_id) as image:
            image.load()
        assert annotation.image_size == image.size
        assert {box.label for box in annotation.boxes} <= set(OBJECTS)
        for box in annotation.boxes:
            x0, y0, x1, y1 = box.ltrb
            assert 0 <= x0 < x1 <= image.size[0] and 0 <= y0 < y1 <= image.size[1]


def test_split_lists_decide_each_images_split(tmp_path: Path) -> None:
    from augtool.layouts.discovery import discover

    source = make_voc(tmp_path / "voc")
    for name in ("c", "d", "e"):
        Image.fromarray(picture(5)).save(source / f"JPEGImages/{name}.png")
        (source / f"Annotations/{name}.xml").write_text(xml(f"{name}.png", {}))
    (source / "Annotations/c.xml").unlink()
    (source / "ImageSets/Main/train.txt").write_text("a\nc\nd\nghost\n")
    (source / "ImageSets/Main/val.txt").write_text("b\nd\n")
    Image.fromarray(picture(6)).save(source / "stray.png")
    dataset = discover(source, "auto", (".png",), ("train", "val", "test"), ("train",))
    assert dataset.layout == "voc"
    assert {s.path: s.split for s in dataset.sources} == {
        "JPEGImages/a.png": "train",
        "JPEGImages/b.png": "val",
    }
    assert {s.path: s.reason for s in dataset.skipped} == {
        "JPEGImages/c.png": "no annotation Annotations/c.xml",
        "JPEGImages/d.png": "listed in more than one split list (train, val)",
        "JPEGImages/e.png": "not listed in ImageSets/Main/train.txt, ImageSets/Main/val.txt",
        "JPEGImages/ghost": "listed in ImageSets/Main/train.txt, no image here",
        "stray.png": "outside JPEGImages/",
    }


def test_the_report_names_the_classes_of_voc_boxes(tmp_path: Path) -> None:
    import json

    out = run(tmp_path, make_voc(tmp_path / "voc"))
    result = invoke("report", out, "--json")
    assert result.exit_code == 0, result.output
    side = json.loads(result.stdout)["sides"][0]
    assert side["counts"]["box_class"] == {"blue": 8, "green": 8, "red": 8}
