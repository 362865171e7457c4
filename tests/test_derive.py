"""One derive path: expand, ``validate --recompute`` and preview make the same decisions about a
source (its pixel limit, the objects dropped, the classes mirrored, labels that do not parse),
because all three derive through :mod:`augtool.run.derive`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from augtool.cli import app
from augtool.layouts import YoloFormat
from augtool.media.image.codecs import decode
from augtool.preview import render_preview, variant_rows
from augtool.recipe import load_recipe
from augtool.run.engine import discover_dataset

ROOT = Path(__file__).resolve().parents[1]
YOLO = ROOT / "samples" / "detection-yolo"
#: Pillow's process-wide limit in these tests: small, so a tiny image stands in for a huge one
#: (a 40x40 image is over it, as a 9500x9500 one is over Pillow's default; 50x50 is over twice).
PILLOW_LIMIT = 1000


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def expand(recipe: Path, source: Path, out: Path) -> None:
    result = invoke("expand", recipe, source, "-o", out, "--jobs", "1", "--quiet")
    assert result.exit_code == 0, result.output


def manifest_lines(out: Path) -> list[dict]:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def skips(out: Path) -> dict[str, str]:
    return {r["path"]: r["reason"] for r in manifest_lines(out) if r["type"] == "skipped"}


def noisy(path: Path, size: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path)


def write_recipe(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text("version: 1\nseed: 3\n" + text)
    return path


# --- the pixel limit ---------------------------------------------------------------------------


@pytest.fixture
def small_pillow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", PILLOW_LIMIT)


@pytest.mark.usefixtures("small_pillow_limit")
def test_a_raised_max_pixels_is_honoured_by_preview_and_recompute(tmp_path: Path) -> None:
    """Sources over Pillow's limit (and over twice it) that the recipe's max_pixels allows:
    expand writes their variants, preview shows them, validate --recompute passes them."""
    source = tmp_path / "input"
    noisy(source / "over.png", 40, 1)  # 1600 pixels: Pillow would warn
    noisy(source / "far_over.png", 50, 2)  # 2500 pixels: Pillow would refuse
    pipeline = "pipeline:\n  - hflip: {}\n  - rotate: {limit: 9}\n"
    recipe = write_recipe(tmp_path, "input: {max_pixels: 5000}\nvariants: 2\n" + pipeline)
    loaded = load_recipe(recipe)
    # The rows, not the sheet: the sheet's captions are drawn by Pillow under its own limit.
    skipped: list[dict[str, str]] = []
    rows = list(variant_rows(loaded, source, discover_dataset(loaded, source), 2, 2, skipped))
    assert sorted(row.source.path for row in rows) == ["far_over.png", "over.png"]
    assert skipped == []
    out = tmp_path / "out"
    expand(recipe, source, out)
    assert skips(out) == {}
    assert Image.MAX_IMAGE_PIXELS == PILLOW_LIMIT  # nothing raised the process-wide limit
    manifest = out / "manifest.jsonl"
    result = invoke("validate", "manifest", manifest, "--source", source, "--recompute", "all")
    assert result.exit_code == 0, result.output
    assert "decompression bomb" not in result.output


def test_decoding_leaves_pillows_limit_as_it_was() -> None:
    before = Image.MAX_IMAGE_PIXELS
    image = Image.new("RGB", (30, 20))
    from io import BytesIO

    buffer = BytesIO()
    image.save(buffer, "PNG")
    decoded = decode(buffer.getvalue(), ["PNG"], max_pixels=(before or 0) * 4)
    assert decoded.size == (20, 30)
    assert before == Image.MAX_IMAGE_PIXELS


def test_a_lowered_max_pixels_skips_in_preview_as_in_expand(tmp_path: Path) -> None:
    source = tmp_path / "input"
    noisy(source / "big.png", 100, 1)  # 10000 pixels, over max_pixels
    noisy(source / "small.png", 50, 2)
    recipe = write_recipe(tmp_path, "input: {max_pixels: 5000}\nvariants: 1\npipeline: []\n")
    out = tmp_path / "out"
    expand(recipe, source, out)
    reason = skips(out)["big.png"]
    assert reason.startswith("decompression bomb refused: 10000 pixels")
    loaded = load_recipe(recipe)
    for variants in (1, 0):  # variants, and the display-only sheet of originals
        made = render_preview(loaded, source, sources=2, variants=variants)
        assert [row.source.path for row in made.rows] == ["small.png"]
        assert made.skipped == [{"path": "big.png", "reason": reason}]


# --- labels: drops, flip pairs, labels that do not parse -----------------------------------------

DETECTION = """\
input: {layout: yolo}
output: {format: same}
splits: {augment: [train]}
variants: 4
targets:
  bbox: {min_visibility: 0.9, min_area: 400}
  flip_pairs: [[cat, cup]]
pipeline:
  - hflip: {p: 0.5}
  - affine: {translate_percent: 0.25}
"""


def yolo_rows(recipe_path: Path, source: Path) -> list:
    recipe = load_recipe(recipe_path)
    dataset = discover_dataset(recipe, source)
    count = sum(s.augment for s in dataset.sources)
    return list(variant_rows(recipe, source, dataset, sources=count, variants=recipe.variants))


def test_preview_draws_the_objects_expand_writes(tmp_path: Path) -> None:
    """Every variant tile carries exactly the objects of the label file expand writes for it:
    the same objects dropped, the same classes swapped on a mirror."""
    recipe = write_recipe(tmp_path, DETECTION)
    out = tmp_path / "out"
    expand(recipe, YOLO, out)
    names = {0: "cat", 1: "cup", 2: "rocket", 3: "person"}
    rows = yolo_rows(recipe, YOLO)
    assert rows
    compared = dropped = flipped = 0
    for row in rows:
        stem = Path(row.source.path).stem
        for tile in row.tiles[1:]:
            written = out / "labels" / "train" / f"{stem}__v{tile.info['variant']:02d}.txt"
            if tile.targets is None:  # a source without a label file gets none
                assert not written.exists()
                continue
            assert YoloFormat(names).write(tile.targets) == written.read_bytes(), written
            compared += 1
        for record in manifest_lines(out):
            if record.get("kind") == "label" and record["path"].startswith(
                f"labels/train/{stem}__"
            ):
                dropped += bool(record.get("dropped"))
                flipped += bool(record.get("flipped_labels"))
    assert compared >= 4 * (len(rows) - 1)
    assert dropped and flipped  # the case under test: objects dropped, classes swapped


def test_a_source_whose_labels_do_not_parse_is_skipped_by_preview(tmp_path: Path) -> None:
    source = Path(shutil.copytree(YOLO, tmp_path / "input"))
    broken = sorted((source / "labels" / "train").glob("cat_*.txt"))[0]
    broken.write_text("this is not a label line\n")
    image = f"images/train/{broken.stem}.jpg"
    recipe = write_recipe(tmp_path, DETECTION)
    out = tmp_path / "out"
    expand(recipe, source, out)
    reason = skips(out)[image]
    made = render_preview(load_recipe(recipe), source, sources=20, variants=1)
    assert image not in [row.source.path for row in made.rows]
    assert {"path": image, "reason": reason} in made.skipped


# --- the one function --------------------------------------------------------------------------


def test_replaying_the_recorded_steps_gives_the_sampled_variant() -> None:
    """derive from a seed and derive from the records it returned are the same bytes."""
    from augtool.run.derive import InputLimits, derive, open_source

    data = (ROOT / "samples" / "photos" / "train" / "cat" / "cat_001.jpg").read_bytes()
    recipe = load_recipe(ROOT / "configs" / "quickstart.yaml")
    limits = InputLimits(tuple(recipe.input["formats"]), recipe.input["max_pixels"])
    opened = open_source(data, limits, recipe.kernels)
    encoder = {"format": "PNG", "compress_level": 1}
    for seed in range(3):
        sampled = derive(opened, recipe.steps, seed, encoder=encoder)
        replayed = derive(opened, records=sampled.steps, encoder=encoder)
        assert replayed.data == sampled.data
        assert replayed.size == sampled.size


def test_a_mask_moves_with_the_kernels_of_its_image() -> None:
    """A segmentation mask is warped by the same library as its image (with nearest): at
    45 degrees the two libraries pick a few other pixels."""
    pytest.importorskip("cv2")
    from augtool.media.image.targets import Targets, apply_targets
    from augtool.media.image.transforms import replay

    rng = np.random.default_rng(4)
    mask = rng.integers(0, 6, (60, 80), dtype=np.uint8)
    params = {"angle": 45.0, "interpolation": "bilinear", "border": "constant", "fill": 0}
    records = [{"name": "rotate", "fired": True, "params": params}]
    nearest = [{**records[0], "params": {**params, "interpolation": "nearest"}}]
    for choice in ("pillow", "opencv"):
        moved = apply_targets(records, Targets((60, 80), mask=mask), choice).mask
        expected = replay(nearest, mask[:, :, None], choice)[:, :, 0]
        np.testing.assert_array_equal(moved, expected)
    by_pillow = apply_targets(records, Targets((60, 80), mask=mask), "pillow").mask
    by_opencv = apply_targets(records, Targets((60, 80), mask=mask), "opencv").mask
    assert not np.array_equal(by_pillow, by_opencv)
