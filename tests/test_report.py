"""``augtool report``: drift, over-augmentation, data-quality issues, the cache, bad input."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES, expand, invoke
from PIL import Image, ImageFilter

pytest.importorskip("scipy", reason="augtool report needs the report extra (scipy)")

from augtool import api
from augtool.report import DatasetReport

REPO = Path(__file__).resolve().parent.parent

MILD = """\
version: 1
seed: 1
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - random_brightness_contrast: {brightness_limit: 0.1, contrast_limit: 0.1}
"""
STRONG = """\
version: 1
seed: 1
variants: 2
pipeline:
  - rotate: {limit: 180, border: constant}
  - random_resized_crop: {size: [96, 96], scale: [0.05, 0.15]}
  - gaussian_noise: {std: [30, 50]}
  - gaussian_blur: {sigma: [2, 4]}
"""


def scene(seed: int, size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A photo-like test image: smooth colour gradients with a few shapes and some noise."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = np.stack(
        [
            rng.uniform(40, 200) + rng.uniform(-60, 60) * x + rng.uniform(-40, 40) * y,
            rng.uniform(40, 200) + rng.uniform(-60, 60) * y,
            rng.uniform(40, 200) + rng.uniform(-60, 60) * (x - y),
        ],
        axis=-1,
    )
    for _ in range(3):
        cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(4, 14)
        disc = (np.mgrid[0:height, 0:width][1] - cx) ** 2 + (
            np.mgrid[0:height, 0:width][0] - cy
        ) ** 2 < r * r
        base[disc] = rng.uniform(0, 255, 3)
    base += rng.normal(0, 6, base.shape)
    return np.clip(base, 0, 255).astype(np.uint8)


def write_scenes(root: Path, count: int, gain: float = 1.0, sizes: bool = False) -> Path:
    for index in range(count):
        size = (64 + 8 * (index % 5), 48 + 4 * (index % 3)) if sizes else (64, 48)
        pixels = np.clip(scene(index, size).astype(np.float64) * gain, 0, 255).astype(np.uint8)
        path = root / f"img_{index:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
    return root


def report(*paths: Path, cache: Path | bool = False, **options: object) -> DatasetReport:
    return api.make_report(list(paths), jobs=1, cache=cache, **options)  # type: ignore[arg-type]


def verdicts(found: DatasetReport) -> dict[str, bool]:
    return {r.statistic: r.drift for r in found.drift}


def test_brighter_dataset_drifts_on_brightness_not_on_sizes(tmp_path: Path) -> None:
    a = write_scenes(tmp_path / "a", 60)
    b = write_scenes(tmp_path / "b", 60, gain=1.3)
    found = report(a, b)
    drift = verdicts(found)
    assert drift["brightness"] is True
    assert (drift["width"], drift["height"], drift["aspect"]) == (False, False, False)
    assert found.drifted
    assert found.mode == "drift"


def test_a_dataset_against_a_random_half_of_itself_does_not_drift(tmp_path: Path) -> None:
    a = write_scenes(tmp_path / "a", 80, sizes=True)
    half = tmp_path / "half"
    half.mkdir()
    for path in random.Random(3).sample(sorted(a.iterdir()), 40):
        shutil.copy(path, half / path.name)
    found = report(a, half)
    assert not found.drifted, [r for r in found.drift if r.drift]
    assert found.drift_share < 0.5


def photos(tmp_path: Path) -> Path:
    """The sample's training cats and rockets: enough sources for quartiles, quick to expand."""
    root = tmp_path / "photos"
    for cls in ("cat", "rocket"):
        shutil.copytree(SAMPLES / "train" / cls, root / "train" / cls)
    return root


@pytest.mark.slow
def test_a_strong_recipe_trips_over_augmentation_and_a_mild_one_does_not(tmp_path: Path) -> None:
    source = photos(tmp_path)
    results = {}
    for name, text in (("mild", MILD), ("strong", STRONG)):
        recipe = tmp_path / f"{name}.yaml"
        recipe.write_text(text)
        out = expand(recipe, source, tmp_path / name, "--jobs", "1")
        result = invoke(
            "report",
            out / "manifest.jsonl",
            "--json",
            "--no-cache",
            "-j",
            "1",
            "--fail-on",
            "over-augmentation",
        )
        results[name] = (result.exit_code, json.loads(result.stdout))
    mild_code, mild = results["mild"]
    strong_code, strong = results["strong"]
    assert mild_code == 0 and not mild["over_augmentation"]["verdict"]
    assert mild["over_augmentation"]["over_augmented"] == []
    assert strong_code == 1 and strong["over_augmentation"]["verdict"]
    assert strong["over_augmentation"]["share"] > 0.25
    assert strong["failures"][0].startswith("over-augmentation")
    mixes = strong["over_augmentation"]["mixes"]
    assert mixes[0]["mix"] == "rotate + random_resized_crop + gaussian_noise + gaussian_blur"
    assert mild["over_augmentation"]["mean_ssim"] > 0.9 > strong["over_augmentation"]["mean_ssim"]
    lowest = [e["ssim"] for e in mild["over_augmentation"]["lowest_ssim"]]
    assert len(lowest) == 12 and lowest == sorted(lowest)  # the page's grid, even when all pass


def test_planted_blurry_dark_and_duplicate_images_are_found(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    cats = sorted((SAMPLES / "train" / "cat").iterdir())
    for path in cats:
        shutil.copy(path, root / path.name)
    photo = Image.open(cats[0]).convert("RGB")
    photo.filter(ImageFilter.GaussianBlur(4)).save(root / "planted_blurry.png")
    Image.fromarray((np.asarray(photo) * 0.12).astype(np.uint8)).save(root / "planted_dark.png")
    shutil.copy(cats[1], root / "planted_exact_copy.jpg")
    photo.save(root / "planted_near_copy.jpg", quality=55)
    Image.new("RGB", (300, 60), (120, 120, 120)).save(root / "planted_flat_strip.png")
    found = report(root).issues["dataset"]
    assert "planted_blurry.png" in found["blurry"]
    assert found["dark"] == ["planted_dark.png"]
    assert "planted_flat_strip.png" in found["low_information"]
    assert found["odd_aspect_ratio"] == ["planted_flat_strip.png"]
    assert [cats[1].name, "planted_exact_copy.jpg"] in found["exact_duplicates"]
    assert any({cats[0].name, "planted_near_copy.jpg"} <= set(g) for g in found["near_duplicates"])
    assert not {p.name for p in cats} & set(found["blurry"] + found["dark"])
    result = invoke("report", root, "--no-cache", "--fail-on", "duplicates")
    assert result.exit_code == 1
    assert "Error: duplicates:" in result.output


def test_two_datasets_with_no_common_class_still_report(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for root, classes in ((a, ("cat", "coffee")), (b, ("rocket",))):
        for cls in classes:
            shutil.copytree(SAMPLES / "train" / cls, root / "train" / cls)
    result = invoke("report", a, b, "--json", "--no-cache", "-j", "1")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert "the two sides have no class in common" in found["findings"]
    assert "classes only in B: rocket" in found["findings"]
    by_name = {r["statistic"]: r for r in found["drift"]["statistics"]}
    assert by_name["class"]["drift"] and "rocket" in by_name["class"]["note"]


def test_a_rereport_of_an_unchanged_dataset_decodes_nothing(tmp_path: Path) -> None:
    root = write_scenes(tmp_path / "a", 12)
    cache = tmp_path / "cache.sqlite"
    first = report(root, cache=cache)
    second = report(root, cache=cache)
    assert (first.decoded, second.decoded) == (12, 0)
    assert second.as_json()["sides"] == first.as_json()["sides"]
    Image.fromarray(scene(99)).save(root / "img_000.png")  # one file changed: one decode
    assert report(root, cache=cache).decoded == 1


def test_unreadable_files_are_listed_and_the_report_goes_on(tmp_path: Path) -> None:
    root = write_scenes(tmp_path / "a", 6)
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    result = invoke("report", root, "--no-cache")
    assert result.exit_code == 0, result.output
    assert "unreadable (dataset) broken.jpg" in result.output
    found = report(root)
    assert found.sides[0].count == 6
    assert [u["path"] for u in found.sides[0].unreadable] == ["broken.jpg"]


def test_a_manifest_that_fails_its_digest_is_refused_unless_no_verify(tmp_path: Path) -> None:
    source = write_scenes(tmp_path / "src", 4)
    recipe = tmp_path / "mild.yaml"
    recipe.write_text(MILD)
    out = expand(recipe, source, tmp_path / "out", "--jobs", "1")
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    lines[1] = lines[1].replace('"role":"original"', '"role":"original" ')
    manifest.write_text("".join(lines))
    refused = invoke("report", manifest, "--no-cache")
    assert refused.exit_code == 2
    assert "footer sha256" in refused.output and "--no-verify" in refused.output
    assert invoke("report", manifest, "--no-cache", "--no-verify").exit_code == 0


def test_datasets_of_different_media_are_a_clear_error(tmp_path: Path) -> None:
    images = write_scenes(tmp_path / "images", 3)
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    (sounds / "a.wav").write_bytes(b"RIFF....WAVE")
    result = invoke("report", images, sounds, "--no-cache")
    assert result.exit_code == 2
    assert "holds image" in result.output and "holds audio" in result.output
    assert "one medium" in result.output


@pytest.mark.parametrize("sample", ["detection-yolo", "detection-coco"])
def test_detection_boxes_are_counted_per_class(sample: str) -> None:
    found = report(REPO / "samples" / sample)
    side = found.as_json()["sides"][0]
    assert side["layout"] == sample.split("-")[1]
    assert side["boxes"] and sum(side["counts"]["box_class"].values()) == side["boxes"]
    assert {"cat", "rocket"} <= set(side["counts"]["box_class"])
    assert {"box_width", "box_cx", "boxes_per_image"} <= set(side["statistics"])
    assert side["unreadable"] == []


def test_an_unreadable_label_file_is_listed_and_the_report_goes_on(tmp_path: Path) -> None:
    root = tmp_path / "yolo"
    shutil.copytree(REPO / "samples" / "detection-yolo", root)
    broken = sorted((root / "labels" / "train").glob("*.txt"))[0]
    broken.write_text("0 0.5 0.5 not-a-number 0.2\n")
    side = report(root).as_json()["sides"][0]
    assert [u["path"] for u in side["unreadable"]] == [broken.relative_to(root).as_posix()]
    assert side["images"] == 14 and side["boxes"] > 0


def test_unknown_fail_on_and_threshold_are_usage_errors(tmp_path: Path) -> None:
    root = write_scenes(tmp_path / "a", 2)
    assert invoke("report", root, "--fail-on", "drift,typo").exit_code == 2
    result = invoke("report", root, "--no-cache", "--quality", "min_sim=0.3")
    assert result.exit_code == 2 and "min_ssim" in result.output


def test_a_recipe_quality_section_sets_thresholds_the_command_line_overrides(
    tmp_path: Path,
) -> None:
    source = write_scenes(tmp_path / "src", 6)
    recipe = tmp_path / "strict.yaml"
    recipe.write_text(MILD + "quality: {min_ssim: 0.9999, max_over_augmented: 0.1}\n")
    out = expand(recipe, source, tmp_path / "out", "--jobs", "1")
    manifest = out / "manifest.jsonl"
    strict = report(manifest)
    assert strict.thresholds.min_ssim == 0.9999 and strict.over is not None
    assert strict.over["verdict"]
    relaxed = invoke(
        "report",
        manifest,
        "--no-cache",
        "--quality",
        "min_ssim=0.2",
        "--json",
        "--fail-on",
        "over-augmentation",
    )
    assert relaxed.exit_code == 0, relaxed.output
    assert json.loads(relaxed.stdout)["thresholds"]["min_ssim"] == 0.2


def test_an_unknown_quality_threshold_is_a_recipe_error(tmp_path: Path) -> None:
    recipe = tmp_path / "typo.yaml"
    recipe.write_text(MILD + "quality:\n  min_sim: 0.3\n")
    result = invoke("validate", "recipe", recipe)
    assert result.exit_code == 2
    assert "typo.yaml:" in result.output and "did you mean 'min_ssim'" in result.output


def test_the_statistics_match_their_direct_definitions() -> None:
    from augtool.report.stats import image_stats

    rgb = scene(5, (80, 60))
    stats = image_stats(rgb, 80, 60, "PNG")
    channels = rgb.astype(np.float64)
    grey = channels @ np.array([0.299, 0.587, 0.114])
    rg = channels[..., 0] - channels[..., 1]
    yb = 0.5 * (channels[..., 0] + channels[..., 1]) - channels[..., 2]
    colourful = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert stats["colourfulness"] == pytest.approx(colourful, abs=1e-4)
    assert stats["mean_g"] == pytest.approx(channels[..., 1].mean(), abs=1e-4)
    assert stats["std_b"] == pytest.approx(channels[..., 2].std(), abs=1e-4)
    assert stats["brightness"] == pytest.approx(grey.mean() / 255, abs=0.003)
    assert stats["contrast"] == pytest.approx(grey.std() / 255, abs=0.003)
    assert stats["aspect"] == pytest.approx(80 / 60)


def test_ssim_is_scikit_images() -> None:
    metrics = pytest.importorskip("skimage.metrics")
    from augtool.report.stats import mirror_ssim, ssim

    rng = np.random.default_rng(1)
    for noise in (5, 30, 80):
        a = rng.integers(0, 256, (16, 16)).astype(np.float64)
        b = np.clip(a + rng.normal(0, noise, a.shape), 0, 255)
        expected = metrics.structural_similarity(a, b, data_range=255, win_size=7)
        assert ssim(a, b) == pytest.approx(expected, abs=1e-9)
    mirrored = a[:, ::-1].copy()
    assert mirror_ssim(np.stack([mirrored, b]), a) == pytest.approx([1.0, ssim(b, a)])


def test_an_expansion_without_originals_reports_against_source(tmp_path: Path) -> None:
    """A detection expansion written with ``originals: skip``: the sources are named with
    --source, and boxes are counted per class on both sides through the layout."""
    samples = REPO / "samples" / "detection-yolo"
    recipe = tmp_path / "yolo.yaml"
    recipe.write_text(MILD + "output: {originals: skip}\n")
    out = expand(recipe, samples, tmp_path / "out", "--jobs", "1")
    refused = invoke("report", out / "manifest.jsonl", "--no-cache")
    assert refused.exit_code == 2 and "--source" in refused.output
    result = invoke(
        "report", out / "manifest.jsonl", "--source", samples, "--no-cache", "--json", "-j", "1"
    )
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    sources, expanded = found["sides"]
    assert sources["layout"] == expanded["layout"] == "yolo"
    assert sources["root"] == str(samples)
    assert set(sources["counts"]["box_class"]) == set(expanded["counts"]["box_class"])
    assert found["over_augmentation"]["variants"] == expanded["images"]
    assert {r["statistic"] for r in found["drift"]["statistics"]} >= {"box_width", "box_class"}


def test_the_recipe_schema_knows_the_quality_section() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from augtool.recipe.schema import recipe_schema

    validator = jsonschema.Draft202012Validator(recipe_schema())
    good = yaml.safe_load(MILD + "quality: {min_ssim: 0.3, near_duplicate_bits: 8}\n")
    assert list(validator.iter_errors(good)) == []
    for bad in ("quality: {min_sim: 0.3}\n", "quality: {min_ssim: -1}\n"):
        assert list(validator.iter_errors(yaml.safe_load(MILD + bad))), bad


def test_near_blank_and_near_identical_variants_are_listed(tmp_path: Path) -> None:
    source = write_scenes(tmp_path / "src", 4)
    recipe = tmp_path / "extremes.yaml"
    recipe.write_text(
        "version: 1\nseed: 3\nvariants: 3\npipeline:\n"
        "  - coarse_dropout: {num_holes_range: 1, hole_height_range: 1.0,"
        " hole_width_range: 1.0, fill: 128, p: 0.5}\n"
    )
    out = expand(recipe, source, tmp_path / "out", "--jobs", "1")
    over = report(out / "manifest.jsonl").over
    assert over is not None
    mixes = {m["mix"]: m for m in over["mixes"]}
    blank = {e["path"] for e in over["near_blank"]}
    same = {e["path"] for e in over["near_identical"]}
    assert blank and same and not blank & same
    assert len(blank) == mixes["coarse_dropout"]["count"]
    assert len(same) == mixes["(none)"]["count"]
    assert all(e["ssim"] >= 0.995 for e in over["near_identical"])
