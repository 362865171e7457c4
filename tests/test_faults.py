"""Faults in the input and on the way out: each is skipped with its reason, or fails cleanly."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import (
    expand,
    expand_argv,
    expand_process,
    invoke,
    jpeg_bytes,
    read_manifest,
    skipped,
    unprivileged,
)
from PIL import Image

from augtool.atomic import TEMP_PREFIX

SIZE = (32, 24)
ACCEPTED = "not an image in an accepted format (JPEG, PNG, WEBP, BMP, TIFF, GIF)"

RECIPE = """\
version: 1
seed: 3
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 10}
"""


@pytest.fixture
def train(tmp_path: Path) -> Path:
    """A flat dataset folder with one good JPEG."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "good.jpg").write_bytes(jpeg_bytes())
    return root


def write_recipe(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE + extra)
    return path


def expand_ok(tmp_path: Path, root: Path, extra: str = "") -> Path:
    return expand(write_recipe(tmp_path, extra), root, tmp_path / "out")


def expand_skipping_all(tmp_path: Path, root: Path, extra: str = "") -> Path:
    """A run whose every input is skipped: it writes its manifest, then exits 1."""
    out = tmp_path / "out"
    result = invoke("expand", write_recipe(tmp_path, extra), root, "-o", out)
    assert result.exit_code == 1, result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("Error: every input was skipped (1 of 1); good.jpg: ")
    return out


def expand_subprocess(
    tmp_path: Path, root: Path, extra: str = "", *args: str
) -> subprocess.CompletedProcess[str]:
    """A real process with a timeout: a hang fails the test instead of the whole suite."""
    recipe = write_recipe(tmp_path, extra)
    return expand_process(recipe, root, tmp_path / "out", "--json", *args, expect=None, timeout=30)


# --- broken and surprising files -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("zero.jpg", b"", ACCEPTED),
        ("text.png", b"hello, I am not a PNG\n", ACCEPTED),
    ],
)
def test_undecodable_file_is_skipped(
    tmp_path: Path, train: Path, name: str, content: bytes, reason: str
) -> None:
    (train / name).write_bytes(content)
    out = expand_ok(tmp_path, train)
    assert skipped(out) == {name: reason}
    assert not (out / name).exists()
    assert (out / "good__v01.jpg").is_file()


def test_truncated_jpeg_is_skipped(tmp_path: Path, train: Path) -> None:
    data = jpeg_bytes(1)
    (train / "half.jpg").write_bytes(data[: len(data) // 2])
    out = expand_ok(tmp_path, train)
    reasons = skipped(out)
    assert list(reasons) == ["half.jpg"]
    assert reasons["half.jpg"].startswith("cannot decode: ")
    assert "truncated" in reasons["half.jpg"].lower()


def test_png_named_jpg_is_decoded_and_recorded(tmp_path: Path, train: Path) -> None:
    Image.new("RGB", SIZE, (10, 200, 10)).save(train / "really_png.jpg", format="PNG")
    out = expand_ok(tmp_path, train)
    assert skipped(out) == {}
    files = {r["path"]: r for r in read_manifest(out) if r["type"] == "file"}
    variant = files["really_png__v00.jpg"]
    # The plan names outputs by ending; the manifest says what the bytes really were.
    assert variant["decoded"]["format"] == "PNG"
    assert variant["encoder"]["format"] == "JPEG"
    with Image.open(out / "really_png__v00.jpg") as img:
        assert img.format == "JPEG"
    assert files["really_png.jpg"]["role"] == "original"


def test_png_named_jpg_is_skipped_when_png_is_not_accepted(tmp_path: Path, train: Path) -> None:
    Image.new("RGB", SIZE).save(train / "really_png.jpg", format="PNG")
    out = expand_ok(tmp_path, train, "input: {formats: [JPEG]}\n")
    assert skipped(out) == {"really_png.jpg": "not an image in an accepted format (JPEG)"}


def test_format_outside_input_formats_is_skipped(tmp_path: Path, train: Path) -> None:
    Image.new("RGB", SIZE).save(train / "b.bmp", format="BMP")
    out = expand_ok(tmp_path, train, "input: {formats: [JPEG]}\n")
    assert skipped(out) == {"b.bmp": "not an image in an accepted format (JPEG)"}
    assert not (out / "b.bmp").exists()


def test_fifo_is_skipped_without_hanging(tmp_path: Path, train: Path) -> None:
    os.mkfifo(train / "x.jpg")
    proc = expand_subprocess(tmp_path, train)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    reason = "not a regular file (FIFO, socket or device)"
    assert summary["skipped"] == [{"path": "x.jpg", "reason": reason}]
    assert skipped(tmp_path / "out") == {"x.jpg": reason}


def test_symlink_out_of_the_input_is_skipped_unless_allowed(tmp_path: Path, train: Path) -> None:
    outside = tmp_path / "elsewhere.jpg"
    outside.write_bytes(jpeg_bytes(5))
    (train / "link.jpg").symlink_to(outside)
    out = expand_ok(tmp_path, train)
    assert skipped(out) == {
        "link.jpg": "a symbolic link to outside the input (set input.follow_links: true to read it)"
    }
    assert not (out / "link.jpg").exists()
    (tmp_path / "again").mkdir()
    allowed = expand_ok(tmp_path / "again", train, "input: {follow_links: true}\n")
    assert skipped(allowed) == {}
    assert (allowed / "link.jpg").read_bytes() == outside.read_bytes()


def test_symlink_inside_the_input_is_read(tmp_path: Path, train: Path) -> None:
    (train / "link.jpg").symlink_to(train / "good.jpg")
    out = expand_ok(tmp_path, train)
    assert skipped(out) == {}
    assert (out / "link.jpg").read_bytes() == (train / "good.jpg").read_bytes()
    assert (out / "link__v00.jpg").is_file()


def test_broken_symlink_is_skipped(tmp_path: Path, train: Path) -> None:
    (train / "dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    out = expand_ok(tmp_path, train)
    assert skipped(out) == {"dangling.jpg": "a broken symbolic link (or a link loop)"}


def test_directory_symlink_loop_does_not_hang(tmp_path: Path, train: Path) -> None:
    (train / "sub").mkdir()
    (train / "sub" / "loop").symlink_to(train, target_is_directory=True)
    (train / "sub" / "inner.jpg").write_bytes(jpeg_bytes(2))
    proc = expand_subprocess(tmp_path, train)
    assert proc.returncode == 0, proc.stderr
    written = {r["path"] for r in read_manifest(tmp_path / "out") if r["type"] == "file"}
    assert written == {
        "good.jpg",
        "good__v00.jpg",
        "good__v01.jpg",
        "sub/inner.jpg",
        "sub/inner__v00.jpg",
        "sub/inner__v01.jpg",
    }


def split_dataset_with_linked_val(tmp_path: Path) -> Path:
    """train/ in the input; val/ a link to a folder outside it, holding one image and links
    back: to the input (a loop), to itself (a loop through the link), to train (read already)."""
    root = tmp_path / "data"
    (root / "train").mkdir(parents=True)
    (root / "train/a.jpg").write_bytes(jpeg_bytes(1))
    store = tmp_path / "store/val"
    (store / "deep").mkdir(parents=True)
    (store / "b.jpg").write_bytes(jpeg_bytes(2))
    (store / "deep/c.jpg").write_bytes(jpeg_bytes(3))
    (root / "val").symlink_to("../store/val", target_is_directory=True)
    (store / "up").symlink_to(root, target_is_directory=True)
    (store / "deep/again").symlink_to("..", target_is_directory=True)
    (root / "train_too").symlink_to("train", target_is_directory=True)
    return root


def test_linked_folder_is_skipped_with_a_reason(tmp_path: Path) -> None:
    """Not descended into without follow_links, and not silently dropped: one record for the
    folder, which --strict counts."""
    root = split_dataset_with_linked_val(tmp_path)
    proc = expand_subprocess(tmp_path, root, "", "--strict")
    assert proc.returncode == 1, proc.stderr
    reason = "a symbolic link to a folder (set input.follow_links: true to read it)"
    assert skipped(tmp_path / "out") == {"train_too": reason, "val": reason}
    written = {r["path"] for r in read_manifest(tmp_path / "out") if r["type"] == "file"}
    assert written == {"train/a.jpg", "train/a__v00.jpg", "train/a__v01.jpg"}
    check = invoke("validate", "manifest", tmp_path / "out/manifest.jsonl", "--source", root)
    assert check.exit_code == 0, check.output


def test_linked_folder_is_walked_with_follow_links(tmp_path: Path) -> None:
    """With follow_links the linked split is read; each real folder once, in path order, so
    loops end and nothing is read twice; validate --source agrees."""
    root = split_dataset_with_linked_val(tmp_path)
    proc = expand_subprocess(tmp_path, root, "input: {follow_links: true}\n")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    assert skipped(out) == {
        "train_too": "the same folder as train, already read",
        "val/deep/again": "the same folder as val, already read",
        "val/up": "a symbolic link to a folder that holds the input (a loop)",
    }
    files = {r["path"]: r["split"] for r in read_manifest(out) if r["type"] == "file"}
    assert files == {
        "train/a.jpg": "train",
        "train/a__v00.jpg": "train",
        "train/a__v01.jpg": "train",
        "val/b.jpg": "val",
        "val/deep/c.jpg": "val",
    }
    check = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", root, "--recompute", "all"
    )
    assert check.exit_code == 0, check.output


def test_unreadable_file_is_skipped(tmp_path: Path, train: Path) -> None:
    locked = train / "locked.jpg"
    locked.write_bytes(jpeg_bytes(3))
    locked.chmod(0)
    out = tmp_path / "out"
    try:  # a process that the file's mode stops, even as root
        done = unprivileged(expand_argv(write_recipe(tmp_path), train, out, "--quiet"))
    finally:
        locked.chmod(0o644)
    assert done.returncode == 0, done.stderr
    assert skipped(out) == {"locked.jpg": "cannot read: Permission denied"}


@pytest.mark.parametrize("limit", [100, 500], ids=["error", "warning"])
def test_decompression_bomb_is_refused(tmp_path: Path, train: Path, limit: int) -> None:
    # 32x24 = 768 pixels: above 2 * 100 Pillow raises; between 500 and 1000 it only warns,
    # and the warning must refuse the file too.
    # pytest turns warnings into errors; ignore the bomb warning here so that only augtool's
    # own refusal can stop the file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        out = expand_skipping_all(tmp_path, train, f"input: {{max_pixels: {limit}}}\n")
    reason = skipped(out)["good.jpg"]
    assert reason.startswith("decompression bomb refused: ")
    assert "768 pixels" in reason
    assert not (out / "good__v00.jpg").exists()


# --- images the output format cannot hold --------------------------------------------------


def expand_recipe(tmp_path: Path, root: Path, recipe: str) -> Path:
    """Expand with ``recipe``; the run must succeed and its manifest validate."""
    (tmp_path / "limits.yaml").write_text(recipe)
    out = tmp_path / "out"
    expand(tmp_path / "limits.yaml", root, out)
    check = invoke("validate", "manifest", out / "manifest.jsonl")
    assert check.exit_code == 0, check.output  # nothing left unlisted
    return out


def outputs_of(out: Path, stem: str) -> list[str]:
    return sorted(p.name for p in out.rglob(f"{stem}*"))


@pytest.mark.parametrize(
    ("fmt", "width", "reason"),
    [
        (
            "webp",
            16384,
            "cannot encode as WebP: 16384x1 exceeds WebP's limit of 16383 pixels a side",
        ),
        (
            "jpeg",
            65501,
            "cannot encode as JPEG: 65501x1 exceeds JPEG's limit of 65500 pixels a side",
        ),
    ],
)
def test_image_too_large_for_the_output_format_is_skipped(
    tmp_path: Path, train: Path, fmt: str, width: int, reason: str
) -> None:
    Image.new("RGB", (width, 1), (9, 9, 9)).save(train / "pano.png")
    recipe = f"version: 1\nvariants: 2\noutput: {{format: {fmt}}}\npipeline:\n  - hflip: {{}}\n"
    out = expand_recipe(tmp_path, train, recipe)
    assert skipped(out) == {"pano.png": reason}
    assert outputs_of(out, "pano") == []  # not even its original: a skipped source has no files
    ext = "jpg" if fmt == "jpeg" else fmt
    assert outputs_of(out, "good") == ["good.jpg", f"good__v00.{ext}", f"good__v01.{ext}"]


def test_encoder_limit_leaves_no_stderr_noise_and_exit_0(tmp_path: Path, train: Path) -> None:
    """libjpeg prints "Maximum supported image dimension is 65500 pixels" to the process's
    stderr before it fails: the limit is checked before the encoder runs."""
    Image.new("RGB", (70000, 1)).save(train / "pano.png")
    (tmp_path / "j.yaml").write_text(
        "version: 1\nvariants: 1\noutput: {format: jpeg}\npipeline:\n  - hflip: {p: 1}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "augtool", "expand", str(tmp_path / "j.yaml"), str(train),
         "-o", str(tmp_path / "out"), "--quiet"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert list(skipped(tmp_path / "out")) == ["pano.png"]


def test_variant_over_the_limit_midway_removes_the_sources_written_files(
    tmp_path: Path, train: Path
) -> None:
    """Variants 0 and 1 fit in a JPEG, variant 2 does not: the source is skipped, and the
    original and the two variants already written are removed (validate would flag them)."""
    recipe = """\
version: 1
seed: 5
variants: 3
output: {format: jpeg}
pipeline:
  - one_of:
      transforms:
        - resize: {size: [10, 10]}
        - resize: {size: [1, 70000]}
"""
    from augtool.media.image.transforms import run
    from augtool.recipe.model import load_recipe
    from augtool.run.plan import variant_seed

    (tmp_path / "r.yaml").write_text(recipe)
    steps = load_recipe(tmp_path / "r.yaml").steps
    image = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    seeds = [variant_seed(5, "good.jpg", i) for i in range(3)]
    rngs = [np.random.Generator(np.random.PCG64(seed)) for seed in seeds]
    widths = [run(list(steps), image, rng)[0].shape[1] for rng in rngs]
    assert widths == [10, 10, 70000]  # the case under test: a failure after two writes
    out = tmp_path / "out"
    result = invoke("expand", tmp_path / "r.yaml", train, "-o", out)
    assert result.exit_code == 1, result.output  # its only input skipped
    check = invoke("validate", "manifest", out / "manifest.jsonl")
    assert check.exit_code == 0, check.output  # nothing left unlisted
    assert skipped(out) == {
        "good.jpg": "cannot encode as JPEG: 70000x1 exceeds JPEG's limit of 65500 pixels a side"
    }
    assert outputs_of(out, "good") == []


def test_jpeg_compression_over_the_jpeg_limit_is_skipped(tmp_path: Path, train: Path) -> None:
    Image.new("RGB", (65501, 1)).save(train / "pano.png")
    recipe = "version: 1\nvariants: 1\npipeline:\n  - jpeg_compression: {}\n"
    out = expand_recipe(tmp_path, train, recipe)
    assert skipped(out) == {
        "pano.png": "jpeg_compression: cannot encode as JPEG: 65501x1 exceeds JPEG's limit of "
        "65500 pixels a side"
    }
    assert outputs_of(out, "pano") == []
    assert outputs_of(out, "good") == ["good.jpg", "good__v00.jpg"]


def test_skip_reasons_never_carry_an_object_repr() -> None:
    from augtool.media.image.codecs import error_text

    exc = OSError("cannot identify image file <_io.BytesIO object at 0x7f3a2c1e9f30>")
    assert error_text(exc) == "cannot identify image file"
    assert error_text(ValueError("Corrupt EXIF data.  Expecting\n12 bytes")) == (
        "Corrupt EXIF data. Expecting 12 bytes"
    )


def test_an_encoder_error_past_the_known_limits_is_an_encode_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The limits are checked first; an error the encoder finds itself is caught too."""
    from augtool.media.image import codecs

    monkeypatch.setattr(codecs, "MAX_SIDE", {})
    settings = codecs.encoder_settings("WEBP", 90)
    with pytest.raises(codecs.EncodeError, match=r"^cannot encode as WebP: .*16383"):
        codecs.encode(np.zeros((1, 16384, 3), np.uint8), settings)


# --- failed writes ---------------------------------------------------------------------------


def leftover_temp_files(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob(f"{TEMP_PREFIX}*")]


@pytest.mark.parametrize("target", ["first file", "manifest"])
def test_disk_full_on_replace_fails_cleanly(
    tmp_path: Path, train: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    (train / "sub").mkdir()
    (train / "sub" / "other.jpg").write_bytes(jpeg_bytes(4))
    real_replace = os.replace

    def full_disk(src: Any, dst: Any, **kwargs: Any) -> None:
        name = os.path.basename(os.fspath(dst))
        if target == "first file" or name in ("manifest.jsonl", "SHA256SUMS"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_replace(src, dst, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(os, "replace", full_disk)
    result = invoke("expand", write_recipe(tmp_path), train, "-o", out, "--quiet")
    monkeypatch.undo()
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {out}: writing failed: [Errno 28] No space left on device; run again to resume\n"
    )
    assert leftover_temp_files(out) == []
    # Nothing that looks like a finished run is left behind.
    assert not (out / "manifest.jsonl").exists()
    assert not (out / "SHA256SUMS").exists()


# --- atomic writes ---------------------------------------------------------------------------


def test_write_atomic_creates_folders_and_leaves_no_temp_file(tmp_path: Path) -> None:
    from augtool.atomic import write_atomic

    target = tmp_path / "a" / "b" / "x.jpg"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert leftover_temp_files(tmp_path) == []


def test_write_atomic_mode_follows_the_umask(tmp_path: Path) -> None:
    from augtool.atomic import _FILE_MODE, write_atomic

    target = tmp_path / "x.jpg"
    write_atomic(target, b"data")
    assert target.stat().st_mode & 0o777 == _FILE_MODE


def test_write_atomic_survives_a_leftover_temp_file_of_the_same_name(tmp_path: Path) -> None:
    import threading

    from augtool.atomic import write_atomic

    # What a killed process whose pid (and thread id) came back would have left.
    stale = tmp_path / f"{TEMP_PREFIX}{os.getpid()}-{threading.get_ident()}-x.jpg.tmp"
    stale.write_bytes(b"stale")
    write_atomic(tmp_path / "x.jpg", b"fresh")
    assert (tmp_path / "x.jpg").read_bytes() == b"fresh"
    assert stale.read_bytes() == b"stale"  # not ours to touch; the next run's cleanup removes it


def test_write_atomic_long_name_falls_back_to_a_random_temp_name(tmp_path: Path) -> None:
    from augtool.atomic import write_atomic

    target = tmp_path / ("n" * 250)
    write_atomic(target, b"data")
    assert target.read_bytes() == b"data"
    assert leftover_temp_files(tmp_path) == []
