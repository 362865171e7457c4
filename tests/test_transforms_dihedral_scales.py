"""transpose and d4 (exact symmetries), shift_scale_rotate, and the resizes and padding that
follow Albumentations' RandomScale, LongestMaxSize, SmallestMaxSize and PadIfNeeded."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import coloured, painted, random_pixels

from augtool.errors import ParamError
from augtool.media.image.targets import Targets, apply_targets
from augtool.media.image.transforms import REGISTRY
from augtool.media.image.transforms.dihedral import ELEMENTS

# ---- transpose and d4 -----------------------------------------------------------------------

EXPECTED = {
    "e": lambda a: a,
    "r90": lambda a: np.rot90(a, 1),
    "r180": lambda a: np.rot90(a, 2),
    "r270": lambda a: np.rot90(a, 3),
    "t": lambda a: a.transpose(1, 0, 2),
    "h": lambda a: a[:, ::-1],
    "v": lambda a: a[::-1],
    "hvt": lambda a: np.rot90(a, 2).transpose(1, 0, 2),
}


@pytest.mark.parametrize("element", sorted(ELEMENTS))
def test_each_d4_element_is_its_symmetry_and_its_targets_follow(element: str) -> None:
    image = random_pixels((5, 7, 3))
    out = REGISTRY["d4"].apply(image, {"group_element": element})
    assert np.array_equal(out, EXPECTED[element](image))
    assert out.flags.c_contiguous and not np.shares_memory(out, image)
    # A one-pixel object: its box and centre keypoint land on the pixel the kernel moved it to.
    marked = painted((5, 7), (5, 1, 6, 2), (220, 30, 40))
    moved_image = REGISTRY["d4"].apply(marked, {"group_element": element})
    record = {"name": "d4", "fired": True, "params": {"group_element": element}}
    targets = Targets((5, 7), boxes=[[5, 1, 6, 2]], keypoints=[[[5.5, 1.5, 2]]])
    moved = apply_targets([record], targets)
    ((row, col),) = np.argwhere(coloured(moved_image, (220, 30, 40)))
    assert np.array_equal(moved.boxes[0], [col, row, col + 1, row + 1])
    assert np.array_equal(moved.keypoints[0][0], [col + 0.5, row + 0.5, 2])


def test_d4_draws_all_eight_elements_uniformly() -> None:
    d4 = REGISTRY["d4"]()
    rng = np.random.default_rng(0)
    drawn = [d4.sample(rng, (4, 4, 3))["group_element"] for _ in range(4000)]
    counts = {name: drawn.count(name) for name in ELEMENTS}
    assert min(counts.values()) > 400 and max(counts.values()) < 600
    square = random_pixels((6, 6, 1))
    results = {REGISTRY["d4"].apply(square, {"group_element": e}).tobytes() for e in ELEMENTS}
    assert len(results) == 8


def test_transpose_swaps_the_sides_and_twice_is_the_identity() -> None:
    image = random_pixels((3, 8, 4))
    once = REGISTRY["transpose"].apply(image, {})
    assert once.shape == (8, 3, 4) and once[5, 2].tolist() == image[2, 5].tolist()
    assert np.array_equal(REGISTRY["transpose"].apply(once, {}), image)


# ---- shift_scale_rotate ---------------------------------------------------------------------


def test_shift_scale_rotate_draws_within_its_limits() -> None:
    step = REGISTRY["shift_scale_rotate"](shift_limit=0.1, scale_limit=[-0.2, 0.5], rotate_limit=30)
    rng = np.random.default_rng(1)
    for _ in range(200):
        params = step.sample(rng, (50, 100, 3))
        assert 0.8 <= params["scale"] <= 1.5 and -30 <= params["angle"] <= 30
        assert abs(params["translate"][0]) <= 10 and abs(params["translate"][1]) <= 5


def test_shift_scale_rotate_with_no_change_is_the_identity() -> None:
    image = random_pixels((9, 13, 3))
    params = REGISTRY["shift_scale_rotate"](shift_limit=0, scale_limit=0, rotate_limit=0).sample(
        np.random.default_rng(0), image.shape
    )
    assert np.array_equal(REGISTRY["shift_scale_rotate"].apply(image, params), image)


def test_shift_scale_rotate_shifts_by_its_fraction() -> None:
    step = REGISTRY["shift_scale_rotate"](
        shift_limit=[0.25, 0.25], scale_limit=0, rotate_limit=0, interpolation="nearest"
    )
    image = random_pixels((8, 8, 1))
    out = step.apply(image, step.sample(np.random.default_rng(0), image.shape))
    assert np.array_equal(out[2:, 2:], image[:6, :6])
    assert not out[:2].any() and not out[:, :2].any()


# ---- random_scale, longest_max_size, smallest_max_size ----------------------------------------


def test_random_scale_changes_both_sides_by_one_factor() -> None:
    step = REGISTRY["random_scale"](scale_limit=[-0.5, 1.0])
    rng = np.random.default_rng(2)
    for _ in range(50):
        params = step.sample(rng, (40, 100, 3))
        assert 0.5 <= params["scale"] <= 2.0
        assert params["size"] == [round(40 * params["scale"]), round(100 * params["scale"])]
    assert REGISTRY["random_scale"]().config["scale_limit"] == [-0.1, 0.1]


@pytest.mark.parametrize(
    ("name", "shape", "max_size", "expected"),
    [
        ("longest_max_size", (300, 400), 200, [150, 200]),
        ("longest_max_size", (30, 20), 90, [90, 60]),  # up too, as Albumentations
        ("smallest_max_size", (300, 400), 150, [150, 200]),
        ("smallest_max_size", (7, 3), 9, [21, 9]),
    ],
)
def test_side_resizes_make_one_side_max_size(name, shape, max_size, expected) -> None:
    step = REGISTRY[name](max_size=max_size)
    params = step.sample(np.random.default_rng(0), (*shape, 3))
    assert params["size"] == expected and params["max_size"] == max_size
    assert step.apply(random_pixels((*shape, 3)), params).shape[:2] == tuple(expected)


def test_a_list_of_max_sizes_is_chosen_from() -> None:
    step = REGISTRY["longest_max_size"](max_size=[64, 32, 32])
    assert step.config["max_size"] == [32, 64]
    rng = np.random.default_rng(0)
    assert {step.sample(rng, (10, 10, 3))["max_size"] for _ in range(40)} == {32, 64}
    with pytest.raises(ParamError):
        REGISTRY["longest_max_size"](max_size=[])
    with pytest.raises(ParamError):
        REGISTRY["smallest_max_size"](max_size=0)


# ---- pad_if_needed --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "padding"),
    [
        ({"min_height": 10, "min_width": 9}, [2, 3, 3, 4]),  # centred, odd pixel after
        ({"min_height": 10, "min_width": 9, "position": "top_left"}, [0, 0, 5, 7]),
        ({"min_height": 10, "min_width": 9, "position": "bottom_right"}, [5, 7, 0, 0]),
        ({"min_height": 10, "min_width": 9, "position": "top_right"}, [5, 0, 0, 7]),
        ({"min_height": 2, "min_width": 2}, [0, 0, 0, 0]),  # already large enough
        (
            {
                "min_height": None,
                "pad_height_divisor": 4,
                "min_width": None,
                "pad_width_divisor": 5,
                "position": "top_left",
            },
            [0, 0, 1, 1],
        ),
    ],
)
def test_pad_if_needed_pads_to_the_size_at_the_position(config: dict, padding: list) -> None:
    step = REGISTRY["pad_if_needed"](**config)
    image = random_pixels((3, 4, 3))
    params = step.sample(np.random.default_rng(0), image.shape)
    assert params["padding"] == padding
    out = step.apply(image, params)
    left, top = padding[:2]
    assert np.array_equal(out[top : top + 3, left : left + 4], image)


def test_pad_if_needed_random_position_covers_every_offset() -> None:
    step = REGISTRY["pad_if_needed"](min_height=5, min_width=3, position="random")
    rng = np.random.default_rng(0)
    tops = {step.sample(rng, (3, 3, 3))["padding"][1] for _ in range(100)}
    assert tops == {0, 1, 2}


@pytest.mark.parametrize(
    "config",
    [{"min_height": None}, {"pad_width_divisor": 8}, {"min_height": 0}, {"min_width": 2.5}],
)
def test_pad_if_needed_refuses_a_side_set_twice_or_not_at_all(config: dict) -> None:
    with pytest.raises(ParamError):
        REGISTRY["pad_if_needed"](**config)
