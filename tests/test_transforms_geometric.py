"""Geometric transforms: exact kernels on small arrays, sampling ranges, and shape properties."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import random_pixels
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.errors import ParamError
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.crops import (
    CenterCrop,
    Pad,
    RandomCrop,
    RandomResizedCrop,
    Resize,
)
from augtool.media.image.transforms.geometric import Affine, Perspective, Rotate

NEW = (
    "affine",
    "perspective",
    "random_crop",
    "center_crop",
    "random_resized_crop",
    "resize",
    "pad",
)
WARPS = ("nearest", "bilinear", "bicubic")
BORDERS = ("constant", "reflect", "replicate", "wrap")


def run(transform, image: np.ndarray, seed: int = 0) -> tuple[dict, np.ndarray]:
    params = transform.sample(np.random.default_rng(seed), image.shape)
    return params, type(transform).apply(image, params)


# ---- contract: defaults, JSON params, purity, channels, tiny images ------------------------


@pytest.mark.parametrize("name", NEW)
def test_registered_with_valid_defaults_and_example(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.family == "geometric"
    assert cls.example.startswith(f"- {name}:")
    cls()  # the defaults are valid


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(NEW),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    channels=st.sampled_from([1, 3, 4]),
    seed=st.integers(0, 2**32 - 1),
)
def test_contract_on_any_size(name: str, height: int, width: int, channels: int, seed: int) -> None:
    cls = REGISTRY[name]
    config = {"size": [7, 5]} if "size" in {p.name for p in cls.params} else {}
    if name == "pad":
        config = {"padding": [3, 1, 0, 2], "border": "reflect"}
    if name in ("affine", "perspective"):
        config = {"border": "reflect"}
    if name == "affine":
        config.update(scale=[0.5, 1.5], translate_percent=0.2, rotate=45, shear=20)
    image = random_pixels((height, width, channels), seed % 1000)
    before = image.copy()
    params, out = run(cls(**config), image, seed)
    assert json.loads(json.dumps(params)) == params
    assert np.array_equal(image, before)
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == channels
    expected = {
        "affine": (height, width),
        "perspective": (height, width),
        "random_crop": (7, 5),
        "center_crop": (7, 5),
        "random_resized_crop": (7, 5),
        "resize": (7, 5),
        "pad": (height + 3, width + 3),
    }[name]
    assert out.shape[:2] == expected
    # Replaying the recorded params gives the same bytes.
    assert np.array_equal(cls.apply(image, params), out)


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("shape", [(1, 1, 1), (2, 3, 3), (1, 5, 4), (500, 3, 3)])
def test_defaults_work_on_tiny_and_thin_images(name: str, shape: tuple[int, int, int]) -> None:
    cls = REGISTRY[name]
    for seed in range(5):
        params, out = run(cls(), random_pixels(shape), seed)
        assert json.loads(json.dumps(params)) == params
        assert out.dtype == np.uint8 and out.shape[2] == shape[2]


# ---- rotate / affine ------------------------------------------------------------------------


@pytest.mark.parametrize("interpolation", WARPS)
def test_rotate_90_matches_rot90_in_the_interior(interpolation: str) -> None:
    image = random_pixels((9, 9, 3))
    _, out = run(Rotate(limit=[90, 90], interpolation=interpolation), image)
    expected = np.rot90(image, 1, axes=(0, 1))
    assert np.abs(out[1:-1, 1:-1].astype(int) - expected[1:-1, 1:-1]).max() <= 1


def test_affine_rotate_90_matches_rot90_exactly_with_nearest() -> None:
    image = random_pixels((8, 8, 1))
    _, out = run(Affine(rotate=[90, 90], interpolation="nearest"), image)
    assert np.array_equal(out, np.rot90(image, 1, axes=(0, 1)))


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("interpolation", WARPS)
@pytest.mark.parametrize("border", BORDERS)
def test_affine_identity_is_exact(channels: int, interpolation: str, border: str) -> None:
    image = random_pixels((7, 11, channels))
    if channels == 4:
        image[..., 3] = np.arange(77).reshape(7, 11)  # translucent and fully transparent pixels
    params, out = run(Affine(interpolation=interpolation, border=border), image)
    assert params["scale"] == 1.0 and params["angle"] == 0.0
    assert params["translate"] == [0.0, 0.0] and params["shear"] == [0.0, 0.0]
    assert np.array_equal(out, image)
    assert out is not image


def test_affine_translate_shifts_by_the_fraction_of_each_side() -> None:
    image = random_pixels((8, 12, 3))
    params, out = run(Affine(translate_percent=[0.25, 0.25], interpolation="nearest"), image)
    assert params["translate"] == [3.0, 2.0]  # x: 0.25 * width, y: 0.25 * height
    assert np.array_equal(out[2:, 3:], image[:-2, :-3])
    assert not out[:2].any() and not out[:, :3].any()


def test_affine_samples_each_parameter_inside_its_range() -> None:
    transform = Affine(scale=[0.8, 1.2], translate_percent=0.1, rotate=30, shear=[-5, 10])
    xs, ys = set(), set()
    for seed in range(200):
        params = transform.sample(np.random.default_rng(seed), (50, 100, 3))
        assert 0.8 <= params["scale"] <= 1.2
        assert -30 <= params["angle"] <= 30
        tx, ty = params["translate"]
        assert -10 <= tx <= 10 and -5 <= ty <= 5
        xs.add(tx)
        ys.add(ty)
        assert all(-5 <= s <= 10 for s in params["shear"])
        assert params["shear"][0] != params["shear"][1]  # drawn independently
    assert len(xs) == len(ys) == 200


def test_affine_single_number_forms() -> None:
    config = Affine(scale=1.5, translate_percent=0.1, rotate=20, shear=5).config
    assert config["scale"] == [1.5, 1.5]
    assert config["translate_percent"] == [-0.1, 0.1]
    assert config["rotate"] == [-20.0, 20.0]
    assert config["shear"] == [-5.0, 5.0]


@pytest.mark.parametrize("config", [{"scale": 0}, {"shear": 90}, {"translate_percent": [0.5, 2]}])
def test_affine_rejects_bad_values(config: dict) -> None:
    with pytest.raises(ParamError):
        Affine(**config)


@pytest.mark.parametrize("cls", [Rotate, Affine])
@pytest.mark.parametrize("border", ["reflect", "replicate", "wrap"])
def test_border_modes_differ_from_constant_at_the_corners(cls, border: str) -> None:
    image = random_pixels((32, 32, 3)) // 2 + 100  # never black, so a constant 0 corner stands out
    key = "limit" if cls is Rotate else "rotate"
    _, constant = run(cls(**{key: [45, 45]}, border="constant", fill=0), image)
    _, other = run(cls(**{key: [45, 45]}, border=border, fill=0), image)
    assert not constant[:3, :3].any()  # the corner lies outside the rotated source
    assert other[:3, :3].min() >= 100
    assert np.array_equal(constant[12:20, 12:20], other[12:20, 12:20])


def test_constant_border_uses_fill_and_keeps_alpha_opaque() -> None:
    image = random_pixels((16, 16, 4))
    _, out = run(Rotate(limit=[45, 45], fill=[10, 20, 30]), image)
    assert out[0, 0].tolist() == [10, 20, 30, 255]


def test_rgba_warp_keeps_the_colour_of_transparent_pixels() -> None:
    image = np.zeros((8, 8, 4), dtype=np.uint8)
    image[..., :3] = [200, 100, 50]  # colour under zero alpha: Pillow's RGBa path would zero it
    _, out = run(Affine(scale=[1.5, 1.5], interpolation="bicubic", border="replicate"), image)
    assert np.array_equal(out, image)


# ---- perspective ----------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("interpolation", WARPS)
def test_perspective_with_zero_scale_is_identity(channels: int, interpolation: str) -> None:
    image = random_pixels((9, 13, channels))
    params, out = run(Perspective(scale=0, interpolation=interpolation), image)
    assert params["corners"] == [[0.0, 0.0], [13.0, 0.0], [13.0, 9.0], [0.0, 9.0]]
    assert np.array_equal(out, image)


def test_perspective_corners_move_inward_by_less_than_a_third() -> None:
    transform = Perspective(scale=[0.05, 0.3])
    height, width = 40, 60
    for seed in range(100):
        corners = transform.sample(np.random.default_rng(seed), (height, width, 3))["corners"]
        assert len(corners) == 4 and all(len(c) == 2 for c in corners)
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = corners
        assert 0 <= x0 < 0.32 * width and 0 <= y0 < 0.32 * height
        assert 0.68 * width < x1 <= width and 0 <= y1 < 0.32 * height
        assert 0.68 * width < x2 <= width and 0.68 * height < y2 <= height
        assert 0 <= x3 < 0.32 * width and 0.68 * height < y3 <= height


def test_perspective_fills_the_outside_and_keeps_the_centre() -> None:
    image = np.full((40, 40, 3), 200, dtype=np.uint8)
    params = {
        "corners": [[4.0, 4.0], [36.0, 4.0], [36.0, 36.0], [4.0, 36.0]],
        "interpolation": "bilinear",
        "border": "constant",
        "fill": 7,
    }
    out = Perspective.apply(image, params)
    assert (out[:3] == 7).all() and (out[:, -3:] == 7).all()
    assert (out[6:34, 6:34] == 200).all()


# ---- crops ----------------------------------------------------------------------------------


def test_center_crop_coordinates() -> None:
    image = random_pixels((10, 8, 3))
    params, out = run(CenterCrop(size=[4, 3]), image)
    assert (params["top"], params["left"], params["size"]) == (3, 2, [4, 3])
    assert np.array_equal(out, image[3:7, 2:5])


def test_center_crop_pads_a_smaller_image_with_fill() -> None:
    image = random_pixels((2, 3, 4))
    params, out = run(CenterCrop(size=[5, 6], fill=[1, 2, 3]), image)
    assert (params["top"], params["left"]) == (-1, -1)
    assert out.shape == (5, 6, 4)
    assert np.array_equal(out[1:3, 1:4], image)
    assert out[0, 0].tolist() == [1, 2, 3, 255]
    assert out[4, 5].tolist() == [1, 2, 3, 255]


def test_center_crop_pads_on_one_axis_and_crops_on_the_other() -> None:
    image = random_pixels((3, 10, 1))
    params, out = run(CenterCrop(size=[6, 4], fill=9), image)
    assert (params["top"], params["left"]) == (-1, 3)
    assert np.array_equal(out[1:4], image[:, 3:7])
    assert (out[0] == 9).all() and (out[4:] == 9).all()


def test_random_crop_windows_lie_inside_and_cover_every_position() -> None:
    image = random_pixels((6, 9, 3))
    transform = RandomCrop(size=[4, 5])
    seen = set()
    for seed in range(300):
        params, out = run(transform, image, seed)
        top, left = params["top"], params["left"]
        assert 0 <= top <= 2 and 0 <= left <= 4
        assert np.array_equal(out, image[top : top + 4, left : left + 5])
        seen.add((top, left))
    assert len(seen) == 3 * 5


def test_random_crop_pads_a_smaller_side_centred() -> None:
    image = random_pixels((3, 20, 3))
    for seed in range(20):
        params, out = run(RandomCrop(size=[8, 10], fill=5), image, seed)
        assert params["top"] == -2 and 0 <= params["left"] <= 10
        left = params["left"]
        assert np.array_equal(out[2:5], image[:, left : left + 10])
        assert (out[:2] == 5).all() and (out[5:] == 5).all()


def test_crop_of_the_whole_image_is_a_copy() -> None:
    image = random_pixels((5, 5, 1))
    _, out = run(RandomCrop(size=5), image)
    assert np.array_equal(out, image) and out is not image
    out[0, 0, 0] ^= 1
    assert not np.array_equal(out, image)


# ---- random_resized_crop ---------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    height=st.integers(1, 500),
    width=st.integers(1, 500),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([[0.08, 1.0], [0.5, 0.5], [1.0, 1.0], [0.0, 0.01]]),
    ratio=st.sampled_from([[3 / 4, 4 / 3], [1.0, 1.0], [0.01, 0.02], [50.0, 100.0]]),
)
def test_random_resized_crop_box_inside_and_size_exact(
    height: int, width: int, seed: int, scale: list[float], ratio: list[float]
) -> None:
    transform = RandomResizedCrop(size=[6, 4], scale=scale, ratio=ratio)
    params = transform.sample(np.random.default_rng(seed), (height, width, 3))
    assert params["top"] >= 0 and params["top"] + params["height"] <= height
    assert params["left"] >= 0 and params["left"] + params["width"] <= width
    assert params["height"] >= 1 and params["width"] >= 1
    assert params["size"] == [6, 4]


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_random_resized_crop_output_size(channels: int) -> None:
    image = random_pixels((37, 53, channels))
    for seed in range(20):
        _, out = run(RandomResizedCrop(size=[10, 20]), image, seed)
        assert out.shape == (10, 20, channels)


def test_random_resized_crop_falls_back_to_a_central_window_with_the_ratio_clamped() -> None:
    # Every attempt wants a 14x14 window, which a 10-high image cannot hold.
    transform = RandomResizedCrop(size=[5, 5], scale=[1, 1], ratio=[1, 1])
    params = transform.sample(np.random.default_rng(0), (10, 20, 3))
    assert (params["top"], params["left"], params["height"], params["width"]) == (0, 5, 10, 10)


def test_random_resized_crop_window_at_output_size_is_an_exact_crop() -> None:
    image = random_pixels((12, 15, 3))
    for interpolation in ("nearest", "bilinear", "bicubic", "lanczos"):
        params = {
            "top": 2,
            "left": 3,
            "height": 6,
            "width": 7,
            "size": [6, 7],
            "interpolation": interpolation,
        }
        assert np.array_equal(RandomResizedCrop.apply(image, params), image[2:8, 3:10])


def test_random_resized_crop_samples_area_and_ratio_in_range() -> None:
    transform = RandomResizedCrop(scale=[0.25, 0.5], ratio=[0.5, 2.0])
    for seed in range(100):
        params = transform.sample(np.random.default_rng(seed), (400, 400, 3))
        area = params["height"] * params["width"] / 400**2
        assert 0.23 <= area <= 0.52
        assert 0.45 <= params["width"] / params["height"] <= 2.1


# ---- resize ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "size", "expected"),
    [
        ((100, 50), 25, [50, 25]),
        ((50, 100), 25, [25, 50]),
        ((3, 2), 5, [7, 5]),  # the longer side is truncated, as torchvision does
        ((40, 40), 10, [10, 10]),
        ((40, 30), [7, 9], [7, 9]),
    ],
)
def test_resize_target_size(shape: tuple[int, int], size, expected: list[int]) -> None:
    image = random_pixels((*shape, 3))
    params, out = run(Resize(size=size, interpolation="lanczos"), image)
    assert params == {"size": expected, "interpolation": "lanczos"}
    assert out.shape == (*expected, 3)


def test_resize_single_number_is_not_a_square() -> None:
    assert Resize(size=32).config["size"] == 32
    assert Resize(size=[32, 32]).config["size"] == [32, 32]


@pytest.mark.parametrize("size", [0, -3, 1.5, True, [1, 2, 3], [0, 4], "big"])
def test_resize_rejects_bad_sizes(size) -> None:
    with pytest.raises(ParamError):
        Resize(size=size)


def test_resize_to_the_same_size_is_a_copy() -> None:
    image = random_pixels((4, 6, 4))
    _, out = run(Resize(size=[4, 6]), image)
    assert np.array_equal(out, image) and out is not image


@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic", "lanczos"])
def test_resize_rgba_keeps_colour_under_transparency(interpolation: str) -> None:
    image = np.zeros((5, 5, 4), dtype=np.uint8)
    image[..., :3] = [200, 100, 50]
    image[..., 3] = [[0, 1, 2, 3, 4]] * 5
    _, out = run(Resize(size=[10, 10], interpolation=interpolation), image)
    assert (out[..., :3] == [200, 100, 50]).all()


# ---- pad ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("padding", "canonical", "shape"),
    [
        (2, [2, 2, 2, 2], (7, 8)),
        ([1, 3], [1, 3, 1, 3], (9, 6)),
        ([1, 2, 3, 4], [1, 2, 3, 4], (9, 8)),
        (0, [0, 0, 0, 0], (3, 4)),
    ],
)
def test_pad_forms_and_sizes(padding, canonical: list[int], shape: tuple[int, int]) -> None:
    image = random_pixels((3, 4, 3))
    params, out = run(Pad(padding=padding, fill=[9, 8, 7]), image)
    assert params["padding"] == canonical
    assert out.shape == (*shape, 3)
    left, top, _, _ = canonical
    assert np.array_equal(out[top : top + 3, left : left + 4], image)
    if left:
        assert (out[:, 0] == [9, 8, 7]).all()


@pytest.mark.parametrize("padding", [-1, [1, 2, 3], [1.5, 2], "2", None, True])
def test_pad_rejects_bad_padding(padding) -> None:
    with pytest.raises(ParamError):
        Pad(padding=padding)


@pytest.mark.parametrize(
    ("border", "mode"), [("reflect", "reflect"), ("replicate", "edge"), ("wrap", "wrap")]
)
def test_pad_border_modes_match_numpy(border: str, mode: str) -> None:
    image = random_pixels((4, 5, 4))
    _, out = run(Pad(padding=[2, 1, 3, 2], border=border), image)
    assert np.array_equal(out, np.pad(image, ((1, 2), (2, 3), (0, 0)), mode=mode))


@pytest.mark.parametrize("border", BORDERS)
def test_pad_of_a_single_pixel_repeats_it(border: str) -> None:
    image = np.full((1, 1, 3), 77, dtype=np.uint8)
    _, out = run(Pad(padding=3, border=border, fill=77), image)
    assert out.shape == (7, 7, 3) and (out == 77).all()


def test_pad_wider_than_the_image_reflects_repeatedly() -> None:
    image = np.arange(3, dtype=np.uint8).reshape(1, 3, 1)
    _, out = run(Pad(padding=[5, 0], border="reflect"), image)
    assert out[0, :, 0].tolist() == [1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1]
