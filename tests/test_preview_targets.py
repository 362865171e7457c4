"""Preview draws what expand writes on every tile, --sweep included, names the class of each
box, and gives sizes as recipes do: [height, width], a resized crop's output size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, invoke
from PIL import Image

from augtool.preview import caption, render_preview
from augtool.recipe import load_recipe

YOLO = ROOT / "configs" / "detection-yolo.yaml"
COCO = ROOT / "configs" / "detection-coco.yaml"
DATA = {YOLO: ROOT / "samples" / "detection-yolo", COCO: ROOT / "samples" / "detection-coco"}
BOX_RED = np.array([230, 30, 30])


def _box_pixels(path: Path) -> int:
    sheet = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int(np.all(sheet == BOX_RED, axis=2).sum())


def test_sweep_draws_the_annotations(tmp_path: Path) -> None:
    recipe = load_recipe(YOLO)
    out = tmp_path / "sweep.png"
    source = DATA[YOLO]
    result = invoke("preview", YOLO, source, "-o", out, "--sweep")
    assert result.exit_code == 0, result.output
    assert _box_pixels(out) > 500
    made = render_preview(recipe, source, sources=1, variants=0, sweep=True)
    for row in made.rows:
        assert all(tile.names for tile in row.tiles), row.label  # every tile has its boxes


@pytest.mark.parametrize("config", [YOLO, COCO])
def test_boxes_are_named_by_class(config: Path) -> None:
    recipe = load_recipe(config)
    made = render_preview(recipe, DATA[config], sources=2, variants=2)
    known = set(yaml_names(config))
    labelled = [row for row in made.rows if row.tiles[0].names]
    assert labelled
    for row in labelled:
        for tile in row.tiles:
            assert tile.names, tile.caption
            assert set(tile.names) <= known, tile.names


def yaml_names(config: Path) -> list[str]:
    import json

    import yaml

    if config == YOLO:
        data = yaml.safe_load((ROOT / "samples" / "detection-yolo" / "data.yaml").read_text())
        names = data["names"]
        return list(names.values()) if isinstance(names, dict) else list(names)
    folder = ROOT / "samples" / "detection-coco" / "annotations"
    return [
        c["name"] for f in folder.glob("*.json") for c in json.loads(f.read_text())["categories"]
    ]


def test_sizes_are_captioned_height_first_and_as_output() -> None:
    crop = {"top": 3, "left": 4, "height": 120, "width": 90, "size": [50, 70]}
    assert caption([{"name": "random_resized_crop", "fired": True, "params": crop}]) == (
        "random_resized_crop [50, 70]"
    )
    erased = {"erased": True, "box": [2, 3, 10, 20], "value": 0}
    assert caption([{"name": "random_erasing", "fired": True, "params": erased}]) == (
        "random_erasing [10, 20]"
    )
    recipe = load_recipe(YOLO)
    made = render_preview(recipe, DATA[YOLO], sources=1, variants=0)
    height, width = made.rows[0].info["size"]
    assert made.rows[0].tiles[0].caption == f"original [{height}, {width}]"
