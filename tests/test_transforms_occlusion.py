"""Occlusion transforms: holes inside the image, filled as asked, alpha kept, sampling ranges."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_pixels
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.errors import ParamError
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.occlusion import CoarseDropout, EraseValue, RandomErasing

NAMES = ["coarse_dropout", "random_erasing"]
SHAPES = [(1, 1), (2, 3), (3, 2), (40, 30)]


def box_mask(shape: tuple[int, ...], boxes: list[list[int]]) -> np.ndarray:
    mask = np.zeros(shape[:2], dtype=bool)
    for top, left, height, width in boxes:
        mask[top : top + height, left : left + width] = True
    return mask


def inside(box: list[int], height: int, width: int) -> bool:
    top, left, h, w = box
    return min(top, left) >= 0 and min(h, w) >= 1 and top + h <= height and left + w <= width


# --- both transforms ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize(("height", "width"), SHAPES)
def test_defaults_sample_and_apply_on_any_shape(name, channels, height, width):
    cls = REGISTRY[name]
    assert cls.family == "occlusion"
    image = random_pixels((height, width, channels))
    before = image.copy()
    for seed in range(5):
        params = cls().sample(np.random.default_rng(seed), image.shape)
        assert json.loads(json.dumps(params)) == params
        out = cls.apply(image, params)
        assert out.dtype == np.uint8 and out.shape == image.shape
        assert np.array_equal(out, cls.apply(image, params))
    assert np.array_equal(image, before), "apply must not edit its input"


@pytest.mark.parametrize("name", NAMES)
def test_alpha_unchanged(name):
    cls = REGISTRY[name]
    image = random_pixels((30, 40, 4), 2)
    for seed in range(10):
        params = cls().sample(np.random.default_rng(seed), image.shape)
        assert np.array_equal(cls.apply(image, params)[:, :, 3], image[:, :, 3])


# --- coarse_dropout ----------------------------------------------------------------------------


def test_coarse_dropout_fills_exactly_the_holes():
    image = random_pixels((6, 8, 3))
    holes = [[0, 0, 2, 3], [4, 5, 2, 3]]
    out = CoarseDropout.apply(image, {"holes": holes, "fill": [10, 20, 30]})
    mask = box_mask(image.shape, holes)
    assert (out[mask] == [10, 20, 30]).all()
    assert np.array_equal(out[~mask], image[~mask])


def test_coarse_dropout_grey_image_gets_the_luma_of_a_colour_fill():
    image = np.zeros((3, 3, 1), dtype=np.uint8)
    out = CoarseDropout.apply(image, {"holes": [[1, 1, 1, 1]], "fill": [255, 0, 0]})
    assert out[1, 1, 0] == round(0.299 * 255)
    assert out.sum() == out[1, 1, 0]


def test_coarse_dropout_rgba_fills_colour_but_keeps_alpha():
    image = random_pixels((5, 5, 4))
    out = CoarseDropout.apply(image, {"holes": [[0, 0, 5, 5]], "fill": 7})
    assert (out[:, :, :3] == 7).all()
    assert np.array_equal(out[:, :, 3], image[:, :, 3])


def test_coarse_dropout_no_holes_is_identity():
    image = random_pixels((9, 9, 3))
    transform = CoarseDropout(num_holes_range=[0, 0])
    params = transform.sample(np.random.default_rng(0), image.shape)
    assert params["holes"] == []
    assert np.array_equal(CoarseDropout.apply(image, params), image)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    count=st.tuples(st.integers(0, 12), st.integers(0, 12)).map(sorted),
    hole_h=st.tuples(st.floats(0.01, 1), st.floats(0.01, 1)).map(sorted),
    hole_w=st.tuples(st.floats(0.01, 1), st.floats(0.01, 1)).map(sorted),
    fill=st.integers(0, 255),
)
def test_coarse_dropout_holes_inside_ranges_and_filled(
    seed, height, width, count, hole_h, hole_w, fill
):
    transform = CoarseDropout(
        num_holes_range=list(count),
        hole_height_range=list(hole_h),
        hole_width_range=list(hole_w),
        fill=fill,
    )
    params = transform.sample(np.random.default_rng(seed), (height, width, 3))
    holes = params["holes"]
    assert count[0] <= len(holes) <= count[1]
    for top, left, h, w in holes:
        assert inside([top, left, h, w], height, width)
        # Rounded to whole pixels, and at least one pixel.
        assert max(1, round(hole_h[0] * height) - 1) <= h <= round(hole_h[1] * height) + 1
        assert max(1, round(hole_w[0] * width) - 1) <= w <= round(hole_w[1] * width) + 1
    image = np.full((height, width, 3), 255 - fill, dtype=np.uint8)
    out = CoarseDropout.apply(image, params)
    mask = box_mask(image.shape, holes)
    assert (out[mask] == fill).all()
    assert (out[~mask] == 255 - fill).all()


@pytest.mark.parametrize("name", ["hole_height_range", "hole_width_range"])
def test_coarse_dropout_rejects_zero_hole_fraction(name):
    with pytest.raises(ParamError, match=name):
        CoarseDropout(**{name: [0, 0.2]})


def test_coarse_dropout_rejects_fractions_above_one():
    with pytest.raises(ParamError):
        CoarseDropout(hole_height_range=[0.1, 2])


# --- random_erasing ----------------------------------------------------------------------------


def test_random_erasing_fills_the_box_with_value():
    image = random_pixels((8, 8, 3))
    params = {"erased": True, "box": [2, 3, 4, 2], "value": [1, 2, 3]}
    out = RandomErasing.apply(image, params)
    mask = box_mask(image.shape, [params["box"]])
    assert (out[mask] == [1, 2, 3]).all()
    assert np.array_equal(out[~mask], image[~mask])


def test_random_erasing_not_erased_is_identity():
    image = random_pixels((4, 4, 3))
    params = {"erased": False, "box": None, "value": 0}
    assert np.array_equal(RandomErasing.apply(image, params), image)


def test_random_erasing_gives_up_on_a_single_pixel():
    # No box can be strictly smaller than a 1x1 image: all ten attempts fail, as in torchvision.
    params = RandomErasing().sample(np.random.default_rng(0), (1, 1, 3))
    assert params["erased"] is False and params["box"] is None


def test_random_erasing_random_value_is_seeded_noise():
    image = np.zeros((20, 20, 4), dtype=np.uint8)
    transform = RandomErasing(value="random", scale=[0.3, 0.3])
    params = transform.sample(np.random.default_rng(1), image.shape)
    assert params["erased"] and isinstance(params["seed"], int)
    out = RandomErasing.apply(image, params)
    assert out.tobytes() == RandomErasing.apply(image, dict(params)).tobytes()
    mask = box_mask(image.shape, [params["box"]])
    assert len(np.unique(out[mask][:, :3])) > 10
    assert (out[~mask] == 0).all()
    assert (out[:, :, 3] == 0).all()
    other = RandomErasing.apply(image, {**params, "seed": params["seed"] + 1})
    assert not np.array_equal(out, other)


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    height=st.integers(1, 300),
    width=st.integers(1, 300),
    scale=st.tuples(st.floats(0.01, 1), st.floats(0.01, 1)).map(sorted),
    ratio=st.tuples(st.floats(0.2, 5), st.floats(0.2, 5)).map(sorted),
)
def test_random_erasing_box_inside_image(seed, height, width, scale, ratio):
    transform = RandomErasing(scale=list(scale), ratio=list(ratio))
    params = transform.sample(np.random.default_rng(seed), (height, width, 3))
    if not params["erased"]:
        assert params["box"] is None
        return
    _, _, h, w = params["box"]
    assert inside(params["box"], height, width)
    assert h < height and w < width
    # h and w are rounded from sqrt(area * ratio) and sqrt(area / ratio).
    area = height * width
    assert (h - 0.5) * (w - 0.5) <= scale[1] * area * 1.0001
    assert (h + 0.5) * (w + 0.5) >= scale[0] * area * 0.9999


def test_random_erasing_usually_erases_on_a_normal_image():
    transform = RandomErasing()
    erased = [
        transform.sample(np.random.default_rng(s), (100, 100, 3))["erased"] for s in range(50)
    ]
    assert all(erased)


def test_erase_value_kind():
    kind = EraseValue()
    assert kind("random") == "random"
    assert kind(7) == 7
    assert kind([1, 2, 3]) == [1, 2, 3]
    for bad in ("noise", 300, [1, 2], None):
        with pytest.raises(ParamError, match="random"):
            kind(bad)
    with pytest.raises(ParamError, match="value"):
        RandomErasing(value="noise")


def test_random_erasing_rejects_zero_ratio():
    with pytest.raises(ParamError):
        RandomErasing(ratio=[0, 1])
