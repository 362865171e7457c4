"""grid_dropout and pixel_dropout: where the holes fall, how many, and what they leave alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_pixels

from augtool.errors import ParamError
from augtool.media.image.transforms import REGISTRY

GREY = 200


def _dropped(out: np.ndarray) -> np.ndarray:
    return np.all(out[:, :, :3] == 0, axis=2)


def test_grid_dropout_holes_repeat_every_unit_at_the_ratio() -> None:
    step = REGISTRY["grid_dropout"](unit_size_range=10, ratio=0.4)
    image = np.full((40, 60, 3), GREY, np.uint8)
    for seed in range(10):
        params = step.sample(np.random.default_rng(seed), image.shape)
        holes = _dropped(step.apply(image, params))
        top, left = params["offset"]
        assert params["hole"] == [4, 4] and 0 <= top <= 6 and 0 <= left <= 6
        cell = holes[top : top + 10, left : left + 10]
        assert cell[:4, :4].all() and cell.sum() == 16
        # The grid repeats: a unit further down and across has the same holes.
        assert np.array_equal(holes[top : top + 20, left : left + 40][10:, :10], cell)
        assert holes.mean() == pytest.approx(0.16, abs=0.04)


def test_grid_dropout_units_from_holes_number_and_no_offset() -> None:
    step = REGISTRY["grid_dropout"](holes_number_xy=[3, 2], ratio=0.5, random_offset=False)
    image = random_pixels((20, 30, 4))
    params = step.sample(np.random.default_rng(0), image.shape)
    assert params["unit"] == [10, 10] and params["offset"] == [0, 0]
    out = step.apply(image, params)
    holes = _dropped(out)
    assert holes[0, 0] and holes[4, 4] and not holes[5, 5] and holes[10, 20]
    assert np.array_equal(out[:, :, 3], image[:, :, 3])  # alpha untouched


def test_grid_dropout_refuses_a_zero_ratio_and_a_bad_unit() -> None:
    with pytest.raises(ParamError):
        REGISTRY["grid_dropout"](ratio=0)
    with pytest.raises(ParamError):
        REGISTRY["grid_dropout"](unit_size_range=[1, 4])
    with pytest.raises(ParamError):
        REGISTRY["grid_dropout"](unit_size_range=[9, 4])


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_pixel_dropout_drops_about_its_probability(channels: int) -> None:
    step = REGISTRY["pixel_dropout"](dropout_prob=0.2)
    image = np.full((100, 100, channels), GREY, np.uint8)
    out = step.apply(image, step.sample(np.random.default_rng(0), image.shape))
    colours = min(channels, 3)
    dropped = np.all(out[:, :, :colours] == 0, axis=2)
    assert dropped.mean() == pytest.approx(0.2, abs=0.02)
    assert np.all(out[~dropped] == GREY)
    if channels == 4:
        assert np.all(out[:, :, 3] == GREY)


def test_pixel_dropout_per_channel_and_random_values() -> None:
    image = np.full((60, 60, 3), GREY, np.uint8)
    step = REGISTRY["pixel_dropout"](dropout_prob=0.3, per_channel=True, drop_value="random")
    out = step.apply(image, step.sample(np.random.default_rng(1), image.shape))
    changed = out != GREY
    per_pixel = changed.sum(axis=2)
    assert (per_pixel == 1).any() and (per_pixel == 3).any()  # channels dropped on their own
    assert len(np.unique(out[changed])) > 100  # random values, not one colour
    assert changed.mean() == pytest.approx(0.3, abs=0.03)


def test_pixel_dropout_patterns_differ_by_seed_and_repeat_by_params() -> None:
    step = REGISTRY["pixel_dropout"](dropout_prob=0.1)
    image = np.full((30, 30, 3), GREY, np.uint8)
    a = step.sample(np.random.default_rng(0), image.shape)
    b = step.sample(np.random.default_rng(1), image.shape)
    assert np.array_equal(step.apply(image, a), step.apply(image, dict(a)))
    assert not np.array_equal(step.apply(image, a), step.apply(image, b))
