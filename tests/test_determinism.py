"""Same input, recipe and seed ⇒ byte-identical outputs and manifest, whatever the worker count."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest
from conftest import QUICKSTART, ROOT, SAMPLES, expand_process
from contract import tree


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("ref") / "out"
    expand_process(QUICKSTART, SAMPLES, out, "--quiet", "--jobs", "1")
    return tree(out)


def test_reference_run_is_complete(reference: dict[str, str]) -> None:
    augmented = [p for p in reference if "__v" in p]
    assert len(augmented) == 27 * 4
    assert not any(p.startswith("val/") and "__v" in p for p in reference)
    assert {"manifest.jsonl", "SHA256SUMS"} <= set(reference)


@pytest.mark.parametrize(
    "args",
    [("--jobs", "2"), ("--jobs", "2", "--backend", "threading"), ("--backend", "sequential")],
    ids=["loky-2", "threading-2", "sequential"],
)
def test_worker_count_and_backend_do_not_change_a_byte(
    tmp_path: Path, reference: dict[str, str], args: tuple[str, ...]
) -> None:
    out = tmp_path / "out"
    expand_process(QUICKSTART, SAMPLES, out, "--quiet", *args)
    assert tree(out) == reference


def test_a_rerun_reproduces_the_output(tmp_path: Path, reference: dict[str, str]) -> None:
    out = tmp_path / "out"
    expand_process(QUICKSTART, SAMPLES, out, "--quiet", "--jobs", "2")
    expand_process(QUICKSTART, SAMPLES, out, "--quiet", "--jobs", "2", "--force")
    assert tree(out) == reference


def test_a_variant_depends_on_its_own_identity_only(
    tmp_path: Path, reference: dict[str, str]
) -> None:
    """Adding a source must not shift the random streams of the others."""
    source = tmp_path / "in"
    shutil.copytree(SAMPLES, source)
    shutil.copy(source / "train/cat/cat_001.jpg", source / "train/cat/cat_000.jpg")
    out = tmp_path / "out"
    expand_process(QUICKSTART, source, out, "--quiet", "--jobs", "2")
    grown = tree(out)
    for path, digest in reference.items():
        if path.endswith(".jpg") or path.endswith(".png"):
            assert grown[path] == digest, path
    assert grown["train/cat/cat_000__v00.jpg"] != grown["train/cat/cat_001__v00.jpg"]


def test_another_seed_changes_the_outputs(tmp_path: Path, reference: dict[str, str]) -> None:
    out = tmp_path / "out"
    expand_process(QUICKSTART, SAMPLES, out, "--quiet", "--seed", "7")
    changed = tree(out)
    variants = [p for p in reference if "__v" in p]
    assert sum(changed[p] != reference[p] for p in variants) > len(variants) * 0.9
    originals = [p for p in reference if "__v" not in p and p.startswith(("train/", "val/"))]
    assert all(changed[p] == reference[p] for p in originals)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["detection-yolo", "detection-coco", "segmentation"])
def test_annotated_datasets_are_identical_at_any_worker_count(tmp_path: Path, name: str) -> None:
    # Enough variants that --jobs 2 really runs a pool (small jobs run in-process).
    text = (ROOT / "configs" / f"{name}.yaml").read_text().replace("variants: 4", "variants: 12")
    assert "variants: 12" in text
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    source = ROOT / "samples" / name
    runs = [("1", "loky"), ("2", "loky")]
    if importlib.util.find_spec("distributed") is not None:  # in the [test] extra, so in CI
        runs.append(("2", "dask"))  # labels written by Dask workers, the COCO JSON here
    trees = []
    for jobs, backend in runs:
        out = tmp_path / f"out{jobs}-{backend}"
        expand_process(recipe, source, out, "--quiet", "--jobs", jobs, "--backend", backend)
        trees.append(tree(out))
    assert all(found == trees[0] for found in trees[1:])
    assert any("__v" in path for path in trees[0])
