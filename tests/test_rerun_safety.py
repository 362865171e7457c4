"""Reruns into an existing output: a changed INPUT is refused before anything is removed, and
--dry-run says what the run would make, keep and remove (the run then does exactly that)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import invoke, write_images
from contract import is_state
from PIL import Image

RECIPE = """\
version: 1
seed: 3
input: {layout: imagefolder}
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - gaussian_noise: {std: [2, 6]}
"""


def cli(*args: str | Path) -> tuple[int, str, str]:
    result = invoke(*args)
    return result.exit_code, result.stdout, result.stderr


def make_dataset(root: Path, labels: dict[str, int], seed: int = 0) -> Path:
    names = [
        f"train/{label}/{label}_{i}.png" for label, count in labels.items() for i in range(count)
    ]
    return write_images(root, {name: seed + k for k, name in enumerate(names)})


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not is_state(root, p) and p.name != "run.json"
    }


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return path


def test_another_input_is_refused_and_nothing_is_removed(tmp_path: Path, recipe: Path) -> None:
    data_a = make_dataset(tmp_path / "a", {"cat": 2, "dog": 2})
    data_b = make_dataset(tmp_path / "b", {"cat": 1}, seed=9)
    out = tmp_path / "out"
    assert cli("expand", recipe, data_a, "-o", out, "-q")[0] == 0
    before = tree(out)
    for extra in ([], ["--dry-run"], ["--resume"]):
        code, stdout, stderr = cli("expand", recipe, data_b, "-o", out, *extra)
        if extra == ["--resume"]:
            assert code == 2  # nothing to resume: refused either way, and nothing touched
        else:
            assert code == 2, stdout + stderr
            assert "made from another input" in stderr
            assert str(data_a.resolve()) in stderr and str(data_b.resolve()) in stderr
            assert "--force" in stderr
            assert len(stderr.strip().splitlines()) == 1
        assert tree(out) == before
    code, stdout, _ = cli("expand", recipe, data_b, "-o", out, "--force", "--json")
    assert code == 0
    assert json.loads(stdout)["removed"] == 12 - 3  # a's 12 files, less b's 3 written again


def test_the_same_input_by_another_path_is_the_same_input(tmp_path: Path, recipe: Path) -> None:
    data = make_dataset(tmp_path / "data", {"cat": 2})
    out = tmp_path / "out"
    assert cli("expand", recipe, data, "-o", out, "-q")[0] == 0
    code, stdout, _ = cli("expand", recipe, tmp_path / "data" / ".." / "data", "-o", out, "--json")
    assert code == 0
    assert json.loads(stdout)["kept"] == 6


def _dry_then_run(recipe: Path, data: Path, out: Path, *extra: str) -> tuple[dict, dict]:
    code, stdout, stderr = cli("expand", recipe, data, "-o", out, "--dry-run", "--json", *extra)
    assert code == 0, stderr
    dry = json.loads(stdout)
    code, stdout, stderr = cli("expand", recipe, data, "-o", out, "--json", *extra)
    assert code == 0, stderr
    return dry, json.loads(stdout)


def _activity(summary: dict) -> tuple[int, int, int]:
    return summary["made"], summary["kept"], summary["removed"]


def test_dry_run_forecasts_what_the_run_then_does(tmp_path: Path, recipe: Path) -> None:
    data = make_dataset(tmp_path / "data", {"cat": 3, "dog": 2})
    out = tmp_path / "out"
    dry, run = _dry_then_run(recipe, data, out)
    assert _activity(dry) == _activity(run) == (15, 0, 0)
    assert dry["dry_run"] is True
    # One source gone, one edited, one added, and an output damaged: each is seen.
    (data / "train" / "dog" / "dog_1.png").unlink()
    Image.new("RGB", (24, 32), (9, 9, 9)).save(data / "train" / "cat" / "cat_0.png")
    Image.new("RGB", (24, 32), (200, 9, 9)).save(data / "train" / "cat" / "cat_9.png")
    (out / "train" / "dog" / "dog_0__v01.png").write_bytes(b"damaged")
    before = tree(out)
    dry, run = _dry_then_run(recipe, data, out)
    assert tree(out) != before  # (the run did write; the dry run is checked below)
    assert _activity(dry) == _activity(run) == (9, 6, 3)
    dry, run = _dry_then_run(recipe, data, out)  # a no-op rerun
    assert _activity(dry) == _activity(run) == (0, 15, 0)


def test_dry_run_writes_nothing_into_an_earlier_output(tmp_path: Path, recipe: Path) -> None:
    data = make_dataset(tmp_path / "data", {"cat": 2})
    out = tmp_path / "out"
    assert cli("expand", recipe, data, "-o", out, "-q")[0] == 0
    shutil.rmtree(data / "train" / "cat")
    make_dataset(data, {"dog": 1})
    snapshot = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    code, stdout, _ = cli("expand", recipe, data, "-o", out, "--dry-run")
    assert code == 0
    assert "would make 3, keep 0, remove 6" in stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == snapshot


def test_dry_run_with_force_counts_what_force_removes(tmp_path: Path, recipe: Path) -> None:
    data = make_dataset(tmp_path / "data", {"cat": 2, "dog": 1})
    out = tmp_path / "out"
    assert cli("expand", recipe, data, "-o", out, "-q")[0] == 0
    (data / "train" / "dog" / "dog_0.png").unlink()
    dry, run = _dry_then_run(recipe, data, out, "--force")
    assert _activity(dry) == _activity(run) == (6, 0, 3)


def test_a_run_that_wrote_between_the_read_and_the_lock_is_read_again(
    tmp_path: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the files an earlier run left change between the first read and the lock, the run
    reads them again (with the same checks) instead of trusting the first read."""
    import itertools

    import augtool.run.engine

    data, out = make_dataset(tmp_path / "data", {"cat": 2}), tmp_path / "out"
    assert cli("expand", recipe, data, "-o", out, "--quiet")[0] == 0
    before = tree(out)
    stamps = itertools.count()
    monkeypatch.setattr(augtool.run.engine, "run_files_stamp", lambda _: next(stamps))
    code, _, stderr = cli("expand", recipe, data, "-o", out, "--quiet")
    assert code == 0, stderr
    assert tree(out) == before
