"""Reflect and wrap borders copy image content, objects included: the rule is that a mask
follows the pixels (a reflected region's mask pixels carry the reflected class ids, as the
image shows), while boxes and polygons cannot label the copies, so ``expand`` warns (a
``warning:`` line and ``--json`` ``warnings``) when such a border may fire on a dataset with
boxes or polygons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import invoke
from PIL import Image

from augtool.media.image.transforms.kernels import opencv_installed

KERNELS = [
    "pillow",
    pytest.param("opencv", marks=pytest.mark.skipif(not opencv_installed(), reason="needs OpenCV")),
]
GREY = 50  # the image's grey level is GREY x class id, so each pixel says its own class


def _segmentation(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "images" / "train").mkdir(parents=True)
    (root / "masks" / "train").mkdir(parents=True)
    mask = np.zeros((40, 48), dtype=np.uint8)
    mask[4:20, 0:10] = 3  # touches the left edge: reflected and wrapped copies appear
    mask[24:36, 30:48] = 2  # touches the right edge
    Image.fromarray(mask * GREY, "L").save(root / "images" / "train" / "a.png")
    Image.fromarray(mask, "L").save(root / "masks" / "train" / "a.png")
    return root


@pytest.mark.parametrize("kernels", KERNELS)
@pytest.mark.parametrize("border", ["reflect", "wrap"])
@pytest.mark.parametrize(
    "step",
    [
        "pad: {{padding: 12, border: {b}}}",
        "rotate: {{limit: [30, 30], interpolation: nearest, border: {b}}}",
    ],
)
def test_mask_pixels_in_copied_regions_carry_the_copied_class(
    tmp_path: Path, kernels: str, border: str, step: str
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"version: 1\nvariants: 1\nkernels: {kernels}\ninput: {{layout: masks}}\n"
        "output: {format: png, originals: skip}\n"
        f"pipeline:\n  - {step.format(b=border)}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = invoke("expand", recipe, _segmentation(tmp_path), "-o", out, "--json")
    assert result.exit_code == 0, result.output
    # A mask has pixel labels: no warning for it.
    assert json.loads(result.stdout)["warnings"] == []
    image = np.asarray(Image.open(out / "images" / "train" / "a__v00.png"))
    mask = np.asarray(Image.open(out / "masks" / "train" / "a__v00.png"))
    assert np.array_equal(mask.astype(int) * GREY, image.astype(int))
    if step.startswith("pad"):
        border_region = np.ones(mask.shape, dtype=bool)
        border_region[12:-12, 12:-12] = False
        assert set(np.unique(mask[border_region])) >= {2, 3}


def _yolo(tmp_path: Path) -> Path:
    root = tmp_path / "yolo"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "data.yaml").write_text("train: images/train\nnames: [thing]\n", encoding="utf-8")
    Image.new("RGB", (32, 24), (40, 40, 40)).save(root / "images" / "train" / "a.png")
    (root / "labels" / "train" / "a.txt").write_text("0 0.2 0.5 0.3 0.4\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("pipeline", "warned"),
    [
        ("  - rotate: {limit: 10, border: reflect}\n", "rotate"),
        ("  - one_of:\n      transforms:\n        - pad: {padding: 4, border: wrap}\n", "pad"),
        ("  - rotate: {limit: 10}\n", None),
        ("  - rotate: {limit: 10, border: reflect, p: 0}\n  - hflip: {}\n", None),
    ],
)
def test_expand_warns_of_copying_borders_on_boxes(
    tmp_path: Path, pipeline: str, warned: str | None
) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\nvariants: 1\ninput: {layout: yolo}\noutput: {originals: skip}\n"
        f"pipeline:\n{pipeline}",
        encoding="utf-8",
    )
    source = _yolo(tmp_path)
    result = invoke("expand", recipe, source, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    warnings = json.loads(result.stdout)["warnings"]
    if warned is None:
        assert warnings == []
        return
    (warning,) = warnings
    assert warned in warning and "no label" in warning
    text = invoke("expand", recipe, source, "-o", tmp_path / "out2")
    assert text.exit_code == 0
    assert f"warning: {warning}" in text.output
