"""The Albumentations colour transforms and filters: each measured on what it promises to do
to the pixels (a sepia matrix applied, channel means shifted by the recorded amounts, an
impulse sharpened), grey and RGBA handled, and a sweep whose low and high ends differ."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_pixels

from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.color_mix import (
    SEPIA,
    FancyPca,
    HueSaturationValue,
    RgbShift,
    ToSepia,
)
from augtool.media.image.transforms.filters import (
    Clahe,
    Emboss,
    UnsharpMask,
    clahe_plane,
    emboss_kernel,
)
from augtool.preview import sweep_points

NEW = ["clahe", "emboss", "fancy_pca", "hue_saturation_value", "rgb_shift", "unsharp_mask"]
#: Configs whose sweep has a range to move (fancy_pca's default alpha is one number).
SWEPT = {"fancy_pca": {"alpha": [0.0, 5.0]}, "clahe": {"tile_grid_size": [2, 2]}}


def hsv(h: float = 0.0, s: float = 0.0, v: float = 0.0) -> dict[str, float]:
    return {"hue_shift": h, "sat_shift": s, "val_shift": v}


def test_hue_shift_of_a_third_of_a_turn_makes_red_green_and_green_blue() -> None:
    image = np.array([[[255, 0, 0], [0, 255, 0]]], dtype=np.uint8)
    out = HueSaturationValue.apply(image, hsv(h=60.0))  # 60 of OpenCV's 180 = 120 degrees
    assert out.tolist() == [[[0, 255, 0], [0, 0, 255]]]


def test_saturation_down_to_nothing_leaves_grey_and_value_shifts_the_maximum() -> None:
    image = random_pixels((6, 7, 3), 2)
    grey = HueSaturationValue.apply(image, hsv(s=-255.0))
    assert np.array_equal(grey[:, :, 0], grey[:, :, 1]) and np.array_equal(
        grey[:, :, 1], grey[:, :, 2]
    )
    assert np.array_equal(grey[:, :, 0], image.max(axis=2))  # HSV's value is the maximum
    darker = HueSaturationValue.apply(image, hsv(v=-40.0))
    assert np.array_equal(darker.max(axis=2), np.clip(image.max(axis=2).astype(int) - 40, 0, 255))


def test_hsv_shifts_of_nothing_keep_the_image_and_grey_gets_the_value_shift() -> None:
    image = random_pixels((5, 5, 4), 3)
    assert np.array_equal(HueSaturationValue.apply(image, hsv()), image)
    grey = random_pixels((5, 5, 1), 4)
    out = HueSaturationValue.apply(grey, hsv(h=50.0, s=90.0, v=12.0))
    assert np.array_equal(out, np.clip(grey.astype(int) + 12, 0, 255))


def test_rgb_shift_moves_each_channel_mean_by_its_recorded_amount() -> None:
    image = np.random.default_rng(0).integers(60, 190, size=(30, 40, 4), dtype=np.uint8)
    params = RgbShift(r_shift_limit=30, g_shift_limit=30, b_shift_limit=30).sample(
        np.random.default_rng(5), image.shape
    )
    out = RgbShift.apply(image, params)
    moved = out[:, :, :3].astype(float).mean(axis=(0, 1)) - image[:, :, :3].mean(axis=(0, 1))
    assert np.allclose(moved, params["shift"], atol=0.51)
    assert len(set(params["shift"])) == 3  # three independent draws
    assert np.array_equal(out[:, :, 3], image[:, :, 3])


def test_to_sepia_applies_the_sepia_matrix() -> None:
    image = random_pixels((8, 9, 3), 6)
    expected = np.clip(np.rint(image.astype(float) @ SEPIA.T), 0, 255)
    out = ToSepia.apply(image, {}).astype(int)
    assert np.abs(out - expected).max() <= 1  # float32 products, rounded
    assert np.array_equal(ToSepia.apply(image[:, :, :1], {}), image[:, :, :1])


def test_fancy_pca_shifts_along_the_principal_axis_by_weight_times_eigenvalue() -> None:
    axis = np.array([0.8, 0.5, 0.33])
    axis /= np.linalg.norm(axis)
    t = np.linspace(-60, 60, 400)
    image = np.rint(128 + t[:, None] * axis).astype(np.uint8).reshape(20, 20, 3)
    weights = [0.5, 0.0, 0.0]
    out = FancyPca.apply(image, {"weights": weights})
    shift = (out.astype(float) - image).mean(axis=(0, 1))
    pixels = image.reshape(-1, 3) / 255.0
    largest = np.linalg.eigvalsh(np.cov(pixels, rowvar=False)).max()
    assert np.allclose(shift, 255 * 0.5 * largest * axis, atol=0.6)
    assert np.array_equal(FancyPca.apply(image, {"weights": [0.0, 0.0, 0.0]}), image)


def test_clahe_with_one_tile_and_no_clipping_is_histogram_equalisation() -> None:
    plane = np.random.default_rng(1).integers(100, 121, size=(32, 32), dtype=np.uint8)
    out = clahe_plane(plane, 1000.0, [1, 1])
    cdf = np.cumsum(np.bincount(plane.ravel(), minlength=256))
    assert np.array_equal(out, np.rint(cdf[plane] * 255 / plane.size).astype(np.uint8))


def test_clahe_raises_local_contrast_of_a_flat_region_and_keeps_the_hue() -> None:
    rng = np.random.default_rng(2)
    low = rng.integers(90, 110, size=(64, 64), dtype=np.uint8)
    out = clahe_plane(low, 4.0, [4, 4])
    assert out.std() > 3 * low.std()
    red = np.zeros((64, 64, 3), dtype=np.uint8)
    red[:, :, 0] = low + 60
    coloured = Clahe.apply(red, {"clip_limit": 4.0, "tile_grid_size": [4, 4]}).astype(int)
    assert (coloured[:, :, 0] >= coloured[:, :, 1:].max(axis=2)).all()
    assert coloured[:, :, 0].std() > 2 * red[:, :, 0].std()


def test_unsharp_mask_overshoots_an_edge_and_respects_its_threshold() -> None:
    image = np.full((9, 16, 3), 80, dtype=np.uint8)
    image[:, 8:] = 160
    sharp = UnsharpMask.apply(image, {"sigma": 1.0, "alpha": 1.0, "threshold": 0})
    assert sharp[4, 7, 0] < 80 and sharp[4, 8, 0] > 160  # the dark side darker, light lighter
    assert np.array_equal(sharp[:, :4], image[:, :4])  # flat areas stay
    high = UnsharpMask.apply(image, {"sigma": 1.0, "alpha": 1.0, "threshold": 200})
    assert np.array_equal(high, image)


def test_emboss_matches_its_kernel_and_keeps_flat_areas() -> None:
    image = random_pixels((7, 6, 1), 8).astype(np.uint8)
    kernel = emboss_kernel(0.5, 0.4)
    assert kernel.sum() == pytest.approx(1.0)
    padded = np.pad(image[:, :, 0].astype(float), 1, mode="reflect")
    expected = sum(
        kernel[dy + 1, dx + 1] * padded[1 + dy : 8 + dy, 1 + dx : 7 + dx]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )
    out = Emboss.apply(image, {"alpha": 0.5, "strength": 0.4})[:, :, 0].astype(int)
    assert np.abs(out - np.clip(np.rint(expected), 0, 255)).max() <= 1
    flat = np.full((5, 5, 3), 120, dtype=np.uint8)
    assert np.array_equal(Emboss.apply(flat, {"alpha": 1.0, "strength": 2.0}), flat)


@pytest.mark.parametrize("name", [*NEW, "to_sepia"])
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
    image = np.random.default_rng(9).integers(90, 140, size=(24, 24, 3), dtype=np.uint8)
    low, high = (
        points[at].apply(image, points[at].sample(np.random.default_rng(0), image.shape))
        for at in ("low", "high")
    )
    assert not np.array_equal(low, high)
