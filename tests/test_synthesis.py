"""Multi-source synthesis (mixup, cutmix): partners picked by the plan, recorded with their
sha256, blended by pure kernels, re-derived by validate, and redone when a partner changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import RUN_STATE, coloured, expand, file_records, invoke, tree_digest
from PIL import Image

from augtool.layouts.discovery import Source
from augtool.media.image.transforms import SYNTHESIS, replay, run
from augtool.run.partners import Pools, choose_partners

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)
SIZE = (40, 48)  # (height, width)


def solid(colour: tuple[int, int, int], size: tuple[int, int] = SIZE) -> np.ndarray:
    return np.full((*size, 3), colour, dtype=np.uint8)


def write_classes(root: Path, colours: dict[str, tuple[int, int, int]], each: int = 3) -> Path:
    """A class-folder dataset: ``each`` PNGs of one flat colour per class under train/."""
    for name, colour in colours.items():
        folder = root / "train" / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(each):
            Image.fromarray(solid(colour)).save(folder / f"{name}_{index}.png")
    return root


def write_recipe(path: Path, steps: str, variants: int = 2) -> Path:
    path.write_text(f"version: 1\nseed: 3\nvariants: {variants}\npipeline:\n{steps}")
    return path


# --- kernels -------------------------------------------------------------------------------------


def test_mixup_blends_by_its_recorded_weight() -> None:
    step = SYNTHESIS["mixup"](alpha=0.4)
    partner = solid(BLUE, (20, 24))  # resized to the image's size
    image, records = run([step], solid(RED), np.random.default_rng(0), partners=[partner])
    lam = records[0]["params"]["lam"]
    expected = np.rint(lam * np.array(RED) + (1 - lam) * np.array(BLUE))
    assert 0 < lam < 1
    assert np.array_equal(image[10, 10], expected.astype(np.uint8))
    assert np.array_equal(replay(records, solid(RED), partners=[partner]), image)


def test_cutmix_pastes_the_partner_inside_its_box_and_nowhere_else() -> None:
    step = SYNTHESIS["cutmix"](alpha=1.0)
    for seed in range(8):
        image, records = run(
            [step], solid(RED), np.random.default_rng(seed), partners=[solid(BLUE)]
        )
        params = records[0]["params"]
        left, top, right, bottom = params["box"]
        inside = np.zeros(SIZE, dtype=bool)
        inside[top:bottom, left:right] = True
        assert coloured(image, BLUE).tolist() == inside.tolist()
        assert coloured(image, RED).tolist() == (~inside).tolist()
        assert params["area"] == pytest.approx(inside.mean())
        assert SYNTHESIS["cutmix"].shares(params) == pytest.approx(
            [1 - inside.mean(), inside.mean()]
        )


def test_a_grey_partner_mixes_with_a_colour_image() -> None:
    grey = np.full((*SIZE, 1), 200, dtype=np.uint8)
    out = SYNTHESIS["mixup"].blend(solid(RED), [grey], {"lam": 0.5, "partners": [0]})
    assert out.shape == (*SIZE, 3)
    assert out[0, 0].tolist() == [210, 115, 115]


YELLOW = (200, 200, 30)


@pytest.mark.parametrize("seed", range(6))
def test_mosaic_puts_each_source_in_its_window_and_boxes_on_their_pixels(seed: int) -> None:
    from augtool.media.image.synthesis_targets import synthesised
    from augtool.media.image.targets import Targets

    colours = [RED, BLUE, GREEN, YELLOW]
    sizes = [(30, 40), (44, 30), (40, 40), (20, 50)]
    images = [np.full((*size, 3), 90, np.uint8) for size in sizes]
    targets = []
    for image, colour, (h, w) in zip(images, colours, sizes, strict=True):
        box = (w // 4, h // 4, w // 4 + w // 2, h // 4 + h // 2)
        image[box[1] : box[3], box[0] : box[2]] = colour
        targets.append(Targets((h, w), boxes=[box], box_labels=[{"object": colour}]))
    step = SYNTHESIS["mosaic"](size=[64, 80])
    out, records = run([step], images[0], np.random.default_rng(seed), partners=images[1:])
    assert out.shape == (64, 80, 3)
    moved = synthesised("mosaic", records[0]["params"], targets[0], targets[1:])
    assert moved.size == (64, 80)
    for box, label in zip(moved.boxes, moved.box_labels, strict=True):
        painted = coloured(out, label["object"])
        x0, y0, x1, y1 = box
        if x1 - x0 < 1 or y1 - y0 < 1:
            assert painted.sum() < 2 * max(x1 - x0, y1 - y0, 1) * 64  # only a sliver showed
            continue
        rows, cols = np.nonzero(painted)
        # The box encloses the object's pixels, to within the resampling's edge pixel.
        assert abs(cols.min() - x0) <= 1 and abs(cols.max() + 1 - x1) <= 1
        assert abs(rows.min() - y0) <= 1 and abs(rows.max() + 1 - y1) <= 1
    assert replay(records, images[0], partners=images[1:]).tobytes() == out.tobytes()


@pytest.mark.parametrize("name", ["mosaic", "cutmix"])
@pytest.mark.parametrize("seed", range(6))
def test_polygons_and_keypoints_of_every_source_land_on_their_pixels(name: str, seed: int) -> None:
    # Each source: a rectangle of its colour, its outline as a polygon, a keypoint in each
    # corner cell of it. A keypoint still visible sits on its colour; a polygon's vertices
    # bound its colour's pixels (what covers part of it is not cut out of it).
    from augtool.media.image.synthesis_targets import synthesised
    from augtool.media.image.targets import Targets

    colours = [RED, BLUE, GREEN, YELLOW]
    sizes = [(30, 40), (44, 30), (40, 40), (20, 50)]
    images = [np.full((*size, 3), 90, np.uint8) for size in sizes]
    targets = []
    for image, colour, (h, w) in zip(images, colours, sizes, strict=True):
        x0, y0, x1, y1 = w // 4, h // 4, w // 4 + w // 2, h // 4 + h // 2
        image[y0:y1, x0:x1] = colour
        inset = [(x0 + 1.5, y0 + 1.5), (x1 - 1.5, y0 + 1.5), (x1 - 1.5, y1 - 1.5)]
        targets.append(
            Targets(
                (h, w),
                polygons=[[(x0, y0), (x1, y0), (x1, y1), (x0, y1)]],
                polygon_labels=[colour],
                keypoints=[[(x, y, 2) for x, y in inset]],
            )
        )
    count = SYNTHESIS[name].partner_count
    step = SYNTHESIS[name](**({"size": [64, 80]} if name == "mosaic" else {}))
    partners = images[1 : 1 + count]
    out, records = run([step], images[0], np.random.default_rng(seed), partners=partners)
    moved = synthesised(name, records[0]["params"], targets[0], targets[1 : 1 + count])
    shown = 0
    for polygon, colour, points in zip(
        moved.polygons, moved.polygon_labels, moved.keypoints, strict=True
    ):
        for x, y, v in points:
            if v:
                assert coloured(out, colour)[int(y), int(x)], (colour, x, y)
                shown += 1
        painted = coloured(out, colour)
        if painted.sum() > 4 and len(polygon):
            rows, cols = np.nonzero(painted)
            assert (
                cols.min() >= polygon[:, 0].min() - 1 and cols.max() + 1 <= polygon[:, 0].max() + 1
            )
            assert (
                rows.min() >= polygon[:, 1].min() - 1 and rows.max() + 1 <= polygon[:, 1].max() + 1
            )
    assert shown


# --- the plan's choice ---------------------------------------------------------------------------


def sources(*paths: str) -> tuple[Source, ...]:
    return tuple(Source(p, p.split("/")[0], p.split("/")[1], True) for p in sorted(paths))


def test_partners_come_from_the_same_split_and_class_never_the_source() -> None:
    found = sources(
        "train/cat/a.png", "train/cat/b.png", "train/dog/c.png", "val/cat/d.png", "val/dog/e.png"
    )
    pools = Pools.of(found)
    me = found[0]
    any_class = choose_partners(pools, me, 1, ((1, False),), 50)
    assert {p[0].path for p in any_class} == {"train/cat/b.png", "train/dog/c.png"}
    same = choose_partners(pools, me, 1, ((2, True),), 10)
    assert {p.path for ps in same for p in ps} == {"train/cat/b.png"}
    alone = choose_partners(pools, found[2], 1, ((1, True),), 1)
    assert [[p.source for p in ps] for ps in alone] == [[found[2]]]  # no other dog: itself
    assert choose_partners(pools, me, 1, ((1, False),), 50) == any_class  # deterministic


# --- expand, validate, rerun --------------------------------------------------------------------


@pytest.fixture
def classes(tmp_path: Path) -> Path:
    return write_classes(tmp_path / "in", {"red": RED, "blue": BLUE})


def test_cutmix_outputs_record_partners_and_area_weighted_soft_labels(
    classes: Path, tmp_path: Path
) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", "  - cutmix: {alpha: 1.0}\n", variants=3)
    out = expand(recipe, classes, tmp_path / "out")
    records = [r for r in file_records(out).values() if r["role"] == "augmented"]
    assert len(records) == 18
    mixed = 0
    for record in records:
        (partner,) = record["partners"]
        assert partner["sha256"] == file_records(out)[partner["path"]]["sha256"]
        pixels = np.asarray(Image.open(out / record["path"]).convert("RGB"))
        own = RED if record["label"] == "red" else BLUE
        theirs = RED if "/red/" in partner["path"] else BLUE
        share = record["steps"][0]["params"]["area"]
        if own != theirs:
            mixed += 1
            assert coloured(pixels, theirs).mean() == pytest.approx(share)
            assert record["soft_label"][partner["path"].split("/")[1]] == round(share, 6)
        assert sum(record["soft_label"].values()) == pytest.approx(1.0)
    assert mixed > 0


def test_synthesis_is_the_same_with_two_jobs_and_validates(classes: Path, tmp_path: Path) -> None:
    steps = (
        "  - mixup: {alpha: 0.4, p: 0.7}\n  - cutmix: {same_class: true, p: 0.7}\n  - hflip: {}\n"
    )
    recipe = write_recipe(tmp_path / "r.yaml", steps)
    one = expand(recipe, classes, tmp_path / "one", "--jobs", "1")
    two = expand(recipe, classes, tmp_path / "two", "--jobs", "2")
    assert tree_digest(one, RUN_STATE) == tree_digest(two, RUN_STATE)
    result = invoke(
        "validate", "manifest", one / "manifest.jsonl", "--source", classes, "--recompute", "all"
    )
    assert result.exit_code == 0, result.output
    assert "12 outputs re-derived" in result.output


def test_recompute_fails_when_a_partner_changed(classes: Path, tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", "  - mixup: {}\n")
    out = expand(recipe, classes, tmp_path / "out")
    partner = file_records(out)["train/red/red_0__v00.png"]["partners"][0]["path"]
    Image.fromarray(solid(GREEN)).save(classes / partner)
    result = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", classes, "--recompute", "all"
    )
    assert result.exit_code == 1
    assert f"its partner {partner}'s sha256 is not the recorded one" in result.output


def test_a_rerun_redoes_exactly_the_outputs_whose_partner_changed(
    classes: Path, tmp_path: Path
) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", "  - mixup: {}\n", variants=3)
    out = expand(recipe, classes, tmp_path / "out")
    before = file_records(out)
    changed = "train/blue/blue_1.png"
    Image.fromarray(solid(GREEN)).save(classes / changed)
    expand(recipe, classes, out)
    after = file_records(out)
    dependent = {
        path
        for path, r in before.items()
        if any(p["path"] == changed for p in r.get("partners", []))
    }
    assert dependent
    redone = {path for path in before if after[path]["sha256"] != before[path]["sha256"]}
    own = {p for p in before if p.startswith("train/blue/blue_1")}
    assert redone - own == dependent
    for path in dependent:
        assert after[path]["partners"][0]["sha256"] != before[path]["partners"][0]["sha256"]


def test_a_synthesis_step_inside_a_block_is_refused(classes: Path, tmp_path: Path) -> None:
    steps = "  - one_of:\n      transforms:\n        - mixup: {}\n        - hflip: {}\n"
    recipe = write_recipe(tmp_path / "r.yaml", steps)
    result = invoke("expand", recipe, classes, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "mixup takes partner images and must be a step of the pipeline itself" in result.output


def test_labels_that_cannot_take_partners_are_refused_by_name(tmp_path: Path) -> None:
    recipe = write_recipe(tmp_path / "r.yaml", "  - mixup: {}\n")
    listed = tmp_path / "listed"
    listed.mkdir()
    Image.fromarray(solid(RED)).save(listed / "a.png")
    (listed / "metadata.csv").write_text("file_name,label\na.png,red\n")
    result = invoke("expand", recipe, listed, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "synthesis steps do not move imagelist labels yet" in result.output
    # preview refuses them as expand does
    shown = invoke("preview", recipe, listed, "-o", tmp_path / "sheet.png")
    assert shown.exit_code == 2, shown.output
    assert "synthesis steps do not move imagelist labels yet" in shown.output
    assert not (tmp_path / "sheet.png").exists()


def test_a_dry_run_forecasts_the_outputs_a_changed_partner_redoes(
    classes: Path, tmp_path: Path
) -> None:
    import json

    recipe = write_recipe(tmp_path / "r.yaml", "  - mixup: {}\n", variants=3)
    out = expand(recipe, classes, tmp_path / "out")
    before = file_records(out)
    changed = "train/blue/blue_1.png"
    dependent = {
        path
        for path, r in before.items()
        if any(p["path"] == changed for p in r.get("partners", []))
        and not path.startswith("train/blue/blue_1")
    }
    Image.fromarray(solid(GREEN)).save(classes / changed)
    result = invoke("expand", recipe, classes, "-o", out, "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    forecast = json.loads(result.stdout)
    # A source's outputs are made again together (its original and 3 variants): the changed
    # source's, and those of every source with a variant that took it.
    sources = {before[path]["source"]["path"] for path in dependent}
    assert forecast["made"] == 4 * (1 + len(sources))
