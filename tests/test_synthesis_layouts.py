"""Synthesis on masks, VOC and LabelMe datasets: a mosaic's or cutmix's mask holds each
source's class ids where its pixels went, VOC and LabelMe label files gain the partners'
objects on their pixels, and every output validates with ``--recompute all``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import RUN_STATE, coloured, expand, file_records, grown, invoke, tree_digest
from PIL import Image
from synthesis_data import (
    COLOURS,
    MOSAIC,
    SIZES,
    assert_on_pixels,
    recipe,
    recompute,
    source_object,
    write_labelme,
)


def write_masks(root: Path) -> Path:
    """images/train/ with five rectangles, masks/train/ with class ``index + 1`` under each."""
    for folder in ("images", "masks"):
        (root / folder / "train").mkdir(parents=True)
    for index in range(len(COLOURS)):
        image, (x0, y0, x1, y1) = source_object(index)
        mask = np.zeros(SIZES[index], dtype=np.uint8)
        mask[y0:y1, x0:x1] = index + 1
        Image.fromarray(image).save(root / "images" / "train" / f"s{index}.png")
        Image.fromarray(mask, "L").save(root / "masks" / "train" / f"s{index}.png")
    return root


def write_voc(root: Path) -> Path:
    """JPEGImages/ with five rectangles (as PNGs), each an object ``c<index>`` in its XML."""
    (root / "JPEGImages").mkdir(parents=True)
    (root / "Annotations").mkdir()
    for index in range(len(COLOURS)):
        image, (x0, y0, x1, y1) = source_object(index)
        height, width = SIZES[index]
        Image.fromarray(image).save(root / "JPEGImages" / f"s{index}.png")
        (root / "Annotations" / f"s{index}.xml").write_text(
            f"<annotation>\n  <filename>s{index}.png</filename>\n"
            f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"
            f"  <object>\n    <name>c{index}</name>\n    <difficult>0</difficult>\n"
            f"    <bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
            f"<ymax>{y1}</ymax></bndbox>\n  </object>\n</annotation>\n"
        )
    return root


def _variants(out: Path) -> list[dict[str, object]]:
    records = file_records(out).values()
    return [r for r in records if r["role"] == "augmented" and "kind" not in r]


@pytest.mark.parametrize("steps", [MOSAIC, "  - cutmix: {}\n", MOSAIC + "  - rotate: {}\n"])
def test_a_mask_holds_every_source_s_classes_where_its_pixels_went(
    tmp_path: Path, steps: str
) -> None:
    source = write_masks(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", steps), source, tmp_path / "out")
    images = _variants(out)
    assert len(images) == 15
    brought = 0
    for record in images:
        path = str(record["path"])
        pixels = np.asarray(Image.open(out / path).convert("RGB"))
        mask = np.asarray(Image.open(out / path.replace("images/", "masks/")))
        assert mask.shape == pixels.shape[:2]
        own = int(path.split("/")[-1][1])
        for index, colour in enumerate(COLOURS):
            painted, labelled = coloured(pixels, colour), mask == index + 1
            # Nearest (the mask) and bilinear (the image) sampling disagree at an edge only,
            # where the image blends the object's colour with what is next to it.
            blended = coloured(pixels, colour, tolerance=100)
            assert not (painted & ~grown(labelled)).any(), (path, index)
            assert not (labelled & ~grown(blended)).any(), (path, index)
            brought += bool(index != own and labelled.any())
        assert set(np.unique(mask)) <= set(range(len(COLOURS) + 1))
    assert brought > 5  # partners' classes are in the masks, not only the sources' own
    recompute(out, source)


def test_masks_mosaic_outputs_are_the_same_with_two_jobs(tmp_path: Path) -> None:
    source = write_masks(tmp_path / "in")
    path = recipe(tmp_path / "r.yaml", MOSAIC + "  - rotate: {limit: 10, p: 0.5}\n")
    one = expand(path, source, tmp_path / "one", "--jobs", "1")
    two = expand(path, source, tmp_path / "two", "--jobs", "2")
    assert tree_digest(one, RUN_STATE) == tree_digest(two, RUN_STATE)


def test_mixup_is_refused_on_masks_with_the_steps_that_move_them(tmp_path: Path) -> None:
    source = write_masks(tmp_path / "in")
    result = invoke("expand", recipe(tmp_path / "r.yaml", "  - mixup: {}\n"), source,
                    "-o", tmp_path / "out")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "mixup cannot move masks labels" in result.output
    assert "use cutmix or mosaic" in result.output


def _voc_boxes(xml: str) -> list[tuple[int, list[float]]]:
    import xml.etree.ElementTree as ET

    found = []
    for obj in ET.fromstring(xml).findall("object"):
        box = obj.find("bndbox")
        assert box is not None
        corners = [float(box.findtext(c) or "nan") for c in ("xmin", "ymin", "xmax", "ymax")]
        found.append((int((obj.findtext("name") or "")[1:]), corners))
    return found


@pytest.mark.parametrize("steps", [MOSAIC, MOSAIC + "  - hflip: {}\n"])
def test_voc_objects_of_every_source_land_on_their_pixels(tmp_path: Path, steps: str) -> None:
    source = write_voc(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", steps), source, tmp_path / "out")
    images = _variants(out)
    assert len(images) == 15
    objects = 0
    for record in images:
        path = str(record["path"])
        pixels = np.asarray(Image.open(out / path).convert("RGB"))
        label = path.replace("JPEGImages/", "Annotations/").replace(".png", ".xml")
        xml = (out / label).read_text()
        assert f"<filename>{path.split('/')[-1]}</filename>" in xml
        boxes = _voc_boxes(xml)
        assert_on_pixels(pixels, boxes)
        objects += len(boxes)
        assert all(p["labels"].startswith("Annotations/") for p in record["partners"])
    assert objects > 15  # partners' objects are written, not only the sources'
    recompute(out, source)


def _labelme_boxes(document: dict[str, object]) -> list[tuple[int, list[float]]]:
    found = []
    for shape in document["shapes"]:  # type: ignore[attr-defined]
        points = np.array(shape["points"], dtype=np.float64)
        found.append((int(shape["label"][1:]), [*points.min(axis=0), *points.max(axis=0)]))
    return found


def test_labelme_shapes_of_every_source_land_on_their_pixels(tmp_path: Path) -> None:
    source = write_labelme(tmp_path / "in")
    out = expand(recipe(tmp_path / "r.yaml", MOSAIC), source, tmp_path / "out")
    images = _variants(out)
    assert len(images) == 15
    kinds: set[str] = set()
    for record in images:
        path = str(record["path"])
        if path.startswith("s4"):
            continue  # no JSON of its own: its variants have none
        pixels = np.asarray(Image.open(out / path).convert("RGB"))
        document = json.loads((out / path.replace(".png", ".json")).read_text())
        assert document["imagePath"] == path and document["imageHeight"] == 64
        boxes = _labelme_boxes(document)
        # s4's object is unlabelled in its source: it may show with no shape.
        shown = [(i, b) for i, b in boxes if i != 4]
        assert_on_pixels(_without(pixels, 4), shown)
        kinds |= {shape["shape_type"] for shape in document["shapes"]}
    assert kinds == {"polygon", "rectangle"}
    recompute(out, source)


def _without(pixels: np.ndarray, index: int) -> np.ndarray:
    """``pixels`` with the object of class ``index`` painted grey (it has no label to check)."""
    out = pixels.copy()
    out[coloured(pixels, COLOURS[index])] = 90
    return out
