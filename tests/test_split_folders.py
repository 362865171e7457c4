"""Split folders below ``images/`` (and ``labels/``) count as they do at the top: a dataset
exported as ``images/train`` + ``images/val`` keeps val out of the augmented splits, whatever
its layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SIZE, invoke, jpeg_bytes, read_manifest

RECIPE = "version: 1\nseed: 1\nvariants: 1\npipeline:\n  - hflip: {p: 1.0}\n"


def _write(root: Path, paths: list[str]) -> Path:
    for seed, rel in enumerate(paths):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(jpeg_bytes(seed, SIZE))
    return root


@pytest.mark.parametrize(
    ("paths", "layout", "labels"),
    [
        (["images/train/a.jpg", "images/val/b.jpg"], "flat", {None}),
        (["images/train/cat/a.jpg", "images/val/dog/b.jpg"], "imagefolder", {"cat", "dog"}),
        (["images/valid/b.jpg", "images/train/a.jpg"], "flat", {None}),
    ],
)
def test_split_folders_below_images(
    tmp_path: Path, paths: list[str], layout: str, labels: set[str | None]
) -> None:
    """Once taken as an ImageFolder with the class ``images``, val augmented too."""
    source = _write(tmp_path / "in", paths)
    (tmp_path / "r.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--strict", "--quiet")
    assert result.exit_code == 0, result.output
    records = read_manifest(out)
    assert records[0]["layout"] == layout
    splits = {r["path"]: r["split"] for r in records if r["type"] == "file"}
    assert splits[paths[0]] != splits[paths[1]]
    assert {r["split"] for r in records if r.get("role") == "augmented"} == {"train"}
    assert {r["label"] for r in records if r["type"] == "file"} == labels
    check = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert check.exit_code == 0, check.output


def test_images_beside_the_split_folders_below_images_are_skipped(tmp_path: Path) -> None:
    source = _write(tmp_path / "in", ["images/train/a.jpg", "images/val/b.jpg", "images/c.jpg"])
    (tmp_path / "r.yaml").write_text(RECIPE)
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", source, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    skips = {r["path"]: r["reason"] for r in read_manifest(out) if r["type"] == "skipped"}
    assert skips == {"images/c.jpg": "outside the split folders (test, train, val)"}
