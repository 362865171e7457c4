"""How the command line reports what went wrong: every name clash at once, a capped list of
manifest problems, a JSON error object under ``--json``, and a run that skipped every input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from augtool.cli import app

RECIPE = """\
version: 1
variants: 1
output: {format: jpeg}
pipeline: [hflip]
"""


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def image(path: Path, seed: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels, "RGB").save(path)


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(RECIPE)
    return path


def clashing(root: Path, pairs: int) -> Path:
    """``s00.jpg`` and ``s00.png``, ...: with ``format: jpeg`` each pair writes one name."""
    for i in range(pairs):
        image(root / f"s{i:02d}.jpg", i)
        image(root / f"s{i:02d}.png", i)
    return root


# --- every output-name clash -----------------------------------------------------------------


def test_every_name_clash_is_reported(tmp_path: Path, recipe: Path) -> None:
    data = clashing(tmp_path / "data", 3)
    result = invoke("expand", recipe, data, "-o", tmp_path / "out", "-j", 1)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: {data}: 3 pairs of sources would write the same file:",
        *(
            f"  's{i:02d}.jpg' and 's{i:02d}.png' would both write 's{i:02d}__v00.jpg'; "
            "rename one of them"
            for i in range(3)
        ),
    ]
    assert not (tmp_path / "out").exists()


def test_many_name_clashes_are_listed_up_to_20(tmp_path: Path, recipe: Path) -> None:
    data = clashing(tmp_path / "data", 23)
    result = invoke("expand", recipe, data, "-o", tmp_path / "out", "-j", 1)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"Error: {data}: 23 pairs of sources would write the same file:"
    assert len(lines) == 1 + 20 + 1
    assert lines[20].startswith("  's19.jpg' and 's19.png' would both write")
    assert lines[-1] == "  … and 3 more"


def test_an_output_name_too_long_for_the_file_system_is_refused_before_any_write(
    tmp_path: Path, recipe: Path
) -> None:
    """A 250-character source name fits, its variant's does not: every run would fail on it
    alike, so the first one refuses it, naming it, and writes nothing."""
    long = "é" + "a" * 245 + ".jpg"  # 251 bytes; its variant's name, 257
    image(tmp_path / "data" / long)
    image(tmp_path / "data" / "short.jpg")
    result = invoke("expand", recipe, tmp_path / "data", "-o", tmp_path / "out", "-j", 1)
    assert result.exit_code == 2
    variant = long[:-4] + "__v00.jpg"
    assert result.stderr.splitlines() == [
        f"Error: {tmp_path / 'data'}: {long!r} would write {variant!r}, a file name longer "
        "than file systems take (255 bytes); rename the source"
    ]
    assert not (tmp_path / "out").exists()


# --- validate manifest caps its problem lines ------------------------------------------------


def test_validate_manifest_prints_50_problems_then_how_many_more(
    tmp_path: Path, recipe: Path
) -> None:
    for i in range(30):
        image(tmp_path / "data" / f"a{i:02d}.jpg", i)
    out = tmp_path / "out"
    assert invoke("expand", recipe, tmp_path / "data", "-o", out, "-q", "-j", 1).exit_code == 0
    for path in out.glob("*.jpg"):  # 30 originals and 30 variants: 60 missing files
        path.unlink()
    result = invoke("validate", "manifest", out / "manifest.jsonl")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 50 + 1 + 1
    assert all("a" in line for line in lines[:50])
    assert lines[50] == "… and 10 more"
    assert "FAILED, 60 problems" in lines[51]
    full = invoke("validate", "manifest", out / "manifest.jsonl", "--json")
    assert full.exit_code == 1
    assert len(json.loads(full.stdout)["problems"]) == 60


# --- --json on an error ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["expand", "missing.yaml"], "missing.yaml: no such recipe file"),
        (["expand", "r.yaml", "nowhere", "-o", "out"], "nowhere: input folder not found"),
        (["expand", "r.yaml", "data", "-o", "out", "--backend", "x"], "--backend 'x': expected"),
        (["preview", "missing.yaml"], "missing.yaml: no such recipe file"),
        (["validate", "manifest", "missing.jsonl"], "missing.jsonl: no such manifest"),
    ],
)
def test_json_errors_are_a_json_object_on_stdout(
    tmp_path: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], message: str
) -> None:
    image(tmp_path / "data" / "a.jpg")
    monkeypatch.chdir(tmp_path)
    result = invoke(*command, "--json")
    assert result.exit_code == 2
    found = json.loads(result.stdout)
    assert set(found) == {"error"}
    assert found["error"]["exit_code"] == 2
    assert found["error"]["message"].startswith(message)
    assert result.stderr == f"Error: {found['error']['message']}\n"


# --- a run that skipped every input ----------------------------------------------------------


def unreadable(root: Path, count: int) -> Path:
    for i in range(count):
        (root / "train").mkdir(parents=True, exist_ok=True)
        (root / "train" / f"x{i}.jpg").write_bytes(b"not an image")
    return root


def test_a_run_that_skipped_every_input_exits_1(tmp_path: Path, recipe: Path) -> None:
    data = unreadable(tmp_path / "data", 2)
    result = invoke("expand", recipe, data, "-o", tmp_path / "out", "-q", "-j", 1)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: every input was skipped (2 of 2); train/x0.jpg: not an image in an accepted "
        "format (JPEG, PNG, WEBP, BMP, TIFF, GIF) (and 1 more)\n"
    )
    again = invoke("expand", recipe, data, "-o", tmp_path / "out2", "--json", "-j", 1)
    assert again.exit_code == 1
    assert json.loads(again.stdout)["error"]["message"].startswith("every input was skipped")


def test_a_run_that_skipped_some_inputs_exits_0_without_strict(
    tmp_path: Path, recipe: Path
) -> None:
    data = unreadable(tmp_path / "data", 1)
    image(data / "train" / "good.jpg")
    result = invoke("expand", recipe, data, "-o", tmp_path / "out", "--json", "-j", 1)
    assert result.exit_code == 0
    assert "error" not in json.loads(result.stdout)
    strict = invoke("expand", recipe, data, "-o", tmp_path / "out", "--strict", "-q", "-j", 1)
    assert strict.exit_code == 1
    assert strict.stderr.startswith("Error: --strict: 1 input skipped; train/x0.jpg: ")
