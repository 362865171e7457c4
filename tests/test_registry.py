"""Registry-wide properties: every transform, whatever family, keeps the same promises."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import yaml
from conftest import random_pixels
from hypothesis import given, settings
from hypothesis import strategies as st

from augtool.media.image.transforms import BLOCKS, REGISTRY, SYNTHESIS, replay, run
from augtool.recipe.model import parse_recipe
from augtool.recipe.yaml_source import load

NAMES = sorted(REGISTRY)
SHAPES = [(1, 1, 3), (2, 3, 1), (5, 4, 4), (37, 53, 3), (64, 48, 1)]


def test_the_issue_s_transforms_are_all_there() -> None:
    required = {
        "hflip", "vflip", "rot90", "rotate", "affine", "perspective", "random_crop",
        "center_crop", "random_resized_crop", "resize", "pad",
        "random_brightness_contrast", "color_jitter", "gamma", "grayscale", "posterize",
        "solarize", "equalize", "autocontrast", "sharpen", "channel_shuffle", "invert",
        "gaussian_noise", "salt_pepper", "gaussian_blur", "motion_blur", "jpeg_compression",
        "downscale", "coarse_dropout", "random_erasing",
    }  # fmt: skip
    assert required <= set(REGISTRY)
    assert {"sequence", "one_of", "some_of"} == set(BLOCKS)


def test_the_breadth_issue_s_transforms_are_all_there() -> None:
    required = {
        "elastic", "grid_distortion", "optical_distortion", "piecewise_affine", "clahe",
        "hue_saturation_value", "rgb_shift", "to_sepia", "fancy_pca", "iso_noise",
        "multiplicative_noise", "median_blur", "defocus", "zoom_blur", "glass_blur",
        "unsharp_mask", "emboss", "random_fog", "random_rain", "random_snow", "random_shadow",
        "random_sun_flare", "random_gravel", "grid_dropout", "mask_dropout", "pixel_dropout",
        "random_scale", "longest_max_size", "smallest_max_size", "pad_if_needed",
        "crop_non_empty_mask", "bbox_safe_random_crop", "random_sized_bbox_safe_crop",
        "shift_scale_rotate", "transpose", "d4",
    }  # fmt: skip
    assert required <= set(REGISTRY)
    assert len(REGISTRY) + len(SYNTHESIS) >= 60


@pytest.mark.parametrize("name", [*NAMES, *BLOCKS])
def test_has_help(name: str) -> None:
    spec = REGISTRY.get(name) or BLOCKS[name]
    assert spec.summary.strip().endswith(".")
    for param in spec.all_params():
        assert param.help.strip(), f"{name}.{param.name} has no help"


@pytest.mark.parametrize("name", [*NAMES, *BLOCKS])
def test_example_is_a_valid_recipe_step(name: str) -> None:
    spec = REGISTRY.get(name) or BLOCKS[name]
    text = "version: 1\npipeline:\n" + "\n".join("  " + ln for ln in spec.example.splitlines())
    recipe = parse_recipe(load(text, "example.yaml"))
    assert list(recipe.normalised["pipeline"][0]) == [name]


@pytest.mark.parametrize("name", NAMES)
def test_defaults_are_valid_and_normalise_to_themselves(name: str) -> None:
    cls = REGISTRY[name]
    config = cls().config
    assert cls(**config).config == config
    assert json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", SHAPES)
def test_params_are_plain_json_and_apply_is_pure(name: str, shape: tuple[int, int, int]) -> None:
    transform = REGISTRY[name]()
    image = random_pixels(shape)
    before = image.copy()
    params = transform.sample(np.random.default_rng(7), image.shape)
    assert json.loads(json.dumps(params)) == params
    assert _plain(params), f"{name} sampled a non-JSON value: {params!r}"
    out = transform.apply(image, params)
    assert np.array_equal(image, before), f"{name} edited its input in place"
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == shape[2]
    again = transform.apply(image, json.loads(json.dumps(params)))
    assert np.array_equal(out, again), f"{name} is not a pure function of (image, params)"


@pytest.mark.parametrize("name", NAMES)
def test_transforms_pickle(name: str) -> None:
    transform = REGISTRY[name]()
    clone = pickle.loads(pickle.dumps(transform))
    assert clone.config == transform.config
    image = random_pixels((20, 30, 3))
    a = transform.sample(np.random.default_rng(3), image.shape)
    b = clone.sample(np.random.default_rng(3), image.shape)
    assert a == b


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), height=st.integers(8, 40), width=st.integers(8, 40))
def test_replay_of_the_records_reproduces_a_whole_pipeline(
    seed: int, height: int, width: int
) -> None:
    steps = _pipeline_of_everything()
    image = random_pixels((height, width, 3), seed)
    out, records = run(steps, image, np.random.default_rng(seed))
    records = json.loads(json.dumps(records))
    assert np.array_equal(replay(records, image), out)


def test_run_samples_from_the_generator_only() -> None:
    steps = _pipeline_of_everything()
    image = random_pixels((24, 24, 3))
    a, ra = run(steps, image, np.random.default_rng(11))
    np.random.seed(999)  # the global RNG must not matter
    b, rb = run(steps, image, np.random.default_rng(11))
    assert ra == rb and np.array_equal(a, b)


def test_one_of_applies_exactly_one_child_and_records_it() -> None:
    text = """
version: 1
pipeline:
  - one_of:
      transforms:
        - invert: {}
        - hflip: {p: 1}
"""
    steps = parse_recipe(load(text, "r.yaml")).steps
    image = random_pixels((4, 4, 3))
    for seed in range(20):
        out, records = run(steps, image, np.random.default_rng(seed))
        (block,) = records
        assert block["fired"] and len(block["steps"]) == 1
        chosen = block["params"]["chosen"][0]
        expected = 255 - image if chosen == 0 else image[:, ::-1]
        assert np.array_equal(out, expected)


def test_some_of_applies_n_distinct_children_in_recipe_order() -> None:
    text = """
version: 1
pipeline:
  - some_of:
      n: [2, 2]
      transforms: [invert, {hflip: {p: 1}}, {vflip: {p: 1}}]
"""
    steps = parse_recipe(load(text, "r.yaml")).steps
    for seed in range(20):
        _, records = run(steps, random_pixels((4, 4, 3)), np.random.default_rng(seed))
        chosen = records[0]["params"]["chosen"]
        assert len(chosen) == 2 and chosen == sorted(set(chosen))
        assert [r["name"] for r in records[0]["steps"]] == [
            ["invert", "hflip", "vflip"][i] for i in chosen
        ]


def test_p_zero_never_fires_and_records_that() -> None:
    steps = parse_recipe(load("version: 1\npipeline: [{invert: {p: 0}}]", "r.yaml")).steps
    image = random_pixels((4, 4, 3))
    out, records = run(steps, image, np.random.default_rng(0))
    assert records == [{"name": "invert", "fired": False, "params": {}}]
    assert np.array_equal(out, image)


#: Output sizes for the steps that set one, so that the pipeline's image stays near its input's
#: few dozen pixels (at their defaults, up to 1024 px a side: the later steps took seconds).
SMALL_SIZES: dict[str, dict[str, object]] = {
    "center_crop": {"size": [32, 32]},
    "crop_non_empty_mask": {"size": [32, 32]},
    "longest_max_size": {"max_size": 48},
    "pad_if_needed": {"min_height": 48, "min_width": 48},
    "random_crop": {"size": [32, 32]},
    "random_resized_crop": {"size": [32, 32]},
    "random_sized_bbox_safe_crop": {"size": [32, 32]},
    "resize": {"size": 32},
    "smallest_max_size": {"max_size": 40},
}


def _pipeline_of_everything() -> list:
    """Every transform once, with p 0.5, so fired and unfired steps both get replayed."""
    items = [{name: {"p": 0.5, **SMALL_SIZES.get(name, {})}} for name in NAMES]
    items.append({"one_of": {"transforms": [{"invert": {}}, {"hflip": {}}]}})
    text = yaml.safe_dump({"version": 1, "pipeline": items})
    return parse_recipe(load(text, "all.yaml")).steps


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (bool, int, float, str)


def test_a_single_number_whose_low_end_is_raised_says_so() -> None:
    """``contrast_limit: 5`` becomes [-1, 5]: the help said "[-x, x]" and nothing more."""
    from augtool.media.params import Range

    contrast = Range(-1, None, around=0)
    assert contrast(5) == [-1.0, 5.0]
    assert contrast.form.endswith("or a number x (meaning [-x, x], its low end raised to -1)")
    rotate = Range(-360, 360, around=0)  # symmetric bounds: a low end past -360 is refused
    assert rotate.form.endswith("or a number x (meaning [-x, x])")
