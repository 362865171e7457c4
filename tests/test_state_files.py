"""augtool's run state (lock, journal, stat cache) is no class: a classification dataset
without split folders, expanded, is read by torchvision's ``ImageFolder`` rule with exactly its
classes, after a finished run and after an interrupted one. Outputs an earlier version made,
with the state in ``OUT/.augtool/``, keep working: their state is read, and the next run moves
it out of the folder ImageFolder would take for a class."""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import pytest
from conftest import invoke, write_images
from contract import tree

from augtool.manifest import (
    JOURNAL_NAME,
    LEGACY_STATE_NAMES,
    LOCK_NAME,
    RUN_STATE_NAME,
    STAT_CACHE_NAME,
    STATE_DIR,
)

CLASSES = ["cat", "dog"]
RECIPE = (
    "version: 1\nseed: 5\nvariants: 2\npipeline:\n  - hflip: {p: 0.5}\n  - rotate: {limit: 10}\n"
)


def imagefolder_classes(root: Path) -> list[str]:
    """The classes torchvision's ``ImageFolder(root)`` finds (``datasets.folder.find_classes``):
    every folder entry of the root, hidden ones too, sorted; ``is_dir`` follows links."""
    return sorted(entry.name for entry in os.scandir(root) if entry.is_dir())


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    """Class folders at the root, no split folders (so the whole dataset is augmented)."""
    source = tmp_path / "in"
    seed = 0
    for name in CLASSES:
        write_images(source / name, {f"{name}_{i}.jpg": (seed := seed + 1) for i in range(4)})
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    return recipe, source


def _expand(recipe: Path, source: Path, out: Path, *extra: str) -> dict[str, Any]:
    result = invoke("expand", recipe, source, "-o", out, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _interrupted(
    recipe: Path, source: Path, out: Path, monkeypatch: pytest.MonkeyPatch, after: int
) -> None:
    """A run stopped by Ctrl-C after ``after`` batches of tasks: exit 130, work kept."""
    import augtool.run.engine

    real = augtool.run.engine.process_tasks
    calls = 0

    def interrupting(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > after:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(augtool.run.engine, "process_tasks", interrupting)
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        result = invoke("expand", recipe, source, "-o", out, "--quiet", "--jobs", "1")
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        monkeypatch.undo()
    assert result.exit_code == 130, result.output
    assert not (out / "manifest.jsonl").exists()


def test_a_finished_run_leaves_no_class_but_the_datasets(
    tmp_path: Path, dataset: tuple[Path, Path]
) -> None:
    recipe, source = dataset
    out = tmp_path / "out"
    _expand(recipe, source, out)
    assert imagefolder_classes(out) == CLASSES
    assert (out / LOCK_NAME).is_file() and (out / STAT_CACHE_NAME).is_file()
    # The rerun still trusts the stat cache (nothing made) and the lock still refuses a second
    # run: see test_resume.py; here, the state is where no loader looks.
    summary = _expand(recipe, source, out)
    assert (summary["made"], summary["kept"]) == (0, 24)
    assert imagefolder_classes(out) == CLASSES


def test_an_interrupted_run_leaves_no_class_but_the_datasets_and_resumes(
    tmp_path: Path, dataset: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe, source = dataset
    clean = tmp_path / "clean"
    _expand(recipe, source, clean)
    out = tmp_path / "out"
    _interrupted(recipe, source, out, monkeypatch, after=2)
    assert (out / JOURNAL_NAME).is_file() and (out / RUN_STATE_NAME).is_file()
    # The classes written so far, and nothing else.
    found = imagefolder_classes(out)
    assert found and set(found) <= set(CLASSES), found
    summary = _expand(recipe, source, out, "--resume")
    assert summary["kept"] > 0
    assert tree(out) == tree(clean)
    assert imagefolder_classes(out) == CLASSES


def _to_legacy(out: Path) -> None:
    """The state as an earlier version left it: in ``OUT/.augtool/``, under its old names."""
    (out / STATE_DIR).mkdir()
    for name, old in LEGACY_STATE_NAMES.items():
        if (out / name).exists():
            (out / name).rename(out / STATE_DIR / old)


def test_an_earlier_versions_output_is_read_then_moved_out_of_the_classes(
    tmp_path: Path, dataset: tuple[Path, Path]
) -> None:
    recipe, source = dataset
    out = tmp_path / "out"
    _expand(recipe, source, out)
    _to_legacy(out)
    assert imagefolder_classes(out) == [STATE_DIR, *CLASSES]
    # Its stat cache is read: it knows the input the output was made from.
    other = tmp_path / "copy"
    shutil.copytree(source, other)
    result = invoke("expand", recipe, other, "-o", out)
    assert result.exit_code == 2
    assert "made from another input" in result.stderr
    summary = _expand(recipe, source, out)
    assert (summary["made"], summary["kept"]) == (0, 24)
    assert imagefolder_classes(out) == CLASSES
    assert (out / STAT_CACHE_NAME).is_file()


def test_force_removes_an_earlier_versions_state_folder(
    tmp_path: Path, dataset: tuple[Path, Path]
) -> None:
    recipe, source = dataset
    out = tmp_path / "out"
    _expand(recipe, source, out)
    _to_legacy(out)
    summary = _expand(recipe, source, out, "--force")
    assert summary["made"] == 24
    assert imagefolder_classes(out) == CLASSES
    assert not (out / STATE_DIR).exists()


def test_an_earlier_versions_interrupted_run_resumes(
    tmp_path: Path, dataset: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe, source = dataset
    clean = tmp_path / "clean"
    _expand(recipe, source, clean)
    out = tmp_path / "out"
    _interrupted(recipe, source, out, monkeypatch, after=2)
    _to_legacy(out)
    assert not (out / JOURNAL_NAME).exists()
    summary = _expand(recipe, source, out, "--resume")
    assert summary["kept"] > 0
    assert tree(out) == tree(clean)
    assert imagefolder_classes(out) == CLASSES
    assert not (out / STATE_DIR).exists()
