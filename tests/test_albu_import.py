"""``augtool recipe import``: pipelines saved by the real Albumentations 2.0.8 (the MIT release,
in the test extra), one per transform both tools have, converted and checked to draw from the
same parameter ranges; blocks, p at every level, bbox_params, 1.x class paths, and what cannot
be converted.

Albumentations is run in a subprocess: it is imported nowhere else, and its import-time update
check stays off (NO_ALBUMENTATIONS_UPDATE).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke

import augtool

ROOT = Path(__file__).resolve().parents[1]

#: (Albumentations transform, the augtool step, its expected normalised parameters)
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("A.HorizontalFlip(p=0.3)", "hflip", {"p": 0.3}),
    ("A.VerticalFlip(p=0.4)", "vflip", {"p": 0.4}),
    ("A.RandomRotate90(p=0.6)", "rot90", {"k": [0, 1, 2, 3], "p": 0.6}),
    (
        "A.Rotate(limit=(-20, 30), border_mode=4, interpolation=2, p=0.7)",
        "rotate",
        {"limit": [-20.0, 30.0], "border": "reflect", "interpolation": "bicubic", "p": 0.7},
    ),
    (
        "A.Affine(scale=(0.8, 1.2), keep_ratio=True, translate_percent=(-0.1, 0.1),"
        " rotate=(-10, 15), shear={'x': (-5, 5), 'y': (-5, 5)}, p=0.5)",
        "affine",
        {
            "scale": [0.8, 1.2],
            "translate_percent": [-0.1, 0.1],
            "rotate": [-10.0, 15.0],
            "shear": [-5.0, 5.0],
            "p": 0.5,
        },
    ),
    ("A.Perspective(scale=(0.03, 0.08), p=0.5)", "perspective", {"scale": [0.03, 0.08]}),
    ("A.RandomCrop(height=100, width=120)", "random_crop", {"size": [100, 120], "p": 1.0}),
    ("A.CenterCrop(height=90, width=80)", "center_crop", {"size": [90, 80]}),
    (
        "A.RandomResizedCrop(size=(64, 96), scale=(0.5, 1.0), ratio=(0.8, 1.25))",
        "random_resized_crop",
        {"size": [64, 96], "scale": [0.5, 1.0], "ratio": [0.8, 1.25]},
    ),
    (
        "A.Resize(height=50, width=70, interpolation=0)",
        "resize",
        {"size": [50, 70], "interpolation": "nearest"},
    ),
    ("A.SmallestMaxSize(max_size=128)", "resize", {"size": 128}),
    (
        "A.Pad(padding=(4, 6), border_mode=1)",
        "pad",
        {"padding": [4, 6, 4, 6], "border": "replicate"},
    ),
    (
        "A.RandomBrightnessContrast(brightness_limit=(-0.1, 0.3), contrast_limit=0.25)",
        "random_brightness_contrast",
        {"brightness_limit": [-0.1, 0.3], "contrast_limit": [-0.25, 0.25], "p": 0.5},
    ),
    (
        "A.ColorJitter(brightness=0.3, contrast=(0.7, 1.4), saturation=0.1, hue=0.05)",
        "color_jitter",
        {"brightness": [0.7, 1.3], "contrast": [0.7, 1.4], "saturation": [0.9, 1.1]},
    ),
    ("A.RandomGamma(gamma_limit=(70, 130))", "gamma", {"gamma_limit": [70.0, 130.0]}),
    ("A.ToGray(p=0.2)", "grayscale", {"p": 0.2}),
    ("A.Posterize(num_bits=(3, 5))", "posterize", {"bits": [3, 5]}),
    ("A.Solarize(threshold_range=(0.4, 0.6))", "solarize", {"threshold": [102.0, 153.0]}),
    ("A.Equalize()", "equalize", {}),
    (
        "A.Sharpen(alpha=(0.1, 0.4), lightness=(0.6, 0.9))",
        "sharpen",
        {"alpha": [0.1, 0.4], "lightness": [0.6, 0.9]},
    ),
    ("A.ChannelShuffle()", "channel_shuffle", {}),
    ("A.InvertImg()", "invert", {}),
    ("A.AutoContrast(cutoff=2, method='pil')", "autocontrast", {"cutoff": [2.0, 2.0]}),
    (
        "A.GaussNoise(std_range=(0.02, 0.05), per_channel=False)",
        "gaussian_noise",
        {"std": [5.1, 12.75], "mean": [0.0, 0.0], "per_channel": False},
    ),
    (
        "A.SaltAndPepper(amount=(0.02, 0.04), salt_vs_pepper=(0.3, 0.7))",
        "salt_pepper",
        {"amount": [0.02, 0.04], "salt_vs_pepper": [0.3, 0.7]},
    ),
    ("A.GaussianBlur(sigma_limit=(0.4, 1.6))", "gaussian_blur", {"sigma": [0.4, 1.6]}),
    ("A.MotionBlur(blur_limit=(3, 9))", "motion_blur", {"blur_limit": [3, 9]}),
    ("A.ImageCompression(quality_range=(40, 80))", "jpeg_compression", {"quality": [40, 80]}),
    (
        "A.Downscale(scale_range=(0.3, 0.6))",
        "downscale",
        {"scale": [0.3, 0.6], "interpolation": "nearest"},
    ),
    (
        "A.CoarseDropout(num_holes_range=(2, 5), hole_height_range=(0.05, 0.15),"
        " hole_width_range=(0.1, 0.2), fill=0)",
        "coarse_dropout",
        {
            "num_holes_range": [2, 5],
            "hole_height_range": [0.05, 0.15],
            "hole_width_range": [0.1, 0.2],
        },
    ),
    (
        "A.Erasing(scale=(0.05, 0.2), ratio=(0.5, 2.0), fill='random')",
        "random_erasing",
        {"scale": [0.05, 0.2], "ratio": [0.5, 2.0], "value": "random"},
    ),
    ("A.Transpose(p=0.4)", "transpose", {"p": 0.4}),
    ("A.D4()", "d4", {"p": 1.0}),
    (
        "A.ShiftScaleRotate(shift_limit=0.1, scale_limit=(-0.2, 0.3), rotate_limit=20,"
        " border_mode=1)",
        "shift_scale_rotate",
        {
            "shift_limit": [-0.1, 0.1],
            "scale_limit": [-0.2, 0.3],
            "rotate_limit": [-20.0, 20.0],
            "border": "replicate",
        },
    ),
    ("A.RandomScale(scale_limit=0.3)", "random_scale", {"scale_limit": [-0.3, 0.3]}),
    ("A.LongestMaxSize(max_size=[320, 640])", "longest_max_size", {"max_size": [320, 640]}),
    (
        "A.PadIfNeeded(min_height=None, min_width=300, pad_height_divisor=32, position='top_left')",
        "pad_if_needed",
        {"min_height": None, "pad_height_divisor": 32, "min_width": 300, "position": "top_left"},
    ),
    ("A.BBoxSafeRandomCrop(erosion_rate=0.2)", "bbox_safe_random_crop", {"erosion_rate": 0.2}),
    (
        "A.RandomSizedBBoxSafeCrop(height=64, width=80, erosion_rate=0.1)",
        "random_sized_bbox_safe_crop",
        {"size": [64, 80], "erosion_rate": 0.1},
    ),
    (
        "A.CropNonEmptyMaskIfExists(height=40, width=50, ignore_values=[255])",
        "crop_non_empty_mask",
        {"size": [40, 50], "ignore_values": [0, 255]},
    ),
    (
        "A.GridDropout(ratio=0.3, unit_size_range=(10, 20))",
        "grid_dropout",
        {"ratio": 0.3, "unit_size_range": [10, 20], "random_offset": True},
    ),
    (
        "A.MaskDropout(max_objects=3, fill=255, fill_mask=7)",
        "mask_dropout",
        {"max_objects": [1, 3], "fill": 255, "fill_mask": 7},
    ),
    (
        "A.PixelDropout(dropout_prob=0.05, per_channel=True, drop_value=None)",
        "pixel_dropout",
        {"dropout_prob": 0.05, "per_channel": True, "drop_value": "random"},
    ),
    (
        "A.ElasticTransform(alpha=120, sigma=6, noise_distribution='uniform')",
        "elastic",
        {"alpha": 120.0, "sigma": 6.0, "interpolation": "bilinear"},
    ),
    (
        "A.ElasticTransform(alpha=300, sigma=10)",  # gaussian noise: alpha for the same spread
        "elastic",
        {"alpha": 300 * (math.sqrt(3) / 4.9), "sigma": 10.0},
    ),
    (
        "A.GridDistortion(num_steps=6, distort_limit=(-0.2, 0.4), interpolation=0)",
        "grid_distortion",
        {"num_steps": 6, "distort_limit": [-0.2, 0.4], "interpolation": "nearest"},
    ),
    (
        "A.OpticalDistortion(distort_limit=0.2, border_mode=4)",
        "optical_distortion",
        {"distort_limit": [-0.2, 0.2], "border": "reflect"},
    ),
    (
        "A.PiecewiseAffine(scale=(0.02, 0.04), nb_rows=5, nb_cols=3)",
        "piecewise_affine",
        {"scale": [0.02, 0.04], "nb_rows": 5, "nb_cols": 3},
    ),
    (
        "A.HueSaturationValue(hue_shift_limit=15, sat_shift_limit=(-20, 40), val_shift_limit=10)",
        "hue_saturation_value",
        {
            "hue_shift_limit": [-15.0, 15.0],
            "sat_shift_limit": [-20.0, 40.0],
            "val_shift_limit": [-10.0, 10.0],
        },
    ),
    (
        "A.RGBShift(r_shift_limit=10, g_shift_limit=(-5, 15), b_shift_limit=0)",
        "rgb_shift",
        {
            "r_shift_limit": [-10.0, 10.0],
            "g_shift_limit": [-5.0, 15.0],
            "b_shift_limit": [0.0, 0.0],
        },
    ),
    ("A.ToSepia(p=0.2)", "to_sepia", {"p": 0.2}),
    ("A.FancyPCA(alpha=0.2)", "fancy_pca", {"alpha": [0.2, 0.2]}),
    (
        "A.CLAHE(clip_limit=(1, 3), tile_grid_size=(4, 6))",
        "clahe",
        {"clip_limit": [1.0, 3.0], "tile_grid_size": [4, 6]},
    ),
    (
        "A.UnsharpMask(blur_limit=(3, 5), alpha=(0.3, 0.6), threshold=5)",
        "unsharp_mask",
        {"blur_limit": [3, 5], "alpha": [0.3, 0.6], "threshold": [5, 5]},
    ),
    (
        "A.Emboss(alpha=(0.1, 0.3), strength=(0.4, 0.8))",
        "emboss",
        {"alpha": [0.1, 0.3], "strength": [0.4, 0.8]},
    ),
    (
        "A.ISONoise(color_shift=(0.02, 0.04), intensity=(0.2, 0.4))",
        "iso_noise",
        {"color_shift": [0.02, 0.04], "intensity": [0.2, 0.4]},
    ),
    (
        "A.MultiplicativeNoise(multiplier=(0.8, 1.2), per_channel=True, elementwise=True)",
        "multiplicative_noise",
        {"multiplier": [0.8, 1.2], "per_channel": True, "elementwise": True},
    ),
    ("A.MedianBlur(blur_limit=(3, 5))", "median_blur", {"blur_limit": [3, 5]}),
    (
        "A.Defocus(radius=(2, 5), alias_blur=(0.2, 0.4))",
        "defocus",
        {"radius": [2, 5], "alias_blur": [0.2, 0.4]},
    ),
    (
        "A.ZoomBlur(max_factor=(1.0, 1.2), step_factor=(0.02, 0.04))",
        "zoom_blur",
        {"max_factor": [1.0, 1.2], "step_factor": [0.02, 0.04]},
    ),
    (
        "A.GlassBlur(sigma=0.5, max_delta=3, iterations=1)",
        "glass_blur",
        {"sigma": [0.5, 0.5], "max_delta": [3, 3], "iterations": [1, 1]},
    ),
    (
        "A.RandomFog(fog_coef_range=(0.2, 0.6), alpha_coef=0.1)",
        "random_fog",
        {"fog_coef_range": [0.2, 0.6], "alpha_coef": [0.1, 0.1]},
    ),
    (
        "A.RandomRain(slant_range=(-5, 5), drop_length=15, rain_type='drizzle')",
        "random_rain",
        {"slant_range": [-5.0, 5.0], "drop_length": [15, 15], "rain_type": "drizzle"},
    ),
    (
        "A.RandomSnow(snow_point_range=(0.2, 0.4), brightness_coeff=2.0)",
        "random_snow",
        {"snow_point_range": [0.2, 0.4], "brightness_coeff": [2.0, 2.0]},
    ),
    (
        "A.RandomShadow(shadow_roi=(0, 0.6, 1, 1), num_shadows_limit=(1, 3), shadow_dimension=4)",
        "random_shadow",
        {
            "shadow_roi": [0.0, 0.6, 1.0, 1.0],
            "num_shadows_limit": [1, 3],
            "shadow_dimension": [4, 4],
        },
    ),
    (
        "A.RandomSunFlare(flare_roi=(0, 0, 1, 0.3), src_radius=200,"
        " num_flare_circles_range=(3, 6))",
        "random_sun_flare",
        {
            "flare_roi": [0.0, 0.0, 1.0, 0.3],
            "src_radius": [200, 200],
            "num_flare_circles_range": [3, 6],
        },
    ),
    (
        "A.RandomGravel(gravel_roi=(0.2, 0.5, 0.8, 0.9), number_of_patches=3)",
        "random_gravel",
        {"gravel_roi": [0.2, 0.5, 0.8, 0.9], "number_of_patches": [3, 3]},
    ),
]

COMPOSED = """A.Compose(
    [
        A.OneOf(
            [
                A.GaussNoise(std_range=(0.01, 0.03), p=0.25),
                A.GaussianBlur(sigma_limit=(0.3, 1), p=0.75),
            ],
            p=0.6,
        ),
        A.SomeOf([A.HorizontalFlip(p=0.5), A.InvertImg(p=1), A.ToGray(p=1)], n=2, p=0.9),
        A.Sequential([A.Rotate(limit=10, p=1), A.RandomGamma(p=0.25)], p=0.4),
    ],
    p=0.8,
    bbox_params=A.BboxParams(
        format='coco', min_visibility=0.2, min_area=10, label_fields=['labels']
    ),
)"""

LOSSY = (
    "A.Compose([A.Blur(), A.Rotate(limit=10, crop_border=True), A.HorizontalFlip(), A.Normalize()])"
)

SAVE = """
import json, sys, warnings
warnings.simplefilter("ignore")
import albumentations as A
assert A.__version__ == "2.0.8", A.__version__
folder = sys.argv[1]
for name, (expression, form) in json.loads(sys.argv[2]).items():
    made = eval(expression)
    if not isinstance(made, A.Compose):
        made = A.Compose([made])
    A.save(made, f"{folder}/{name}.{form}", data_format=form)
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every case saved by the real Albumentations, in one process."""
    pytest.importorskip("albumentations")
    folder = tmp_path_factory.mktemp("saved")
    jobs = {f"case{i:02d}": (case[0], "json") for i, case in enumerate(CASES)}
    jobs.update(composed=(COMPOSED, "yaml"), lossy=(LOSSY, "json"))
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SAVE, folder, json.dumps(jobs)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def _imported(saved_file: Path, tmp_path: Path, *options: str) -> tuple[Any, dict[str, Any]]:
    """Run ``recipe import``; return the result and the written recipe's normalised form."""
    recipe = tmp_path / "configs" / "imported.yaml"
    recipe.parent.mkdir(exist_ok=True)
    result = invoke("recipe", "import", saved_file, "-o", recipe, *options)
    if not recipe.exists():
        return result, {}
    return result, augtool.load_recipe(recipe).normalised


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=[c[1] for c in CASES])
def test_each_transform_converts_to_the_same_ranges(
    saved: Path, tmp_path: Path, index: int, case: tuple[str, str, dict[str, Any]]
) -> None:
    _, name, expected = case
    result, normalised = _imported(saved / f"case{index:02d}.json", tmp_path)
    assert result.exit_code == 0, result.output
    (step,) = normalised["pipeline"]
    assert list(step) == [name]
    for key, value in expected.items():
        got = step[name][key]
        if isinstance(value, list) and value and isinstance(value[0], float):
            assert got == pytest.approx(value), key
        else:
            assert got == value, key


def test_blocks_p_and_targets_convert(saved: Path, tmp_path: Path) -> None:
    result, normalised = _imported(saved / "composed.yaml", tmp_path)
    assert result.exit_code == 0, result.output
    assert normalised["targets"]["bbox"] == {"min_visibility": 0.2, "min_area": 10.0}
    (top,) = normalised["pipeline"]  # Compose's p 0.8: the whole pipeline in one sequence
    assert top["sequence"]["p"] == 0.8
    one_of, some_of, sequence = top["sequence"]["transforms"]
    assert one_of["one_of"]["p"] == 0.6
    assert [list(s) for s in one_of["one_of"]["transforms"]] == [
        ["gaussian_noise"],
        ["gaussian_blur"],
    ]
    # OneOf picks with the children's p as weights, as augtool's one_of does: kept as they are.
    assert [s[next(iter(s))]["p"] for s in one_of["one_of"]["transforms"]] == [0.25, 0.75]
    # SomeOf picks uniformly, then fires each with its own p: a child below p 1 is wrapped.
    assert some_of["some_of"]["n"] == [2, 2] and some_of["some_of"]["p"] == 0.9
    first, second, third = some_of["some_of"]["transforms"]
    assert first == {"sequence": {"p": 1.0, "transforms": [{"hflip": {"p": 0.5}}]}}
    assert list(second) == ["invert"] and list(third) == ["grayscale"]
    assert sequence["sequence"]["p"] == 0.4
    assert [list(s) for s in sequence["sequence"]["transforms"]] == [["rotate"], ["gamma"]]
    assert sequence["sequence"]["transforms"][1]["gamma"]["p"] == 0.25


def test_1x_class_paths_convert_as_2x_names(saved: Path, tmp_path: Path) -> None:
    document = json.loads((saved / "case03.json").read_text(encoding="utf-8"))
    document["transform"]["__class_fullname__"] = "albumentations.core.composition.Compose"
    step = document["transform"]["transforms"][0]
    step["__class_fullname__"] = "albumentations.augmentations.geometric.rotate.Rotate"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(document), encoding="utf-8")
    result, normalised = _imported(old, tmp_path)
    assert result.exit_code == 0, result.output
    assert normalised["pipeline"][0]["rotate"]["limit"] == [-20.0, 30.0]


def test_what_cannot_be_converted_is_named_and_refused(saved: Path, tmp_path: Path) -> None:
    result, normalised = _imported(saved / "lossy.json", tmp_path)
    assert result.exit_code == 1
    assert normalised == {}  # nothing written
    assert "Blur has no augtool transform; nearest in augtool: gaussian_blur" in result.output
    assert "Rotate.crop_border = True has no equivalent" in result.output
    assert "Normalize is a training-time step" in result.output
    assert "3 things could not be converted" in result.output


def test_allow_partial_writes_a_recipe_that_runs(saved: Path, tmp_path: Path) -> None:
    result, normalised = _imported(saved / "lossy.json", tmp_path, "--allow-partial")
    assert result.exit_code == 0, result.output
    assert [list(s) for s in normalised["pipeline"]] == [["rotate"], ["hflip"]]
    recipe = tmp_path / "configs" / "imported.yaml"
    assert "#   - pipeline[0] Blur: Blur has no augtool transform" in recipe.read_text()
    photos = ROOT / "samples" / "photos"
    ran = invoke("expand", recipe, photos, "-o", tmp_path / "out", "-j", "1", "-q")
    assert ran.exit_code == 0, ran.output


def test_json_names_the_losses(saved: Path, tmp_path: Path) -> None:
    result = invoke("recipe", "import", saved / "lossy.json", "--json")
    assert result.exit_code == 1
    found = json.loads(result.stdout)
    assert len(found["lost"]) == 3 and found["written"] is None
    assert found["error"]["exit_code"] == 1


def test_not_a_saved_pipeline_is_a_usage_error(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    result = invoke("recipe", "import", other)
    assert result.exit_code == 2
    assert "not a pipeline saved by Albumentations" in result.output


def test_the_docs_list_every_converted_transform() -> None:
    from augtool.recipe.albu_geometry import GEOMETRY_CONVERTERS
    from augtool.recipe.albu_pixel import PIXEL_CONVERTERS
    from augtool.recipe.albu_transforms import CONVERTERS

    page = (ROOT / "docs" / "albumentations.md").read_text(encoding="utf-8")
    converted = [*CONVERTERS, *GEOMETRY_CONVERTERS, *PIXEL_CONVERTERS]
    assert [name for name in converted if f"`{name}`" not in page] == []
