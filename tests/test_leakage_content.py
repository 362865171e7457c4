"""Leakage by content: a near-copy of a val image in train is found by expand (before anything
is written) and by ``validate manifest``; the bundled photos and distinct images do not pair."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, file_records, invoke, skipped
from PIL import Image, ImageDraw, ImageOps

from augtool.neardup import DEFAULT_BITS, Hashed, cross_split_pairs, file_phash

VAL_IMAGE = "val/cat/cat_010.jpg"
PLANTED = "train/cat/planted_copy.jpg"


def near_copy(path: Path) -> bytes:
    """``path`` cropped by 5 % of its area (centred), resized to 60 % and saved as JPEG q=70."""
    with Image.open(path) as picture:
        upright = ImageOps.exif_transpose(picture).convert("RGB")
    width, height = upright.size
    side = 1 - 0.95**0.5  # the part of each side's length the crop takes off
    dx, dy = round(width * side), round(height * side)
    cropped = upright.crop((dx // 2, dy // 2, width - dx + dx // 2, height - dy + dy // 2))
    smaller = cropped.resize((int(width * 0.6), int(height * 0.6)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    smaller.save(out, "JPEG", quality=70)
    return out.getvalue()


def planted(tmp_path: Path) -> Path:
    source = tmp_path / "photos"
    shutil.copytree(SAMPLES, source)
    (source / PLANTED).write_bytes(near_copy(SAMPLES / VAL_IMAGE))
    return source


def recipe(tmp_path: Path, on_leak: str | None) -> Path:
    splits = {"augment": ["train"], **({"on_leak": on_leak} if on_leak else {})}
    text = {"version": 1, "variants": 1, "splits": splits, "pipeline": [{"hflip": {"p": 1}}]}
    path = tmp_path / f"recipe-{on_leak}.yaml"
    path.write_text(json.dumps(text), encoding="utf-8")
    return path


def test_the_bundled_photos_make_no_pair() -> None:
    items = [
        Hashed(str(p.relative_to(SAMPLES)), p.relative_to(SAMPLES).parts[0], file_phash(p) or 0)
        for p in sorted(SAMPLES.rglob("*.jpg"))
    ]
    assert len(items) > 30
    assert cross_split_pairs(items) == []


def test_a_near_copy_of_a_val_image_is_within_the_threshold(tmp_path: Path) -> None:
    source = planted(tmp_path)
    first, second = file_phash(source / VAL_IMAGE), file_phash(source / PLANTED)
    assert first is not None and second is not None
    assert (first ^ second).bit_count() <= DEFAULT_BITS


def test_expand_warns_by_default_and_names_the_pair(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, None), planted(tmp_path), "-o", out)
    assert result.exit_code == 0, result.output
    assert "near-duplicate" in result.output
    assert PLANTED in result.output and VAL_IMAGE in result.output
    # the recipe does not name on_leak: the manifest records no hash (its bytes as before)
    assert not any("source_phash" in r for r in file_records(out).values())


def test_on_leak_fail_exits_1_before_writing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, "fail"), planted(tmp_path), "-o", out)
    assert result.exit_code == 1, result.output
    assert PLANTED in result.output and VAL_IMAGE in result.output
    assert not out.exists() or not any(out.iterdir())


def test_on_leak_drop_from_train_leaves_the_train_copy_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, "drop_from_train"), planted(tmp_path), "-o", out)
    assert result.exit_code == 0, result.output
    records = file_records(out)
    assert not any(r["source"]["path"] == PLANTED for r in records.values())
    assert VAL_IMAGE in skipped(out).get(PLANTED, "")
    assert VAL_IMAGE in records


def test_on_leak_ignore_skips_the_check_in_expand_and_validate(tmp_path: Path) -> None:
    # ignore is the way out of the extra decode per source, for datasets known to be clean
    out, source = tmp_path / "out", planted(tmp_path)
    result = invoke("expand", recipe(tmp_path, "ignore"), source, "-o", out)
    assert result.exit_code == 0, result.output
    assert "near-duplicate" not in result.output
    assert not any("source_phash" in r for r in file_records(out).values())
    checked = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert checked.exit_code == 0, checked.output
    assert "near-duplicate" not in checked.output


def test_validate_finds_the_pair_from_the_recorded_hashes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, "warn"), planted(tmp_path), "-o", out)
    assert result.exit_code == 0, result.output
    images = [r for r in file_records(out).values() if r.get("kind") is None]
    assert images and all(len(r["source_phash"]) == 16 for r in images)
    # no --source: only the recorded hashes can find it
    checked = invoke("validate", "manifest", out / "manifest.jsonl", "--json")
    assert checked.exit_code == 1, checked.output
    assert PLANTED in checked.output and "near-duplicate" in checked.output


def test_validate_hashes_the_sources_of_a_manifest_without_hashes(tmp_path: Path) -> None:
    out, source = tmp_path / "out", planted(tmp_path)
    assert invoke("expand", recipe(tmp_path, None), source, "-o", out).exit_code == 0
    without = invoke("validate", "manifest", out / "manifest.jsonl")
    assert "near-duplicate" not in without.output
    checked = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert checked.exit_code == 1, checked.output
    assert PLANTED in checked.output and "near-duplicate" in checked.output


def generated(seed: int, size: int = 96) -> Image.Image:
    """A distinct image: a random texture under random shapes."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, (rng.integers(2, 9), rng.integers(2, 9), 3), dtype=np.uint8)
    picture = Image.fromarray(cells).resize((size, size), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(picture)
    for _ in range(int(rng.integers(1, 6))):
        left, right = sorted(int(v) for v in rng.integers(0, size, 2))
        top, bottom = sorted(int(v) for v in rng.integers(0, size, 2))
        box = (left, top, right, bottom)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    return picture


@pytest.mark.slow
def test_distinct_generated_images_rarely_pair(tmp_path: Path) -> None:
    """The false-positive rate on 1,000 distinct images (docs/governance.md gives the figure)."""
    items = []
    for seed in range(1000):
        path = tmp_path / f"{seed}.png"
        generated(seed).save(path)
        items.append(Hashed(path.name, "train" if seed % 2 else "val", file_phash(path) or 0))
    pairs = cross_split_pairs(items)
    cross = 500 * 500
    assert len(pairs) / cross < 0.001, [p.describe() for p in pairs[:5]]
