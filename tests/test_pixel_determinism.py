"""The pixel-level steps added for Albumentations users (colour, filters, blurs, sensor noise,
weather), all in one pipeline on a COCO dataset: byte-identical outputs at --jobs 1 and
--jobs 2, every output re-derived from its manifest line (``validate --recompute all``), the
boxes written as they came in, and a preview --sweep row for each step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, expand_process, invoke
from contract import tree

SAMPLE = ROOT / "samples" / "detection-coco"

#: Each added step, p 0.5 so that fired and unfired steps both reach the manifest.
STEPS = {
    "hue_saturation_value": {},
    "rgb_shift": {},
    "to_sepia": {},
    "fancy_pca": {"alpha": [0.1, 1.0]},
    "clahe": {"tile_grid_size": [4, 4]},
    "unsharp_mask": {},
    "emboss": {},
    "iso_noise": {},
    "multiplicative_noise": {"elementwise": True},
    "median_blur": {"blur_limit": [3, 5]},
    "defocus": {"radius": [2, 4]},
    "zoom_blur": {"max_factor": [1.0, 1.1]},
    "glass_blur": {"max_delta": 2, "iterations": 1},
    "random_fog": {},
    "random_rain": {},
    "random_snow": {},
    "random_shadow": {},
    "random_sun_flare": {"src_radius": [40, 120]},
    "random_gravel": {},
}


def _recipe(tmp_path: Path) -> Path:
    pipeline = [{name: {**config, "p": 0.5}} for name, config in STEPS.items()]
    text = yaml.safe_dump({"version": 1, "seed": 7, "variants": 6, "pipeline": pipeline})
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    return recipe


@pytest.mark.slow
def test_pixel_steps_are_deterministic_recompute_and_keep_boxes(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    trees = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        expand_process(recipe, SAMPLE, out, "--quiet", "--jobs", jobs)
        trees.append(tree(out))
    assert trees[0] == trees[1]
    assert any("__v" in path for path in trees[0])
    result = invoke(
        "validate", "manifest", tmp_path / "out1" / "manifest.jsonl", "--recompute", "all",
        "--source", SAMPLE,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fired = set()
    for line in (tmp_path / "out1" / "manifest.jsonl").read_text().splitlines()[1:]:
        record = json.loads(line)
        fired |= {s["name"] for s in record.get("steps", []) if s.get("fired")}
    assert fired == set(STEPS)
    for split in ("train", "val"):
        name = f"annotations/instances_{split}.json"
        written = json.loads((tmp_path / "out1" / name).read_text())["annotations"]
        sources = json.loads((SAMPLE / name).read_text())["annotations"]
        # Every variant's boxes are its source's: nothing here moves a pixel.
        assert len(written) > len(sources) or split == "val"  # val is not augmented
        assert {tuple(a["bbox"]) for a in written} == {tuple(a["bbox"]) for a in sources}


def test_preview_sweep_has_a_row_for_each_pixel_step(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path)
    out = tmp_path / "sweep.png"
    result = invoke("preview", recipe, SAMPLE, "-o", out, "--sweep", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    assert [row["step"] for row in rows] == list(STEPS)
    for row in rows:
        ats = [tile["at"] for tile in row["tiles"][1:]]
        # to_sepia has nothing to sweep: one tile, as configured.
        assert ats == ([None] if row["step"] == "to_sepia" else ["low", "mid", "high"])
