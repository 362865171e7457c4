"""Fusing geometric runs: one resampling, same geometry as step by step, exact when it can be."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import jpeg_bytes, random_pixels

from augtool.media.image.transforms import REGISTRY, replay, run
from augtool.media.image.transforms.fusion import Applier


def smooth_image(height: int = 96, width: int = 128, channels: int = 3) -> np.ndarray:
    """A smooth gradient with a few blobs: resampling differences stay small on it."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = [127 + 100 * np.sin(x / 17.0 + c) * np.cos(y / 13.0 - c) for c in range(channels)]
    return np.clip(np.stack(planes, axis=2), 0, 255).astype(np.uint8)


def sequential(image: np.ndarray, steps: list[tuple[str, dict]]) -> np.ndarray:
    for name, params in steps:
        image = REGISTRY[name].apply(image, params)
    return image


def fused(image: np.ndarray, steps: list[tuple[str, dict]]) -> np.ndarray:
    records = [{"name": name, "fired": True, "params": params} for name, params in steps]
    return replay(records, image)


ROTATE = {"angle": 12.0, "interpolation": "bilinear", "border": "reflect", "fill": 0}
CROP = {
    "top": 10,
    "left": 20,
    "height": 60,
    "width": 80,
    "size": [48, 64],
    "interpolation": "bilinear",
}


def test_a_fused_run_has_the_geometry_of_the_steps() -> None:
    image = smooth_image()
    steps = [("hflip", {}), ("rotate", ROTATE), ("random_resized_crop", CROP)]
    one, two = fused(image, steps), sequential(image, steps)
    assert one.shape == two.shape == (48, 64, 3)
    difference = np.abs(one.astype(int) - two.astype(int))
    assert difference[4:-4, 4:-4].mean() < 2.0
    assert not np.array_equal(one, two)  # one interpolation, not two: it is really fused


def test_runs_that_only_pick_pixels_stay_exact() -> None:
    image = random_pixels((30, 40, 3))
    crop = {"top": 3, "left": 5, "size": [20, 24], "fill": 0}
    steps = [("hflip", {}), ("rot90", {"k": 1}), ("random_crop", crop), ("vflip", {})]
    assert np.array_equal(fused(image, steps), sequential(image, steps))


def test_a_single_geometric_step_is_its_own_kernel() -> None:
    image = smooth_image()
    for steps in ([("rotate", ROTATE)], [("random_resized_crop", CROP)]):
        assert np.array_equal(fused(image, steps), sequential(image, steps))


def test_a_step_that_reads_outside_starts_a_new_run() -> None:
    """After a crop, a reflecting rotation must reflect the cropped image, not the source."""
    image = smooth_image()
    steps = [("random_resized_crop", CROP), ("rotate", ROTATE)]
    assert np.array_equal(fused(image, steps), sequential(image, steps))


def test_pixel_steps_split_runs() -> None:
    image = smooth_image()
    steps = [("rotate", ROTATE), ("invert", {}), ("random_resized_crop", CROP)]
    assert np.array_equal(fused(image, steps), sequential(image, steps))


def test_a_big_shrink_is_box_reduced_first_so_it_does_not_alias() -> None:
    checker = ((np.indices((128, 128)).sum(axis=0) % 2) * 255).astype(np.uint8)
    image = np.repeat(checker[:, :, None], 3, axis=2)
    steps = [("hflip", {}), ("resize", {"size": [32, 32], "interpolation": "bilinear"})]
    out = fused(image, steps)
    assert out.shape == (32, 32, 3)
    # Averaged, a one-pixel checkerboard is flat grey; sampled without a filter it stays
    # black and white.
    assert abs(out.mean() - 127.5) < 2 and out.std() < 2


def test_sampling_sees_the_size_the_pending_run_will_have() -> None:
    applier = Applier(smooth_image())
    applier.feed("random_resized_crop", CROP)
    assert applier.shape == (48, 64, 3)
    applier.feed("rot90", {"k": 1})
    assert applier.shape == (64, 48, 3)
    assert applier.image().shape == (64, 48, 3)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_run_and_replay_agree_byte_for_byte(channels: int) -> None:
    from augtool.recipe.model import parse_recipe
    from augtool.recipe.yaml_source import load

    text = """
version: 1
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 20, border: reflect}
  - random_resized_crop: {size: [40, 50], scale: [0.5, 1.0]}
  - resize: {size: [20, 25]}
"""
    steps = parse_recipe(load(text, "r.yaml")).steps
    image = smooth_image(channels=channels)
    for seed in range(5):
        out, records = run(steps, image, np.random.default_rng(seed))
        assert out.shape == (20, 25, channels)
        assert np.array_equal(replay(records, image), out)


def test_an_axis_aligned_run_is_one_antialiased_resize_of_the_window() -> None:
    image = smooth_image()
    steps = [("hflip", {}), ("random_resized_crop", CROP)]
    out = fused(image, steps)
    # The mirrored window of the source, resized, then mirrored back: Pillow's own resize.
    width = image.shape[1]
    box = (width - CROP["left"] - CROP["width"], CROP["top"], width - CROP["left"], 70)
    expected = REGISTRY["hflip"].apply(
        REGISTRY["resize"].apply(
            image[int(box[1]) : int(box[3]), int(box[0]) : int(box[2])],
            {"size": CROP["size"], "interpolation": "bilinear"},
        ),
        {},
    )
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_a_reading_step_joins_flips_and_quarter_turns() -> None:
    """Mirroring then reflecting the border is reflecting then mirroring: one warp, not two."""
    image = smooth_image()
    steps = [("hflip", {}), ("rotate", ROTATE), ("random_resized_crop", CROP)]
    applier = Applier(image)
    for name, params in steps[:2]:
        applier.feed(name, params)
    assert len(applier._pending) == 2
    one, two = fused(image, steps), sequential(image, steps)
    assert np.abs(one.astype(int) - two.astype(int))[4:-4, 4:-4].mean() < 2.0


def test_a_kept_reduction_is_served_only_for_the_very_same_source() -> None:
    from augtool.media.image.transforms import fusion

    reductions = fusion.Reductions()
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)
    image.flags.writeable = False
    first = reductions.reduce(image, 3)
    assert reductions.reduce(image, 3) is first  # the second variant of a source reuses it
    np.testing.assert_array_equal(first, fusion._box_reduce(image, 3))
    assert not first.flags.writeable
    twin = image.copy()  # equal pixels, another array: never served from the cache
    assert reductions.reduce(twin, 3) is not first
    other = reductions.reduce(image, 2)
    np.testing.assert_array_equal(other, fusion._box_reduce(image, 2))
    reductions = fusion.Reductions()  # the next source's: nothing of the last one is kept
    assert reductions.reduce(image, 3) is not first


@pytest.mark.parametrize("channels", [1, 3])
def test_variants_warp_one_kept_copy_of_a_reduction_and_give_fresh_warps_bytes(
    channels: int,
) -> None:
    """The variants of a source that shrink it share the reduction's Pillow copy
    (:meth:`Reductions.pillow`): each one's bytes are those of a warp that makes its own."""
    from augtool.media.image.transforms import fusion

    rng = np.random.default_rng(11)
    image = rng.integers(0, 256, (120, 160, channels), dtype=np.uint8)
    image.flags.writeable = False
    reductions = fusion.Reductions()
    steps = [
        REGISTRY["rotate"](limit=20, border="constant"),
        REGISTRY["random_resized_crop"](size=[30, 40], scale=[0.8, 1.0]),
    ]
    for seed in range(4):
        shared, records = run(steps, image, np.random.default_rng(seed), reductions=reductions)
        assert shared.shape == (30, 40, channels)
        np.testing.assert_array_equal(shared, replay(records, image))  # a fresh Reductions
    [(_, factor, reduced)] = reductions.entries
    assert factor >= 2
    [(kept_source, kept)] = reductions.pillows
    assert kept_source is reduced and kept.mode == ("L" if channels == 1 else "RGB")
    np.testing.assert_array_equal(np.asarray(kept).reshape(reduced.shape), reduced)


def test_only_copies_of_arrays_the_variants_share_are_kept() -> None:
    """The source itself (unless the medium hands over its decoded picture), a step's result and
    a padded source are copied for one warp: a large image's copies do not outlive it."""
    from augtool.media.image.transforms import fusion
    from augtool.media.image.transforms.warp import warp

    image = random_pixels((48, 64, 3), 2)
    reductions = fusion.Reductions()
    steps = [
        REGISTRY["random_brightness_contrast"](),
        REGISTRY["rotate"](limit=20),
        REGISTRY["random_resized_crop"](size=[40, 52]),
    ]
    for seed in range(3):
        out, records = run(steps, image, np.random.default_rng(seed), reductions=reductions)
        np.testing.assert_array_equal(out, replay(records, image))
    matrix = np.array([[0.9, 0.2, -3.0], [-0.2, 0.9, 5.0], [0.0, 0.0, 1.0]])
    for border in ("constant", "reflect"):
        kept = warp(image, matrix, (30, 30), border, 0, "bilinear", "pillow", reductions.pillow)
        np.testing.assert_array_equal(kept, warp(image, matrix, (30, 30), border, 0, "bilinear"))
    assert reductions.pillows == []


def test_a_decoded_picture_is_the_copy_its_variants_warp() -> None:
    """The medium hands the decoded picture to the warps (no copy made at all); every variant
    gives the bytes of a warp that makes its own copy of the decoded array."""
    from augtool.media.image import codecs
    from augtool.media.image.medium import ImageMedium

    decoded = codecs.decode(jpeg_bytes(3, (80, 60)), ["JPEG"])
    medium = ImageMedium()
    cache = medium.new_cache()
    steps = [REGISTRY["rotate"](limit=20), REGISTRY["random_resized_crop"](size=[48, 64])]
    for seed in range(3):
        image, records = medium.run(steps, decoded, seed, "pillow", cache)
        assert image is not None
        np.testing.assert_array_equal(image, replay(records, np.array(decoded.image)))
        np.testing.assert_array_equal(medium.replay(records, decoded, "pillow", cache), image)
    assert len(cache.pillows) == 1 and cache.pillows[0][1] is decoded.picture
