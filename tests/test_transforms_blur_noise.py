"""Albumentations' blurs and sensor noises, measured on what each promises: a median removes an
isolated impulse, a defocus spreads a point into a disc, a zoom smears along the radius, glass
moves pixels no farther than its reach, the noises brighten or scale by the recorded amounts."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_pixels
from PIL import Image, ImageFilter

from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.blur import (
    Defocus,
    GlassBlur,
    MedianBlur,
    ZoomBlur,
    disc_widths,
    median,
)
from augtool.media.image.transforms.hls import hls_to_rgb, rgb_to_hls
from augtool.media.image.transforms.sensor_noise import IsoNoise, MultiplicativeNoise
from augtool.preview import sweep_points

NEW = ["defocus", "glass_blur", "iso_noise", "median_blur", "multiplicative_noise", "zoom_blur"]
#: Configs whose sweep has a range to move (glass_blur's defaults are single numbers).
SWEPT = {"glass_blur": {"sigma": [0.0, 2.0]}}


def test_median_blur_removes_an_isolated_impulse() -> None:
    image = np.full((9, 9, 3), 100, dtype=np.uint8)
    image[4, 4] = 255
    image[1, 7] = 0
    assert np.array_equal(MedianBlur.apply(image, {"k": 3}), np.full_like(image, 100))


def test_defocus_spreads_a_point_over_the_disc_of_its_radius() -> None:
    image = np.zeros((21, 21, 1), dtype=np.uint8)
    image[10, 10] = 255
    radius = 4
    out = Defocus.apply(image, {"radius": radius, "alias_blur": 0.0})[:, :, 0]
    ys, xs = np.indices(out.shape)
    disc = (ys - 10) ** 2 + (xs - 10) ** 2 <= radius**2
    taps = sum(2 * w + 1 for w in disc_widths(radius))
    assert taps == disc.sum()
    assert (out[disc] == round(255 / taps)).all() and (out[~disc] == 0).all()


def test_zoom_blur_smears_along_the_radius_only() -> None:
    image = np.zeros((41, 41, 3), dtype=np.uint8)
    image[20, 30] = 255  # ten pixels right of the centre
    out = ZoomBlur.apply(image, {"zooms": [1.0, 1.1, 1.2, 1.3]})[:, :, 0].astype(float)
    ys, xs = np.nonzero(out)
    weights = out[ys, xs]
    assert np.average(xs, weights=weights) > 30.5  # pushed outwards
    assert abs(np.average(ys, weights=weights) - 20) < 0.2  # not up or down
    assert np.array_equal(ZoomBlur.apply(image, {"zooms": []}), image)


def test_glass_blur_moves_no_value_farther_than_its_reach() -> None:
    ys, xs = np.indices((30, 40))
    image = np.stack([xs, ys, np.zeros_like(xs)], axis=2).astype(np.uint8)
    params = {"sigma": 0.0, "max_delta": 2, "iterations": 3, "seed": 5}
    out = GlassBlur.apply(image, params).astype(int)
    assert np.abs(out[:, :, 0] - xs).max() <= 6 and np.abs(out[:, :, 1] - ys).max() <= 6
    assert (out[:, :, :2] != image[:, :, :2]).mean() > 0.5  # most pixels did move


def test_iso_noise_only_raises_lightness_and_turns_hue() -> None:
    image = np.random.default_rng(3).integers(30, 200, size=(40, 40, 3), dtype=np.uint8)
    out = IsoNoise.apply(image, {"color_shift": 0.05, "intensity": 0.5, "seed": 2})
    before = rgb_to_hls(image / 255.0)
    after = rgb_to_hls(out / 255.0)
    assert (after[:, :, 1] >= before[:, :, 1] - 1 / 255).all()
    assert after[:, :, 1].mean() > before[:, :, 1].mean() + 2 / 255
    turned = np.abs((after[:, :, 0] - before[:, :, 0] + 0.5) % 1 - 0.5)
    assert np.median(turned) > 0.005
    still = IsoNoise.apply(image, {"color_shift": 0.0, "intensity": 0.0, "seed": 2})
    assert np.array_equal(still, image)


def test_hls_round_trip_is_exact_after_rounding() -> None:
    image = random_pixels((64, 64, 3), 1)
    back = np.rint(hls_to_rgb(rgb_to_hls(image / 255.0)) * 255)
    assert np.array_equal(back.astype(np.uint8), image)


def test_multiplicative_noise_scales_channel_means_by_the_recorded_factors() -> None:
    image = np.random.default_rng(4).integers(50, 150, size=(30, 30, 4), dtype=np.uint8)
    transform = MultiplicativeNoise(multiplier=[0.5, 1.5], per_channel=True)
    params = transform.sample(np.random.default_rng(8), image.shape)
    assert len(params["factors"]) == 3
    out = MultiplicativeNoise.apply(image, params)
    ratio = out[:, :, :3].astype(float).mean(axis=(0, 1)) / image[:, :, :3].mean(axis=(0, 1))
    assert np.allclose(ratio, params["factors"], atol=0.01)
    assert np.array_equal(out[:, :, 3], image[:, :, 3])
    each = MultiplicativeNoise(multiplier=[0.5, 1.5], elementwise=True)
    varied = MultiplicativeNoise.apply(image, each.sample(np.random.default_rng(8), image.shape))
    factors = varied[:, :, :3] / image[:, :, :3].astype(float)
    assert 0.45 < factors.min() < 0.6 and 1.4 < factors.max() < 1.55


@pytest.mark.parametrize("name", NEW)
def test_alpha_and_grey_are_handled(name: str) -> None:
    cls = REGISTRY[name]
    rgba = random_pixels((12, 10, 4), 3)
    params = cls().sample(np.random.default_rng(5), rgba.shape)
    out = cls.apply(rgba, params)
    assert np.array_equal(out[:, :, 3], rgba[:, :, 3])
    assert np.array_equal(out[:, :, :3], cls.apply(rgba[:, :, :3].copy(), params))
    grey = random_pixels((12, 10, 1), 3)
    assert cls.apply(grey, cls().sample(np.random.default_rng(5), grey.shape)).shape == grey.shape


@pytest.mark.parametrize("name", NEW)
def test_sweep_low_and_high_differ(name: str) -> None:
    """Each transform gets a preview --sweep row whose low and high ends render differently."""
    points = dict(sweep_points(REGISTRY[name](**SWEPT.get(name, {}))))
    assert list(points) == ["low", "mid", "high"]
    image = random_pixels((32, 32, 3), 9)
    low, high = (
        points[at].apply(image, points[at].sample(np.random.default_rng(0), image.shape))
        for at in ("low", "high")
    )
    assert not np.array_equal(low, high)


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("channels", [1, 3])
def test_median_blur_is_pillow_s_median_filter_and_opencv_s(k: int, channels: int) -> None:
    image = random_pixels((23, 31, channels), k)
    ours = median(image, k, "pillow")
    pil = Image.fromarray(image[:, :, 0] if channels == 1 else image)
    expected = np.asarray(pil.filter(ImageFilter.MedianFilter(k))).reshape(image.shape)
    assert np.array_equal(ours, expected)
    pytest.importorskip("cv2")
    assert np.array_equal(median(image, k, "opencv"), ours)
