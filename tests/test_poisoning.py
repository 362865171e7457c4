"""Poisoning signals in ``validate manifest``: which check catches what when a forger rewrites
the manifest and SHA256SUMS consistently (so that fixity alone passes)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from conftest import SAMPLES, Records, expand, invoke, random_image, rewrite
from typer.testing import Result

#: mild steps, which pHash can follow (flips, colour): every variant is judged by --content
RECIPE = """\
version: 1
seed: 4
input: {layout: imagefolder}
output: {format: jpeg}
splits: {names: [train, val], on_leak: warn}
variants: 1
pipeline:
  - hflip: {p: 0.5}
  - color_jitter: {brightness: 0.2, contrast: 0.2, saturation: 0.2}
"""
VARIANT = "train/cat/cat_001__v00.jpg"
ORIGINAL = "train/coffee/coffee_001.jpg"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("poison")
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    return expand(recipe, SAMPLES, root / "out", "--quiet", "--jobs", "1")


def _copy(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "out"))


def _swap(out: Path, path: str, data: bytes) -> None:
    """Put ``data`` in place of ``path`` and rewrite its line, the footer and SHA256SUMS."""
    (out / path).write_bytes(data)

    def edit(records: Records) -> Records:
        for record in records:
            if record["path"] == path:
                record["sha256"] = hashlib.sha256(data).hexdigest()
                record["bytes"] = len(data)
        return records

    rewrite(out, edit)


def _validate(out: Path, *args: str | Path) -> Result:
    return invoke("validate", "manifest", out / "manifest.jsonl", "--json", *args)


def _problems(result: Result) -> dict[str, list[str]]:
    report: dict[str, Any] = json.loads(result.stdout)
    found: dict[str, list[str]] = {}
    for problem in report["problems"]:
        found.setdefault(problem["kind"], []).append(problem["path"])
    return found


def _unrelated_jpeg() -> bytes:
    buffer = io.BytesIO()
    random_image(7, (256, 256)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_an_untouched_output_passes_the_content_check(built: Path) -> None:
    result = _validate(built, "--content")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["content_checked"] == report["files"]  # every image judged, none left out
    assert report["content_not_judged"] == 0


def test_a_swapped_variant_is_caught_by_content_and_recompute_not_fixity(
    built: Path, tmp_path: Path
) -> None:
    out = _copy(built, tmp_path)
    _swap(out, VARIANT, _unrelated_jpeg())
    fixity = _validate(out)
    assert fixity.exit_code == 0, fixity.stdout  # digests, SHA256SUMS and footer all agree
    content = _validate(out, "--content")
    assert content.exit_code == 1
    assert _problems(content) == {"content": [VARIANT]}
    recompute = _validate(out, "--source", SAMPLES, "--recompute", "all")
    assert recompute.exit_code == 1
    assert _problems(recompute) == {"recompute": [VARIANT]}


def test_a_swapped_original_is_caught_by_content_without_the_sources(
    built: Path, tmp_path: Path
) -> None:
    """The recorded source pHashes (splits.on_leak named) let --content judge without --source;
    the forger also rewrote the source sha256, so leakage's original-vs-source check is quiet."""
    out = _copy(built, tmp_path)
    data = _unrelated_jpeg()
    _swap(out, ORIGINAL, data)
    sha = hashlib.sha256(data).hexdigest()

    def edit(records: Records) -> Records:
        for record in records:
            if record["source"]["path"] == ORIGINAL:
                record["source"]["sha256"] = sha
        return records

    rewrite(out, edit)
    assert _validate(out).exit_code == 0
    content = _validate(out, "--content")
    assert _problems(content) == {"content": [ORIGINAL]}


def test_content_needs_recorded_hashes_or_the_sources(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE.replace(", on_leak: warn", ""), encoding="utf-8")
    out = expand(recipe, SAMPLES, tmp_path / "out", "--quiet")
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--content")
    assert result.exit_code == 2
    assert "--content needs --source" in result.output
    assert _validate(out, "--content", "--source", SAMPLES).exit_code == 0
