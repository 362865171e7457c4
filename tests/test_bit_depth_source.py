"""``output.bit_depth: source``: 16-bit sources (grey PNG ``I;16``, RGB/RGBA PNG, grey and RGB
TIFF) give 16-bit PNG variants whose samples keep their precision through the geometric steps,
re-derived byte for byte by ``validate --recompute`` and the same at any ``--jobs``; the
default stays 8 bits; what cannot hold or keep 16 bits is a recipe error."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import expand, file_records, invoke, sha
from PIL import Image, ImageCms

from augtool.media.image import wide
from augtool.media.image.codecs import decode, upright

SOURCE = "kernels: opencv\noutput: {format: same, originals: skip, bit_depth: source}\n"
#: 12-bit data in a 16-bit file: 512 columns from 0 to 4095, as a 12-bit camera writes it
RAMP = np.tile(np.rint(np.linspace(0, 4095, 512)), (48, 1)).astype(np.uint16)


def _recipe(tmp_path: Path, steps: str, output: str = SOURCE, variants: int = 2) -> Path:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\nvariants: {variants}\n{output}pipeline:\n{steps}")
    return recipe


def _rgb() -> np.ndarray:
    return np.stack([RAMP * 16, (4095 - RAMP) * 16, RAMP * 8 + 3], axis=2).astype(np.uint16)


def _sources(root: Path) -> Path:
    root.mkdir()
    Image.fromarray(RAMP).save(root / "grey.png")
    Image.fromarray(RAMP).save(root / "greyt.tif")
    assert cv2.imwrite(str(root / "rgb.png"), _rgb()[:, :, ::-1])
    assert cv2.imwrite(str(root / "rgbt.tif"), _rgb()[:, :, ::-1])
    return root


def _levels(path: Path) -> int:
    return len(np.unique(cv2.imread(str(path), cv2.IMREAD_UNCHANGED)))


def test_twelve_bit_ramp_keeps_its_levels_through_flip_and_rotate(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(RAMP).save(source / "ramp.png")
    steps = "  - hflip: {p: 1}\n  - rotate: {limit: [7, 7]}\n"
    out = expand(_recipe(tmp_path, steps), source, tmp_path / "out")
    for name in ("ramp__v00.png", "ramp__v01.png"):
        with Image.open(out / name) as img:
            assert img.mode == "I;16"
            grey = np.asarray(img)
        read = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert read.dtype == np.uint16 and read.ndim == 2
        assert np.array_equal(read, grey)
        # The samples stay on the source's 12-bit scale (not rescaled), with their levels:
        # an 8-bit crush leaves at most 256, the old scaling of this ramp 17.
        assert grey.max() <= 4095 and grey.max() > 3000
        assert len(np.unique(grey)) > 1000
    record = file_records(out)["ramp__v00.png"]
    assert record["decoded"]["bit_depth"] == 16


def test_the_default_keeps_eight_bits(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    Image.fromarray(RAMP).save(source / "ramp.png")
    output = "output: {format: same, originals: skip}\n"
    out = expand(_recipe(tmp_path, "  - hflip: {p: 1}\n", output), source, tmp_path / "out")
    with Image.open(out / "ramp__v00.png") as img:
        assert img.mode == "L"
    assert cv2.imread(str(out / "ramp__v00.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint8
    assert "bit_depth" not in file_records(out)["ramp__v00.png"]["decoded"]


def test_sixteen_bit_png_and_tiff_come_out_exactly_flipped(tmp_path: Path) -> None:
    source = _sources(tmp_path / "in")
    out = expand(_recipe(tmp_path, "  - hflip: {p: 1}\n", variants=1), source, tmp_path / "out")
    flipped_grey, flipped_rgb = RAMP[:, ::-1], _rgb()[:, ::-1]
    for name, expected in [
        ("grey__v00.png", flipped_grey),
        ("greyt__v00.png", flipped_grey),
        ("rgb__v00.png", flipped_rgb),
        ("rgbt__v00.png", flipped_rgb),
    ]:
        read = cv2.imread(str(out / name), cv2.IMREAD_UNCHANGED)
        assert read.dtype == np.uint16, name
        if read.ndim == 3:
            read = read[:, :, ::-1]
        assert np.array_equal(read, expected), name
        with Image.open(out / name) as img:
            assert img.format == "PNG"
            assert img.mode == ("I;16" if expected.ndim == 2 else "RGB")


def test_recompute_and_jobs_agree_byte_for_byte(tmp_path: Path) -> None:
    source = _sources(tmp_path / "in")
    steps = (
        "  - hflip: {p: 0.5}\n  - rotate: {limit: 20}\n"
        "  - random_resized_crop: {size: [40, 200], scale: [0.5, 1]}\n"
        "  - pad: {padding: 3, fill: 255}\n  - invert: {p: 0.5}\n"
    )
    recipe = _recipe(tmp_path, steps)
    one = expand(recipe, source, tmp_path / "one", "--jobs", "1")
    two = expand(recipe, source, tmp_path / "two", "--jobs", "2")
    # Every listed output, the manifest and SHA256SUMS (not the run's own state files).
    made = [*file_records(one), "manifest.jsonl", "SHA256SUMS"]
    assert set(file_records(two)) == set(file_records(one))
    assert {name: sha(one / name) for name in made} == {name: sha(two / name) for name in made}
    result = invoke(
        "validate", "manifest", one / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert result.exit_code == 0, result.output
    assert "8 outputs re-derived" in result.output
    for name in ("grey__v00.png", "rgb__v01.png", "rgbt__v00.png"):
        assert _levels(one / name) > 256  # more than 8 bits can hold


def test_colour_keeps_its_icc_profile(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = wide.encode_wide(_rgb(), {"format": "PNG", "compress_level": 6}, profile, None)
    (source / "rgb.png").write_bytes(data)
    out = expand(_recipe(tmp_path, "  - vflip: {p: 1}\n", variants=1), source, tmp_path / "out")
    with Image.open(out / "rgb__v00.png") as img:
        assert img.info.get("icc_profile") == profile
    read = cv2.imread(str(out / "rgb__v00.png"), cv2.IMREAD_UNCHANGED)[:, :, ::-1]
    assert np.array_equal(read, _rgb()[::-1])


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_of_sixteen_bits_is_pillows(orientation: int) -> None:
    """The numpy orientation of OpenCV-read pixels moves them as Pillow's transposes do."""
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    expected = np.asarray(upright(Image.fromarray(pixels), orientation))
    assert np.array_equal(wide.orient(pixels, orientation), expected)


def test_orientation_is_applied_to_a_sixteen_bit_png() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    img = Image.fromarray(RAMP)
    from io import BytesIO

    buffer = BytesIO()
    img.save(buffer, format="PNG", exif=exif.tobytes())
    decoded = decode(buffer.getvalue(), ["PNG"], bit_depth="source")
    assert decoded.wide is not None and decoded.bits == 16
    assert np.array_equal(decoded.image[:, :, 0], np.rot90(RAMP, -1))


@pytest.mark.parametrize(
    ("output", "steps", "words"),
    [
        ("output: {format: jpeg, bit_depth: source}\nkernels: opencv\n", "", "jpeg, which holds 8"),
        ("output: {format: webp, bit_depth: source}\nkernels: opencv\n", "", "webp, which holds 8"),
        ("output: {bit_depth: source}\n", "", "needs kernels: opencv"),
        (SOURCE, "  - color_jitter: {brightness: 0.2}\n", "color_jitter work(s) on 8-bit"),
        (
            SOURCE,
            "  - one_of:\n      transforms:\n        - hflip: {}\n        - gaussian_noise: {}\n",
            "gaussian_noise work(s) on 8-bit",
        ),
        ("output: {bit_depth: 16}\n", "", "expected 8 or source"),
    ],
)
def test_what_cannot_keep_sixteen_bits_is_a_recipe_error(
    tmp_path: Path, output: str, steps: str, words: str
) -> None:
    recipe = _recipe(tmp_path, steps or "  - hflip: {}\n", output)
    result = invoke("validate", "recipe", recipe)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "bit_depth" in result.output


@pytest.mark.parametrize("kernels_name", ["pillow", "opencv"])
def test_warps_resizes_and_reductions_keep_sixteen_bits(kernels_name: str) -> None:
    """With both kernels, the fused run (shrunk by 2: a box reduction first), a resize alone
    and a warp alone work on uint16 samples: a 12-bit ramp keeps its scale and far more levels
    than 8 bits hold."""
    from augtool.media.image.transforms.compose import replay

    image = np.repeat(RAMP[:, :, None], 3, axis=2)
    records = [
        {"name": "rotate", "fired": True,
         "params": {"angle": 5.0, "interpolation": "bilinear", "border": "reflect", "fill": 0}},
        {"name": "resize", "fired": True,
         "params": {"size": [12, 300], "interpolation": "bicubic"}},
    ]  # fmt: skip
    for steps in (records, records[1:], records[:1]):
        out = replay(steps, image, kernels_name)
        assert out.dtype == np.uint16
        assert 3000 < out.max() <= 4095
        assert len(np.unique(out)) > 256


def test_format_tiff_writes_sixteen_bit_tiffs(tmp_path: Path) -> None:
    source = _sources(tmp_path / "in")
    output = "kernels: opencv\noutput: {format: tiff, originals: skip, bit_depth: source}\n"
    out = expand(_recipe(tmp_path, "  - vflip: {p: 1}\n", output, 1), source, tmp_path / "out")
    with Image.open(out / "grey__v00.tif") as img:
        assert (img.format, img.mode) == ("TIFF", "I;16")
        assert np.array_equal(np.asarray(img), RAMP[::-1])
    read = cv2.imread(str(out / "rgbt__v00.tif"), cv2.IMREAD_UNCHANGED)
    assert read.dtype == np.uint16 and np.array_equal(read[:, :, ::-1], _rgb()[::-1])
    manifest = out / "manifest.jsonl"
    result = invoke("validate", "manifest", manifest, "--source", source, "--recompute", "all")
    assert result.exit_code == 0, result.output
