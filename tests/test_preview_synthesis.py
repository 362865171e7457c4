"""Preview draws synthesis steps (mixup, cutmix, mosaic, copy_paste) with the partners expand
gives each variant: the same pixels, the same partners, the partners' objects where their pixels
went, and a sweep row per step with its partners fixed along the row."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import coloured, expand, file_records, invoke, skipped
from PIL import Image
from synthesis_data import COLOURS, MOSAIC, write_coco, write_yolo, yolo_boxes

from augtool.layouts.discovery import discover
from augtool.media.image.transforms import SYNTHESIS
from augtool.preview import Layout, render_preview, variant_rows
from augtool.recipe import load_recipe

FLAT_STEPS = {
    "mixup": "  - mixup: {alpha: 0.4}\n",
    "cutmix": "  - cutmix: {alpha: 1.0}\n",
    "mosaic": MOSAIC,
}
COPY_PASTE = "  - copy_paste: {fraction: 1.0, scale: [0.5, 1.5]}\n"
PIPELINE = MOSAIC + "  - mixup: {p: 0.5}\n  - cutmix: {p: 0.5}\n"


def flat_colours(root: Path, count: int = len(COLOURS)) -> Path:
    """train/ with one flat-coloured PNG a source (``COLOURS`` by index, sizes differing)."""
    (root / "train").mkdir(parents=True)
    for index in range(count):
        size = (40 + 4 * index, 48 - 2 * index)  # (width, height)
        Image.new("RGB", size, COLOURS[index]).save(root / "train" / f"s{index}.png")
    return root


def write_recipe(path: Path, steps: str, variants: int = 3) -> Path:
    path.write_text(
        f"version: 1\nseed: 7\nvariants: {variants}\n"
        f"output: {{format: png, originals: skip}}\npipeline:\n{steps}"
    )
    return path


def preview_json(*args: str | Path) -> dict[str, object]:
    result = invoke("preview", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def colours_in(pixels: np.ndarray, least: int) -> set[int]:
    """The indices of ``COLOURS`` that at least ``least`` pixels of ``pixels`` show."""
    return {i for i, c in enumerate(COLOURS) if int(coloured(pixels, c, 12).sum()) >= least}


@pytest.mark.parametrize("name", sorted(FLAT_STEPS))
def test_a_synthesis_recipe_previews_to_a_sheet(tmp_path: Path, name: str) -> None:
    data = flat_colours(tmp_path / "data")
    recipe = write_recipe(tmp_path / "r.yaml", FLAT_STEPS[name].replace("}", ", p: 1.0}"))
    sheet = tmp_path / "sheet.png"
    plan = preview_json(recipe, data, "-o", sheet, "--variants", 2)
    with Image.open(sheet) as img:
        assert img.format == "PNG"
        assert img.size == Layout().size(4, 3)
    count = SYNTHESIS[name].partner_count
    for row in plan["sources"]:
        for tile in row["tiles"][1:]:
            assert len(tile["partners"]) == count
            assert [s["name"] for s in tile["steps"]] == [name]


def test_copy_paste_previews_with_the_pasted_objects(tmp_path: Path) -> None:
    data = write_coco(tmp_path / "coco")
    recipe = write_recipe(tmp_path / "r.yaml", COPY_PASTE, variants=2)
    out = expand(recipe, data, tmp_path / "out", "--backend", "sequential")
    records = file_records(out)
    coco = json.loads((out / "annotations" / "instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {image["id"]: image["file_name"] for image in coco["images"]}
    written: dict[str, list[tuple[str, list[float]]]] = {name: [] for name in files.values()}
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        box = np.round([x, y, x + w, y + h], 2).tolist()
        written[files[ann["image_id"]]].append((names[ann["category_id"]], box))
    written = {name: sorted(boxes) for name, boxes in written.items()}
    took: set[int] = set()
    sheet = tmp_path / "sheet.png"
    plan = preview_json(recipe, data, "-o", sheet, "--sources", 5, "--variants", 2)
    assert sheet.is_file()
    loaded = load_recipe(recipe)
    dataset = discover(data, "auto", loaded.input["extensions"], ["train"], ["train"])
    rows = {r.source.path: r for r in variant_rows(loaded, data, dataset, 5, 2)}
    for row in plan["sources"]:
        stem = row["path"].rsplit(".", 1)[0]
        for tile, drawn in zip(row["tiles"][1:], rows[row["path"]].tiles[1:], strict=True):
            record = records[f"{stem}__v{tile['variant']:02d}.png"]
            assert tile["partners"] == [p["path"] for p in record["partners"]]
            pixels = np.asarray(Image.open(out / record["path"]).convert("RGB"))
            np.testing.assert_array_equal(drawn.image, pixels)
            # the objects drawn are those expand's COCO file has: the partner's pasted ones
            # among them, named by their own category
            shown = sorted(zip(drawn.names, drawn.targets.boxes.round(2).tolist(), strict=True))
            assert shown == written[record["path"].split("/")[-1]], drawn.caption
            took |= {int(Path(p).stem[1:]) for p in tile["partners"]} & {
                int(n[1:]) for n in drawn.names
            }
    assert took  # some tile shows a partner's object, named by its category


def test_each_tile_is_expand_s_output_with_its_partners(tmp_path: Path) -> None:
    """Flat colours: the full-size tile of (source, variant) is expand's decoded output, pixel
    for pixel, blended from the partners its manifest line records."""
    data = flat_colours(tmp_path / "data")
    recipe_path = write_recipe(tmp_path / "r.yaml", PIPELINE, variants=4)
    out = expand(recipe_path, data, tmp_path / "out", "--backend", "sequential")
    records = file_records(out)
    recipe = load_recipe(recipe_path)
    dataset = discover(data, "auto", recipe.input["extensions"], ["train"], ["train"])
    rows = list(variant_rows(recipe, data, dataset, sources=5, variants=4))
    assert len(rows) == 5
    took = set()
    for row in rows:
        stem = row.source.path.rsplit(".", 1)[0]
        for tile in row.tiles[1:]:
            record = records[f"{stem}__v{tile.info['variant']:02d}.png"]
            expected = np.asarray(Image.open(out / record["path"]).convert("RGB"))
            np.testing.assert_array_equal(tile.image, expected, err_msg=record["path"])
            assert tile.info["partners"] == [p["path"] for p in record["partners"]]
            assert tile.info["steps"] == record["steps"]
            took.update(colours_in(tile.image, 20) - {int(stem[-1])})
            fired = [s["name"] for s in record["steps"] if s["fired"]]
            # the caption names each partner the fired steps took, by its file name
            assert fired[0] == "mosaic" and tile.caption.count(".png") >= 3
    assert took == set(range(len(COLOURS)))  # every source shows up as some tile's partner


def test_the_sheet_tiles_show_the_partner_colours_in_expand_s_places(tmp_path: Path) -> None:
    """Through the CLI: each scaled mosaic tile of the sheet shows the colours of expand's
    output of that (source, variant), each in the same quarter of the tile."""
    data = flat_colours(tmp_path / "data")
    recipe = write_recipe(tmp_path / "r.yaml", MOSAIC, variants=3)
    out = expand(recipe, data, tmp_path / "out", "--backend", "sequential")
    sheet_path = tmp_path / "sheet.png"
    plan = preview_json(recipe, data, "-o", sheet_path, "--sources", 3, "--variants", 3)
    sheet = np.asarray(Image.open(sheet_path).convert("RGB"))
    layout = Layout()
    for row_index, row in enumerate(plan["sources"]):
        stem = row["path"].rsplit(".", 1)[0]
        for tile in row["tiles"][1:]:
            expected = np.asarray(Image.open(out / f"{stem}__v{tile['variant']:02d}.png"))
            x, y = layout.cell(row_index, tile["variant"] + 1)
            cell = sheet[y : y + layout.tile, x : x + layout.tile]
            # the tile is the 64x80 output scaled to fit the cell, centred in it
            height, width = expected.shape[:2]
            scale = min(layout.tile / width, layout.tile / height)
            h, w = round(height * scale), round(width * scale)
            top, left = (layout.tile - h) // 2, (layout.tile - w) // 2
            shown = cell[top : top + h, left : left + w]
            for qy in range(2):
                for qx in range(2):
                    mine = expected[qy * height // 2 : (qy + 1) * height // 2,
                                    qx * width // 2 : (qx + 1) * width // 2]  # fmt: skip
                    drawn = shown[qy * h // 2 : (qy + 1) * h // 2,
                                  qx * w // 2 : (qx + 1) * w // 2]  # fmt: skip
                    assert colours_in(mine, 30) <= colours_in(drawn, 1), (stem, tile)
                    assert colours_in(drawn, 200) <= colours_in(mine, 1), (stem, tile)


def test_mosaic_boxes_are_expand_s_with_the_partners_objects(tmp_path: Path) -> None:
    data = write_yolo(tmp_path / "yolo")
    recipe_path = write_recipe(tmp_path / "r.yaml", MOSAIC, variants=2)
    out = expand(recipe_path, data, tmp_path / "out", "--backend", "sequential")
    recipe = load_recipe(recipe_path)
    split = recipe.splits
    dataset = discover(data, "auto", recipe.input["extensions"], split["names"], split["augment"])
    rows = list(variant_rows(recipe, data, dataset, sources=5, variants=2))
    assert len(rows) == 5
    theirs = 0
    for row in rows:
        stem = Path(row.source.path).stem
        for tile in row.tiles[1:]:
            name = f"{stem}__v{tile.info['variant']:02d}"
            written = yolo_boxes((out / "labels" / "train" / f"{name}.txt").read_text(), (64, 80))
            expected = sorted((f"c{cls}", box) for cls, box in written)
            drawn = sorted(zip(tile.names, tile.targets.boxes.tolist(), strict=True))
            assert [n for n, _ in drawn] == [n for n, _ in expected], name
            np.testing.assert_allclose([b for _, b in drawn], [b for _, b in expected], atol=0.01)
            theirs += sum(n != f"c{stem[1:]}" for n, _ in drawn)
    assert theirs >= 10  # partners' objects, drawn where their pixels went


@pytest.mark.parametrize("name", sorted(SYNTHESIS))
def test_every_synthesis_step_has_a_sweep_row(tmp_path: Path, name: str) -> None:
    if name == "copy_paste":
        data, steps = write_coco(tmp_path / "coco"), COPY_PASTE
    else:
        data, steps = flat_colours(tmp_path / "data"), FLAT_STEPS[name]
    recipe = write_recipe(tmp_path / "r.yaml", steps)
    plan = preview_json(recipe, data, "-o", tmp_path / "sweep.png", "--sweep")
    (row,) = plan["rows"]
    assert row["step"] == name
    tiles = row["tiles"][1:]
    assert [t["at"] for t in tiles] == ["low", "mid", "high"]
    partners = tiles[0]["partners"]
    assert len(partners) == SYNTHESIS[name].partner_count
    assert all(t["partners"] == partners for t in tiles)  # fixed along the row
    if name == "copy_paste":
        # the same partner pasted at the low, middle and high end of its scale jitter
        heights = [t["params"]["size"][0] for t in tiles]
        assert heights[0] < heights[1] < heights[2]
    else:
        # no range: the draws where the source's own share of the output is low, mid, high
        own = [SYNTHESIS[name].shares(t["params"])[0] for t in tiles]
        assert own[0] < own[1] < own[2]
        # and the tiles show it: the source's colour takes more of each tile along the row
        made = render_preview(load_recipe(recipe), data, sweep=True)
        (drawn,) = made.rows
        mine = COLOURS[int(Path(drawn.source.path).stem[1:])]
        shown = []
        for tile in drawn.tiles[1:]:
            every = sum(int(coloured(tile.image, c, 12).sum()) for c in COLOURS)
            shown.append(int(coloured(tile.image, mine, 12).sum()) / max(every, 1))
        assert shown[0] <= shown[1] <= shown[2] and shown[0] < shown[2], shown


def test_a_sweep_row_takes_the_partners_of_its_step_in_the_first_variant(tmp_path: Path) -> None:
    data = flat_colours(tmp_path / "data")
    recipe = write_recipe(tmp_path / "r.yaml", PIPELINE, variants=1)
    out = expand(recipe, data, tmp_path / "out", "--backend", "sequential")
    plan = preview_json(recipe, data, "-o", tmp_path / "sweep.png", "--sweep")
    stem = plan["rows"][0]["source"]["path"].rsplit(".", 1)[0]
    taken = [p["path"] for p in file_records(out)[f"{stem}__v00.png"]["partners"]]
    by_step = {row["step"]: row["tiles"][1]["partners"] for row in plan["rows"]}
    assert by_step == {"mosaic": taken[:3], "mixup": taken[3:4], "cutmix": taken[4:5]}


def test_a_lone_source_is_its_own_partner_as_in_expand(tmp_path: Path) -> None:
    data = flat_colours(tmp_path / "data", count=1)
    recipe = write_recipe(tmp_path / "r.yaml", "  - mixup: {p: 1.0}\n", variants=1)
    out = expand(recipe, data, tmp_path / "out", "--backend", "sequential")
    plan = preview_json(recipe, data, "-o", tmp_path / "sheet.png", "--variants", 1)
    (tile,) = plan["sources"][0]["tiles"][1:]
    assert tile["partners"] == ["train/s0.png"]
    assert [p["path"] for p in file_records(out)["train/s0__v00.png"]["partners"]] == [
        "train/s0.png"
    ]


def test_a_partner_that_cannot_be_decoded_skips_its_source_as_expand_does(tmp_path: Path) -> None:
    data = flat_colours(tmp_path / "data")
    (data / "train" / "s1.png").write_bytes(b"not a png")
    recipe = write_recipe(tmp_path / "r.yaml", "  - mixup: {p: 1.0}\n", variants=1)
    out = expand(recipe, data, tmp_path / "out", "--backend", "sequential")
    by_partner = {p: r for p, r in skipped(out).items() if "its partner train/s1.png" in r}
    assert by_partner
    args = ("-o", tmp_path / "sheet.png", "--variants", 1, "--sources", 5, "--json")
    result = invoke("preview", recipe, data, *args)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert {s["path"]: s["reason"] for s in plan["skipped"]} == skipped(out)
    assert len(plan["sources"]) == 4 - len(by_partner)
