"""RGBA fill: what a warp, a fused run, ``pad`` or a padding crop puts outside a cut-out.

One number fills every channel, alpha included (so the default 0 is transparent), ``[r, g, b]``
is opaque and ``[r, g, b, a]`` is exactly that, with either kernels. Measured on real files made
by ``augtool expand``, as a user of a sprite dataset would see them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from augtool.cli import app
from augtool.errors import RecipeError
from augtool.media.image.transforms.kernels import opencv_installed
from augtool.recipe import load_recipe

KERNELS = [
    "pillow",
    pytest.param("opencv", marks=pytest.mark.skipif(not opencv_installed(), reason="needs OpenCV")),
]


def _sprite(tmp_path: Path) -> Path:
    """A red square on a transparent 64x64 PNG."""
    pixels = np.zeros((64, 64, 4), dtype=np.uint8)
    pixels[16:48, 16:48] = (255, 0, 0, 255)
    root = tmp_path / "in"
    root.mkdir()
    Image.fromarray(pixels, "RGBA").save(root / "sprite.png")
    return root


def _expand(tmp_path: Path, kernels: str, step: str) -> np.ndarray:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"version: 1\nvariants: 1\nkernels: {kernels}\n"
        "output: {format: png, originals: skip}\n"
        f"pipeline:\n{step}",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["expand", str(recipe), str(_sprite(tmp_path)), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    (variant,) = sorted(out.rglob("*__v*.png"))
    with Image.open(variant) as img:
        assert img.mode == "RGBA"
        return np.asarray(img)


ROTATE = "  - rotate: {{limit: [45, 45]{fill}}}\n"
STEPS = {
    "rotate": ROTATE,
    "affine": "  - affine: {{rotate: [30, 30], scale: [0.7, 0.7]{fill}}}\n",
    "perspective": "  - perspective: {{scale: [0.2, 0.2]{fill}}}\n",
    "fused run": "  - hflip: {{p: 1}}\n" + ROTATE + "  - resize: {{size: [48, 40]}}\n",
    "pad": "  - pad: {{padding: 8{fill}}}\n",
    "padding crop": "  - center_crop: {{size: [80, 80]{fill}}}\n",
}


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("step", list(STEPS))
def test_the_default_fill_of_an_rgba_image_is_transparent(
    tmp_path: Path, kernels: str, step: str
) -> None:
    out = _expand(tmp_path, kernels, STEPS[step].format(fill=""))
    corners = out[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.tolist() == [[0, 0, 0, 0]] * 4
    assert (out[..., 3] == 255).any()  # the sprite itself is still there


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("step", list(STEPS))
def test_an_rgba_fill_is_applied_exactly(tmp_path: Path, kernels: str, step: str) -> None:
    out = _expand(tmp_path, kernels, STEPS[step].format(fill=", fill: [0, 0, 255, 128]"))
    corners = out[[0, 0, -1, -1], [0, -1, 0, -1]]
    assert corners.tolist() == [[0, 0, 255, 128]] * 4


@pytest.mark.parametrize("kernels", KERNELS)
def test_an_rgb_fill_is_opaque_and_one_number_fills_alpha_too(tmp_path: Path, kernels: str) -> None:
    out = _expand(tmp_path, kernels, ROTATE.format(fill=", fill: [10, 20, 30]"))
    assert out[0, 0].tolist() == [10, 20, 30, 255]
    (tmp_path / "in").rename(tmp_path / "in-1")
    (tmp_path / "out").rename(tmp_path / "out-1")
    out = _expand(tmp_path, kernels, ROTATE.format(fill=", fill: 255"))
    assert out[0, 0].tolist() == [255, 255, 255, 255]


def test_an_rgba_fill_on_an_rgb_image_keeps_its_colour(tmp_path: Path) -> None:
    from augtool.media.image.transforms import REGISTRY

    image = np.full((16, 16, 3), 100, dtype=np.uint8)
    params = {"angle": 45.0, "interpolation": "bilinear", "border": "constant"}
    out = REGISTRY["rotate"].apply(image, {**params, "fill": [0, 0, 255, 128]})
    assert out[0, 0].tolist() == [0, 0, 255]


def test_a_fill_of_five_values_is_refused_naming_the_forms(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\npipeline:\n  - rotate: {fill: [0, 0, 0, 0, 0]}\n")
    with pytest.raises(RecipeError, match=r"r.yaml:3:20: rotate: parameter 'fill': expected a "
                       r"grey level 0-255, \[r, g, b\] or \[r, g, b, a\] of 0-255"):  # fmt: skip
        load_recipe(recipe)
