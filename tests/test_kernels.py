"""``kernels: opencv``: the recipe key, the OpenCV warp against the Pillow one, and the whole job
(expand at any worker count, the manifest, ``validate --recompute``, preview)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import QUICKSTART, SAMPLES, expand_process, invoke
from contract import tree
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from augtool.errors import RecipeError
from augtool.layouts.discovery import discover
from augtool.media.image.transforms import REGISTRY, kernels, replay, run
from augtool.media.image.transforms.imaging import lut_apply
from augtool.media.image.transforms.noise import NORMAL_QUANTILES, add_table_noise
from augtool.media.image.transforms.warp import affine_matrix, perspective_matrix, warp
from augtool.preview import variant_rows
from augtool.recipe import load_recipe

pytest.importorskip("cv2")


def smooth(height: int, width: int, channels: int = 3) -> np.ndarray:
    """A smooth image: where bilinear kernels agree to within rounding, away from the edges."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = [127 + 100 * np.sin(x / 9.0 + c) * np.cos(y / 13.0 - c) for c in range(channels)]
    return np.clip(np.rint(np.stack(planes, axis=2)), 0, 255).astype(np.uint8)


def inside_source(
    matrix: np.ndarray, out_size: tuple[int, int], size: tuple[int, int], margin: float
) -> np.ndarray:
    """Output pixels whose centre maps at least ``margin`` pixels inside the source: there the
    kernels differ only by rounding (at the source's edge their border rules differ)."""
    ys, xs = np.mgrid[0 : out_size[0], 0 : out_size[1]] + 0.5
    points = np.stack([xs, ys, np.ones_like(xs)], axis=-1) @ np.linalg.inv(matrix).T
    sx, sy = points[..., 0] / points[..., 2], points[..., 1] / points[..., 2]
    height, width = size
    return (sx >= margin) & (sx <= width - margin) & (sy >= margin) & (sy <= height - margin)


def both(image: np.ndarray, *args: object) -> tuple[np.ndarray, np.ndarray]:
    by_pillow = warp(image, *args, "pillow")  # type: ignore[arg-type]
    by_opencv = warp(image, *args, "opencv")  # type: ignore[arg-type]
    return by_pillow, by_opencv


# --- the recipe key ------------------------------------------------------------------------


def recipe_text(extra: str = "") -> str:
    return f"version: 1\n{extra}pipeline:\n  - rotate: {{limit: 10}}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_is_pillow_and_leaves_the_recipe_hash_as_it_was(tmp_path: Path) -> None:
    absent = load_recipe(write(tmp_path, recipe_text()))
    explicit = load_recipe(write(tmp_path, recipe_text("kernels: pillow\n")))
    assert absent.kernels == explicit.kernels == "pillow"
    assert "kernels" not in absent.normalised
    assert absent.sha256 == explicit.sha256


def test_opencv_is_in_the_normalised_recipe_and_its_hash(tmp_path: Path) -> None:
    pillow = load_recipe(write(tmp_path, recipe_text()))
    opencv = load_recipe(write(tmp_path, recipe_text("kernels: opencv\n")))
    assert opencv.kernels == "opencv"
    assert opencv.normalised["kernels"] == "opencv"
    assert opencv.sha256 != pillow.sha256


def test_an_unknown_kernels_value_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match=r"recipe.yaml:2:10: kernels: expected one of pillow"):
        load_recipe(write(tmp_path, recipe_text("kernels: cuda\n")))


def test_opencv_missing_is_a_recipe_error_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("augtool.recipe.model.opencv_installed", lambda: False)
    expected = r"recipe.yaml:2:10: opencv needs OpenCV, not installed \(pip install"
    with pytest.raises(RecipeError, match=expected):
        load_recipe(write(tmp_path, recipe_text("kernels: opencv\n")))


# --- the choice is an argument ----------------------------------------------------------------


def test_the_kernels_are_an_argument_never_ambient() -> None:
    """The choice travels with the call: another thread's call, or a call after one with
    OpenCV, gives the bytes of its own argument."""
    image = smooth(64, 64)
    params = REGISTRY["rotate"](limit=20).sample(np.random.default_rng(1), image.shape)
    fired = [{"name": "rotate", "fired": True, "params": params}]
    by_opencv = replay(fired, image, "opencv")
    seen: list[np.ndarray] = []
    thread = threading.Thread(target=lambda: seen.append(replay(fired, image, "pillow")))
    thread.start()
    thread.join()
    assert np.array_equal(seen[0], replay(fired, image))  # the default is Pillow
    assert not np.array_equal(seen[0], by_opencv)
    assert kernels.check("pillow") == "pillow"
    with pytest.raises(ValueError, match="unknown kernels"):
        kernels.check("cuda")


# --- the OpenCV warp against the Pillow warp --------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_bilinear_affine_warps_agree_with_pillow(seed: int) -> None:
    rng = np.random.default_rng(seed)
    image = smooth(120, 160)
    matrix = affine_matrix(
        (80.0, 60.0),
        angle=float(rng.uniform(-30, 30)),
        scale=float(rng.uniform(0.8, 1.4)),
        translate=(float(rng.uniform(-10, 10)), float(rng.uniform(-10, 10))),
    )
    by_pillow, by_opencv = both(image, matrix, (100, 140), "constant", 0, "bilinear")
    assert by_opencv.shape == by_pillow.shape == (100, 140, 3)
    inside = inside_source(matrix, (100, 140), (120, 160), margin=2)
    assert inside.mean() > 0.3
    difference = np.abs(by_opencv[inside].astype(int) - by_pillow[inside].astype(int))
    # A half-pixel slip between the two conventions would move these edges by 4-10 levels.
    assert difference.mean() < 0.6
    assert difference.max() <= 3


def test_a_perspective_warp_agrees_with_pillow() -> None:
    image = smooth(100, 100)
    square = [(0, 0), (100, 0), (100, 100), (0, 100)]
    matrix = perspective_matrix(square, [(5, 3), (97, 8), (92, 95), (2, 90)])
    by_pillow, by_opencv = both(image, matrix, (100, 100), "constant", 0, "bilinear")
    inside = inside_source(matrix, (100, 100), (100, 100), margin=2)
    difference = np.abs(by_opencv[inside].astype(int) - by_pillow[inside].astype(int))
    assert difference.mean() < 0.6
    assert difference.max() <= 3


@pytest.mark.parametrize("border", ["reflect", "replicate", "wrap", "constant"])
def test_borders_match_the_pillow_path_outside_the_source(border: str) -> None:
    """A zoom-out shows the border all around; OpenCV's modes must be augtool's."""
    image = smooth(60, 80)
    matrix = affine_matrix((40.0, 30.0), angle=7.0, scale=0.6)
    by_pillow, by_opencv = both(image, matrix, (60, 80), border, [10, 200, 30], "bilinear")
    difference = np.abs(by_opencv.astype(int) - by_pillow.astype(int))
    # The edge of the source may differ by a pixel's blend; the border area itself must agree.
    assert np.median(difference) <= 1
    assert (difference > 40).mean() < 0.03


def test_nearest_picks_the_same_pixels_as_pillow() -> None:
    """Masks are warped with nearest: both kernels must pick (nearly) the same source pixels."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 5, (90, 70, 1), dtype=np.uint8)
    matrix = affine_matrix((35.0, 45.0), angle=12.0, scale=1.3, translate=(3.0, -2.0))
    by_pillow, by_opencv = both(labels, matrix, (90, 70), "constant", 0, "nearest")
    assert by_opencv.shape == (90, 70, 1)
    assert set(np.unique(by_opencv)) <= set(range(5))
    assert (by_opencv == by_pillow).mean() > 0.99


def test_exact_integer_shift_is_exact() -> None:
    image = smooth(40, 50)
    matrix = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, 2.0], [0.0, 0.0, 1.0]])
    out = warp(image, matrix, (40, 50), "constant", 0, "bilinear", "opencv")
    np.testing.assert_array_equal(out[2:, 3:], image[:-2, :-3])
    assert (out[:2] == 0).all() and (out[:, :3] == 0).all()


def test_rgba_colour_and_alpha_are_filtered_independently() -> None:
    image = np.zeros((30, 30, 4), dtype=np.uint8)
    image[:, :, :3] = (200, 40, 90)  # the colour of every pixel, opaque or not
    image[:, 15:, 3] = 255
    matrix = affine_matrix((15.0, 15.0), angle=20.0)
    out = warp(image, matrix, (30, 30), "replicate", 0, "bilinear", "opencv")
    assert out.shape == (30, 30, 4)
    assert (out[:, :, :3] == (200, 40, 90)).all()  # not premultiplied, not blackened
    assert 0 < out[:, :, 3].mean() < 255


def test_images_too_large_for_opencv_are_warped_by_pillow(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = smooth(40, 40)
    matrix = affine_matrix((20.0, 20.0), angle=9.0)
    expected = warp(image, matrix, (40, 40), "constant", 0, "bilinear", "pillow")
    monkeypatch.setattr("augtool.media.image.transforms.warp.OPENCV_MAX_SIDE", 40)
    out = warp(image, matrix, (40, 40), "constant", 0, "bilinear", "opencv")
    assert np.array_equal(out, expected)


def test_the_rotate_step_uses_the_chosen_kernels() -> None:
    image = smooth(64, 64)
    params = REGISTRY["rotate"](limit=20).sample(np.random.default_rng(1), image.shape)
    fired = [{"name": "rotate", "fired": True, "params": params}]
    by_pillow = replay(fired, image, "pillow")
    assert np.array_equal(by_pillow, REGISTRY["rotate"].apply(image, params))
    by_opencv = replay(fired, image, "opencv")
    assert not np.array_equal(by_pillow, by_opencv)
    assert np.abs(by_pillow.astype(int) - by_opencv.astype(int))[16:48, 16:48].mean() < 1


# --- the whole job -------------------------------------------------------------------------


def opencv_recipe(tmp_path: Path, **output: object) -> Path:
    doc = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    doc["kernels"] = "opencv"
    doc["output"].update(output)
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def opencv_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("opencv")
    recipe = opencv_recipe(base)
    out = base / "out"
    expand_process(recipe, SAMPLES, out, "-q", "--jobs", "1")
    return recipe, out


@pytest.mark.slow
def test_expand_with_opencv_is_the_same_at_any_worker_count(
    tmp_path: Path, opencv_run: tuple[Path, Path]
) -> None:
    recipe, reference = opencv_run
    out = tmp_path / "out"
    expand_process(recipe, SAMPLES, out, "-q", "--jobs", "2")
    assert tree(out) == tree(reference)
    threads = tmp_path / "threads"
    expand_process(recipe, SAMPLES, threads, "-q", "--jobs", "2", "--backend", "threading")
    assert tree(threads) == tree(reference)


def test_the_manifest_records_the_kernels_and_opencv_version(
    tmp_path: Path, opencv_run: tuple[Path, Path]
) -> None:
    import cv2

    _, out = opencv_run
    header = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
    assert header["recipe"]["kernels"] == "opencv"
    assert header["libraries"]["opencv"] == cv2.__version__
    pillow_out = tmp_path / "pillow"
    expand_process(QUICKSTART, SAMPLES, pillow_out, "-q", "--jobs", "1")
    pillow_header = json.loads((pillow_out / "manifest.jsonl").read_text().splitlines()[0])
    assert "opencv" not in pillow_header["libraries"]
    opencv_files, pillow_files = tree(out), tree(pillow_out)
    rotated = [
        json.loads(line)["path"]
        for line in (out / "manifest.jsonl").read_text().splitlines()[1:-1]
        if any(s["name"] == "rotate" and s["fired"] for s in json.loads(line).get("steps", []))
    ]
    assert rotated
    assert all(opencv_files[p] != pillow_files[p] for p in rotated)


def test_validate_recompute_reproduces_opencv_outputs(opencv_run: tuple[Path, Path]) -> None:
    _, out = opencv_run
    manifest = out / "manifest.jsonl"
    result = invoke(
        "validate", "manifest", manifest, "--source", SAMPLES, "--recompute", "all", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["recomputed"] == 27 * 4


def test_validate_recompute_without_opencv_is_a_usage_error(
    opencv_run: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out = opencv_run
    monkeypatch.setattr(kernels, "opencv_installed", lambda: False)
    manifest = out / "manifest.jsonl"
    result = invoke("validate", "manifest", manifest, "--source", SAMPLES, "--recompute", "3")
    assert result.exit_code == 2
    assert f"{manifest}: --recompute needs OpenCV" in result.output
    # Without --recompute nothing needs OpenCV.
    plain = invoke("validate", "manifest", manifest, "--quiet")
    assert plain.exit_code == 0, plain.output


def test_a_manifest_naming_unknown_kernels_is_refused_before_recompute(
    opencv_run: tuple[Path, Path], tmp_path: Path
) -> None:
    _, out = opencv_run
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["recipe"]["kernels"] = "cuda"
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    result = invoke("validate", "manifest", manifest, "--source", SAMPLES, "--recompute", "3")
    assert result.exit_code == 2
    assert f"{manifest}:1: the recipe names unknown kernels 'cuda'" in result.output


def test_preview_tiles_are_the_opencv_pixels_expand_writes(tmp_path: Path) -> None:
    recipe_path = opencv_recipe(tmp_path, format="png", originals="skip")
    out = tmp_path / "expanded"
    expand_process(recipe_path, SAMPLES, out, "-q", "--jobs", "1")
    recipe = load_recipe(recipe_path)
    dataset = discover(SAMPLES, "auto", recipe.input["extensions"], ["train", "val"], ["train"])
    rows = list(variant_rows(recipe, SAMPLES, dataset, sources=2, variants=recipe.variants))
    assert rows
    for row in rows:
        stem = row.source.path.rsplit(".", 1)[0]
        for tile in row.tiles[1:]:
            written = out / f"{stem}__v{tile.info['variant']:02d}.png"
            with Image.open(written) as img:
                expected = np.asarray(img.convert("RGB"))
            np.testing.assert_array_equal(tile.image, expected, err_msg=str(written))


def test_a_quarter_turn_of_angle_keeps_opencv_and_geometry_in_step() -> None:
    """Boxes move by the geometry matrix; the pixels must land where the matrix says."""
    image = np.zeros((80, 80, 3), dtype=np.uint8)
    image[30:34, 50:54] = 255  # a bright square centred at (52, 32)
    angle = 30.0
    matrix = affine_matrix((40.0, 40.0), angle=angle)
    out = warp(image, matrix, (80, 80), "constant", 0, "bilinear", "opencv")
    ys, xs = np.nonzero(out[:, :, 0] > 64)
    moved = matrix @ np.array([52.0, 32.0, 1.0])
    assert math.isclose(xs.mean() + 0.5, moved[0], abs_tol=0.5)
    assert math.isclose(ys.mean() + 0.5, moved[1], abs_tol=0.5)


def test_rgb_goes_through_rgba_and_gives_the_three_channel_bytes() -> None:
    """The RGBA route is only a speed-up: OpenCV's own three-channel warp gives the same bytes."""
    import cv2

    image = smooth(50, 70)
    matrix = affine_matrix((35.0, 25.0), angle=11.0, scale=1.1)
    for border, interpolation in [("constant", "bilinear"), ("reflect", "bicubic")]:
        out = warp(image, matrix, (40, 60), border, [9, 99, 199], interpolation, "opencv")
        inverse = np.linalg.inv(matrix)
        shift = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
        centred = np.linalg.inv(shift) @ inverse @ shift
        flags = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}[interpolation]
        mode = {"constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}[border]
        direct = cv2.warpAffine(
            image,
            centred[:2],
            (60, 40),
            flags=flags | cv2.WARP_INVERSE_MAP,
            borderMode=mode,
            borderValue=(9, 99, 199, 0),
        )
        np.testing.assert_array_equal(out, direct)


# --- the exact kernels OpenCV also runs ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3, 4])),
)
def test_lookup_tables_give_the_same_bytes_with_either_kernels(
    seed: int, shape: tuple[int, int, int]
) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    lut = rng.integers(0, 256, 256).astype(np.uint8)
    by_pillow = lut_apply(image, lut, "pillow")
    by_opencv = lut_apply(image, lut, "opencv")
    np.testing.assert_array_equal(by_opencv, by_pillow)
    expected = lut[image]
    if shape[2] == 4:
        expected[:, :, 3] = image[:, :, 3]
    np.testing.assert_array_equal(by_opencv, expected)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([1, 3])),
    shared=st.booleans(),
    std=st.floats(0, 300),
    mean=st.floats(-255, 255),
)
def test_table_noise_gives_the_same_bytes_with_either_kernels(
    seed: int, shape: tuple[int, int, int], shared: bool, std: float, mean: float
) -> None:
    rng = np.random.default_rng(seed)
    colour = rng.integers(0, 256, shape, dtype=np.uint8)
    drawn = rng.integers(0, 256, (*shape[:2], 1 if shared else shape[2]), dtype=np.uint8)
    table = np.rint(mean + std * NORMAL_QUANTILES).astype(np.int64)
    by_pillow = add_table_noise(colour, drawn, table, "pillow")
    by_opencv = add_table_noise(colour, drawn, table, "opencv")
    np.testing.assert_array_equal(by_opencv, by_pillow)
    assert by_opencv.shape == colour.shape


def test_a_whole_colour_pipeline_is_the_same_with_either_kernels() -> None:
    """Only warps differ between the kernels; colour and noise steps give identical bytes."""
    image = smooth(48, 64)
    steps = [
        REGISTRY["random_brightness_contrast"](brightness_limit=0.3, contrast_limit=0.3),
        REGISTRY["gaussian_noise"](std=[3, 30]),
        REGISTRY["gamma"](gamma_limit=[70, 140]),
    ]
    for seed in range(5):
        outputs = []
        for choice in ("pillow", "opencv"):
            outputs.append(run(list(steps), image, np.random.default_rng(seed), choice))
        np.testing.assert_array_equal(outputs[0][0], outputs[1][0])


ONE_PIXEL_SIDES = """
import numpy as np
from augtool.media.image.transforms.warp import affine_matrix, warp

matrix = affine_matrix((0.5, 4.5), angle=30.0)
for shape in [(9, 1, 3), (1, 7, 3), (1, 1, 4), (9, 1, 1)]:
    image = np.full(shape, 120, np.uint8)
    for interpolation in ("nearest", "bilinear", "bicubic"):
        out = warp(image, matrix, (5, 4), "reflect", 0, interpolation, "opencv")
        assert out.shape[:2] == (5, 4) and (out == 120).all(), (shape, interpolation)
print("ok")
"""


def test_reflect_border_on_a_one_pixel_side_returns_with_opencv_kernels() -> None:
    """OpenCV's reflect-101 border never returned on a 1-pixel-wide or -high source with bicubic
    interpolation (a run hung at 100 % CPU, deaf to Ctrl-C): such a side is replicated, which
    is what mirroring one pixel gives. In a subprocess, so a hang fails instead of blocking."""
    result = subprocess.run(
        [sys.executable, "-c", ONE_PIXEL_SIDES], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
