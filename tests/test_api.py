"""The Python API, used as a notebook would: only the names ``import augtool`` gives."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

import augtool

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "configs" / "quickstart.yaml"
PHOTOS = ROOT / "samples" / "photos"
# The quickstart: 36 sources, 27 of them in train, 4 variants each (3 augmented + the original
# copied for train; val copied untouched).
AUGMENTED = 108


@pytest.fixture(scope="module")
def expanded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, augtool.Summary]:
    out = tmp_path_factory.mktemp("api") / "out"
    summary = augtool.expand(RECIPE, PHOTOS, out, jobs=1)
    return out, summary


def test_expand_returns_the_summary_of_what_it_wrote(
    expanded: tuple[Path, augtool.Summary],
) -> None:
    out, summary = expanded
    assert isinstance(summary, augtool.Summary)
    assert summary.output == str(out)
    assert summary.layout == "imagefolder"
    assert summary.sources == 36
    assert summary.counts["augmented"] == AUGMENTED
    assert summary.counts["files"] == summary.planned_outputs == summary.activity["made"]
    assert not summary.skipped and not summary.unlisted and not summary.warnings
    found = json.loads(json.dumps(summary.as_json()))
    assert found["counts"]["augmented"] == AUGMENTED and found["made"] == summary.planned_outputs
    assert (out / "manifest.jsonl").is_file()
    assert (out / "train").is_dir()


def test_a_rerun_keeps_everything_and_a_dry_run_writes_nothing(
    expanded: tuple[Path, augtool.Summary], tmp_path: Path
) -> None:
    out, summary = expanded
    again = augtool.expand(augtool.load_recipe(RECIPE), PHOTOS, out, jobs=1)
    assert again.activity["kept"] == summary.planned_outputs and again.activity["made"] == 0
    plan = augtool.expand(RECIPE, PHOTOS, tmp_path / "dry", dry_run=True)
    assert plan.dry_run and plan.planned_outputs == summary.planned_outputs
    assert not (tmp_path / "dry").exists()


def test_validate_manifest_reports_an_intact_output_ok(
    expanded: tuple[Path, augtool.Summary],
) -> None:
    out, summary = expanded
    report = augtool.validate_manifest(out / "manifest.jsonl", source=PHOTOS, recompute=3)
    assert isinstance(report, augtool.Report)
    assert report.ok and report.problems == []
    assert report.files == summary.counts["files"]
    assert report.sources_checked == 36 and report.recomputed == 3
    assert report.as_json()["ok"] is True


def test_validate_manifest_reports_a_tampered_copy_as_failed(
    expanded: tuple[Path, augtool.Summary], tmp_path: Path
) -> None:
    out, _ = expanded
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    victim = next(p for p in sorted((copy / "train").rglob("*__v01.jpg")))
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")  # same size, other bytes
    (copy / "train" / "injected.jpg").write_bytes(b"not an output")
    report = augtool.validate_manifest(copy / "manifest.jsonl")
    assert not report.ok
    relative = victim.relative_to(copy).as_posix()
    assert {(p.kind, p.path) for p in report.problems} == {
        ("sha256", relative),
        ("extra", "train/injected.jpg"),
    }
    found = report.as_json()
    assert found["ok"] is False and found["counts"] == {"extra": 1, "sha256": 1}


def test_preview_returns_the_sheet_as_png_bytes(tmp_path: Path) -> None:
    sheet = augtool.preview_recipe(RECIPE, PHOTOS, sources=2, variants=3, tile=64)
    assert isinstance(sheet, augtool.Preview)
    png = sheet.png()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == sheet.sheet.size
    plan = sheet.as_json()
    assert plan["sheet"] == {"width": width, "height": height}
    assert [len(row["tiles"]) for row in plan["sources"]] == [4, 4]  # the original + 3
    assert len(sheet.table()[1]) == 6
    assert sheet.input == str(PHOTOS)
    assert not list(tmp_path.iterdir())  # nothing written without output=

    written = tmp_path / "sheet.png"
    again = augtool.preview_recipe(RECIPE, PHOTOS, output=written, sources=2, variants=3, tile=64)
    assert written.read_bytes() == again.png() == png


def test_preview_refuses_a_sheet_inside_the_input() -> None:
    with pytest.raises(augtool.OutputError, match="inside the input folder"):
        augtool.preview_recipe(RECIPE, PHOTOS, output=PHOTOS / "sheet.png")


def test_seed_overrides_the_recipe_seed(tmp_path: Path) -> None:
    seeded = augtool.preview_recipe(RECIPE, PHOTOS, sources=1, variants=1, tile=48, seed=7)
    assert seeded.seed == seeded.as_json()["seed"] == 7
    recipe = augtool.load_recipe(RECIPE)
    assert augtool.preview_recipe(recipe, PHOTOS, sources=1, variants=1, tile=48).seed == 42


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            {"backend": "lokyy"},
            "backend 'lokyy': expected one of loky, threading, sequential, dask",
        ),
        ({"jobs": 0}, "jobs 0: expected a whole number of at least 1"),
        ({"jobs": -2}, "jobs -2: expected a whole number of at least 1"),
        ({"jobs": 1.5}, "jobs 1.5: expected a whole number of at least 1"),
        ({"jobs": True}, "jobs True: expected a whole number of at least 1"),
        ({"seed": 2**63}, f"seed: value must be <= {2**63 - 1}, got {2**63}"),
        ({"seed": -1}, "seed: value must be >= 0, got -1"),
        ({"seed": "7"}, "seed: expected a whole number, got '7'"),
        ({"progress": 3}, "progress: expected a function of (done, total), got 3"),
        (
            {"resume": True, "force": True},
            "resume and force are alternatives: resume finishes the run in output, "
            "force rebuilds output from scratch",
        ),
    ],
)
def test_expand_refuses_bad_arguments_by_name(
    tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    out = tmp_path / "out"
    with pytest.raises(augtool.UsageError) as raised:
        augtool.expand(RECIPE, PHOTOS, out, **arguments)
    assert str(raised.value) == message
    assert raised.value.exit_code == 2
    assert isinstance(raised.value, augtool.AugtoolError) and isinstance(raised.value, ValueError)
    assert not out.exists()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"recompute": "many", "source": PHOTOS}, "recompute 'many': expected a number"),
        ({"recompute": -1, "source": PHOTOS}, "recompute -1: expected a number"),
        ({"recompute": 2}, "recompute needs source (the folder the outputs were made from)"),
        ({"source": ROOT / "nonexistent"}, f"source {ROOT / 'nonexistent'}: not a folder"),
        ({"jobs": 0}, "jobs 0: expected a whole number of at least 1"),
    ],
)
def test_validate_manifest_refuses_bad_arguments_by_name(
    expanded: tuple[Path, augtool.Summary], arguments: dict[str, Any], message: str
) -> None:
    out, _ = expanded
    with pytest.raises(augtool.UsageError, match=re.escape(message)):
        augtool.validate_manifest(out / "manifest.jsonl", **arguments)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sources": 0}, "sources 0: expected a whole number of at least 1"),
        ({"variants": -1}, "variants -1: expected a whole number of at least 0"),
        ({"tile": 47}, "tile 47: expected a whole number of at least 48 and at most 1024"),
        ({"tile": 1025}, "tile 1025: expected a whole number of at least 48 and at most 1024"),
        ({"seed": -1}, "seed: value must be >= 0, got -1"),
    ],
)
def test_preview_refuses_bad_arguments_by_name(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(augtool.UsageError) as raised:
        augtool.preview_recipe(RECIPE, PHOTOS, **arguments)
    assert str(raised.value) == message


def test_load_recipe_names_the_file_line_and_column(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\nseed: 1\npipeline:\n  - hflip: {p: 0.5}\n  - rotat: {}\n")
    with pytest.raises(augtool.RecipeError) as raised:
        augtool.load_recipe(recipe)
    assert str(raised.value) == f"{recipe}:5:5: unknown transform 'rotat'; did you mean 'rotate'?"
    assert (raised.value.line, raised.value.column) == (5, 5)
    with pytest.raises(augtool.RecipeError, match=":5:5: unknown transform"):
        augtool.validate_recipe(recipe)
    with pytest.raises(augtool.RecipeError, match=":5:5: unknown transform"):
        augtool.expand(recipe, PHOTOS, tmp_path / "out")


def test_a_loaded_recipe_and_the_transform_listing() -> None:
    recipe = augtool.validate_recipe(RECIPE)
    assert isinstance(recipe, augtool.Recipe)
    assert recipe.seed == 42 and len(recipe.steps) == 5 and len(recipe.sha256) == 64
    assert "rotate" in augtool.describe_transforms()
    assert "limit" in augtool.describe_transforms("rotate")
    with pytest.raises(augtool.AugtoolError, match="rotat"):
        augtool.describe_transforms("rotat")


def test_import_augtool_is_light_and_exports_the_api() -> None:
    """Importing the package loads neither numpy, Pillow nor the library's modules: `augtool
    --help` stays fast. Every name in ``__all__`` resolves, and the package is typed."""
    script = (
        "import sys, augtool\n"
        "heavy = [m for m in ('numpy', 'PIL', 'joblib', 'augtool.api', 'augtool.run.engine')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
    for name in augtool.__all__:
        assert getattr(augtool, name) is not None
        assert name in dir(augtool)
    assert callable(augtool.preview_recipe) and callable(augtool.expand)
    assert resources.files("augtool").joinpath("py.typed").is_file()


def _tagged_python(path: Path) -> str:
    """The python block after the ``<!-- test:api -->`` tag (docs/api.md)."""
    after = path.read_text(encoding="utf-8").split("<!-- test:api -->", 1)[1].lstrip()
    assert after.startswith("```python\n")
    return after[len("```python\n") :].split("\n```", 1)[0]


@pytest.mark.slow
@pytest.mark.parametrize("document", ["docs/api.md"])
def test_the_documented_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, document: str
) -> None:
    """The example runs as written, from a copy of the repository's recipe and sample."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(PHOTOS, tmp_path / "samples" / "photos")
    monkeypatch.chdir(tmp_path)
    code = _tagged_python(ROOT / document)
    exec(compile(code, document, "exec"), {"__name__": "__example__"})
    assert (tmp_path / "out").is_dir()
