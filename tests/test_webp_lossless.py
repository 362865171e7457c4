"""``output.format: same`` on a lossless WebP source writes lossless WebP (recorded in the
encoder settings); a lossy WebP source, or an explicit ``format: webp``, stays lossy."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, file_records, random_pixels
from PIL import Image

from augtool.media.image.codecs import webp_is_lossless

RECIPE = (
    "version: 1\nvariants: 1\noutput: {{format: {fmt}, originals: skip}}\n"
    "pipeline:\n  - hflip: {{p: 1}}\n"
)


def _webp(lossless: bool, **extra: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(random_pixels((24, 32, 3))).save(
        buffer, format="WEBP", lossless=lossless, quality=80, **extra
    )
    return buffer.getvalue()


@pytest.mark.parametrize("lossless", [True, False])
def test_webp_is_lossless_reads_the_bitstream_chunk(lossless: bool) -> None:
    assert webp_is_lossless(_webp(lossless)) is lossless
    # An extended file (VP8X, an ICC chunk first) is walked to its bitstream chunk.
    icc = b"\0" * 128
    assert webp_is_lossless(_webp(lossless, icc_profile=icc)) is lossless


def _run(tmp_path: Path, lossless: bool, fmt: str) -> tuple[dict, bytes]:
    source = tmp_path / "in"
    source.mkdir()
    (source / "a.webp").write_bytes(_webp(lossless))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE.format(fmt=fmt), encoding="utf-8")
    out = expand(recipe, source, tmp_path / "out")
    (record,) = [r for r in file_records(out).values() if r["role"] == "augmented"]
    return record, (out / record["path"]).read_bytes()


def test_same_format_keeps_a_lossless_webp_lossless(tmp_path: Path) -> None:
    record, data = _run(tmp_path, lossless=True, fmt="same")
    assert record["encoder"]["lossless"] is True
    assert webp_is_lossless(data)
    with Image.open(io.BytesIO(data)) as img:
        mirrored = np.asarray(img.convert("RGB"))
    with Image.open(io.BytesIO(_webp(True))) as img:
        source = np.asarray(img.convert("RGB"))
    assert np.array_equal(mirrored, source[:, ::-1])  # not one pixel lost


@pytest.mark.parametrize(("lossless", "fmt"), [(False, "same"), (True, "webp")])
def test_lossy_source_or_explicit_webp_stays_lossy(
    tmp_path: Path, lossless: bool, fmt: str
) -> None:
    record, data = _run(tmp_path, lossless=lossless, fmt=fmt)
    assert record["encoder"]["lossless"] is False
    assert not webp_is_lossless(data)
