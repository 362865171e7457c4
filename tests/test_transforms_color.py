"""The colour transforms: exact kernel values on small arrays, sampling inside the configured
ranges, Pillow parity where we promise Pillow semantics, and alpha left untouched."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from conftest import random_pixels
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageOps

from augtool.errors import ParamError
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.color import (
    Autocontrast,
    ChannelShuffle,
    ColorJitter,
    Equalize,
    Gamma,
    Grayscale,
    Invert,
    Posterize,
    RandomBrightnessContrast,
    Sharpen,
    Solarize,
)

COLOR = sorted(name for name, cls in REGISTRY.items() if cls.family == "color")
RAMP = np.arange(256, dtype=np.uint8).reshape(16, 16, 1)


def ramp_rgb() -> np.ndarray:
    return np.repeat(RAMP, 3, axis=2)


def test_family_holds_the_expected_transforms():
    expected = sorted(
        [
            "autocontrast",
            "channel_shuffle",
            "clahe",
            "color_jitter",
            "emboss",
            "equalize",
            "fancy_pca",
            "gamma",
            "grayscale",
            "hue_saturation_value",
            "invert",
            "posterize",
            "random_brightness_contrast",
            "rgb_shift",
            "sharpen",
            "solarize",
            "to_sepia",
            "unsharp_mask",
        ]
    )
    assert expected == COLOR


# --- the contract, for every colour transform ---------------------------------------------


@pytest.mark.parametrize("name", COLOR)
@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 1, 3), (2, 3, 4), (3, 2, 1), (17, 9, 3)])
def test_default_config_samples_json_params_and_applies_purely(name, shape):
    cls = REGISTRY[name]
    transform = cls()
    image = random_pixels(shape, 7)
    before = image.copy()
    params = transform.sample(np.random.default_rng(1), shape)
    assert json.loads(json.dumps(params)) == params
    out = cls.apply(image, params)
    assert np.array_equal(image, before), "apply changed its input"
    assert out.dtype == np.uint8
    assert out.shape == shape
    assert out is not image
    assert np.array_equal(cls.apply(image, params), out), "apply is not deterministic"


@pytest.mark.parametrize("name", COLOR)
def test_alpha_channel_is_unchanged(name):
    cls = REGISTRY[name]
    image = random_pixels((12, 10, 4), 3)
    params = cls().sample(np.random.default_rng(5), image.shape)
    out = cls.apply(image, params)
    assert np.array_equal(out[:, :, 3], image[:, :, 3])


@pytest.mark.parametrize("name", COLOR)
def test_rgba_colour_matches_rgb(name):
    """The colour channels of an RGBA image are transformed exactly as the RGB image would be."""
    cls = REGISTRY[name]
    image = random_pixels((9, 11, 4), 4)
    params = cls().sample(np.random.default_rng(6), image.shape)
    assert np.array_equal(
        cls.apply(image, params)[:, :, :3], cls.apply(image[:, :, :3].copy(), params)
    )


@pytest.mark.parametrize("name", COLOR)
def test_example_is_a_valid_step(name):
    cls = REGISTRY[name]
    (step,) = yaml.safe_load(cls.example)
    assert list(step) == [name]
    cls(**step[name])


# --- exact kernel values ------------------------------------------------------------------


def test_invert_exact():
    image = np.array([[[0, 1, 255, 77]]], dtype=np.uint8)
    assert Invert.apply(image, {}).tolist() == [[[255, 254, 0, 77]]]
    assert Invert.apply(RAMP, {})[:, :, 0].ravel().tolist() == list(range(255, -1, -1))


def test_solarize_inverts_at_and_above_threshold():
    out = Solarize.apply(RAMP, {"threshold": 128.0}).ravel()
    assert out[:128].tolist() == list(range(128))
    assert out[128:].tolist() == [255 - v for v in range(128, 256)]
    assert out[127] == 127 and out[128] == 127
    assert np.array_equal(Solarize.apply(RAMP, {"threshold": 0.0}), 255 - RAMP)


@pytest.mark.parametrize("threshold", [0, 1, 64, 128, 200, 255])
def test_solarize_matches_pillow(threshold):
    image = random_pixels((8, 8, 3))
    expected = np.asarray(ImageOps.solarize(Image.fromarray(image), threshold))
    assert np.array_equal(Solarize.apply(image, {"threshold": float(threshold)}), expected)


def test_posterize_one_bit_maps_to_0_and_128():
    out = Posterize.apply(RAMP, {"bits": 1}).ravel()
    assert set(out.tolist()) == {0, 128}
    assert out[127] == 0 and out[128] == 128
    assert np.array_equal(Posterize.apply(RAMP, {"bits": 8}), RAMP)


@pytest.mark.parametrize("bits", range(1, 9))
def test_posterize_matches_pillow(bits):
    image = random_pixels((8, 8, 3))
    expected = np.asarray(ImageOps.posterize(Image.fromarray(image), bits))
    assert np.array_equal(Posterize.apply(image, {"bits": bits}), expected)


def test_grayscale_gives_equal_channels_with_pillow_luma():
    image = random_pixels((6, 5, 3))
    out = Grayscale.apply(image, {})
    assert np.array_equal(out[:, :, 0], out[:, :, 1])
    assert np.array_equal(out[:, :, 0], out[:, :, 2])
    assert np.array_equal(out[:, :, 0], np.asarray(Image.fromarray(image).convert("L")))
    pure = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]]], dtype=np.uint8)
    assert Grayscale.apply(pure, {})[0, :, 0].tolist() == [76, 150, 29]


def test_grayscale_of_grey_is_identity():
    image = random_pixels((4, 4, 1))
    assert np.array_equal(Grayscale.apply(image, {}), image)


def test_random_brightness_contrast_matches_formula():
    params = {"brightness": 0.1, "contrast": -0.25}
    out = RandomBrightnessContrast.apply(RAMP, params).ravel().astype(int)
    levels = np.arange(256)
    expected = np.clip(np.rint(levels * 0.75 + 25.5), 0, 255).astype(int)
    assert out.tolist() == expected.tolist()
    assert out[0] == 26 and out[255] == 217  # rint(25.5) = 26 (to even), 191.25 + 25.5 = 216.75


def test_random_brightness_contrast_zero_is_identity_and_clips():
    image = random_pixels((5, 5, 3))
    assert np.array_equal(
        RandomBrightnessContrast.apply(image, {"brightness": 0.0, "contrast": 0.0}), image
    )
    bright = RandomBrightnessContrast.apply(RAMP, {"brightness": 1.0, "contrast": 0.0})
    assert set(bright.ravel().tolist()) == {255}


def test_gamma_100_is_identity():
    assert np.array_equal(Gamma.apply(RAMP, {"gamma": 1.0}), RAMP)


def test_gamma_curve():
    out = Gamma.apply(RAMP, {"gamma": 2.0}).ravel()
    expected = np.clip(np.rint(255 * (np.arange(256) / 255) ** 2), 0, 255)
    assert out.tolist() == expected.astype(int).tolist()
    assert out[0] == 0 and out[255] == 255
    brighter = Gamma.apply(RAMP, {"gamma": 0.8}).astype(int)
    assert (brighter >= RAMP).all()


@pytest.mark.parametrize("channels", [1, 3])
def test_equalize_matches_pillow(channels):
    image = (random_pixels((20, 20, channels)) // 4 + 30).astype(np.uint8)
    pil = Image.fromarray(image[:, :, 0] if channels == 1 else image)
    expected = np.asarray(ImageOps.equalize(pil)).reshape(image.shape)
    assert np.array_equal(Equalize.apply(image, {}), expected)


def test_equalize_of_flat_image_is_identity():
    image = np.full((3, 3, 3), 90, dtype=np.uint8)
    assert np.array_equal(Equalize.apply(image, {}), image)


def test_autocontrast_stretches_each_channel():
    image = np.zeros((2, 2, 3), dtype=np.uint8)
    image[:, :, 0] = [[50, 60], [70, 101]]  # scale 255 / 51 = 5, exact
    image[:, :, 1] = [[0, 10], [20, 255]]
    image[:, :, 2] = 40  # a flat channel is left alone
    out = Autocontrast.apply(image, {"cutoff": 0.0})
    assert out[:, :, 0].tolist() == [[0, 50], [100, 255]]
    assert out[:, :, 1].tolist() == [[0, 10], [20, 255]]
    assert (out[:, :, 2] == 40).all()


@pytest.mark.parametrize("cutoff", [0.0, 1.0, 5.5, 20.0])
def test_autocontrast_matches_pillow(cutoff):
    image = (random_pixels((30, 30, 3)) // 2 + 40).astype(np.uint8)
    expected = np.asarray(ImageOps.autocontrast(Image.fromarray(image), cutoff=cutoff))
    assert np.array_equal(Autocontrast.apply(image, {"cutoff": cutoff}), expected)


def _sharpen_reference(image: np.ndarray, alpha: float, lightness: float) -> np.ndarray:
    identity = np.zeros((3, 3))
    identity[1, 1] = 1
    effect = np.array([[-1, -1, -1], [-1, 8 + lightness, -1], [-1, -1, -1]], dtype=float)
    kernel = (1 - alpha) * identity + alpha * effect
    padded = np.pad(image.astype(float), ((1, 1), (1, 1), (0, 0)), mode="edge")
    height, width = image.shape[:2]
    out = np.zeros(image.shape)
    for dy in range(3):
        for dx in range(3):
            out += kernel[dy, dx] * padded[dy : dy + height, dx : dx + width]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 1), (15, 12, 3)])
@pytest.mark.parametrize(("alpha", "lightness"), [(0.2, 0.5), (0.5, 1.0), (1.0, 0.0)])
def test_sharpen_matches_kernel_convolution(shape, alpha, lightness):
    image = random_pixels(shape, 2)
    out = Sharpen.apply(image, {"alpha": alpha, "lightness": lightness})
    expected = _sharpen_reference(image, alpha, lightness)
    # float32 accumulation may land a .5 tie on the other side of rounding.
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_sharpen_alpha_zero_and_flat_image_are_identity():
    image = random_pixels((6, 7, 3))
    assert np.array_equal(Sharpen.apply(image, {"alpha": 0.0, "lightness": 0.7}), image)
    flat = np.full((4, 4, 3), 123, dtype=np.uint8)
    assert np.array_equal(Sharpen.apply(flat, {"alpha": 0.5, "lightness": 1.0}), flat)


def test_sharpen_raises_local_contrast():
    image = np.full((5, 5, 1), 100, dtype=np.uint8)
    image[2, 2] = 150
    out = Sharpen.apply(image, {"alpha": 1.0, "lightness": 1.0})
    # centre: 9 * 150 - 8 * 100 = 550 -> 255; a neighbour: 9 * 100 - (7 * 100 + 150) = 50
    assert out[2, 2, 0] == 255 and out[1, 2, 0] == 50 and out[0, 0, 0] == 100


def test_channel_shuffle_permutes_channels():
    image = random_pixels((3, 4, 3))
    out = ChannelShuffle.apply(image, {"permutation": [2, 0, 1]})
    assert np.array_equal(out, image[:, :, [2, 0, 1]])


def test_channel_shuffle_grey_is_identity():
    image = random_pixels((3, 4, 1))
    params = ChannelShuffle().sample(np.random.default_rng(0), image.shape)
    assert params == {"permutation": [0]}
    assert np.array_equal(ChannelShuffle.apply(image, params), image)


@given(seed=st.integers(0, 2**32 - 1))
def test_channel_shuffle_samples_a_permutation(seed):
    params = ChannelShuffle().sample(np.random.default_rng(seed), (4, 4, 3))
    assert sorted(params["permutation"]) == [0, 1, 2]


# --- color_jitter ---------------------------------------------------------------------------

IDENTITY = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.0}


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_color_jitter_identity_factors_keep_the_image(channels):
    image = random_pixels((7, 6, channels))
    params = {"order": ["hue", "saturation", "contrast", "brightness"], **IDENTITY}
    assert np.array_equal(ColorJitter.apply(image, params), image)


def test_color_jitter_tiny_hue_is_identity():
    image = random_pixels((7, 6, 3))
    params = {"order": ["brightness", "contrast", "saturation", "hue"], **IDENTITY, "hue": 0.001}
    assert np.array_equal(ColorJitter.apply(image, params), image)


def test_color_jitter_brightness_scales():
    image = np.array([[[10, 100, 200]]], dtype=np.uint8)
    params = {"order": ["brightness", "contrast", "saturation", "hue"], **IDENTITY}
    out = ColorJitter.apply(image, {**params, "brightness": 1.5})
    assert out.tolist() == [[[15, 150, 255]]]


def test_color_jitter_contrast_zero_gives_mean_grey():
    image = np.array([[[0], [100]], [[200], [255]]], dtype=np.uint8)
    params = {"order": ["contrast", "brightness", "saturation", "hue"], **IDENTITY}
    out = ColorJitter.apply(image, {**params, "contrast": 0.0})
    assert set(out.ravel().tolist()) == {139}  # rint(555 / 4)


def test_color_jitter_saturation_zero_gives_grey():
    image = random_pixels((5, 5, 3))
    params = {"order": ["saturation", "brightness", "contrast", "hue"], **IDENTITY}
    out = ColorJitter.apply(image, {**params, "saturation": 0.0}).astype(int)
    luma = np.asarray(Image.fromarray(image).convert("L")).astype(int)
    for channel in range(3):
        assert np.abs(out[:, :, channel] - luma).max() <= 1


def test_color_jitter_saturation_and_hue_leave_grey_alone():
    image = random_pixels((5, 5, 1))
    params = {"order": ["saturation", "hue", "brightness", "contrast"], **IDENTITY}
    out = ColorJitter.apply(image, {**params, "saturation": 0.0, "hue": 0.3})
    assert np.array_equal(out, image)


def test_color_jitter_hue_half_turn_moves_red_to_cyan():
    image = np.array([[[255, 0, 0]]], dtype=np.uint8)
    params = {"order": ["hue", "brightness", "contrast", "saturation"], **IDENTITY}
    out = ColorJitter.apply(image, {**params, "hue": 0.5})
    assert out[0, 0, 0] < 10 and out[0, 0, 1] > 245 and out[0, 0, 2] > 245


def test_color_jitter_order_matters():
    image = np.array([[[40, 120, 240]]], dtype=np.uint8)
    factors = {**IDENTITY, "brightness": 2.0, "contrast": 0.5}
    first = ColorJitter.apply(image, {"order": ["brightness", "contrast"], **factors})
    second = ColorJitter.apply(image, {"order": ["contrast", "brightness"], **factors})
    assert not np.array_equal(first, second)


def test_color_jitter_single_numbers_mean_torchvision_ranges():
    config = ColorJitter(brightness=0.3, contrast=1.5, saturation=0, hue=0.1).config
    assert config["brightness"] == [0.7, 1.3]
    assert config["contrast"] == [0.0, 2.5]
    assert config["saturation"] == [1.0, 1.0]
    assert config["hue"] == [-0.1, 0.1]
    with pytest.raises(ParamError):
        ColorJitter(hue=0.6)


@settings(max_examples=50)
@given(seed=st.integers(0, 2**63 - 1), channels=st.sampled_from([1, 3, 4]))
def test_color_jitter_samples_inside_ranges(seed, channels):
    transform = ColorJitter(brightness=0.4, contrast=[0.5, 1.5], saturation=0.9, hue=0.2)
    params = transform.sample(np.random.default_rng(seed), (3, 3, channels))
    assert sorted(params["order"]) == sorted(["brightness", "contrast", "saturation", "hue"])
    assert 0.6 <= params["brightness"] <= 1.4
    assert 0.5 <= params["contrast"] <= 1.5
    assert 0.1 <= params["saturation"] <= 1.9
    assert -0.2 <= params["hue"] <= 0.2


# --- sampling ranges ------------------------------------------------------------------------


@settings(max_examples=50)
@given(seed=st.integers(0, 2**63 - 1))
def test_sampled_params_inside_configured_ranges(seed):
    def rng() -> np.random.Generator:
        return np.random.default_rng(seed)

    shape = (5, 5, 3)
    rbc = RandomBrightnessContrast(brightness_limit=[-0.3, 0.1], contrast_limit=0.5)
    params = rbc.sample(rng(), shape)
    assert -0.3 <= params["brightness"] <= 0.1 and -0.5 <= params["contrast"] <= 0.5

    gamma = Gamma().sample(rng(), shape)["gamma"]
    assert 0.8 <= gamma <= 1.2

    bits = Posterize(bits=[2, 6]).sample(rng(), shape)["bits"]
    assert isinstance(bits, int) and 2 <= bits <= 6

    threshold = Solarize(threshold=[10, 200]).sample(rng(), shape)["threshold"]
    assert 10 <= threshold <= 200

    cutoff = Autocontrast(cutoff=[0, 5]).sample(rng(), shape)["cutoff"]
    assert 0 <= cutoff <= 5

    sharpen = Sharpen().sample(rng(), shape)
    assert 0.2 <= sharpen["alpha"] <= 0.5 and 0.5 <= sharpen["lightness"] <= 1.0


def test_defaults():
    assert RandomBrightnessContrast().config["brightness_limit"] == [-0.2, 0.2]
    assert RandomBrightnessContrast().config["contrast_limit"] == [-0.2, 0.2]
    assert ColorJitter().config["hue"] == [-0.05, 0.05]
    assert Gamma().config["gamma_limit"] == [80.0, 120.0]
    assert Posterize().sample(np.random.default_rng(0), (2, 2, 3)) == {"bits": 4}
    assert Solarize().sample(np.random.default_rng(0), (2, 2, 3)) == {"threshold": 128.0}
    assert Autocontrast().sample(np.random.default_rng(0), (2, 2, 3)) == {"cutoff": 0.0}


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (Posterize, {"bits": 0}),
        (Posterize, {"bits": [2.5, 4]}),
        (Solarize, {"threshold": 300}),
        (Autocontrast, {"cutoff": 50}),
        (Sharpen, {"alpha": [0.5, 1.5]}),
        (Gamma, {"gamma_limit": [0, 100]}),
        (RandomBrightnessContrast, {"brightness_limit": 2}),
    ],
)
def test_bad_config_is_refused(cls, config):
    with pytest.raises(ParamError):
        cls(**config)


# --- lut_apply (Pillow point, row chunks) --------------------------------------------------------


@pytest.mark.parametrize("chunk_bytes", [1, 50, 1 << 20])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_lut_apply_is_exactly_the_table_whatever_the_chunking(monkeypatch, chunk_bytes, channels):
    from augtool.media.image.transforms import imaging

    monkeypatch.setattr(imaging, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(channels)
    image = rng.integers(0, 256, (23, 17, channels), dtype=np.uint8)
    lut = rng.integers(0, 256, 256, dtype=np.uint8)
    out = imaging.lut_apply(image, lut)
    colours = min(channels, 3)
    assert np.array_equal(out[:, :, :colours], lut[image[:, :, :colours]])
    assert np.array_equal(out[:, :, colours:], image[:, :, colours:])
    assert out.flags.writeable and out.flags.c_contiguous


def test_lut_apply_takes_a_strided_view():
    from augtool.media.image.transforms.imaging import lut_apply

    image = random_pixels((9, 12, 3))
    lut = 255 - np.arange(256, dtype=np.uint8)
    view = image[:, ::-2]
    assert np.array_equal(lut_apply(view, lut), lut[view])
