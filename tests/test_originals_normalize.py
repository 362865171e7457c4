"""``output.originals: normalize``: originals re-encoded through the variants' decode
(orientation applied, mode made L, RGB or RGBA) in their own format, recorded as such and
re-derived by ``validate --recompute``; and one warning per run when originals copied as they
are hold a mode that common loaders mishandle."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import expand, file_records, invoke, random_pixels
from PIL import Image
from test_layouts import DATASETS

NORMALIZE = "output: {originals: normalize}\n"
#: the layouts of image datasets (``table`` holds text rows)
IMAGE_LAYOUTS = sorted(name for name in DATASETS if name != "table")
RAMP = np.tile(np.rint(np.linspace(0, 4095, 64)), (24, 1)).astype(np.uint16)


def _recipe(tmp_path: Path, output: str = NORMALIZE) -> Path:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\nvariants: 1\n{output}pipeline:\n  - hflip: {{p: 1}}\n")
    return recipe


def _awkward(root: Path) -> Path:
    """A CMYK JPEG, 12-bit data in a 16-bit PNG, a palette PNG with transparency, a plain RGB
    JPEG."""
    root.mkdir()
    # Smooth colour (JPEG keeps it within a few levels), one channel per direction.
    y, x = np.mgrid[0:24, 0:64]
    rgb = np.stack([x * 4, y * 10, 255 - x * 4], axis=2).astype(np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(root / "cmyk.jpg", quality=90)
    Image.fromarray(RAMP).save(root / "deep.png")
    Image.fromarray(rgb).quantize(16).save(root / "palette.png", transparency=0)
    Image.fromarray(rgb).save(root / "plain.jpg", quality=90)
    return root


def _loaded(path: Path) -> np.ndarray:
    """What torchvision's ``pil_loader`` gives."""
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def test_normalized_originals_load_as_loaders_expect(tmp_path: Path) -> None:
    source = _awkward(tmp_path / "in")
    with Image.open(source / "cmyk.jpg") as img:
        assert img.mode == "CMYK"
    assert len(np.unique(_loaded(source / "deep.png"))) <= 17  # clipped: nearly one flat white
    out = expand(_recipe(tmp_path), source, tmp_path / "out")
    modes = {}
    for name in ("cmyk.jpg", "deep.png", "palette.png", "plain.jpg"):
        with Image.open(out / name) as img:
            modes[name] = (img.format, img.mode)
        loaded = _loaded(out / name)
        assert loaded.std() > 20, name  # not a flat image
    assert modes == {
        "cmyk.jpg": ("JPEG", "RGB"),
        "deep.png": ("PNG", "L"),
        "palette.png": ("PNG", "RGBA"),
        "plain.jpg": ("JPEG", "RGB"),
    }
    assert len(np.unique(_loaded(out / "deep.png"))) == 64  # every column its own grey
    cmyk_as_rgb = _loaded(source / "cmyk.jpg").astype(int)
    assert np.abs(_loaded(out / "cmyk.jpg").astype(int) - cmyk_as_rgb).mean() < 8
    records = file_records(out)
    for name in ("cmyk.jpg", "deep.png"):
        record = records[name]
        assert record["how"] == "normalize" and record["role"] == "original"
        assert record["sha256"] == hashlib.sha256((out / name).read_bytes()).hexdigest()
        assert record["sha256"] != record["source"]["sha256"]
        assert record["encoder"]["format"] == modes[name][0]
        assert record["image_size"] == [24, 64]
    assert records["deep.png"]["decoded"]["range"] == [0, 4095]


def test_validate_recomputes_normalized_originals(tmp_path: Path) -> None:
    source = _awkward(tmp_path / "in")
    out = expand(_recipe(tmp_path), source, tmp_path / "out")
    manifest = out / "manifest.jsonl"
    result = invoke("validate", "manifest", manifest, "--source", source, "--recompute", "all")
    assert result.exit_code == 0, result.output
    assert "8 outputs re-derived" in result.output  # 4 variants and 4 normalized originals
    # A normalized original re-encoded otherwise (another quality) no longer re-derives.
    lines = manifest.read_text().splitlines()
    edited = []
    for line in lines:
        record = json.loads(line)
        if record.get("path") == "plain.jpg":
            Image.open(source / "plain.jpg").save(out / "plain.jpg", quality=50)
            data = (out / "plain.jpg").read_bytes()
            record["sha256"] = hashlib.sha256(data).hexdigest()
            record["bytes"] = len(data)
            line = json.dumps(record, sort_keys=True, separators=(",", ":"))
        edited.append(line)
    (out / "SHA256SUMS").unlink()
    manifest.write_text("\n".join(edited) + "\n")
    result = invoke("validate", "manifest", manifest, "--source", source, "--recompute", "all")
    assert "plain.jpg: FAILED recompute" in result.output


def test_orientation_is_applied_to_a_normalized_original(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned a quarter clockwise
    Image.fromarray(random_pixels((24, 64, 3))).save(source / "turned.jpg", exif=exif.tobytes())
    out = expand(_recipe(tmp_path), source, tmp_path / "out")
    with Image.open(out / "turned.jpg") as img:
        assert img.size == (24, 64)  # upright: the displayed width and height
        assert img.getexif().get(0x0112) in (None, 1)
    assert file_records(out)["turned.jpg"]["image_size"] == [64, 24]


@pytest.mark.parametrize("layout", IMAGE_LAYOUTS)
def test_every_layout_normalizes_and_validates(tmp_path: Path, layout: str) -> None:
    source = tmp_path / "in"
    source.mkdir()
    DATASETS[layout](source)
    out = expand(_recipe(tmp_path), source, tmp_path / "out")
    originals = [r for r in file_records(out).values() if r["role"] == "original"]
    assert any(r.get("how") == "normalize" for r in originals)
    manifest = out / "manifest.jsonl"
    result = invoke("validate", "manifest", manifest, "--source", source, "--recompute", "all")
    assert result.exit_code == 0, result.output


def test_a_text_recipe_cannot_normalize(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\noutput: {originals: normalize}\npipeline:\n  - char_typo: {}\n")
    result = invoke("validate", "recipe", recipe)
    assert result.exit_code == 2, result.output
    assert "originals cannot be re-encoded" in result.output


def test_copied_originals_that_loaders_mishandle_are_one_warning(tmp_path: Path) -> None:
    source = _awkward(tmp_path / "in")
    copy = invoke("expand", _recipe(tmp_path, ""), source, "-o", tmp_path / "copy", "--json")
    assert copy.exit_code == 0, copy.output
    (warning,) = [w for w in json.loads(copy.stdout)["warnings"] if "loaders" in w]
    assert warning.startswith("3 original(s)")
    for named in ("cmyk.jpg (CMYK)", "deep.png (16-bit)", "palette.png (palette with trans"):
        assert named in warning
    assert "plain.jpg" not in warning and "originals: normalize" in warning
    normalized = invoke("expand", _recipe(tmp_path), source, "-o", tmp_path / "n", "--json")
    assert not [w for w in json.loads(normalized.stdout)["warnings"] if "loaders" in w]


def test_the_warning_names_a_few_and_counts_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for index in range(8):
        Image.fromarray(RAMP + index).save(source / f"d{index}.png")
    result = invoke("expand", _recipe(tmp_path, ""), source, "-o", tmp_path / "out", "--json")
    (warning,) = [w for w in json.loads(result.stdout)["warnings"] if "loaders" in w]
    assert warning.startswith("8 original(s)") and "and 3 more" in warning
    assert "d4.png" in warning and "d5.png" not in warning
