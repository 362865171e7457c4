"""``kernels: auto``: OpenCV when it is installed, else Pillow; the pick is what the manifest
records and what ``validate --recompute`` replays with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import QUICKSTART, SAMPLES, expand, expand_process, invoke
from contract import tree

from augtool.recipe import load_recipe

pytest.importorskip("cv2")


def recipe_with(tmp_path: Path, kernels: str) -> Path:
    doc = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    doc["kernels"] = kernels
    path = tmp_path / f"{kernels}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def header_of(out: Path) -> dict[str, object]:
    return json.loads((out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()[0])


def outputs(out: Path) -> dict[str, str]:
    """Every file but those holding the recipe's hash (the manifest, its sums, croissant)."""
    recording = ("manifest.jsonl", "SHA256SUMS", "croissant.json")
    return {p: h for p, h in tree(out).items() if p not in recording}


def opencv_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCV as if not installed, for the recipe's choice."""
    monkeypatch.setattr("augtool.recipe.model.opencv_installed", lambda: False)


def test_auto_is_recorded_as_opencv_when_installed(tmp_path: Path) -> None:
    auto = load_recipe(recipe_with(tmp_path, "auto"))
    opencv = load_recipe(recipe_with(tmp_path, "opencv"))
    assert auto.kernels == auto.normalised["kernels"] == "opencv"
    assert auto.sha256 == opencv.sha256


def test_auto_falls_back_to_pillow_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opencv_missing(monkeypatch)
    auto = load_recipe(recipe_with(tmp_path, "auto"))
    assert auto.kernels == auto.normalised["kernels"] == "pillow"


def test_auto_with_opencv_writes_the_bytes_of_kernels_opencv(tmp_path: Path) -> None:
    import cv2

    auto_out, opencv_out = tmp_path / "auto", tmp_path / "opencv"
    expand_process(recipe_with(tmp_path, "auto"), SAMPLES, auto_out, "-q", "--jobs", "1")
    expand_process(recipe_with(tmp_path, "opencv"), SAMPLES, opencv_out, "-q", "--jobs", "1")
    assert tree(auto_out) == tree(opencv_out)  # the manifest too: the same recipe, recorded
    header = header_of(auto_out)
    assert header["recipe"]["kernels"] == "opencv"  # type: ignore[index]
    assert header["libraries"]["opencv"] == cv2.__version__  # type: ignore[index]


def test_auto_without_opencv_writes_pillow_bytes_and_replays_with_pillow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pillow_out = tmp_path / "pillow"
    expand_process(QUICKSTART, SAMPLES, pillow_out, "-q", "--jobs", "1")
    with monkeypatch.context() as patched:
        opencv_missing(patched)
        auto_out = expand(recipe_with(tmp_path, "auto"), SAMPLES, tmp_path / "auto", "-q")
    header = header_of(auto_out)
    assert header["recipe"]["kernels"] == "pillow"  # type: ignore[index]
    assert "opencv" not in header["libraries"]  # type: ignore[operator]
    assert outputs(auto_out) == outputs(pillow_out)
    # OpenCV is installed here: a re-resolved auto would pick it and miss every warped output.
    manifest = auto_out / "manifest.jsonl"
    result = invoke(
        "validate", "manifest", manifest, "--source", SAMPLES, "--recompute", "all", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["recomputed"] > 0


def test_a_manifest_recording_auto_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    expand_process(recipe_with(tmp_path, "opencv"), SAMPLES, out, "-q", "--jobs", "1")
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["recipe"]["kernels"] = "auto"
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    result = invoke("validate", "manifest", manifest, "--source", SAMPLES, "--recompute", "3")
    assert result.exit_code == 2
    assert f"{manifest}:1: the recipe names unknown kernels 'auto'" in result.output
