"""Reruns of a labelled dataset whose labels (label files, a table's classes, the splits
``data.yaml`` names) change between runs: the rerun writes what a fresh run writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RUN_STATE, expand, invoke, tree_digest, write_images

from augtool.manifest import STAT_CACHE_NAME

RECIPE = """\
version: 1
seed: 5
input: {layout: yolo}
variants: 2
pipeline:
  - hflip: {p: 0.5}
"""


def test_a_label_given_to_a_background_image_is_written_by_the_rerun(tmp_path: Path) -> None:
    """A background image (no label file) that gets one: its outputs are made again with
    their labels, though the image and its earlier outputs are unchanged."""
    data = write_images(tmp_path / "data", {"images/train/a.jpg": 1, "images/train/b.jpg": 2})
    (data / "labels/train").mkdir(parents=True)
    (data / "labels/train/a.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    (data / "data.yaml").write_text("train: images/train\nnames: [thing]\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = expand(recipe, data, tmp_path / "out")

    (data / "labels/train/b.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    expand(recipe, data, out)
    fresh = expand(recipe, data, tmp_path / "fresh")

    assert "labels/train/b__v00.txt" in tree_digest(fresh)
    assert tree_digest(out, RUN_STATE) == tree_digest(fresh, RUN_STATE)


LIST_RECIPE = """\
version: 1
seed: 5
input: {layout: imagelist}
variants: 2
pipeline:
  - hflip: {p: 0.5}
"""


@pytest.mark.parametrize("cached", [True, False])
def test_a_class_changed_in_the_list_is_written_by_the_rerun(tmp_path: Path, cached: bool) -> None:
    """An ``imagelist`` source whose row now gives another class (in a split that is augmented
    and in one that is copied): its lines carry the new class, though no file changed, whether
    the stat cache vouches for its files or the worker hashes them."""
    data = write_images(tmp_path / "data", {"train/a.jpg": 1, "train/b.jpg": 2, "val/c.jpg": 3})
    table = data / "metadata.csv"
    table.write_text("file_name,label\ntrain/a.jpg,cat\ntrain/b.jpg,dog\nval/c.jpg,cat\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(LIST_RECIPE)
    out = expand(recipe, data, tmp_path / "out")

    table.write_text("file_name,label\ntrain/a.jpg,dog\ntrain/b.jpg,dog\nval/c.jpg,dog\n")
    if not cached:
        (out / STAT_CACHE_NAME).unlink()
    forecast = invoke("expand", recipe, data, "-o", out, "--dry-run", "--json")
    done = invoke("expand", recipe, data, "-o", out, "--json")
    assert done.exit_code == 0, done.output
    fresh = expand(recipe, data, tmp_path / "fresh")

    assert tree_digest(out, RUN_STATE) == tree_digest(fresh, RUN_STATE)
    made = json.loads(done.stdout)["made"]
    assert made == 5  # a's three files, c's copy, the table
    assert json.loads(forecast.stdout)["made"] == made


def test_a_split_renamed_in_data_yaml_is_written_by_the_rerun(tmp_path: Path) -> None:
    """A folder that ``data.yaml`` now names as another split that is not augmented either:
    its copies are the same files, but their lines name the new split."""
    data = write_images(tmp_path / "data", {"images/train/a.jpg": 1, "images/hold/b.jpg": 2})
    for name in ("train/a", "hold/b"):
        (data / f"labels/{name}.txt").parent.mkdir(parents=True, exist_ok=True)
        (data / f"labels/{name}.txt").write_text("0 0.5 0.5 0.4 0.4\n")
    (data / "data.yaml").write_text("train: images/train\nval: images/hold\nnames: [thing]\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = expand(recipe, data, tmp_path / "out")

    (data / "data.yaml").write_text("train: images/train\ntest: images/hold\nnames: [thing]\n")
    expand(recipe, data, out)
    fresh = expand(recipe, data, tmp_path / "fresh")

    assert tree_digest(out, RUN_STATE) == tree_digest(fresh, RUN_STATE)
    validated = invoke("validate", "manifest", out / "manifest.jsonl", "--source", data)
    assert validated.exit_code == 0, validated.output
