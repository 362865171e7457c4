"""Paths in a recipe are from the recipe file's folder; paths on the command line are from the
working directory. The bundled configs run the same from the repository root or their folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from augtool.cli import app

ROOT = Path(__file__).resolve().parents[1]

RECIPE = """\
version: 1
seed: 3
variants: 1
input: {path: data}
output: {path: out}
pipeline: [hflip]
"""


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def images(root: Path, count: int = 2) -> Path:
    (root / "train").mkdir(parents=True)
    for i in range(count):
        pixels = np.random.default_rng(i).integers(0, 256, (16, 16, 3), dtype=np.uint8)
        Image.fromarray(pixels, "RGB").save(root / "train" / f"a{i}.png")
    return root


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``w1/r.yaml`` naming ``data`` and ``out``, ``w1/data`` beside it, run from ``elsewhere``."""
    (tmp_path / "w1").mkdir()
    (tmp_path / "w1" / "r.yaml").write_text(RECIPE)
    images(tmp_path / "w1" / "data")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path


def test_recipe_paths_are_from_the_recipe_folder(project: Path) -> None:
    result = invoke("expand", "../w1/r.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    assert (project / "w1" / "out" / "manifest.jsonl").is_file()
    assert not (project / "elsewhere" / "out").exists()


def test_command_line_paths_are_from_the_working_directory(project: Path) -> None:
    images(project / "elsewhere" / "data")  # same name as the recipe's, other folder
    result = invoke("expand", "../w1/r.yaml", "data", "-o", "mine", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == "mine"
    assert (project / "elsewhere" / "mine" / "manifest.jsonl").is_file()
    assert not (project / "w1" / "out").exists()


def test_a_missing_recipe_input_is_named_as_resolved(project: Path) -> None:
    shutil.rmtree(project / "w1" / "data")
    result = invoke("expand", "../w1/r.yaml")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: ../w1/data: input folder not found (input.path 'data' in ../w1/r.yaml is "
        "relative to the recipe's folder ../w1; INPUT on the command line is relative to the "
        "working directory)\n"
    )
    assert not (project / "w1" / "out").exists()


def test_preview_reads_the_recipe_input_from_the_recipe_folder(project: Path) -> None:
    result = invoke("preview", "../w1/r.yaml", "-o", "sheet.png", "--sources", 1, "--quiet")
    assert result.exit_code == 0, result.output
    assert (project / "elsewhere" / "sheet.png").is_file()


def test_a_link_on_the_way_is_not_folded_away(project: Path) -> None:
    """``link/../out`` is where the link's target says, not ``out`` beside the link."""
    (project / "deep" / "er").mkdir(parents=True)
    (project / "deep" / "er" / "r.yaml").write_text(RECIPE.replace("path: data", "path: ../data"))
    images(project / "deep" / "data")
    (project / "elsewhere" / "link").symlink_to(project / "deep" / "er")
    result = invoke("expand", "link/r.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    assert (project / "deep" / "er" / "out" / "manifest.jsonl").is_file()


@pytest.mark.parametrize(
    ("name", "sample", "out"),
    [("quickstart", "photos", "photos"), ("detection-coco", "detection-coco", "detection-coco")],
)
def test_the_bundled_configs_run_alike_from_the_root_and_their_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, sample: str, out: str
) -> None:
    """``augtool expand configs/X.yaml`` from the root (README, .ci/run) reads samples/ and
    writes out/, as ``augtool expand X.yaml`` from configs/ does."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(ROOT / "samples" / sample, tmp_path / "samples" / sample)
    plans = []
    for cwd, recipe in ((tmp_path, f"configs/{name}.yaml"), (tmp_path / "configs", f"{name}.yaml")):
        monkeypatch.chdir(cwd)
        result = invoke("expand", recipe, "--dry-run", "--json", "-j", 1)
        assert result.exit_code == 0, result.output
        plan = json.loads(result.stdout)
        plans.append(((cwd / plan["output"]).resolve(), plan["sources"]))
    assert plans[0] == plans[1]
    assert plans[0][0] == tmp_path / "out" / out
    assert plans[0][1] > 0
