"""``augtool validate manifest``: every check, each with a corruption that only it catches.

The cases port bagit-python's validation tests (flipped bit, missing file, extra file, mixed-case
checksums, unsafe entries, unreadable file) and add ours: symbolic links out of the output, link
loops, a truncated or edited manifest, leakage between splits, changed sources, re-encoded outputs.
Manifests with edited records are written by :func:`rewrite`, which re-computes the footer's
digest only when the test wants the footer to stay valid.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    Records,
    expand,
    invoke,
    manifest_parts,
    rewrite,
    unprivileged,
    write_images,
)
from PIL import Image
from typer.testing import Result

from augtool.canonical import canonical_sha256
from augtool.manifest import JOURNAL_NAME, dump_line
from augtool.run.executors import hashing
from augtool.run.executors.hashing import hash_files
from augtool.validate import report as validate_report
from augtool.validate import unsafe_reason
from augtool.validate.checks import recompute as recompute_check

RECIPE = """\
version: 1
seed: 3
variants: 2
splits: {augment: [train]}
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 15, p: 0.7}
"""
IMAGES = {
    "train/cat/cat_1.jpg": 1,
    "train/cat/cat_2.jpg": 2,
    "train/cat/cat_3.jpg": 3,
    "train/dog/dog_1.png": 4,
    "train/dog/dog_2.png": 5,
    "val/cat/cat_4.jpg": 6,
    "val/cat/cat_5.jpg": 7,
    "val/dog/dog_3.png": 8,
}
AUGMENTED = "train/cat/cat_1__v00.jpg"
ORIGINAL = "train/cat/cat_2.jpg"


# --- building a real output ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("built")
    recipe = base / "recipe.yaml"
    recipe.write_text(RECIPE)
    source = write_images(base / "input", IMAGES)
    out = base / "out"
    expand(recipe, source, out, "--jobs", "1", "--quiet")
    return source, out


@pytest.fixture
def source(built: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the input (tests may change it)."""
    return Path(shutil.copytree(built[0], tmp_path / "input"))


@pytest.fixture
def out(built: tuple[Path, Path], tmp_path: Path) -> Path:
    """A private copy of the expanded output (tests corrupt it)."""
    return Path(shutil.copytree(built[1], tmp_path / "out", symlinks=True))


def run(out: Path, *args: str) -> Result:
    return invoke("validate", "manifest", out / "manifest.jsonl", *args)


def problem_lines(result: Result) -> list[str]:
    """The report without its summary line."""
    return result.stdout.splitlines()[:-1]


def record_of(out: Path, path: str) -> dict[str, Any]:
    return next(r for r in manifest_parts(out)[1] if r["path"] == path)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the happy path -----------------------------------------------------------------------------


def test_real_expand_output_is_valid(out: Path, source: Path) -> None:
    result = run(out, "--source", str(source), "--recompute", "all")
    assert result.exit_code == 0, result.output
    header, records, _ = manifest_parts(out)
    augmented = sum(r["role"] == "augmented" for r in records)
    assert augmented == 10
    assert result.stdout == (
        f"{out / 'manifest.jsonl'}: OK, {len(records)} files "
        f"({validate_report._size(sum(r['bytes'] for r in records))}) verified, "
        f"8 sources verified, {augmented} outputs re-derived\n"
    )
    # The canonical form gives the recipe hash the writer recorded.
    assert header["recipe_sha256"] == canonical_sha256(header["recipe"])


def test_sha256sums_that_disagrees_with_the_manifest_fails(out: Path) -> None:
    sums = out / "SHA256SUMS"
    lines = sums.read_text().splitlines(keepends=True)
    sums.write_text("".join(lines[1:]))  # one file no longer checked by a plain shell
    result = run(out)
    assert result.exit_code == 1
    assert "SHA256SUMS: FAILED: does not list exactly the manifest's files" in result.stdout


def test_contract_files_are_not_extras(out: Path) -> None:
    (out / ".augtool").mkdir(exist_ok=True)
    (out / ".augtool" / "journal.jsonl").write_text("{}\n")
    (out / JOURNAL_NAME).write_text("{}\n")
    assert (out / "run.json").is_file() and (out / "SHA256SUMS").is_file()
    assert run(out).exit_code == 0


def test_sha256sums_beside_the_manifest_agrees(out: Path) -> None:
    done = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out)
    assert done.returncode == 0


def test_subprocess_exit_codes(out: Path) -> None:
    manifest = str(out / "manifest.jsonl")
    command = [sys.executable, "-m", "augtool", "validate", "manifest"]
    ok = subprocess.run([*command, manifest], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"{manifest}: OK, 18 files")
    (out / AUGMENTED).write_bytes(b"")
    failed = subprocess.run([*command, manifest, "--quiet"], capture_output=True, text=True)
    assert failed.returncode == 1
    assert failed.stdout == f"{manifest}: FAILED, 1 problem (size 1); 18 files listed\n"
    missing = subprocess.run([*command, str(out / "nope.jsonl")], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr == f"Error: {out / 'nope.jsonl'}: no such manifest\n"


def test_json_report(out: Path) -> None:
    (out / "injected.jpg").write_bytes(b"x")
    (out / ORIGINAL).unlink()
    result = run(out, "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["counts"] == {"missing": 1, "extra": 1}
    assert report["problems"] == [
        {"kind": "missing", "path": ORIGINAL, "message": "listed in the manifest but missing"},
        {"kind": "extra", "path": "injected.jpg", "message": "present but not in the manifest"},
    ]


def test_quiet_prints_only_the_summary(out: Path) -> None:
    (out / ORIGINAL).unlink()
    result = run(out, "--quiet")
    assert result.exit_code == 1
    assert result.stdout == (
        f"{out / 'manifest.jsonl'}: FAILED, 1 problem (missing 1); 18 files listed\n"
    )


# --- fixity and completeness (bagit's cases) ----------------------------------------------------


def test_flipped_byte_keeps_length(out: Path) -> None:
    target = out / AUGMENTED
    data = bytearray(target.read_bytes())
    expected = sha256(target)
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{AUGMENTED}: FAILED sha256 expected={expected} found={sha256(target)}"
    ]
    assert result.stdout.splitlines()[-1].endswith("FAILED, 1 problem (sha256 1); 18 files listed")


def test_deleted_file(out: Path) -> None:
    (out / AUGMENTED).unlink()
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [f"{AUGMENTED}: listed in the manifest but missing"]


def test_renamed_file_is_one_missing_and_one_extra(out: Path) -> None:
    (out / AUGMENTED).rename(out / "train/cat/renamed.jpg")
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{AUGMENTED}: listed in the manifest but missing",
        "train/cat/renamed.jpg: present but not in the manifest",
    ]


def test_injected_extra_image(out: Path) -> None:
    shutil.copy(out / ORIGINAL, out / "train/cat/poison.jpg")
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == ["train/cat/poison.jpg: present but not in the manifest"]


def test_emptied_file_fails_on_size(out: Path) -> None:
    size = (out / ORIGINAL).stat().st_size
    (out / ORIGINAL).write_bytes(b"")
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [f"{ORIGINAL}: FAILED size expected={size} found=0"]


def test_uppercase_hex_digests_are_accepted(out: Path) -> None:
    def upper(records: Records) -> Records:
        for record in records:
            record["sha256"] = record["sha256"].upper()
            record["source"]["sha256"] = record["source"]["sha256"].upper()
        return records

    rewrite(out, upper)
    assert run(out).exit_code == 0


def validate_unprivileged(manifest: Path) -> subprocess.CompletedProcess[str]:
    """``validate manifest`` in a process that file modes stop (root would read any file)."""
    command = [sys.executable, "-m", "augtool", "validate", "manifest", str(manifest)]
    return unprivileged(command, timeout=60)


def test_unreadable_file(out: Path) -> None:
    (out / ORIGINAL).chmod(0)
    done = validate_unprivileged(out / "manifest.jsonl")
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[:-1] == [f"{ORIGINAL}: FAILED open or read (Permission denied)"]


def test_unreadable_file_and_folder(out: Path) -> None:
    (out / ORIGINAL).chmod(0)
    (out / "val/dog").chmod(0)
    try:
        done = validate_unprivileged(out / "manifest.jsonl")
    finally:
        (out / "val/dog").chmod(0o755)  # so that the folder can be removed as another user
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[:-1] == [
        "val/dog: cannot be listed; its files were not checked",
        "val/dog/dog_3.png: lies in val/dog, which cannot be listed",
        f"{ORIGINAL}: FAILED open or read (Permission denied)",
    ]


def test_fifo_in_place_of_a_file_does_not_hang(out: Path) -> None:
    (out / ORIGINAL).unlink()
    os.mkfifo(out / ORIGINAL)
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [f"{ORIGINAL}: is a FIFO, not a regular file; not followed"]


def test_parallel_hashing_finds_the_same(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = out / AUGMENTED
    expected = sha256(target)
    target.write_bytes(target.read_bytes()[::-1])  # same length, other bytes
    monkeypatch.setattr(hashing, "POOL_MIN_WORK", 0)
    result = run(out, "--jobs", "2")
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{AUGMENTED}: FAILED sha256 expected={expected} found={sha256(target)}"
    ]
    files = sorted(str(p) for p in out.rglob("*.jpg"))
    sizes = [os.path.getsize(p) for p in files]
    assert list(hash_files(files, sizes, 2)) == list(hash_files(files, sizes, 1))


# --- the manifest itself ------------------------------------------------------------------------


def test_truncated_manifest_footer_gone(out: Path) -> None:
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    manifest.write_text("".join(lines[:-1]))
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{manifest}:{len(lines)}: no footer; the manifest is truncated or unfinished"
    ]


def test_truncated_mid_line(out: Path) -> None:
    manifest = out / "manifest.jsonl"
    data = manifest.read_bytes()
    manifest.write_bytes(data[: len(data) // 2])
    result = run(out)
    assert result.exit_code == 1
    number = data[: len(data) // 2].count(b"\n") + 1
    assert f"{manifest}:{number}: the line is cut short" in result.stdout
    assert "no footer" in result.stdout


def test_record_edited_without_fixing_the_footer(out: Path) -> None:
    def relabel(records: Records) -> Records:
        record_of_original = next(r for r in records if r["path"] == ORIGINAL)
        record_of_original["label"] = "dog"
        return records

    rewrite(out, relabel, fix_footer=False)
    manifest = out / "manifest.jsonl"
    footer_line = len(manifest.read_text().splitlines())
    result = run(out)
    assert result.exit_code == 1
    [line] = problem_lines(result)
    assert line.startswith(f"{manifest}:{footer_line}: FAILED footer sha256 expected=")
    assert line.endswith("; the manifest was edited or truncated")


def test_footer_counts_must_match(out: Path) -> None:
    rewrite(out, lambda records: [r for r in records if r["path"] != AUGMENTED])
    manifest = out / "manifest.jsonl"
    _, _, footer = manifest_parts(out)
    footer["counts"]["augmented"] += 1
    body = "".join(manifest.read_text().splitlines(keepends=True)[:-1])
    manifest.write_text(body + dump_line(footer))
    result = run(out)
    assert result.exit_code == 1
    number = len(body.splitlines()) + 1
    assert f"{manifest}:{number}: FAILED footer count augmented expected=10 found=9" in (
        result.stdout
    )


def rewrite_lines(out: Path, edit: Callable[[list[str]], list[str]]) -> Path:
    """Edit the manifest's lines as text, then give it the footer digest a forger would."""
    manifest = out / "manifest.jsonl"
    lines = edit(manifest.read_text().splitlines(keepends=True))
    footer = json.loads(lines[-1])
    footer["sha256"] = hashlib.sha256("".join(lines[:-1]).encode()).hexdigest()
    manifest.write_text("".join(lines[:-1]) + dump_line(footer))
    return manifest


def test_header_counts_must_be_the_footers(out: Path) -> None:
    def more_files(lines: list[str]) -> list[str]:
        header = json.loads(lines[0])
        header["counts"]["files"] = 999
        return [dump_line(header), *lines[1:]]

    manifest = rewrite_lines(out, more_files)
    [line] = problem_lines(run(out))
    number = len(manifest.read_text().splitlines())
    assert line == f"{manifest}:{number}: the footer's counts are not the header's"


def test_header_seed_must_be_its_recipes(out: Path) -> None:
    def other_seed(lines: list[str]) -> list[str]:
        header = json.loads(lines[0])
        header["seed"] = 4
        return [dump_line(header), *lines[1:]]

    manifest = rewrite_lines(out, other_seed)
    [line] = problem_lines(run(out))
    assert line == f"{manifest}:1: the header's seed 4 is not its recipe's 3"


def test_unknown_footer_fields_are_reported(out: Path) -> None:
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    footer = {**json.loads(lines[-1]), "note": "hi"}
    manifest.write_text("".join(lines[:-1]) + dump_line(footer))
    [line] = problem_lines(run(out))
    assert line == f"{manifest}:{len(lines)}: unknown footer field(s) note"


def test_empty_manifest_is_a_usage_error(out: Path) -> None:
    (out / "manifest.jsonl").write_bytes(b"")
    result = run(out)
    assert result.exit_code == 2
    assert (
        result.output == f"Error: {out / 'manifest.jsonl'}: empty file, not an augtool manifest\n"
    )


@pytest.mark.parametrize(
    ("first_line", "message"),
    [
        ("not json\n", "not JSON Lines, not an augtool manifest"),
        ('{"schema":"bagit"}\n', "not an augtool manifest (schema 'augtool.manifest')"),
        (
            '{"schema":"augtool.manifest","schema_version":99,"type":"header"}\n',
            "schema version 99 is not supported (this augtool reads version 1)",
        ),
    ],
)
def test_unknown_manifest_is_a_usage_error(out: Path, first_line: str, message: str) -> None:
    (out / "manifest.jsonl").write_text(first_line)
    result = run(out)
    assert result.exit_code == 2
    assert result.output == f"Error: {out / 'manifest.jsonl'}:1: {message}\n"


def test_malformed_json_line(out: Path) -> None:
    manifest = out / "manifest.jsonl"
    lines = manifest.read_text().splitlines(keepends=True)
    lines[3] = lines[3][:-5] + "\n"
    manifest.write_text("".join(lines))
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result)[0].startswith(f"{manifest}:4: not valid JSON (")


def test_recipe_hash_must_match_the_embedded_recipe(out: Path) -> None:
    def more_variants(header: dict[str, Any]) -> None:
        header["recipe"]["variants"] = 3

    rewrite(out, lambda records: records, edit_header=more_variants)
    result = run(out)
    assert result.exit_code == 1
    [line] = problem_lines(result)
    assert line.startswith(f"{out / 'manifest.jsonl'}:1: FAILED recipe sha256 expected=")


# --- unsafe paths and links ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("../../etc/passwd", "goes up out of the folder (..)"),
        ("/etc/passwd", "absolute path"),
        ("~/x", "home-relative path"),
        ("C:/Windows/win.ini", "drive-letter path"),
        ("train\\..\\..\\secret", "goes up out of the folder (..)"),
    ],
)
def test_unsafe_manifest_paths_fail_unopened(
    out: Path, path: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = out.parent / "secret"
    secret.write_bytes(b"outside the output")

    def point_outside(records: Records) -> Records:
        record = next(r for r in records if r["path"] == ORIGINAL)
        return [*records, {**record, "path": path, "sha256": sha256(secret), "bytes": 18}]

    rewrite(out, point_outside)
    touched: list[str] = []
    for module, name in ((os, "open"), (os, "stat"), (os, "lstat"), (builtins, "open")):
        monkeypatch.setattr(module, name, _spy(getattr(module, name), touched))
    result = run(out)
    monkeypatch.undo()
    assert result.exit_code == 1
    assert problem_lines(result) == [f"{path}: unsafe path ({reason}); not opened"]
    assert not [t for t in touched if "passwd" in t or "secret" in t or "win.ini" in t]


def _spy(function: Callable[..., Any], touched: list[str]) -> Callable[..., Any]:
    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        touched.append(os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else "")
        return function(path, *args, **kwargs)

    return spy


@pytest.mark.parametrize(
    "path", ["a//b.jpg", "./a.jpg", "a/./b.jpg", "", "a\0b", "\\\\server\\share\\x"]
)
def test_unsafe_reason_refuses_non_canonical_paths(path: str) -> None:
    assert unsafe_reason(path) is not None


def test_unsafe_reason_accepts_plain_relative_paths() -> None:
    assert unsafe_reason("train/cat/cat_001__v01.jpg") is None
    assert unsafe_reason("a..b/c~d.jpg") is None


def test_listed_file_replaced_by_a_link_outside_is_not_followed(out: Path) -> None:
    outside = out.parent / "copy.jpg"
    shutil.copy(out / ORIGINAL, outside)  # same bytes: following the link would "pass"
    (out / ORIGINAL).unlink()
    (out / ORIGINAL).symlink_to(outside)
    (out / "train/passwd").symlink_to("/etc/passwd")
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{ORIGINAL}: is a symbolic link, not a regular file; not followed",
        "train/passwd: present but not in the manifest (a symbolic link; not followed)",
    ]


def test_listed_files_behind_a_folder_link_are_not_followed(out: Path) -> None:
    moved = Path(shutil.move(out / "val/dog", out.parent / "dog"))
    (out / "val/dog").symlink_to(moved, target_is_directory=True)
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [
        "val/dog/dog_3.png: lies behind val/dog, a symbolic link; not followed",
        "val/dog: present but not in the manifest (a symbolic link; not followed)",
    ]


def test_directory_link_loop_does_not_hang(out: Path) -> None:
    (out / "train/loop").symlink_to("..", target_is_directory=True)
    (out / "train/cat/self").symlink_to("self")
    command = [sys.executable, "-m", "augtool", "validate", "manifest", str(out / "manifest.jsonl")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stdout.splitlines()[:-1] == [
        "train/cat/self: present but not in the manifest (a symbolic link; not followed)",
        "train/loop: present but not in the manifest (a symbolic link; not followed)",
    ]


def test_a_crafted_file_name_cannot_forge_report_lines(out: Path) -> None:
    (out / "x.jpg\ncat_1.jpg: OK").write_bytes(b"x")
    result = run(out)
    assert problem_lines(result) == ['"x.jpg\\ncat_1.jpg: OK": present but not in the manifest']


# --- leakage ------------------------------------------------------------------------------------


def test_augmented_val_file_is_leakage(out: Path) -> None:
    val_original = "val/cat/cat_4.jpg"
    leaked = "val/cat/cat_4__v00.jpg"
    shutil.copy(out / AUGMENTED, out / leaked)

    def augment_val(records: Records) -> Records:
        template = next(r for r in records if r["path"] == AUGMENTED)
        source = next(r for r in records if r["path"] == val_original)["source"]
        fake = {**template, "path": leaked, "split": "val", "label": "cat", "source": source}
        return [*records, fake]

    rewrite(out, augment_val)
    result = run(out)
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{leaked}: augmented from split 'val', which the recipe does not augment (augments: train)"
    ]


def test_same_source_in_two_splits_is_leakage(out: Path) -> None:
    def move_source(records: Records) -> Records:
        val = next(r for r in records if r["path"] == "val/cat/cat_5.jpg")
        train = record_of_records(records, ORIGINAL)
        val["source"] = train["source"]
        val["sha256"], val["bytes"] = train["sha256"], train["bytes"]
        return records

    (out / "val/cat/cat_5.jpg").write_bytes((out / ORIGINAL).read_bytes())
    rewrite(out, move_source)
    result = run(out)
    assert result.exit_code == 1
    assert f"{ORIGINAL}: source appears in two splits ('train' and 'val')" in problem_lines(result)
    assert f"{ORIGINAL}: recorded in split 'val' but is not under it" in problem_lines(result)


def record_of_records(records: Records, path: str) -> dict[str, Any]:
    return next(r for r in records if r["path"] == path)


def test_same_content_in_two_splits_is_leakage(tmp_path: Path) -> None:
    """A real expand of an input whose val folder holds a copy of a training image."""
    source = write_images(tmp_path / "input", {**IMAGES, "val/cat/copy.jpg": 0})
    shutil.copy(source / "train/cat/cat_2.jpg", source / "val/cat/copy.jpg")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    expand(recipe, source, tmp_path / "out", "--jobs", "1", "--quiet")
    result = run(tmp_path / "out")
    assert result.exit_code == 1
    digest = sha256(source / "train/cat/cat_2.jpg")
    assert problem_lines(result) == [
        f"val/cat/copy.jpg: same content (sha256 {digest}) as train/cat/cat_2.jpg in split 'train'"
    ]


# --- sources and re-derivation ------------------------------------------------------------------


def test_source_changed_after_expansion(out: Path, source: Path) -> None:
    changed = source / "train/dog/dog_1.png"
    expected = sha256(changed)
    write_images(changed.parent, {changed.name: 99})
    (source / "val/cat/cat_4.jpg").unlink()
    result = run(out, "--source", str(source))
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{source / 'val/cat/cat_4.jpg'}: source listed in the manifest but missing",
        f"{changed}: FAILED source sha256 expected={expected} found={sha256(changed)}",
    ]


def test_source_link_out_of_the_source_folder_is_not_followed(out: Path, source: Path) -> None:
    """The run did not set input.follow_links: a link out of the input, which expand would have
    skipped, is not followed (even to the very bytes recorded)."""
    target = source / "train/dog/dog_2.png"
    outside = source.parent / "dog_2.png"
    shutil.move(target, outside)
    target.symlink_to(outside)
    result = run(out, "--source", str(source), "--recompute", "all")
    assert result.exit_code == 1
    assert problem_lines(result) == [
        f"{target}: a symbolic link to outside the input (set input.follow_links: true to read "
        "it); not followed (expand does not read it)"
    ]


def test_source_behind_a_folder_link_is_not_followed(out: Path, source: Path) -> None:
    """Without input.follow_links expand does not descend into a linked folder."""
    moved = source.parent / "dog"
    shutil.move(source / "train/dog", moved)
    (source / "train/dog").symlink_to(moved, target_is_directory=True)
    result = run(out, "--source", str(source))
    assert result.exit_code == 1
    reason = (
        "lies behind train/dog, a symbolic link to a folder (set input.follow_links: true to "
        "read it); not followed (expand does not read it)"
    )
    assert problem_lines(result) == [
        f"{source / 'train/dog/dog_1.png'}: {reason}",
        f"{source / 'train/dog/dog_2.png'}: {reason}",
    ]


@pytest.mark.parametrize("follow_links", [False, True])
def test_sources_read_through_links_are_verified_as_expand_read_them(
    tmp_path: Path, follow_links: bool
) -> None:
    """A link inside the input is read by expand, and one to outside it with follow_links:
    validate --source and --recompute read the same files and pass."""
    source = write_images(tmp_path / "input", {"train/cat/cat_1.jpg": 1, "val/cat/cat_2.jpg": 2})
    (source / "train/cat/alias.jpg").symlink_to("cat_1.jpg")
    if follow_links:
        write_images(tmp_path / "elsewhere", {"far.png": 3})
        (source / "train/cat/far.png").symlink_to(tmp_path / "elsewhere/far.png")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE + f"input: {{follow_links: {str(follow_links).lower()}}}\n")
    expand(recipe, source, tmp_path / "out", "--jobs", "1", "--quiet")
    result = run(tmp_path / "out", "--source", str(source), "--recompute", "all", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["skipped"] == 0
    assert report["sources_checked"] == (4 if follow_links else 3)
    assert report["recomputed"] == (6 if follow_links else 4)


def reencode_and_record(
    out: Path, edit_header: Callable[[dict[str, Any]], None] | None = None
) -> str:
    """Re-encode an augmented output with other parameters and record its new bytes, so that
    the manifest agrees with the file and only re-deriving can tell; its new sha256."""
    target = out / AUGMENTED
    with Image.open(target) as image:
        image.load()
        image.save(target, quality=50)
    new_sha, new_size = sha256(target), target.stat().st_size

    def record_new_bytes(records: Records) -> Records:
        record = record_of_records(records, AUGMENTED)
        record["sha256"], record["bytes"] = new_sha, new_size
        return records

    rewrite(out, record_new_bytes, edit_header=edit_header)
    return new_sha


def test_output_reencoded_with_other_parameters(out: Path, source: Path) -> None:
    new_sha = reencode_and_record(out)
    assert run(out, "--source", str(source)).exit_code == 0
    result = run(out, "--source", str(source), "--recompute", "all")
    assert result.exit_code == 1
    [line] = problem_lines(result)
    assert line.startswith(f"{AUGMENTED}: FAILED recompute sha256 expected={new_sha} found=")
    assert line.endswith("gives other bytes")  # the same library versions: nothing to add


def test_a_recompute_failure_names_the_libraries_that_differ(out: Path, source: Path) -> None:
    """Re-deriving under other library versions may give other bytes: the report says which
    versions the manifest names and which this machine has."""
    import numpy

    def older_numpy(header: dict[str, Any]) -> None:
        header["libraries"]["numpy"] = "1.26.0"

    new_sha = reencode_and_record(out, edit_header=older_numpy)
    result = run(out, "--source", str(source), "--recompute", "all")
    assert result.exit_code == 1
    [line] = problem_lines(result)
    assert line.startswith(f"{AUGMENTED}: FAILED recompute sha256 expected={new_sha} found=")
    assert line.endswith(
        f"gives other bytes (the manifest names numpy 1.26.0; this machine has numpy "
        f"{numpy.__version__})"
    )


def test_recompute_on_a_process_pool(
    out: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recompute_check, "POOL_MIN_RECOMPUTE", 0)
    result = run(out, "--source", str(source), "--recompute", "all", "--jobs", "2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["recomputed"] == 10


def test_recompute_k_is_seeded_and_bounded(out: Path, source: Path) -> None:
    first = json.loads(run(out, "--source", str(source), "--recompute", "3", "--json").stdout)
    again = json.loads(run(out, "--source", str(source), "--recompute", "3", "--json").stdout)
    assert first["recomputed"] == again["recomputed"] == 3
    chosen = recompute_check._choose(10, 3)
    assert chosen == recompute_check._choose(10, 3) and len(set(chosen)) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--recompute", "many", "--source", "."], "--recompute 'many': expected a number"),
        (["--recompute", "2"], "--recompute needs --source"),
        (["--source", "/nonexistent"], "--source /nonexistent: not a folder"),
    ],
)
def test_recompute_usage_errors(out: Path, args: list[str], message: str) -> None:
    result = run(out, *args)
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {message}")


def test_hash_file_never_follows_a_link_or_waits_on_a_fifo(tmp_path: Path) -> None:
    """A link or FIFO swapped in between the walk and the read: refused, not followed or waited on
    (a FIFO opened for reading without O_NONBLOCK blocks until a writer comes; hence the child)."""
    (tmp_path / "real").write_bytes(b"data")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    os.mkfifo(tmp_path / "fifo")
    code = (
        "import sys; from augtool.run.executors.hashing import hash_file; "
        "print(hash_file(sys.argv[1])[1]); print(hash_file(sys.argv[2])[1])"
    )
    command = [sys.executable, "-c", code, str(tmp_path / "link"), str(tmp_path / "fifo")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["Too many levels of symbolic links", "not a regular file"]


# --- re-deriving labels -------------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
LABELLED_RECIPE = """\
version: 1
seed: 4
variants: 1
output: {originals: skip}
targets: {bbox: {min_visibility: 0.2}, flip_pairs: [[left_eye, right_eye]]}
pipeline:
  - hflip: {p: 0.5}
  - affine: {rotate: 20, scale: [0.8, 1.2], translate_percent: 0.2}
"""


@pytest.fixture(scope="session")
def labelled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The YOLO, COCO and masks samples, each expanded once with a geometric recipe."""
    base = tmp_path_factory.mktemp("labelled")
    recipe = base / "recipe.yaml"
    recipe.write_text(LABELLED_RECIPE)
    outs = {}
    for name in ("detection-yolo", "detection-coco", "segmentation"):
        expand(recipe, SAMPLES / name, base / name)
        outs[name] = base / name
    return outs


def labelled_copy(labelled: dict[str, Path], name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(labelled[name], tmp_path / name))


def replace_and_record(out: Path, path: str, data: bytes) -> None:
    """Replace an output file and record its new bytes (manifest, footer, SHA256SUMS): only
    re-deriving can tell."""
    (out / path).write_bytes(data)

    def record_new_bytes(records: Records) -> Records:
        record = record_of_records(records, path)
        record["sha256"], record["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
        return records

    rewrite(out, record_new_bytes)


def recompute_all(out: Path, name: str) -> Result:
    return run(out, "--source", str(SAMPLES / name), "--recompute", "all")


@pytest.mark.parametrize("name", ["detection-yolo", "detection-coco", "segmentation"])
def test_labels_are_re_derived_with_their_images(labelled: dict[str, Path], name: str) -> None:
    result = run(labelled[name], "--source", str(SAMPLES / name), "--recompute", "all", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    _, records, _ = manifest_parts(labelled[name])
    augmented = [r for r in records if r.get("role") == "augmented"]
    jsons = [r for r in records if r.get("kind") == "annotations"]
    assert augmented and report["recomputed"] == len(augmented) + len(jsons)


def test_a_forged_yolo_label_file_fails_recompute(
    labelled: dict[str, Path], tmp_path: Path
) -> None:
    out = labelled_copy(labelled, "detection-yolo", tmp_path)
    _, records, _ = manifest_parts(out)
    label = next(r for r in records if r.get("kind") == "label" and r["role"] == "augmented")
    replace_and_record(out, label["path"], b"0 0.500000 0.500000 0.900000 0.900000\n")
    assert run(out).exit_code == 0  # the hashes agree: only re-deriving can tell
    result = recompute_all(out, "detection-yolo")
    assert result.exit_code == 1
    [line] = problem_lines(result)
    assert line.startswith(f"{label['path']}: FAILED recompute sha256 expected=")


def test_a_label_line_whose_dropped_objects_were_edited_fails_recompute(
    labelled: dict[str, Path], tmp_path: Path
) -> None:
    out = labelled_copy(labelled, "detection-yolo", tmp_path)
    _, records, _ = manifest_parts(out)
    label = next(r for r in records if r.get("kind") == "label" and r["role"] == "augmented")

    def hide(records: Records) -> Records:
        record_of_records(records, label["path"])["dropped"] = [{"class": 9, "line": 99}]
        return records

    rewrite(out, hide)
    [line] = problem_lines(recompute_all(out, "detection-yolo"))
    assert line.startswith(f"{label['path']}: FAILED recompute of what the line says: ")


def test_a_forged_mask_fails_recompute(labelled: dict[str, Path], tmp_path: Path) -> None:
    out = labelled_copy(labelled, "segmentation", tmp_path)
    _, records, _ = manifest_parts(out)
    mask = next(r for r in records if r.get("kind") == "label" and r["role"] == "augmented")
    with Image.open(out / mask["path"]) as image:
        flipped = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    buffer = io.BytesIO()
    flipped.save(buffer, "PNG")
    replace_and_record(out, mask["path"], buffer.getvalue())
    [line] = problem_lines(recompute_all(out, "segmentation"))
    assert line.startswith(f"{mask['path']}: FAILED recompute sha256 expected=")


def test_a_forged_coco_json_fails_recompute(labelled: dict[str, Path], tmp_path: Path) -> None:
    out = labelled_copy(labelled, "detection-coco", tmp_path)
    path = "annotations/instances_train.json"
    data = json.loads((out / path).read_text())
    data["annotations"][0]["bbox"] = [1, 2, 3, 4]
    replace_and_record(out, path, (json.dumps(data) + "\n").encode())
    [line] = problem_lines(recompute_all(out, "detection-coco"))
    assert line.startswith(f"{path}: FAILED recompute sha256 expected=")
    assert line.endswith(
        "the JSON its image lines make differs (the file or the lines were edited)"
    )


def test_coco_annotations_forged_in_line_and_json_fail_recompute(
    labelled: dict[str, Path], tmp_path: Path
) -> None:
    """A forger who edits an image's recorded annotations and rebuilds the JSON from the lines
    is caught by re-deriving the annotations from the source's."""
    from augtool.layouts.coco import CocoSplit, split_json

    out = labelled_copy(labelled, "detection-coco", tmp_path)
    _, records, _ = manifest_parts(out)
    image = next(r for r in records if r["role"] == "augmented" and r["coco"]["annotations"])

    def move_a_box(records: Records) -> Records:
        record = record_of_records(records, image["path"])
        record["coco"]["annotations"][0]["bbox"] = [1.0, 2.0, 3.0, 4.0]
        return records

    rewrite(out, move_a_box)
    _, records, _ = manifest_parts(out)
    path = "annotations/instances_train.json"
    source = json.loads((SAMPLES / "detection-coco" / path).read_text())
    head = {k: v for k, v in source.items() if k not in ("images", "annotations")}
    lines = [r for r in records if r.get("coco") is not None and r["split"] == "train"]
    replace_and_record(out, path, split_json(CocoSplit(path, "train", head), lines))
    [line] = problem_lines(recompute_all(out, "detection-coco"))
    assert line == f"{image['path']}: FAILED recompute of its COCO annotations (or dropped ids)"
