"""color_jitter and sharpen work in row tiles: the same bytes as whole-image float arithmetic,
in a fraction of the memory (benchmarks/memory.py measures whole runs at 8000x6000)."""

from __future__ import annotations

import itertools
import tracemalloc

import numpy as np
import pytest

from augtool.media.image.transforms import REGISTRY, color
from augtool.media.image.transforms.color import _grey, _hue_shift


def _whole_image_color_jitter(image: np.ndarray, params: dict) -> np.ndarray:
    """color_jitter as one float32 image, every step over the whole of it (the reference)."""
    colour = image[:, :, :3] if image.shape[2] == 4 else image
    is_rgb = colour.shape[2] == 3
    out = colour.astype(np.float32)
    for jitter in params["order"]:
        factor = params[jitter]
        if jitter == "hue":
            if is_rgb and factor != 0:
                out = _hue_shift(out, factor)
            continue
        if factor == 1 or (jitter == "saturation" and not is_rgb):
            continue
        weight = np.float32(factor)
        if jitter == "brightness":
            out *= weight
        elif jitter == "contrast":
            mean = np.float32(_grey(out).mean(dtype=np.float64))
            out *= weight
            out += (1 - weight) * mean
        else:
            grey = _grey(out) * (1 - weight)
            out *= weight
            out += grey
        np.clip(out, 0, 255, out=out)
    result = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return np.concatenate([result, image[:, :, 3:]], axis=2) if image.shape[2] == 4 else result


def _whole_image_sharpen(image: np.ndarray, params: dict) -> np.ndarray:
    colour = image[:, :, :3] if image.shape[2] == 4 else image
    alpha = np.float32(params["alpha"])
    centre = (1 - alpha) + alpha * np.float32(9.0 + params["lightness"])
    padded = np.pad(colour, ((1, 1), (1, 1), (0, 0)), mode="edge").astype(np.uint16)
    rows = padded[:-2] + padded[1:-1]
    rows += padded[2:]
    box = rows[:, :-2] + rows[:, 1:-1]
    box += rows[:, 2:]
    sharp = colour.astype(np.float32)
    sharp *= centre
    sharp -= alpha * box.astype(np.float32)
    result = np.clip(np.rint(sharp), 0, 255).astype(np.uint8)
    return np.concatenate([result, image[:, :, 3:]], axis=2) if image.shape[2] == 4 else result


REFERENCES = {"color_jitter": _whole_image_color_jitter, "sharpen": _whole_image_sharpen}
WIDE = {"brightness": 0.6, "contrast": 0.6, "saturation": 0.6, "hue": 0.3}


def _photo(height: int, width: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, width)[None, :, None] * np.linspace(0.2, 1, height)[:, None, None]
    noisy = ramp + rng.normal(0, 40, (height, width, channels))
    return np.clip(noisy, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 9, 1), (37, 53, 3), (61, 40, 4), (130, 7, 3)])
@pytest.mark.parametrize("tile_pixels", [1, 64, 1000])
def test_tiles_give_the_whole_image_bytes(
    monkeypatch: pytest.MonkeyPatch, name: str, shape: tuple[int, int, int], tile_pixels: int
) -> None:
    monkeypatch.setattr(color, "TILE_PIXELS", tile_pixels)
    config = WIDE if name == "color_jitter" else {}
    transform = REGISTRY[name](**config)
    for seed in range(12):
        image = _photo(*shape, seed)
        params = transform.sample(np.random.default_rng(seed), image.shape)
        out = transform.apply(image, params)
        assert np.array_equal(out, REFERENCES[name](image, params)), (seed, params)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_peak_numpy_memory_is_about_one_more_image(name: str) -> None:
    """At 1500x2000 a whole-image float32 copy is 4x the image; the kernels made several."""
    image = _photo(1500, 2000, 3, 0)
    config = {**WIDE, "hue": 0.0} if name == "color_jitter" else {}
    transform = REGISTRY[name](**config)
    params = transform.sample(np.random.default_rng(1), image.shape)
    if name == "color_jitter":
        params["order"] = ["brightness", "saturation", "contrast", "hue"]  # contrast after two
    tracemalloc.start()
    try:
        transform.apply(image, params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The output (1x) or contrast's float32 grey (4/3x, freed before the output is made), plus
    # tile temporaries; never a float copy of the image (4x each).
    assert peak < 2.0 * image.nbytes, peak / image.nbytes


@pytest.mark.parametrize("hue", [0.0, 0.001, 0.003, -0.2])
def test_every_order_and_a_hue_too_small_to_shift_give_the_whole_image_bytes(
    monkeypatch: pytest.MonkeyPatch, hue: float
) -> None:
    """A hue below half a level changes nothing (not even rounding) wherever it comes."""
    monkeypatch.setattr(color, "TILE_PIXELS", 200)
    image = _photo(23, 31, 3, 7)
    transform = REGISTRY["color_jitter"]()
    for order in itertools.permutations(["brightness", "contrast", "saturation", "hue"]):
        params = {"order": list(order), "brightness": 0.83, "contrast": 0.9, "saturation": 1.3}
        params["hue"] = hue
        out = transform.apply(image, params)
        assert np.array_equal(out, _whole_image_color_jitter(image, params)), order
