"""The command surface: help, version, transforms, expand and its options, formats and metadata."""

from __future__ import annotations

import errno
import json
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from conftest import (
    file_records,
    invoke,
    random_image,
    read_manifest,
    sha,
    tree_digest,
    write_images,
)
from PIL import Image, ImageCms, ImageOps

from augtool import __version__
from augtool.cli import app
from augtool.manifest import LOCK_NAME, STAT_CACHE_NAME, STATE_DIR
from augtool.media import registry as media_registry
from augtool.media.image.transforms import REGISTRY, SYNTHESIS, Transform

REPO = Path(__file__).resolve().parent.parent
SIZE = (32, 24)  # (width, height) of every test image
ORIENTATION = 0x0112
GPS_IFD = 0x8825
MAKE = 0x010F

RECIPE = """\
version: 1
seed: 1
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 10}
"""

# No steps: a variant is the source, decoded and re-encoded; lets tests check codecs exactly.
IDENTITY = """\
version: 1
variants: 1
output: {{format: {fmt}, originals: skip, strip_metadata: {strip}}}
pipeline: []
"""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """train/{cat,dog} with two JPEGs each, val/cat and test/dog with one each."""
    names = ["train/cat/cat_0", "train/cat/cat_1", "train/dog/dog_0", "train/dog/dog_1"]
    names += ["val/cat/cat_0", "test/dog/dog_0"]
    return write_images(tmp_path / "data", {f"{name}.jpg": seed for seed, name in enumerate(names)})


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return path


def identity_recipe(tmp_path: Path, fmt: str = "same", strip: bool = True) -> Path:
    path = tmp_path / f"identity-{fmt}-{strip}.yaml"
    path.write_text(IDENTITY.format(fmt=fmt, strip=str(strip).lower()))
    return path


def flat_input(tmp_path: Path, name: str, image: Image.Image, **save: Any) -> Path:
    root = tmp_path / "flat"
    root.mkdir(exist_ok=True)
    image.save(root / name, **save)
    return root


# --- help and version ------------------------------------------------------------------------


def _command_paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        paths.extend(_command_paths(sub, (*prefix, name)))
    return paths


COMMAND_PATHS = _command_paths(typer.main.get_command(app))


def test_the_registered_commands_are_the_documented_ones() -> None:
    expected = {(), ("expand",), ("transforms",), ("validate",)}
    expected |= {("validate", "recipe"), ("validate", "manifest")}
    assert expected <= set(COMMAND_PATHS)


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=lambda p: " ".join(p) or "augtool")
def test_every_command_has_help_with_an_example(path: tuple[str, ...]) -> None:
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    assert "augtool" in result.stdout.split("Example:", 1)[1]


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    # then the libraries that decide the bytes (tests/test_cli_conventions.py)
    assert result.stdout.startswith(f"augtool {__version__}\nnumpy ")


def test_python_m_augtool_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "augtool", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"augtool {__version__}\nnumpy ")


def test_subprocess_usage_error_exit_code(tmp_path: Path, recipe: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "augtool", "expand", str(recipe), str(tmp_path / "nope"), "-o", "o"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"Error: {tmp_path / 'nope'}: input folder not found\n"
    assert not (tmp_path / "o").exists()


# --- transforms ------------------------------------------------------------------------------

# every medium's transforms and blocks (the audio medium's beside the image's)
SPECS = {
    name: spec
    for medium in reversed(list(media_registry.media()))
    for name, spec in [*medium.transforms().items(), *medium.blocks().items()]
}
ALL_SPECS = sorted(SPECS)


def _every_medium_spec() -> set[str]:
    from augtool.media import registry

    return {name for m in registry.media() for name in (*m.transforms(), *m.blocks())}


def test_transforms_lists_every_registered_name() -> None:
    result = invoke("transforms")
    assert result.exit_code == 0
    listing = result.stdout.split("\nimage targets")[0]
    listed = {line.split()[0] for line in listing.splitlines() if line.startswith("  ")}
    assert set(ALL_SPECS) <= listed
    assert listed == _every_medium_spec()


class Unmappable(Transform):
    """A geometric test double without a ``geometry``: it cannot move any label."""

    name = "unmappable"
    summary = "Move pixels in a way no label can follow."
    family = "geometric"
    example = "- unmappable: {}"


class KeypointsOnly(Unmappable):
    """A geometric test double that moves keypoints only."""

    name = "keypoints_only"

    @classmethod
    def supported_targets(cls) -> tuple[str, ...]:
        return ("keypoints",)


@pytest.fixture
def partial_transforms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "unmappable", Unmappable)
    monkeypatch.setitem(REGISTRY, "keypoints_only", KeypointsOnly)


def _table(stdout: str) -> dict[str, list[str]]:
    """The rows of ``augtool transforms``' targets table, by transform."""
    lines = stdout.split("\nimage targets")[1].split("\n\n")[0].splitlines()[1:]
    assert lines[0].split() == ["transform", "image", "masks", "boxes", "polygons", "keypoints"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


@pytest.mark.usefixtures("partial_transforms")
def test_transforms_shows_the_targets_table_of_every_image_transform() -> None:
    result = invoke("transforms")
    assert result.exit_code == 0, result.output
    table = _table(result.stdout)
    assert set(table) == {*REGISTRY, *SYNTHESIS}
    assert table["rotate"] == ["✓"] * 5  # moved through its geometry
    assert table["mosaic"] == ["✓"] * 5  # every source's objects and masks placed
    assert table["mixup"] == ["✓", "-", "✓", "✓", "✓"]  # a mask cannot hold a blend
    assert table["to_sepia"] == ["✓"] * 5  # kept in place: it moves no pixel
    assert table["unmappable"] == ["✓", "-", "-", "-", "-"]
    assert table["keypoints_only"] == ["✓", "-", "-", "-", "✓"]


@pytest.mark.usefixtures("partial_transforms")
@pytest.mark.parametrize("kind", ["masks", "boxes", "polygons", "keypoints"])
def test_transforms_target_lists_only_those_that_handle_it(kind: str) -> None:
    result = invoke("transforms", "--target", kind)
    assert result.exit_code == 0, result.output
    listing = result.stdout.split("\nimage targets")[0]
    listed = {line.split()[0] for line in listing.splitlines() if line.startswith("  ")}
    steps = {**REGISTRY, **SYNTHESIS}
    expected = {n for n, cls in steps.items() if kind in cls.supported_targets()}
    assert listed == expected == set(_table(result.stdout))
    assert {"hflip", "hue_saturation_value", "bbox_safe_random_crop"} <= listed
    assert ("keypoints_only" in listed) == (kind == "keypoints")
    assert "unmappable" not in listed and "reverse" not in listed  # nor an audio one
    assert "one_of" not in listed  # a block handles what its children do

    as_json = json.loads(invoke("transforms", "--target", kind, "--json").stdout)
    assert {item["name"] for item in as_json} == expected
    assert all(kind in item["targets"] for item in as_json)


def test_transforms_names_a_transform_s_targets() -> None:
    assert "targets: masks, boxes, polygons, keypoints" in invoke("transforms", "emboss").stdout
    (entry,) = json.loads(invoke("transforms", "affine", "--json").stdout)
    assert entry["targets"] == ["masks", "boxes", "polygons", "keypoints"]
    (audio,) = json.loads(invoke("transforms", "reverse", "--json").stdout)
    assert "targets" not in audio  # a clip has no labels to move


def test_transforms_target_refuses_an_unknown_kind_and_a_name() -> None:
    result = invoke("transforms", "--target", "bxes")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: unknown target 'bxes'; expected one of masks, boxes, polygons, keypoints\n"
    )
    result = invoke("transforms", "rotate", "--target", "boxes")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --target filters the list: give a transform name or it, not both\n"
    )


def test_transforms_rotate_shows_params_defaults_and_example() -> None:
    result = invoke("transforms", "rotate")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "rotate (geometric)"
    for line in (
        "  limit = [-90.0, 90.0]",
        '  interpolation = "bilinear"',
        '  border = "constant"',
        "  fill = 0",
        "  p = 1.0",
        "example:",
        "  - rotate: {limit: 15, border: reflect, p: 0.7}",
    ):
        assert line in lines


@pytest.mark.parametrize("name", ALL_SPECS)
def test_every_example_is_a_valid_recipe(tmp_path: Path, name: str) -> None:
    spec = SPECS[name]
    snippet = "\n".join("  " + line for line in spec.example.splitlines())
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"version: 1\npipeline:\n{snippet}\n")
    result = invoke("validate", "recipe", path)
    assert result.exit_code == 0, result.output
    assert f"- {name}:" in spec.example


def test_transforms_unknown_name_suggests() -> None:
    result = invoke("transforms", "rotat")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == "Error: unknown transform 'rotat'; did you mean 'rotate'?\n"


# --- expand: options -------------------------------------------------------------------------


def test_expand_writes_dataset_and_summary(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe, dataset, "-o", out)
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first.startswith(
        f"{out}: 14 files (8 augmented, 6 originals); made 14, kept 0, removed 0; "
        "skipped inputs: 0; "
    )
    assert (out / "train/cat/cat_0__v00.jpg").is_file()
    assert (out / "train/cat/cat_0__v01.jpg").is_file()
    header = read_manifest(out)[0]
    assert header["type"] == "header"
    assert header["counts"] == {"augmented": 8, "files": 14, "original": 6, "sources": 6}


def test_expand_json(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe, dataset, "-o", out, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["counts"] == {"augmented": 8, "files": 14, "original": 6, "sources": 6}
    assert data["sources"] == 6
    assert data["planned_outputs"] == 14
    assert data["skipped"] == []
    assert data["dry_run"] is False
    assert data["output"] == str(out)


def test_expand_quiet_prints_nothing(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe, dataset, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr == ""
    assert (out / "manifest.jsonl").is_file()


def test_expand_dry_run_writes_nothing(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    result = invoke("expand", recipe, dataset, "-o", out, "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"Plan: 6 sources (imagefolder) -> 14 files in {out}; would make 14, keep 0, "
        "remove 0; nothing written (--dry-run)\n"
    )
    assert not out.exists()
    result = invoke("expand", recipe, dataset, "-o", out, "--dry-run", "--json")
    assert json.loads(result.stdout)["planned_outputs"] == 14
    assert not out.exists()


def test_seed_changes_outputs_and_header(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    outs = {}
    for seed in (5, 6):
        out = tmp_path / f"out{seed}"
        assert invoke("expand", recipe, dataset, "-o", out, "--seed", seed).exit_code == 0
        outs[seed] = out
        header = read_manifest(out)[0]
        assert header["seed"] == seed
        assert header["recipe"]["seed"] == seed
    augmented = [p for p, r in file_records(outs[5]).items() if r["role"] == "augmented"]
    a, b = file_records(outs[5]), file_records(outs[6])
    assert [a[p]["seed"] for p in augmented] != [b[p]["seed"] for p in augmented]
    assert [a[p]["sha256"] for p in augmented] != [b[p]["sha256"] for p in augmented]
    assert read_manifest(outs[5])[0]["recipe_sha256"] != read_manifest(outs[6])[0]["recipe_sha256"]


@pytest.mark.parametrize("command", ["expand", "preview"])
@pytest.mark.parametrize(
    ("seed", "problem"),
    [
        (10**20, f"value must be <= {2**63 - 1}, got {10**20}"),
        (2**63, f"value must be <= {2**63 - 1}, got {2**63}"),
        (-1, "value must be >= 0, got -1"),
    ],
)
def test_seed_option_has_the_recipe_range(
    tmp_path: Path, dataset: Path, recipe: Path, command: str, seed: int, problem: str
) -> None:
    """A recipe refuses these seeds; --seed once took 10**20 and recorded it (exit 0)."""
    out = tmp_path / "out"
    result = invoke(command, recipe, dataset, "-o", out, "--seed", seed)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: --seed: {problem}\n"
    assert not out.exists()


def test_input_and_output_arguments_override_the_recipe(
    tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "paths.yaml"
    path.write_text(RECIPE + "input: {path: elsewhere}\noutput: {path: recipe-out}\n")
    result = invoke("expand", path, dataset, "-o", tmp_path / "cli-out")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli-out" / "manifest.jsonl").is_file()
    assert not (tmp_path / "recipe-out").exists()


def test_recipe_paths_make_a_whole_job(
    tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "job.yaml"
    path.write_text(RECIPE + "input: {path: data}\noutput: {path: recipe-out}\n")
    result = invoke("expand", path, "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "recipe-out" / "manifest.jsonl").is_file()


def test_no_output_anywhere(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    result = invoke("expand", recipe, dataset)
    assert result.exit_code == 2
    assert (
        result.stderr == "Error: no output folder: give -o OUT or set output.path in the recipe\n"
    )


def test_missing_input_folder(tmp_path: Path, recipe: Path) -> None:
    missing = tmp_path / "missing"
    result = invoke("expand", recipe, missing, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {missing}: input folder not found\n"
    assert not (tmp_path / "out").exists()


def test_output_inside_input(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = dataset / "expanded"
    before = tree_digest(dataset)
    result = invoke("expand", recipe, dataset, "-o", out)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {out}: the output is inside the input {dataset}\n"
    assert tree_digest(dataset) == before


def test_output_containing_input(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    result = invoke("expand", recipe, dataset, "-o", tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path}: the output contains the input {dataset}\n"


def test_non_empty_foreign_output(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = invoke("expand", recipe, dataset, "-o", out)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {out}: not empty and not an augtool output; choose an empty folder\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("dry_run", [False, True], ids=["run", "dry-run"])
@pytest.mark.parametrize(
    ("where", "problem"),
    [
        ("afile/out", "afile is not a folder"),
        ("afile/deeper/out", "afile is not a folder"),
        ("dangling", "a broken symbolic link (or a link loop)"),
        ("dangling/out", "dangling is a broken symbolic link (or a link loop)"),
        ("loop", "a broken symbolic link (or a link loop)"),
        ("afile", "exists and is not a folder"),
    ],
)
def test_output_path_that_cannot_be_a_folder(
    tmp_path: Path, dataset: Path, recipe: Path, where: str, problem: str, dry_run: bool
) -> None:
    """mkdir once failed on these with a traceback (NotADirectoryError, FileExistsError)."""
    (tmp_path / "afile").write_text("a file")
    (tmp_path / "dangling").symlink_to(tmp_path / "nonexistent" / "target")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    before = sorted(p.name for p in tmp_path.iterdir())
    out = tmp_path / where
    extra = ["--dry-run"] if dry_run else []
    result = invoke("expand", recipe, dataset, "-o", out, *extra)
    assert result.exit_code == 2
    assert result.stdout == ""
    where_problem = problem if problem.startswith(("a ", "exists")) else f"{tmp_path}/{problem}"
    assert result.stderr == f"Error: {out}: {where_problem}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not (tmp_path / "nonexistent").exists()
    assert (tmp_path / "afile").read_text() == "a file"


@pytest.mark.parametrize("exists", [False, True], ids=["missing", "empty"])
def test_resume_without_an_earlier_run_writes_nothing(
    tmp_path: Path, dataset: Path, recipe: Path, exists: bool
) -> None:
    """The refusal once came after the folder and its lock were made."""
    out = tmp_path / "out"
    if exists:
        out.mkdir()
    result = invoke("expand", recipe, dataset, "-o", out, "--resume")
    assert result.exit_code == 2
    assert result.stderr == f"Error: {out}: there is no earlier run here to resume\n"
    assert out.exists() == exists
    assert not exists or not any(out.iterdir())


def test_resume_and_force_together_are_a_usage_error(
    tmp_path: Path, dataset: Path, recipe: Path
) -> None:
    """The pair once emptied OUT (--force), then refused to resume (exit 2): all was lost."""
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    before = tree_digest(out)
    result = invoke("expand", recipe, dataset, "-o", out, "--resume", "--force")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Error: --resume and --force are alternatives: --resume finishes the run in OUT, "
        "--force rebuilds OUT from scratch\n"
    )
    assert tree_digest(out) == before


def foreign_output(tmp_path: Path) -> Path:
    """A folder of another tool's that happens to hold a manifest.jsonl."""
    out = tmp_path / "mine"
    (out / "audio").mkdir(parents=True)
    (out / "manifest.jsonl").write_text('{"audio_filepath":"audio/a.wav","text":"hi"}\n')
    (out / "audio" / "a.wav").write_text("data")
    (out / "notes.txt").write_text("notes")
    return out


@pytest.mark.parametrize(
    "options",
    [(), ("--force",), ("--dry-run",), ("--force", "--dry-run")],
    ids=["run", "force", "dry-run", "force-dry-run"],
)
@pytest.mark.parametrize("lock", ["", LOCK_NAME, f"{STATE_DIR}/lock"], ids=["", "lock", "old"])
def test_a_folder_with_another_tools_manifest_is_refused(
    tmp_path: Path, dataset: Path, recipe: Path, options: tuple[str, ...], lock: str
) -> None:
    """It was taken for an augtool output: "damaged" (exit 2) after making its lock, and
    --force deleted every file in it. A lock left by that (where this version or an earlier
    one keeps it) is not augtool's output either."""
    out = foreign_output(tmp_path)
    if lock:
        (out / lock).parent.mkdir(exist_ok=True)
        (out / lock).write_text("")
    before = tree_digest(out)
    result = invoke("expand", recipe, dataset, "-o", out, *options)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {out}: not empty and not an augtool output; choose an empty folder\n"
    )
    assert tree_digest(out) == before


@pytest.mark.parametrize("lock", [LOCK_NAME, f"{STATE_DIR}/lock"], ids=["lock", "old"])
def test_a_folder_holding_only_augtools_lock_is_taken_as_empty(
    tmp_path: Path, dataset: Path, recipe: Path, lock: str
) -> None:
    """What a run stopped before it wrote anything leaves (this version, or an earlier one):
    the next run goes through."""
    out = tmp_path / "out"
    (out / lock).parent.mkdir(parents=True)
    (out / lock).write_text("")
    result = invoke("expand", recipe, dataset, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert (out / "manifest.jsonl").is_file()
    assert not (out / STATE_DIR).exists()


def test_a_damaged_augtool_manifest_is_refused_and_force_rebuilds_it(
    tmp_path: Path, dataset: Path, recipe: Path
) -> None:
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    clean = tree_digest(out)
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:5]))  # the header and a few records
    before = tree_digest(out)
    for options in [(), ("--dry-run",)]:
        result = invoke("expand", recipe, dataset, "-o", out, *options)
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {out / 'manifest.jsonl'}: the manifest of the previous run is damaged "
            "(use --force to rebuild)\n"
        )
        assert tree_digest(out) == before
    result = invoke("expand", recipe, dataset, "-o", out, "--force", "--quiet")
    assert result.exit_code == 0, result.output
    rebuilt = tree_digest(out)
    for digest in (clean, rebuilt):
        digest.pop("run.json")
        digest.pop(STAT_CACHE_NAME)
    assert rebuilt == clean


def test_force_removes_only_what_augtool_wrote_and_counts_what_is_gone(
    tmp_path: Path, dataset: Path, recipe: Path
) -> None:
    """--force once reported removed 0 after deleting every earlier file; it also deleted
    files augtool never wrote."""
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    (out / "README.txt").write_text("my notes")
    (out / "val" / "cat" / "mine.txt").write_text("mine")
    fewer = tmp_path / "fewer.yaml"  # 1 variant, no originals: 4 files of the earlier 14
    fewer.write_text(RECIPE.replace("variants: 2", "variants: 1") + "output: {originals: skip}\n")
    result = invoke("expand", fewer, dataset, "-o", out, "--force", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["made"], summary["kept"], summary["removed"]) == (4, 0, 10)
    assert (out / "README.txt").read_text() == "my notes"
    assert (out / "val" / "cat" / "mine.txt").read_text() == "mine"
    assert not (out / "test").exists()  # a folder left empty goes with its files
    written = {p for p, r in file_records(out).items() if r["role"] == "augmented"}
    assert written == {f"train/{c}/{c}_{i}__v00.jpg" for c in ("cat", "dog") for i in (0, 1)}
    assert not (out / "train" / "cat" / "cat_0.jpg").exists()  # an original, not written now


def test_a_recorded_file_behind_a_folder_link_is_never_removed(tmp_path: Path) -> None:
    """--force and vanished sources remove recorded outputs by path: a folder someone swapped
    for a link must not lead the removal outside the output."""
    from augtool.run.incremental import unlink_output as _unlink

    out, theirs = tmp_path / "out", tmp_path / "theirs"
    (out / "train").mkdir(parents=True)
    theirs.mkdir()
    (theirs / "a.jpg").write_text("theirs")
    (out / "val").symlink_to(theirs)
    (out / "train" / "b.jpg").write_text("ours")
    assert _unlink(out, "val/a.jpg") == 0 and (theirs / "a.jpg").read_text() == "theirs"
    assert _unlink(out, "train/b.jpg") == 1 and not (out / "train" / "b.jpg").exists()


@pytest.mark.parametrize("options", [(), ("--force",), ("--dry-run",)])
def test_a_folder_link_put_where_outputs_go_is_refused_not_written_through(
    tmp_path: Path, dataset: Path, recipe: Path, options: tuple[str, ...]
) -> None:
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    theirs = tmp_path / "theirs"
    (out / "val" / "cat").rename(theirs)
    (theirs / "cat_0.jpg").write_bytes(b"their own file")
    (out / "val" / "cat").symlink_to(theirs)
    before = tree_digest(out)
    result = invoke("expand", recipe, dataset, "-o", out, *options)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {out}: val/cat is a symbolic link to a folder, and val/cat/cat_0.jpg would be "
        "written through it, outside the output; remove the link\n"
    )
    assert (theirs / "cat_0.jpg").read_bytes() == b"their own file"
    assert tree_digest(out) == before


@pytest.mark.parametrize("options", [(), ("--force",), ("--dry-run",)])
def test_a_folder_put_where_an_output_goes_is_refused_before_any_write(
    tmp_path: Path, dataset: Path, recipe: Path, options: tuple[str, ...]
) -> None:
    """Writing the file would fail at every run alike (it said "run again to resume")."""
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    (out / "train" / "cat" / "cat_0__v01.jpg").unlink()
    (out / "train" / "cat" / "cat_0__v01.jpg" / "inside").mkdir(parents=True)
    before = tree_digest(out)
    result = invoke("expand", recipe, dataset, "-o", out, *options)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {out}: train/cat/cat_0__v01.jpg is a folder where the run writes a file; "
        "remove or rename it\n"
    )
    assert tree_digest(out) == before


def test_dry_run_refuses_another_recipes_output_as_the_run_does(
    tmp_path: Path, dataset: Path, recipe: Path
) -> None:
    """--dry-run printed a plan (exit 0) where the run refuses (exit 2)."""
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    before = tree_digest(out)
    other = tmp_path / "other.yaml"
    other.write_text(RECIPE.replace("seed: 1", "seed: 2"))
    for options in [(), ("--dry-run",)]:
        result = invoke("expand", other, dataset, "-o", out, *options)
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {out}: made by another recipe (seed: 1 -> 2); use --force to rebuild it\n"
        )
        assert tree_digest(out) == before
    result = invoke("expand", other, dataset, "-o", out, "--force", "--dry-run")
    assert result.exit_code == 0, result.output
    assert tree_digest(out) == before


def test_resume_after_a_finished_run_is_refused(
    tmp_path: Path, dataset: Path, recipe: Path
) -> None:
    """--resume "insists that there is a run to finish"; it exited 0 on a finished output."""
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    before = tree_digest(out)
    result = invoke("expand", recipe, dataset, "-o", out, "--resume")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {out}: the last run finished; there is nothing to resume "
        "(run without --resume to update it)\n"
    )
    assert tree_digest(out) == before


@pytest.mark.parametrize("exists", [False, True], ids=["new", "earlier-run"])
def test_a_read_only_output_is_refused_in_one_line(
    tmp_path: Path, dataset: Path, recipe: Path, exists: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening the lock on a read-only file system was a traceback and exit 1."""
    out = tmp_path / "out"
    if exists:
        assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    before = tree_digest(tmp_path)
    real_open = os.open

    def read_only(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith(f"/{LOCK_NAME}"):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    result = invoke("expand", recipe, dataset, "-o", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr == f"Error: {out}: cannot write in the output folder: Read-only file system\n"
    )
    assert tree_digest(tmp_path) == before  # no folder, no lock left behind


@pytest.mark.parametrize("exists", [False, True], ids=["new", "earlier-run"])
def test_dry_run_refuses_a_read_only_output_as_the_run_does(
    tmp_path: Path, dataset: Path, recipe: Path, exists: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    if exists:
        assert invoke("expand", recipe, dataset, "-o", out, "--quiet").exit_code == 0
    real_statvfs = os.statvfs

    class ReadOnly:
        def __init__(self, path: Any) -> None:
            self.f_flag = real_statvfs(path).f_flag | os.ST_RDONLY

    monkeypatch.setattr(os, "statvfs", ReadOnly)
    result = invoke("expand", recipe, dataset, "-o", out, "--dry-run")
    assert result.exit_code == 2
    problem = "cannot write in the output folder" if exists else "cannot create the output folder"
    assert result.stderr == f"Error: {out}: {problem}: Read-only file system\n"
    assert out.exists() == exists


def test_rerun_keeps_everything_and_force_rebuilds_identically(
    tmp_path: Path, dataset: Path, recipe: Path
) -> None:
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out).exit_code == 0
    first = tree_digest(out)
    result = invoke("expand", recipe, dataset, "-o", out)
    assert result.exit_code == 0
    assert "; made 0, kept 14, removed 0; " in result.stdout
    (out / "train" / "cat" / "stray.jpg").write_bytes(b"left over")
    result = invoke("expand", recipe, dataset, "-o", out, "--force")
    assert result.exit_code == 0, result.output
    second = tree_digest(out)
    # run.json (timings) and the run state (lock, stat cache) are outside the determinism
    # contract.
    for digest in (first, second):
        digest.pop("run.json")
        digest.pop(STAT_CACHE_NAME)
    # A file augtool did not write is never deleted, even by --force.
    assert second.pop("train/cat/stray.jpg") == sha(out / "train" / "cat" / "stray.jpg")
    assert second == first


def test_unknown_backend(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    result = invoke("expand", recipe, dataset, "-o", tmp_path / "out", "--backend", "bogus")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: --backend 'bogus': expected one of loky, threading, sequential, dask\n"
    )
    assert not (tmp_path / "out").exists()


def test_recipe_error_writes_nothing(tmp_path: Path, dataset: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\npipeline:\n  - rotat: {}\n")
    out = tmp_path / "out"
    result = invoke("expand", bad, dataset, "-o", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: {bad}:3:5: unknown transform 'rotat'; did you mean 'rotate'?\n"
    assert not out.exists()


# --- expand: skipped inputs ------------------------------------------------------------------


def test_corrupt_file_is_skipped_and_recorded(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    (dataset / "train" / "cat" / "broken.jpg").write_bytes(b"\x00garbage bytes\xff" * 8)
    reason = "not an image in an accepted format (JPEG, PNG, WEBP, BMP, TIFF, GIF)"
    out = tmp_path / "out"
    result = invoke("expand", recipe, dataset, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"skipped train/cat/broken.jpg: {reason}" in result.stdout.splitlines()
    assert "; skipped inputs: 1; " in result.stdout
    skipped = [r for r in read_manifest(out) if r["type"] == "skipped"]
    assert skipped == [
        {
            "type": "skipped",
            "path": "train/cat/broken.jpg",
            "reason": reason,
            "sha256": sha(dataset / "train" / "cat" / "broken.jpg"),
        }
    ]
    assert not (out / "train" / "cat" / "broken.jpg").exists()
    assert read_manifest(out)[-1]["counts"]["skipped"] == 1

    strict = invoke("expand", recipe, dataset, "-o", tmp_path / "strict", "--strict")
    assert strict.exit_code == 1
    assert (tmp_path / "strict" / "manifest.jsonl").is_file()
    # A CI log says why, with --json and --quiet too (stdout may go to a file).
    quiet = invoke("expand", recipe, dataset, "-o", tmp_path / "q", "--strict", "--json", "-q")
    assert quiet.exit_code == 1
    assert quiet.stderr == (f"Error: --strict: 1 input skipped; train/cat/broken.jpg: {reason}\n")


def test_strict_without_skips_exits_0(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    assert invoke("expand", recipe, dataset, "-o", tmp_path / "out", "--strict").exit_code == 0


# --- splits and originals --------------------------------------------------------------------


def test_val_and_test_are_copied_untouched(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    out = tmp_path / "out"
    assert invoke("expand", recipe, dataset, "-o", out).exit_code == 0
    for rel in ("val/cat/cat_0.jpg", "test/dog/dog_0.jpg"):
        assert sha(out / rel) == sha(dataset / rel)
    for split in ("val", "test"):
        assert [p.name for p in (out / split).rglob("*__v*")] == []
    records = file_records(out).values()
    assert {r["split"] for r in records if r["role"] == "augmented"} == {"train"}
    assert sum(r["role"] == "original" for r in records) == 6


def test_originals_skip(tmp_path: Path, dataset: Path) -> None:
    path = tmp_path / "skip.yaml"
    path.write_text(RECIPE + "output: {originals: skip}\n")
    out = tmp_path / "out"
    assert invoke("expand", path, dataset, "-o", out).exit_code == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.jpg"))
    assert written == sorted(
        f"train/{label}/{label}_{i}__v0{v}.jpg"
        for label in ("cat", "dog")
        for i in range(2)
        for v in range(2)
    )
    assert all(r["role"] == "augmented" for r in file_records(out).values())


def test_originals_link(tmp_path: Path, dataset: Path) -> None:
    path = tmp_path / "link.yaml"
    path.write_text(RECIPE + "output: {originals: link}\n")
    out = tmp_path / "out"
    assert invoke("expand", path, dataset, "-o", out).exit_code == 0
    originals = {p: r for p, r in file_records(out).items() if r["role"] == "original"}
    assert len(originals) == 6
    for rel, record in originals.items():
        # Same file system (both in tmp_path): a hard link is possible, so it must be one.
        assert record["how"] == "link"
        assert os.stat(out / rel).st_ino == os.stat(dataset / rel).st_ino
        assert record["sha256"] == sha(dataset / rel)


def test_originals_link_falls_back_to_copy(
    tmp_path: Path, dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cross_device(src: Any, dst: Any, **kwargs: Any) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "link", cross_device)
    path = tmp_path / "link.yaml"
    path.write_text(RECIPE + "output: {originals: link}\n")
    out = tmp_path / "out"
    result = invoke("expand", path, dataset, "-o", out)
    assert result.exit_code == 0, result.output
    originals = {p: r for p, r in file_records(out).items() if r["role"] == "original"}
    assert {r["how"] for r in originals.values()} == {"copy"}
    for rel in originals:
        assert os.stat(out / rel).st_ino != os.stat(dataset / rel).st_ino
        assert sha(out / rel) == sha(dataset / rel)


def test_input_is_never_modified(tmp_path: Path, dataset: Path, recipe: Path) -> None:
    (dataset / "train" / "cat" / "broken.jpg").write_bytes(b"not an image")
    before = tree_digest(dataset)
    stats = {p: p.stat().st_mtime_ns for p in dataset.rglob("*")}
    assert invoke("expand", recipe, dataset, "-o", tmp_path / "out").exit_code == 0
    assert tree_digest(dataset) == before
    assert {p: p.stat().st_mtime_ns for p in dataset.rglob("*")} == stats


# --- output formats and modes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "ending", "pillow"),
    [("png", ".png", "PNG"), ("webp", ".webp", "WEBP"), ("jpeg", ".jpg", "JPEG")],
)
def test_output_format(tmp_path: Path, dataset: Path, fmt: str, ending: str, pillow: str) -> None:
    path = tmp_path / "fmt.yaml"
    path.write_text(RECIPE + f"output: {{format: {fmt}}}\n")
    out = tmp_path / "out"
    assert invoke("expand", path, dataset, "-o", out).exit_code == 0
    variants = sorted(out.rglob("*__v*"))
    assert len(variants) == 8
    for variant in variants:
        assert variant.suffix == ending
        with Image.open(variant) as img:
            img.load()
            assert img.format == pillow
            assert img.size == SIZE


def run_identity(tmp_path: Path, root: Path, fmt: str = "same", strip: bool = True) -> Path:
    out = tmp_path / f"out-{fmt}-{strip}"
    result = invoke("expand", identity_recipe(tmp_path, fmt, strip), root, "-o", out)
    assert result.exit_code == 0, result.output
    return out


def only_variant(out: Path) -> Image.Image:
    """The run's single variant, loaded (the file closed) with its format and info kept."""
    (variant,) = sorted(out.rglob("*__v*"))
    with Image.open(variant) as img:
        img.load()
        copy = img.copy()
        copy.format = img.format
        return copy


def test_rgba_png_as_jpeg_is_composited_over_white(tmp_path: Path) -> None:
    pixels = np.zeros((SIZE[1], SIZE[0], 4), dtype=np.uint8)
    pixels[:, 16:] = (200, 30, 30, 255)  # right half opaque red; left half fully transparent
    root = flat_input(tmp_path, "a.png", Image.fromarray(pixels, "RGBA"))
    img = only_variant(run_identity(tmp_path, root, "jpeg"))
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert all(c >= 250 for c in img.getpixel((2, 2)))  # transparent black became white
    red = img.getpixel((28, 12))
    assert red[0] > 180 and red[1] < 60


def test_grey_stays_grey(tmp_path: Path) -> None:
    grey = Image.fromarray(np.full((SIZE[1], SIZE[0]), 77, dtype=np.uint8), "L")
    root = flat_input(tmp_path, "g.png", grey)
    img = only_variant(run_identity(tmp_path, root, "same"))
    assert img.mode == "L"
    assert np.array_equal(np.asarray(img), np.asarray(grey))
    img = only_variant(run_identity(tmp_path, root, "jpeg"))
    assert img.mode == "L"


def test_16_bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.zeros((SIZE[1], SIZE[0]), dtype=np.uint16)
    values[:, :8] = 65535
    values[:, 8:16] = 32768
    values[:, 16:24] = 257
    source = Image.fromarray(values)
    root = flat_input(tmp_path, "deep.png", source)
    with Image.open(root / "deep.png") as check:
        assert check.mode.startswith("I")  # the fixture really is 16-bit
    out = run_identity(tmp_path, root, "png")
    img = only_variant(out)
    assert img.mode == "L"
    array = np.asarray(img)
    assert set(array[:, :8].ravel()) == {255}
    assert set(array[:, 8:16].ravel()) == {128}
    assert set(array[:, 16:24].ravel()) == {1}
    assert set(array[:, 24:].ravel()) == {0}
    (record,) = [r for r in file_records(out).values() if r["role"] == "augmented"]
    assert record["decoded"]["mode"].startswith("I")


def test_palette_with_transparency_keeps_alpha_in_png(tmp_path: Path) -> None:
    palette = Image.new("P", SIZE, 0)
    palette.putpalette([0, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 6))
    palette.paste(1, (16, 0, 32, 24))
    palette.info["transparency"] = 0
    root = flat_input(tmp_path, "p.png", palette, transparency=0)
    img = only_variant(run_identity(tmp_path, root, "png"))
    assert img.mode == "RGBA"
    assert img.getpixel((2, 2))[3] == 0
    assert img.getpixel((28, 12)) == (0, 255, 0, 255)


def test_cmyk_jpeg_decodes_to_rgb(tmp_path: Path) -> None:
    cmyk = Image.new("CMYK", SIZE, (0, 255, 255, 0))  # pure red in CMYK
    root = flat_input(tmp_path, "c.jpg", cmyk, quality=95)
    out = run_identity(tmp_path, root, "jpeg")
    img = only_variant(out)
    assert img.mode == "RGB"
    red = img.getpixel((16, 12))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    (record,) = file_records(out).values()
    assert record["decoded"]["mode"] == "CMYK"


# --- EXIF and ICC ----------------------------------------------------------------------------


def exif_jpeg(tmp_path: Path) -> tuple[Path, bytes]:
    """A 32x24 JPEG stored sideways (Orientation 6), with a Make tag, GPS and an ICC profile."""
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "augtool-test"
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 22.0, 1.5)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image = random_image(3)
    image.paste((255, 0, 0), (0, 0, 8, 8))  # a marker in the stored top-left corner
    root = flat_input(tmp_path, "photo.jpg", image, exif=exif, icc_profile=icc, quality=95)
    with Image.open(root / "photo.jpg") as check:
        assert check.getexif()[ORIENTATION] == 6
        assert check.getexif().get_ifd(GPS_IFD)
    return root, icc


def test_exif_orientation_is_applied_and_metadata_stripped(tmp_path: Path) -> None:
    root, icc = exif_jpeg(tmp_path)
    out = run_identity(tmp_path, root, "jpeg", strip=True)
    img = only_variant(out)
    with Image.open(root / "photo.jpg") as source:
        upright = ImageOps.exif_transpose(source)
    assert upright.size == (24, 32)
    assert img.size == upright.size
    # The red marker follows the rotation (stored top-left becomes displayed top-right).
    assert np.abs(np.asarray(img, dtype=int) - np.asarray(upright, dtype=int)).mean() < 12
    exif = img.getexif()
    assert ORIENTATION not in exif
    assert MAKE not in exif
    assert not exif.get_ifd(GPS_IFD)
    assert "exif" not in img.info
    assert img.info.get("icc_profile") == icc
    (record,) = file_records(out).values()
    assert record["metadata"] == "stripped"
    assert record["decoded"]["orientation"] == 6


def test_exif_kept_with_orientation_reset(tmp_path: Path) -> None:
    root, icc = exif_jpeg(tmp_path)
    out = run_identity(tmp_path, root, "jpeg", strip=False)
    img = only_variant(out)
    assert img.size == (24, 32)
    exif = img.getexif()
    assert exif[ORIENTATION] == 1
    assert exif[MAKE] == "augtool-test"
    assert exif.get_ifd(GPS_IFD)[1] == "N"
    assert img.info.get("icc_profile") == icc
    (record,) = file_records(out).values()
    assert record["metadata"] == "kept"


def exif_block(*entries: tuple[int, int, int, bytes]) -> bytes:
    """A little-endian EXIF block with one IFD of (tag, type, count, 4-byte value or offset)
    entries; with one entry, data appended to the block starts at offset 26."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + value
    return b"Exif\x00\x00II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)


RATIONAL_6 = exif_block((ORIENTATION, 5, 1, struct.pack("<I", 26))) + struct.pack("<II", 6, 1)
ASCII_6 = exif_block((ORIENTATION, 2, 2, b"6\x00\x00\x00"))
SHORT_9 = exif_block((ORIENTATION, 3, 1, struct.pack("<HH", 9, 0)))


@pytest.mark.parametrize("exif", [RATIONAL_6, ASCII_6, SHORT_9], ids=["rational", "ascii", "nine"])
@pytest.mark.parametrize("strip", [True, False])
def test_malformed_exif_orientation_is_taken_as_1(tmp_path: Path, exif: bytes, strip: bool) -> None:
    """Only a whole number from 1 to 8 is an orientation: anything else leaves the image as
    stored (and is written back as 1 when metadata is kept), never aborts the run."""
    root = flat_input(tmp_path, "photo.jpg", random_image(4), exif=exif)
    out = run_identity(tmp_path, root, "jpeg", strip=strip)
    img = only_variant(out)
    assert img.size == SIZE  # not turned
    assert img.getexif().get(ORIENTATION) == (None if strip else 1)
    (record,) = file_records(out).values()
    assert record["decoded"]["orientation"] == 1


@pytest.mark.parametrize("strip", [True, False])
def test_corrupt_exif_block_warns_nothing(tmp_path: Path, strip: bool) -> None:
    """Pillow reads a damaged EXIF block as far as it goes and warns (a raw multi-line
    ``UserWarning: Corrupt EXIF data``) once per bad entry; the user is shown nothing (warnings
    are errors under pytest, so one that escaped would fail the run here)."""
    # An orientation of 6, then an Exif sub-IFD pointer to offset 500, past the block's end.
    exif = exif_block(
        (ORIENTATION, 3, 1, struct.pack("<HH", 6, 0)), (0x8769, 4, 1, struct.pack("<I", 500))
    )
    root = flat_input(tmp_path, "photo.jpg", random_image(5), exif=exif)
    out = run_identity(tmp_path, root, "jpeg", strip=strip)
    assert only_variant(out).size == (SIZE[1], SIZE[0])  # the orientation read is applied
    (record,) = file_records(out).values()
    assert record["decoded"]["orientation"] == 6


def test_exif_that_cannot_be_written_back_skips_the_source(tmp_path: Path) -> None:
    # ResolutionUnit stored as text: Pillow reads it, but cannot write it back.
    exif = exif_block((0x0128, 2, 2, b"x\x00\x00\x00"))
    root = flat_input(tmp_path, "photo.jpg", random_image(6), exif=exif)
    flat_input(tmp_path, "other.jpg", random_image(7))  # a run that skips every input fails
    out = tmp_path / "out"
    result = invoke("expand", identity_recipe(tmp_path, "jpeg", strip=False), root, "-o", out)
    assert result.exit_code == 0, result.output
    (skip,) = [r for r in read_manifest(out) if r["type"] == "skipped"]
    assert skip["path"] == "photo.jpg"
    assert skip["reason"] == (
        "cannot write its EXIF back: required argument is not an integer "
        "(strip_metadata: true would drop it)"
    )
    assert sorted(p.name for p in out.glob("photo*")) == []
