"""``mask_dropout``: whole objects of the mask (connected regions of one class id) removed from
the image and the mask together, wherever the earlier steps moved them, and re-derived from the
record alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import expand, file_records, invoke
from PIL import Image

from augtool.media.image.targets import Targets, apply_targets
from augtool.media.image.transforms import REGISTRY, replay, run
from augtool.media.image.transforms.mask_dropout import objects

FILL = (255, 0, 255)
#: Three objects: two of class 1 (apart), one of class 2 touching the second one.
OBJECTS = [(1, (4, 4, 14, 12)), (1, (20, 6, 30, 16)), (2, (30, 16, 40, 24))]
SIZE = (32, 48)


def _scene() -> tuple[np.ndarray, np.ndarray]:
    image = np.full((*SIZE, 3), 90, dtype=np.uint8)
    mask = np.zeros(SIZE, dtype=np.uint8)
    for index, (cls, (x0, y0, x1, y1)) in enumerate(OBJECTS):
        image[y0:y1, x0:x1] = (40 * index + 60, 200, 30)
        mask[y0:y1, x0:x1] = cls
    return image, mask


def test_objects_are_regions_of_one_id_joined_by_any_of_eight_neighbours() -> None:
    mask = np.zeros((6, 8), dtype=np.uint8)
    mask[0:2, 0:2] = 1
    mask[2, 2] = 1  # a diagonal neighbour: the same object
    mask[0, 5:7] = 1
    mask[1, 4] = 1  # diagonal again
    mask[4, 0] = 1
    mask[4:6, 5:8] = 2
    mask[3, 4] = 3  # touches class 2 diagonally, but another id: its own object
    found = [o.tolist() for o in objects(mask)]
    assert found == [
        [[0, 0, 2], [1, 0, 2], [2, 2, 3]],
        [[0, 5, 7], [1, 4, 5]],
        [[3, 4, 5]],
        [[4, 0, 1]],
        [[4, 5, 8], [5, 5, 8]],
    ]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize(
    ("before", "after"),
    [([], []), (["transpose"], []), (["hflip", "vflip"], []), ([], ["transpose", "rot90"])],
)
def test_the_removed_objects_go_from_the_image_and_the_mask_together(
    seed: int, before: list[str], after: list[str]
) -> None:
    image, mask = _scene()
    targets = Targets(SIZE, mask=mask)
    dropout = REGISTRY["mask_dropout"](max_objects=[1, 2], fill=list(FILL), p=1.0)
    steps = [REGISTRY[name](p=1.0) for name in before] + [dropout]
    steps += [REGISTRY[name](p=1.0) for name in after]
    located = lambda records: apply_targets(records, targets)  # noqa: E731
    out, records = run(steps, image, np.random.default_rng(seed), located=located)
    # The same steps with the dropout's record taken out: what it changed is the difference.
    without = [r for r in records if r["name"] != "mask_dropout"]
    kept_only = replay(without, image)
    moved = apply_targets(records, targets).mask
    unmoved = apply_targets(without, targets).mask
    assert moved is not None and unmoved is not None
    removed = (unmoved != 0) & (moved == 0)
    assert np.array_equal(np.all(out == FILL, axis=2), removed)
    assert np.array_equal(out[~removed], kept_only[~removed])
    assert np.array_equal(moved[~removed], unmoved[~removed])
    # Whole objects only: each of the scene's objects is removed entirely or not at all.
    regions = objects(unmoved)
    dropped = [bool(removed[r[0, 0], r[0, 1]]) for r in regions]
    assert 1 <= sum(dropped) <= 2
    for region, gone in zip(regions, dropped, strict=True):
        assert all(removed[row, start:end].all() == gone for row, start, end in region)
    assert np.array_equal(replay(records, image), out)


def test_without_a_mask_nothing_is_removed() -> None:
    image, _ = _scene()
    step = REGISTRY["mask_dropout"](p=1.0)
    out, records = run([step], image, np.random.default_rng(0))
    assert np.array_equal(out, image) and records[0]["params"]["runs"] == []


def test_a_masks_dataset_expands_and_rederives_with_its_objects_removed(tmp_path: Path) -> None:
    source = tmp_path / "in"
    for folder in ("images", "masks"):
        (source / folder / "train").mkdir(parents=True)
    image, mask = _scene()
    for name in ("a", "b"):
        Image.fromarray(image).save(source / "images" / "train" / f"{name}.png")
        Image.fromarray(mask, "L").save(source / "masks" / "train" / f"{name}.png")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\nseed: 3\nvariants: 4\noutput: {format: png}\npipeline:\n"
        "  - rot90: {}\n  - mask_dropout: {max_objects: 2, fill: [255, 0, 255]}\n"
    )
    out = expand(recipe, source, tmp_path / "out")
    variants = [
        p
        for p, r in file_records(out).items()
        if r["role"] == "augmented" and p.startswith("images/")
    ]
    assert len(variants) == 8
    for path in variants:
        pixels = np.asarray(Image.open(out / path).convert("RGB"))
        labels = np.asarray(Image.open(out / path.replace("images/", "masks/")))
        filled = np.all(pixels == FILL, axis=2)
        assert filled.any()
        assert not labels[filled].any()  # a removed object's pixels are background
        assert np.all(labels[~filled & ~np.all(pixels == 90, axis=2)] > 0)
    result = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert result.exit_code == 0, result.output
