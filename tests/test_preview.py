"""augtool preview: the sheet, its faithfulness to expand, --sweep, --json and its refusals."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import QUICKSTART, SAMPLES, invoke, random_pixels, read_manifest
from PIL import Image, ImageOps

from augtool.layouts.discovery import discover
from augtool.media.image.transforms import REGISTRY
from augtool.preview import (
    BACKGROUND,
    NOTHING_FIRED,
    Layout,
    caption,
    choose_sources,
    leaf_steps,
    render_preview,
    sweep_points,
    variant_rows,
)
from augtool.recipe import load_recipe
from augtool.run.plan import variant_seed

# Sources that exercise the decode paths expand takes: EXIF orientations 3 and 6, and a PNG.
SUBSET = (
    "train/cat/cat_001.jpg",
    "train/cat/cat_005.jpg",
    "train/coffee/coffee_003.png",
    "train/rocket/rocket_002.jpg",
    "val/cat/cat_010.jpg",
)


def opened(path: Path) -> Image.Image:
    """The image at ``path``, loaded and its file closed (unclosed files warn, warnings fail)."""
    with Image.open(path) as img:
        img.load()
        return img


def tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A few of the sample photos, in their train/val class folders."""
    root = tmp_path / "photos"
    for rel in SUBSET:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / rel, root / rel)
    return root


def quickstart_variant(tmp_path: Path, **changes: object) -> Path:
    """The quickstart recipe with some top-level keys replaced."""
    doc = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    doc.update(changes)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


# --- the sheet -----------------------------------------------------------------------------


def test_sheet_size_and_tiles_for_the_samples(tmp_path: Path) -> None:
    out = tmp_path / "sheet.png"
    before = tree(SAMPLES)
    result = invoke("preview", QUICKSTART, SAMPLES, "-o", out, "--sources", 3, "--variants", 2)
    assert result.exit_code == 0, result.output
    layout = Layout()
    sheet = opened(out)
    assert sheet.format == "PNG"
    assert sheet.size == layout.size(3, 3)
    pixels = np.asarray(sheet.convert("RGB"))
    for row in range(3):
        for column in range(3):
            x, y = layout.cell(row, column)
            cell = pixels[y : y + layout.tile, x : x + layout.tile].reshape(-1, 3)
            assert (cell != BACKGROUND).any(axis=1).all(), (row, column)
    # the gutter right of the last column is background: there are exactly 3 tiles a row
    x = layout.cell(0, 2)[0] + layout.tile
    assert (pixels[:, x:] == BACKGROUND).all()
    assert tree(SAMPLES) == before


def test_rows_hold_the_original_then_the_variants() -> None:
    recipe = load_recipe(QUICKSTART)
    made = render_preview(recipe, SAMPLES, sources=3, variants=2)
    assert len(made.rows) == 3
    for row in made.rows:
        assert [t.info["variant"] for t in row.tiles] == [None, 0, 1]
        assert row.tiles[0].caption.startswith("original ")
        assert all(max(t.image.shape[:2]) <= 192 for t in row.tiles)


def test_two_renders_are_byte_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    for out in (first, second):
        result = invoke("preview", QUICKSTART, SAMPLES, "-o", out, "--sources", 3, "--variants", 2)
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()


def test_the_default_output_is_preview_png_in_the_working_directory(
    tmp_path: Path, photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("preview", QUICKSTART, photos, "--sources", 1, "--variants", 1, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert opened(tmp_path / "preview.png").size == Layout().size(1, 2)


def test_palette_sheet_is_smaller_and_the_same_size(tmp_path: Path, photos: Path) -> None:
    full, small = tmp_path / "full.png", tmp_path / "small.png"
    assert invoke("preview", QUICKSTART, photos, "-o", full, "-q").exit_code == 0
    assert invoke("preview", QUICKSTART, photos, "-o", small, "-q", "--palette").exit_code == 0
    assert opened(small).mode == "P"
    assert opened(small).size == opened(full).size
    assert small.stat().st_size < full.stat().st_size


# --- faithfulness --------------------------------------------------------------------------


def test_variant_tiles_are_the_pixels_expand_writes(tmp_path: Path, photos: Path) -> None:
    """Expand with lossless PNG output; each unscaled preview tile must equal its file."""
    recipe_path = quickstart_variant(tmp_path, output={"format": "png", "originals": "skip"})
    out = tmp_path / "expanded"
    result = invoke("expand", recipe_path, photos, "-o", out, "--backend", "sequential", "-q")
    assert result.exit_code == 0, result.output
    recipe = load_recipe(recipe_path)
    dataset = discover(photos, "auto", recipe.input["extensions"], ["train", "val"], ["train"])
    rows = list(variant_rows(recipe, photos, dataset, sources=10, variants=recipe.variants))
    assert len(rows) == 4  # the train sources; val is never augmented
    manifest = read_manifest(out)
    steps = {r["path"]: r["steps"] for r in manifest if r.get("role") == "augmented"}
    for row in rows:
        stem = row.source.path.rsplit(".", 1)[0]
        for tile in row.tiles[1:]:
            written = f"{stem}__v{tile.info['variant']:02d}.png"
            expected = np.asarray(opened(out / written))
            image = tile.image[:, :, 0] if tile.image.shape[2] == 1 else tile.image
            np.testing.assert_array_equal(image, expected, err_msg=written)
            assert tile.info["steps"] == steps[written]


# --- choosing sources ----------------------------------------------------------------------


def test_sources_round_robin_over_split_and_label_groups(tmp_path: Path) -> None:
    root = tmp_path / "data"
    names = ["train/a/a1.png", "train/a/a2.png", "train/a/a3.png", "train/b/b1.png"]
    names += ["val/a/v1.png", "test/c/t1.png", "extra/x1.png"]
    for rel in names:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (4, 3)).save(root / rel)
    dataset = discover(root, "auto", [".png"], ["train", "val", "test"], ["train", "test"])
    chosen = [s.path for s in choose_sources(dataset)]
    assert chosen == [
        "test/c/t1.png",
        "train/a/a1.png",
        "train/b/b1.png",
        "train/a/a2.png",
        "train/a/a3.png",
    ]


def test_a_source_that_does_not_decode_is_passed_over(tmp_path: Path, photos: Path) -> None:
    (photos / "train" / "cat" / "cat_000.jpg").write_bytes(b"not a jpeg")
    out = tmp_path / "sheet.png"
    result = invoke("preview", QUICKSTART, photos, "-o", out, "--sources", 4, "--variants", 1)
    assert result.exit_code == 0, result.output
    assert "skipped train/cat/cat_000.jpg: " in result.output
    recipe = load_recipe(QUICKSTART)
    made = render_preview(recipe, photos, sources=4, variants=1)
    assert [row.source.path for row in made.rows] == [
        "train/coffee/coffee_003.png",
        "train/rocket/rocket_002.jpg",
        "train/cat/cat_001.jpg",
        "train/cat/cat_005.jpg",
    ]


@pytest.mark.parametrize("sweep", [False, True])
def test_a_source_jpeg_compression_cannot_encode_is_passed_over(
    tmp_path: Path, sweep: bool
) -> None:
    source = tmp_path / "in"
    source.mkdir()
    Image.new("RGB", (65600, 2), (200, 10, 10)).save(source / "a_wide.png")  # JPEG's limit: 65500
    Image.new("RGB", (64, 48), (10, 200, 10)).save(source / "b_small.png")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\nvariants: 1\npipeline:\n  - jpeg_compression: {}\n")
    options = ["--sweep"] if sweep else ["--variants", "1"]
    result = invoke("preview", recipe, source, "-o", tmp_path / "p.png", *options)
    assert result.exit_code == 0, result.output
    assert "skipped a_wide.png: " in result.output
    assert "exceeds JPEG's limit of 65500 pixels a side" in result.output


# --- captions ------------------------------------------------------------------------------


def test_caption_lists_fired_steps_with_rounded_params() -> None:
    records = [
        {"name": "hflip", "fired": False, "params": {}},
        {"name": "rotate", "fired": True, "params": {"angle": -12.3456, "border": "reflect"}},
        {
            "name": "one_of",
            "fired": True,
            "params": {"chosen": [0]},
            "steps": [
                {
                    "name": "gaussian_noise",
                    "fired": True,
                    "params": {"std": 5.678, "mean": 0.0, "per_channel": True, "seed": 123},
                }
            ],
        },
        {
            "name": "color_jitter",
            "fired": True,
            "params": {
                "order": ["hue", "contrast", "brightness", "saturation"],
                "brightness": 1.0812,
                "contrast": 0.9251,
                "saturation": 1.1149,
                "hue": 0.0123,
            },
        },
    ]
    assert caption(records) == (
        "rotate -12.3°, gaussian_noise std 5.68, color_jitter b1.08 c0.93 s1.11 h0.01"
    )
    assert caption([{"name": "hflip", "fired": False, "params": {}}]) == NOTHING_FIRED


def test_nothing_fired_is_captioned(tmp_path: Path, photos: Path) -> None:
    recipe_path = quickstart_variant(tmp_path, pipeline=[{"rotate": {"limit": 10, "p": 0.0}}])
    made = render_preview(load_recipe(recipe_path), photos, sources=1, variants=2)
    assert [t.caption for t in made.rows[0].tiles[1:]] == [
        f"v0: {NOTHING_FIRED}",
        f"v1: {NOTHING_FIRED}",
    ]


# --- --json and the terminal table -----------------------------------------------------------


def test_json_lists_sources_variants_and_the_plan_seeds(tmp_path: Path, photos: Path) -> None:
    out = tmp_path / "sheet.png"
    args = ("-o", out, "--sources", 3, "--variants", 2, "--seed", 7, "--json")
    result = invoke("preview", QUICKSTART, photos, *args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["mode"] == "variants"
    assert plan["seed"] == 7
    assert plan["output"] == str(out)
    assert len(plan["sources"]) == 3
    for source in plan["sources"]:
        variants = source["tiles"][1:]
        assert [v["variant"] for v in variants] == [0, 1]
        assert [v["seed"] for v in variants] == [variant_seed(7, source["path"], i) for i in (0, 1)]
        assert all(step["name"] for v in variants for step in v["steps"])
    assert out.is_file()


def test_table_lists_every_variant(tmp_path: Path, photos: Path) -> None:
    result = invoke("preview", QUICKSTART, photos, "-o", tmp_path / "s.png", "--sources", 2)
    assert result.exit_code == 0, result.output
    assert "steps that fired" in result.stdout
    assert result.stdout.count("train/cat/cat_001.jpg") == 4
    assert f"Wrote {tmp_path / 's.png'} (" in result.stdout


# --- --sweep -------------------------------------------------------------------------------


def test_sweep_has_a_row_per_leaf_step(tmp_path: Path) -> None:
    out = tmp_path / "sweep.png"
    result = invoke("preview", QUICKSTART, SAMPLES, "-o", out, "--sweep", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    names = [row["step"] for row in plan["rows"]]
    assert names == [
        "hflip",
        "rotate",
        "random_resized_crop",
        "gaussian_noise",
        "gaussian_blur",
        "color_jitter",
    ]
    assert plan["rows"][3]["path"] == "pipeline[3].one_of.transforms[0]"
    by_name = {row["step"]: row["tiles"][1:] for row in plan["rows"]}
    assert [t["at"] for t in by_name["hflip"]] == [None]
    assert [t["params"]["angle"] for t in by_name["rotate"]] == [-15.0, 0.0, 15.0]
    assert [t["params"]["std"] for t in by_name["gaussian_noise"]] == [2.0, 5.0, 8.0]
    assert opened(out).size == Layout().size(6, 4)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_transform_example_can_be_swept(name: str) -> None:
    config = yaml.safe_load(REGISTRY[name].example)[0][name] or {}
    step = REGISTRY[name](**config)
    image = random_pixels((24, 32, 3))
    points = sweep_points(step)
    assert [at for at, _ in points] in ([None], ["low", "mid", "high"])
    for _, point in points:
        params = point.sample(np.random.Generator(np.random.PCG64(1)), image.shape)
        assert point.apply(image, params).dtype == np.uint8


def test_leaf_steps_open_blocks() -> None:
    recipe = load_recipe(QUICKSTART)
    assert [path for path, _ in leaf_steps(recipe.steps)] == [
        "pipeline[0]",
        "pipeline[1]",
        "pipeline[2]",
        "pipeline[3].one_of.transforms[0]",
        "pipeline[3].one_of.transforms[1]",
        "pipeline[4]",
    ]


# --- refusals --------------------------------------------------------------------------------


def test_output_inside_the_input_is_refused(photos: Path) -> None:
    before = tree(photos)
    result = invoke("preview", QUICKSTART, photos, "-o", photos / "train" / "p.png")
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert "inside the input folder" in result.output
    assert tree(photos) == before


def test_output_inside_the_recipe_output_is_refused(tmp_path: Path, photos: Path) -> None:
    expanded = tmp_path / "expanded"
    recipe_path = quickstart_variant(tmp_path, output={"path": str(expanded)})
    result = invoke("preview", recipe_path, photos, "-o", expanded / "preview.png")
    assert result.exit_code == 2
    assert "inside the recipe's output folder" in result.output
    assert not expanded.exists()


@pytest.mark.parametrize("name", ["sheet.jpg", "folder"])
def test_output_must_be_a_png_file(tmp_path: Path, photos: Path, name: str) -> None:
    (tmp_path / "folder.png").mkdir()
    target = tmp_path / ("folder.png" if name == "folder" else name)
    result = invoke("preview", QUICKSTART, photos, "-o", target)
    assert result.exit_code == 2
    assert result.output.startswith("Error: ")


def test_nothing_to_preview_when_no_split_is_augmented(tmp_path: Path, photos: Path) -> None:
    shutil.rmtree(photos / "train")
    result = invoke("preview", QUICKSTART, photos, "-o", tmp_path / "p.png")
    assert result.exit_code == 2
    assert "no image to preview" in result.output
    assert not (tmp_path / "p.png").exists()


def test_originals_alone_are_drafted_but_report_the_true_size(photos: Path) -> None:
    """--variants 0 decodes JPEGs at a reduced scale; captions still give the displayed size."""
    recipe = load_recipe(QUICKSTART)
    made = render_preview(recipe, photos, sources=4, variants=0)
    for row in made.rows:
        with Image.open(photos / row.source.path) as img:
            full = np.asarray(ImageOps.exif_transpose(img))
        height, width = full.shape[:2]
        assert row.info["size"] == [height, width]
        assert row.tiles[0].caption == f"original [{height}, {width}]"
        assert len(row.tiles) == 1
        tile = row.tiles[0].image
        assert (tile.shape[0] > tile.shape[1]) == (height > width)  # orientation applied
