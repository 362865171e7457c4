"""The export-shape samples (VOC, LabelMe, a classification list): each bundled config expands
to the same bytes at --jobs 1 and 2, under --strict, and validates with every output
re-derived, as .ci/run runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, invoke, sha
from contract import is_state

CONFIGS = ("detection-voc", "detection-labelme", "classification-list")


def expand_config(name: str, out: Path, jobs: int) -> Path:
    recipe = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
    recipe["input"]["path"] = str((ROOT / "configs" / recipe["input"]["path"]).resolve())
    recipe["output"]["path"] = str(out)
    recipe_file = out.parent / f"{out.name}.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False))
    command = [sys.executable, "-m", "augtool", "expand", str(recipe_file), "-q", "--strict"]
    subprocess.run([*command, "-j", str(jobs)], check=True, cwd=out.parent)
    return out


def outputs(out: Path) -> dict[str, str]:
    """Every output file's sha256 (not the run's timings or state)."""
    return {
        path.relative_to(out).as_posix(): sha(path)
        for path in sorted(out.rglob("*"))
        if path.is_file() and not is_state(out, path) and path.name != "run.json"
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", CONFIGS)
def test_a_sample_expands_alike_at_any_jobs_and_validates(tmp_path: Path, name: str) -> None:
    one = expand_config(name, tmp_path / "one", 1)
    two = expand_config(name, tmp_path / "two", 2)
    assert outputs(one) == outputs(two)
    source = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())["input"]["path"]
    result = invoke(
        "validate", "manifest", one / "manifest.jsonl", "--source",
        (ROOT / "configs" / source).resolve(), "--recompute", "all",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
