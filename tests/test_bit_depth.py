"""High-bit-depth sources keep their grey levels: a float TIFF in [0, 1] and 12-bit data in a
16-bit PNG are scaled by the range of their data (``codecs.value_range``), recorded in the
manifest's ``decoded.range`` and named in one warning per run; a full-range 16-bit PNG is
scaled by its format's range, as before, with no warning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import file_records, invoke
from PIL import Image

from augtool.media.image.codecs import decode, value_range

RECIPE = (
    "version: 1\nvariants: 1\noutput: {format: png, originals: skip}\n"
    "pipeline:\n  - hflip: {p: 1}\n"
)
RAMP = np.tile(np.linspace(0.0, 1.0, 64), (8, 1))  # 64 columns, black to white


def _float_tiff(path: Path) -> None:
    Image.fromarray(RAMP.astype(np.float32), "F").save(path, format="TIFF")


def _twelve_bit_png(path: Path) -> None:
    Image.fromarray(np.rint(RAMP * 4095).astype(np.uint16)).save(path, format="PNG")


def _full_png(path: Path) -> None:
    Image.fromarray(np.rint(RAMP * 65535).astype(np.uint16)).save(path, format="PNG")


@pytest.mark.parametrize("make", [_float_tiff, _twelve_bit_png])
def test_high_bit_depth_keeps_its_grey_levels(tmp_path: Path, make) -> None:
    path = tmp_path / "a.img"
    make(path)
    decoded = decode(path.read_bytes(), ["PNG", "TIFF"])
    grey = decoded.image[:, :, 0]
    assert grey.min() == 0 and grey.max() == 255
    assert len(np.unique(grey)) == 64  # every column its own level
    assert decoded.range is not None


def test_full_range_sixteen_bit_is_scaled_by_its_format() -> None:
    array = np.array([[0, 257, 65535, 40000]], dtype=np.uint16)
    assert value_range(array, "I;16") == (0.0, 65535.0, False)
    assert value_range(np.array([[0, 4095]], dtype=np.uint16), "I;16") == (0.0, 4095.0, True)
    assert value_range(np.array([[0.0, 0.5]], dtype=np.float32), "F") == (0.0, 1.0, True)
    assert value_range(np.array([[0.0, 200.0]], dtype=np.float32), "F") == (0.0, 255.0, True)
    assert value_range(np.array([[-2.0, 1000.0]], dtype=np.float32), "F") == (-2.0, 1000.0, True)


def test_expand_records_and_warns_once_naming_the_files(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    _float_tiff(source / "f.tif")
    _twelve_bit_png(source / "t.png")
    _full_png(source / "u.png")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("expand", recipe, source, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    (warning,) = json.loads(result.stdout)["warnings"]
    assert "f.tif (0-1)" in warning and "t.png (0-4095)" in warning and "u.png" not in warning
    records = file_records(out)
    ranges = {r["source"]["path"]: r["decoded"].get("range") for r in records.values()}
    assert ranges == {"f.tif": [0, 1], "t.png": [0, 4095], "u.png": None}
    for name in ("f__v00.png", "t__v00.png"):
        grey = np.asarray(Image.open(out / name))
        assert len(np.unique(grey)) == 64
