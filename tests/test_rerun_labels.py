"""Reruns of a labelled dataset whose label files change between runs: the rerun writes what a
fresh run writes."""

from __future__ import annotations

from pathlib import Path

from conftest import RUN_STATE, expand, tree_digest, write_images

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
