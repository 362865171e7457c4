"""Noise, blur and quality transforms: exact kernels on small arrays, sampling ranges, alpha."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_pixels
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.errors import ParamError
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.noise import (
    NORMAL_QUANTILES,
    Downscale,
    GaussianBlur,
    GaussianNoise,
    JpegCompression,
    MotionBlur,
    SaltPepper,
    add_table_noise,
    line_taps,
)

NAMES = [
    "gaussian_noise",
    "salt_pepper",
    "gaussian_blur",
    "motion_blur",
    "jpeg_compression",
    "downscale",
]
SHAPES = [(1, 1), (2, 3), (3, 2), (17, 29)]


def constant(height: int, width: int, channels: int, level: int = 100) -> np.ndarray:
    return np.full((height, width, channels), level, dtype=np.uint8)


# --- every transform of the family -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_registered_in_family(name):
    assert REGISTRY[name].family == "noise"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize(("height", "width"), SHAPES)
def test_defaults_sample_and_apply_on_any_shape(name, channels, height, width):
    cls = REGISTRY[name]
    image = random_pixels((height, width, channels))
    before = image.copy()
    params = cls().sample(np.random.default_rng(7), (height, width, channels))
    assert json.loads(json.dumps(params)) == params
    out = cls.apply(image, params)
    assert out.dtype == np.uint8
    assert out.shape == image.shape
    assert np.array_equal(image, before), "apply must not edit its input"
    assert np.array_equal(out, cls.apply(image, params)), "apply must be deterministic"


@pytest.mark.parametrize("name", NAMES)
def test_alpha_unchanged(name):
    cls = REGISTRY[name]
    image = random_pixels((12, 16, 4), 3)
    params = cls().sample(np.random.default_rng(1), image.shape)
    out = cls.apply(image, params)
    assert np.array_equal(out[:, :, 3], image[:, :, 3])


# --- gaussian_noise ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("per_channel", [True, False])
def test_gaussian_noise_zero_std_and_mean_is_identity(channels, per_channel):
    image = random_pixels((5, 6, channels))
    params = {"std": 0.0, "mean": 0.0, "per_channel": per_channel, "seed": 123}
    assert np.array_equal(GaussianNoise.apply(image, params), image)


def test_gaussian_noise_mean_shifts_and_clips():
    image = np.array([[[0], [100], [250]]], dtype=np.uint8)
    params = {"std": 0.0, "mean": 10.0, "per_channel": True, "seed": 0}
    assert GaussianNoise.apply(image, params)[0, :, 0].tolist() == [10, 110, 255]
    params["mean"] = -20.0
    assert GaussianNoise.apply(image, params)[0, :, 0].tolist() == [0, 80, 230]


def test_gaussian_noise_replay_same_seed_same_bytes_other_seed_differs():
    image = constant(32, 32, 3, 128)
    params = {"std": 10.0, "mean": 0.0, "per_channel": True, "seed": 42}
    first = GaussianNoise.apply(image, params)
    assert first.tobytes() == GaussianNoise.apply(image.copy(), dict(params)).tobytes()
    other = GaussianNoise.apply(image, {**params, "seed": 43})
    assert not np.array_equal(first, other)


def quantised_normal(std: float, mean: float) -> np.ndarray:
    """The 256 equally likely noise values of ``gaussian_noise``, by its definition."""
    return np.rint(mean + std * NORMAL_QUANTILES)


def test_normal_quantiles_are_a_truncated_unit_normal():
    assert len(NORMAL_QUANTILES) == 256
    assert np.all(np.diff(NORMAL_QUANTILES) > 0)
    assert NORMAL_QUANTILES.mean() == pytest.approx(0.0, abs=1e-12)
    assert NORMAL_QUANTILES.std() == pytest.approx(0.9975, abs=1e-4)
    assert NORMAL_QUANTILES[-1] == pytest.approx(2.886, abs=1e-3)


def test_gaussian_noise_has_the_requested_spread():
    image = constant(200, 200, 1, 128)
    params = {"std": 20.0, "mean": 5.0, "per_channel": True, "seed": 9}
    out = GaussianNoise.apply(image, params).astype(np.float64)
    values = quantised_normal(20.0, 5.0)
    assert out.mean() == pytest.approx(128 + values.mean(), abs=0.3)
    assert out.std() == pytest.approx(values.std(), rel=0.01)
    assert out.std() == pytest.approx(20.0, rel=0.03)


def test_gaussian_noise_takes_only_the_quantised_values_each_about_equally_often():
    image = constant(256, 256, 3, 128)
    params = {"std": 3.0, "mean": 0.0, "per_channel": True, "seed": 2}
    noise = GaussianNoise.apply(image, params).astype(np.int64) - 128
    values, weights = np.unique(quantised_normal(3.0, 0.0), return_counts=True)
    seen, counts = np.unique(noise, return_counts=True)
    assert seen.tolist() == values.tolist()  # truncated at rint(3 * 2.886) = 9
    expected = weights / 256 * noise.size
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 1)


def test_gaussian_noise_is_the_table_of_the_raw_bytes():
    image = random_pixels((7, 5, 3), 4)
    params = {"std": 40.0, "mean": -3.0, "per_channel": True, "seed": 77}
    bits = np.random.PCG64(77).random_raw(-(-image.size // 8)).astype("<u8")
    drawn = bits.view(np.uint8)[: image.size].reshape(image.shape)
    expected = np.clip(image + quantised_normal(40.0, -3.0)[drawn], 0, 255)
    assert np.array_equal(GaussianNoise.apply(image, params), expected)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    shape=st.tuples(st.integers(1, 9), st.integers(1, 9), st.sampled_from([1, 3])),
    shared=st.booleans(),
    std=st.floats(0, 300),
    mean=st.floats(-255, 255),
)
def test_table_noise_equals_the_clipped_wide_sum(seed, shape, shared, std, mean):
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 256, shape, dtype=np.uint8)
    planes = 1 if shared else shape[2]
    drawn = rng.integers(0, 256, (*shape[:2], planes), dtype=np.uint8)
    table = np.rint(mean + std * NORMAL_QUANTILES).astype(np.int64)
    expected = np.clip(colour.astype(np.int64) + table[drawn], 0, 255)
    assert np.array_equal(add_table_noise(colour, drawn, table), expected)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    shape=st.tuples(st.integers(1, 9), st.integers(1, 40), st.sampled_from([1, 3])),
    shared=st.booleans(),
    reach=st.sampled_from([1, 127, 128, 129, 255, 600]),
)
def test_pillow_table_noise_equals_the_clipped_wide_sum_on_either_side_of_a_byte(
    seed, shape, shared, reach
):
    """Pillow's path, whatever is loaded: a table within -128..127 takes one lookup (biased by
    128), a wider one two; both must give the wide sum, the extremes of the table included."""
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 256, shape, dtype=np.uint8)
    planes = 1 if shared else shape[2]
    drawn = rng.integers(0, 256, (*shape[:2], planes), dtype=np.uint8)
    table = rng.integers(-reach, reach, 256)
    table[drawn.flat[0]] = -reach  # the most negative value is met
    table[drawn.flat[-1]] = reach - 1
    expected = np.clip(colour.astype(np.int64) + table[drawn], 0, 255)
    assert np.array_equal(add_table_noise(colour, drawn, table, "pillow"), expected)


def test_gaussian_noise_one_plane_is_the_table_of_one_byte_per_pixel():
    image = random_pixels((6, 5, 3), 8)
    params = {"std": 30.0, "mean": 2.0, "per_channel": False, "seed": 21}
    bits = np.random.PCG64(21).random_raw(-(-30 // 8)).astype("<u8")
    drawn = bits.view(np.uint8)[:30].reshape(6, 5, 1)
    expected = np.clip(image + quantised_normal(30.0, 2.0)[drawn], 0, 255)
    assert np.array_equal(GaussianNoise.apply(image, params), expected)


def test_gaussian_noise_large_std_saturates_both_ways():
    image = constant(64, 64, 3, 128)
    out = GaussianNoise.apply(image, {"std": 255.0, "mean": 0.0, "per_channel": True, "seed": 1})
    assert out.min() == 0
    assert out.max() == 255


def test_gaussian_noise_per_channel_false_adds_one_plane_to_all_channels():
    image = constant(8, 9, 3, 128)
    shared = GaussianNoise.apply(image, {"std": 15.0, "mean": 0.0, "per_channel": False, "seed": 5})
    assert np.array_equal(shared[:, :, 0], shared[:, :, 1])
    assert np.array_equal(shared[:, :, 0], shared[:, :, 2])
    independent = GaussianNoise.apply(
        image, {"std": 15.0, "mean": 0.0, "per_channel": True, "seed": 5}
    )
    assert not np.array_equal(independent[:, :, 0], independent[:, :, 1])


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    std=st.tuples(st.floats(0, 50), st.floats(0, 50)).map(sorted),
    mean=st.tuples(st.floats(-20, 20), st.floats(-20, 20)).map(sorted),
)
def test_gaussian_noise_samples_inside_ranges(seed, std, mean):
    params = GaussianNoise(std=list(std), mean=list(mean)).sample(
        np.random.default_rng(seed), (4, 4, 3)
    )
    assert std[0] <= params["std"] <= std[1]
    assert mean[0] <= params["mean"] <= mean[1]
    assert isinstance(params["seed"], int) and 0 <= params["seed"] < 2**63


def test_gaussian_noise_rejects_negative_std():
    with pytest.raises(ParamError):
        GaussianNoise(std=[-1, 2])


# --- salt_pepper -------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_salt_pepper_amount_zero_is_identity(channels):
    image = random_pixels((10, 10, channels))
    params = {"amount": 0.0, "salt_vs_pepper": 0.5, "seed": 1}
    assert np.array_equal(SaltPepper.apply(image, params), image)


@pytest.mark.parametrize("channels", [1, 3])
def test_salt_pepper_amount_one_leaves_only_black_and_white(channels):
    image = random_pixels((20, 20, channels))
    out = SaltPepper.apply(image, {"amount": 1.0, "salt_vs_pepper": 0.5, "seed": 1})
    assert set(np.unique(out).tolist()) == {0, 255}
    # A hit pixel is hit in every colour channel at once.
    assert (out == out[:, :, :1]).all()


@pytest.mark.parametrize(("ratio", "level"), [(1.0, 255), (0.0, 0)])
def test_salt_pepper_ratio_picks_salt_or_pepper(ratio, level):
    image = random_pixels((6, 7, 4))
    out = SaltPepper.apply(image, {"amount": 1.0, "salt_vs_pepper": ratio, "seed": 2})
    assert (out[:, :, :3] == level).all()
    assert np.array_equal(out[:, :, 3], image[:, :, 3])


def test_salt_pepper_hits_about_the_requested_fraction():
    image = constant(100, 100, 3, 128)
    out = SaltPepper.apply(image, {"amount": 0.2, "salt_vs_pepper": 0.25, "seed": 3})
    assert (out[:, :, 0] != 128).mean() == pytest.approx(0.2, abs=0.02)
    assert (out[:, :, 0] == 255).mean() == pytest.approx(0.05, abs=0.01)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    amount=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
    ratio=st.tuples(st.floats(0, 1), st.floats(0, 1)).map(sorted),
)
def test_salt_pepper_samples_inside_ranges(seed, amount, ratio):
    params = SaltPepper(amount=list(amount), salt_vs_pepper=list(ratio)).sample(
        np.random.default_rng(seed), (4, 4, 3)
    )
    assert amount[0] <= params["amount"] <= amount[1]
    assert ratio[0] <= params["salt_vs_pepper"] <= ratio[1]


# --- gaussian_blur -----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("sigma", [0.3, 1.0, 4.5])
def test_gaussian_blur_of_constant_is_constant(channels, sigma):
    image = constant(9, 11, channels, 77)
    assert np.array_equal(GaussianBlur.apply(image, {"sigma": sigma}), image)


def test_gaussian_blur_sigma_zero_is_identity():
    image = random_pixels((8, 8, 3))
    assert np.array_equal(GaussianBlur.apply(image, {"sigma": 0.0}), image)


def test_gaussian_blur_smooths_and_keeps_the_mean():
    checker = ((np.indices((16, 16)).sum(axis=0) % 2) * 255).astype(np.uint8)[:, :, None]
    out = GaussianBlur.apply(checker, {"sigma": 2.0}).astype(np.float64)
    assert out.std() < 0.1 * checker.std()
    assert out.mean() == pytest.approx(checker.mean(), abs=2)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32), sigma=st.tuples(st.floats(0, 10), st.floats(0, 10)).map(sorted))
def test_gaussian_blur_samples_inside_range(seed, sigma):
    params = GaussianBlur(sigma=list(sigma)).sample(np.random.default_rng(seed), (4, 4, 3))
    assert sigma[0] <= params["sigma"] <= sigma[1]


# --- motion_blur -------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("angle", [0.0, 33.0, 90.0, 200.0])
def test_motion_blur_of_constant_is_constant(channels, angle):
    image = constant(7, 10, channels, 201)
    params = {"k": 7, "angle": angle, "taps": line_taps(7, angle)}
    assert np.array_equal(MotionBlur.apply(image, params), image)


def test_motion_blur_horizontal_spreads_along_the_row():
    image = np.array([[0, 0, 255, 0, 0]], dtype=np.uint8)[:, :, None]
    out = MotionBlur.apply(image, {"k": 3, "angle": 0.0, "taps": line_taps(3, 0.0)})
    assert out[0, :, 0].tolist() == [0, 85, 85, 85, 0]


def test_motion_blur_vertical_spreads_along_the_column():
    image = np.zeros((5, 3, 1), dtype=np.uint8)
    image[2, 1] = 255
    out = MotionBlur.apply(image, {"k": 3, "angle": 90.0, "taps": line_taps(3, 90.0)})
    assert out[:, 1, 0].tolist() == [0, 85, 85, 85, 0]
    assert (out[:, [0, 2]] == 0).all()


def test_motion_blur_replicates_edges():
    image = np.array([[255, 0, 0]], dtype=np.uint8)[:, :, None]
    out = MotionBlur.apply(image, {"k": 3, "angle": 0.0, "taps": line_taps(3, 0.0)})
    assert out[0, :, 0].tolist() == [170, 85, 0]


def test_line_taps_are_centred_and_symmetric():
    taps = line_taps(7, 45.0)
    assert len(taps) == 7
    assert taps[3] == [0, 0]
    assert [[-dy, -dx] for dy, dx in taps] == taps[::-1]
    assert line_taps(3, 0.0) == [[0, -1], [0, 0], [0, 1]]


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    bounds=st.tuples(st.integers(3, 31), st.integers(0, 10)).map(lambda t: [t[0], t[0] + t[1]]),
)
def test_motion_blur_samples_an_odd_k_inside_the_limit(seed, bounds):
    if bounds[0] == bounds[1] and bounds[0] % 2 == 0:
        with pytest.raises(ParamError):
            MotionBlur(blur_limit=bounds)
        return
    params = MotionBlur(blur_limit=bounds).sample(np.random.default_rng(seed), (8, 8, 3))
    assert params["k"] % 2 == 1
    assert bounds[0] <= params["k"] <= bounds[1]
    assert 0.0 <= params["angle"] <= 360.0
    assert params["taps"] == line_taps(params["k"], params["angle"])


def test_motion_blur_draws_every_odd_size():
    transform = MotionBlur(blur_limit=[3, 9])
    rng = np.random.default_rng(0)
    seen = {transform.sample(rng, (8, 8, 3))["k"] for _ in range(200)}
    assert seen == {3, 5, 7, 9}


@pytest.mark.parametrize("bounds", [[4, 4], [8, 8]])
def test_motion_blur_rejects_a_limit_without_odd_size(bounds):
    with pytest.raises(ParamError, match="odd"):
        MotionBlur(blur_limit=bounds)


# --- jpeg_compression --------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_jpeg_keeps_shape_channels_and_alpha(channels):
    image = random_pixels((19, 23, channels))
    out = JpegCompression.apply(image, {"quality": 60})
    assert out.shape == image.shape
    if channels == 4:
        assert np.array_equal(out[:, :, 3], image[:, :, 3])


def test_jpeg_of_flat_grey_stays_grey():
    image = constant(16, 16, 3, 128)
    out = JpegCompression.apply(image, {"quality": 90})
    assert (out[:, :, 0] == out[:, :, 1]).all() and (out[:, :, 1] == out[:, :, 2]).all()
    assert np.abs(out.astype(int) - 128).max() <= 1


def test_jpeg_lower_quality_loses_more():
    image = random_pixels((32, 32, 3))
    error = [
        np.abs(JpegCompression.apply(image, {"quality": q}).astype(int) - image).mean()
        for q in (10, 95)
    ]
    assert error[0] > error[1]


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    quality=st.tuples(st.integers(1, 100), st.integers(1, 100)).map(sorted),
)
def test_jpeg_samples_quality_inside_range(seed, quality):
    params = JpegCompression(quality=list(quality)).sample(np.random.default_rng(seed), (4, 4, 3))
    assert isinstance(params["quality"], int)
    assert quality[0] <= params["quality"] <= quality[1]


def test_jpeg_rejects_quality_out_of_bounds():
    with pytest.raises(ParamError):
        JpegCompression(quality=[0, 50])


# --- downscale ---------------------------------------------------------------------------------


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear", "bicubic", "lanczos"])
@pytest.mark.parametrize(("height", "width"), [(1, 1), (2, 3), (31, 17)])
def test_downscale_keeps_size(interpolation, height, width):
    image = random_pixels((height, width, 3))
    out = Downscale.apply(image, {"scale": 0.25, "interpolation": interpolation})
    assert out.shape == image.shape


def test_downscale_nearest_makes_blocks():
    image = random_pixels((4, 4, 1))
    out = Downscale.apply(image, {"scale": 0.5, "interpolation": "nearest"})
    assert np.array_equal(out, np.repeat(np.repeat(out[::2, ::2], 2, axis=0), 2, axis=1))


def test_downscale_scale_one_is_identity():
    image = random_pixels((7, 9, 3))
    assert np.array_equal(Downscale.apply(image, {"scale": 1.0, "interpolation": "bicubic"}), image)


def test_downscale_of_constant_is_constant():
    image = constant(10, 12, 3, 50)
    out = Downscale.apply(image, {"scale": 0.3, "interpolation": "lanczos"})
    assert np.array_equal(out, image)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    scale=st.tuples(st.floats(0.01, 1), st.floats(0.01, 1)).map(sorted),
)
def test_downscale_samples_inside_range(seed, scale):
    params = Downscale(scale=list(scale), interpolation="nearest").sample(
        np.random.default_rng(seed), (4, 4, 3)
    )
    assert scale[0] <= params["scale"] <= scale[1]
    assert params["interpolation"] == "nearest"


def test_downscale_rejects_zero_scale():
    with pytest.raises(ParamError):
        Downscale(scale=[0, 0.5])
