"""The steps added for Albumentations users (geometric, warps and dropouts), all in one pipeline,
on a COCO and a masks dataset: byte-identical outputs at --jobs 1 and --jobs 2, and every
output re-derived from its manifest line (``validate --recompute all``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ROOT, expand_process, invoke
from contract import tree

#: Each added step with a config that keeps the sample images small; p 0.5 so that fired and
#: unfired steps both reach the manifest; 12 variants so --jobs 2 runs a pool.
STEPS = {
    "transpose": {},
    "d4": {},
    "shift_scale_rotate": {"rotate_limit": 30},
    "random_scale": {"scale_limit": [-0.5, 0.2]},
    "longest_max_size": {"max_size": [160, 200]},
    "smallest_max_size": {"max_size": 150},
    "pad_if_needed": {"min_height": None, "pad_height_divisor": 32, "min_width": 180},
    "bbox_safe_random_crop": {"erosion_rate": 0.1},
    "random_sized_bbox_safe_crop": {"size": [120, 140]},
    "crop_non_empty_mask": {"size": [100, 120]},
    "grid_dropout": {"unit_size_range": [20, 40], "ratio": 0.3},
    "pixel_dropout": {"dropout_prob": 0.05, "drop_value": "random"},
    "mask_dropout": {"max_objects": 2, "fill": [255, 0, 255]},
    "elastic": {"alpha": 100, "sigma": 10},
    "grid_distortion": {"distort_limit": 0.3},
    "optical_distortion": {"distort_limit": 0.3},
    "piecewise_affine": {"scale": [0.01, 0.03]},
}


def _recipe(tmp_path: Path) -> Path:
    pipeline = [{name: {**config, "p": 0.5}} for name, config in STEPS.items()]
    text = yaml.safe_dump({"version": 1, "seed": 5, "variants": 12, "pipeline": pipeline})
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    return recipe


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["detection-coco", "segmentation"])
def test_added_steps_are_deterministic_and_recompute(tmp_path: Path, sample: str) -> None:
    recipe = _recipe(tmp_path)
    trees = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}"
        expand_process(recipe, ROOT / "samples" / sample, out, "--quiet", "--jobs", jobs)
        trees.append(tree(out))
    assert trees[0] == trees[1]
    assert any("__v" in path for path in trees[0])
    result = invoke(
        "validate", "manifest", tmp_path / "out1" / "manifest.jsonl", "--recompute", "all",
        "--source", ROOT / "samples" / sample,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
