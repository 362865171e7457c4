"""Awkward inputs: odd file names, unusual image modes, a disk that fills up at close, empty and
misplaced inputs. Each test fails when the handling it checks is removed."""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import subprocess
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import (
    expand,
    file_records,
    invoke,
    jpeg_bytes,
    random_pixels,
    read_manifest,
    sha,
    skipped,
    tree_digest,
)
from PIL import Image

from augtool.atomic import TEMP_PREFIX
from augtool.manifest import STATE_DIR, STATE_FILES

SIZE = (16, 12)  # (width, height) of every test image
CONTRACT = {"manifest.jsonl", "SHA256SUMS", "run.json", "croissant.json", STATE_DIR, *STATE_FILES}

RECIPE = """\
version: 1
seed: 5
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 10}
"""

# No steps: a variant is the source decoded and re-encoded, so pixels can be checked exactly.
IDENTITY = """\
version: 1
variants: 1
output: {{format: {fmt}, originals: {originals}}}
pipeline: []
"""


def write_recipe(tmp_path: Path, text: str = RECIPE) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def identity_recipe(tmp_path: Path, fmt: str = "same", originals: str = "skip") -> Path:
    return write_recipe(tmp_path, IDENTITY.format(fmt=fmt, originals=originals))


def single_input(tmp_path: Path, name: str, image: Image.Image, **save: Any) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    image.save(root / name, **save)
    return root


def only_variant(out: Path) -> tuple[Image.Image, dict[str, Any]]:
    """The run's single augmented output, loaded, with its manifest record."""
    (record,) = [r for r in file_records(out).values() if r["role"] == "augmented"]
    with Image.open(out / record["path"]) as img:
        img.load()
        copy = img.copy()
        copy.format = img.format
    return copy, record


# --- 1. file names ---------------------------------------------------------------------------

CAFE_NFC = unicodedata.normalize("NFC", "café.jpg")
CAFE_NFD = unicodedata.normalize("NFD", "café.jpg")
ODD_NAMES = ["my cat.jpg", CAFE_NFC, CAFE_NFD, "%20.jpg", "a\\b.jpg", "new\nline.jpg"]


def test_odd_file_names_are_expanded_listed_and_checkable(tmp_path: Path) -> None:
    assert CAFE_NFC != CAFE_NFD
    root = tmp_path / "data"
    root.mkdir()
    for seed, name in enumerate(ODD_NAMES):
        (root / name).write_bytes(jpeg_bytes(seed, SIZE))
    assert sorted(os.listdir(root)) == sorted(ODD_NAMES)  # six distinct names on disk
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")

    listed = file_records(out)
    assert skipped(out) == {}
    expected = set()
    for name in ODD_NAMES:
        stem = name[: -len(".jpg")]
        expected |= {name, f"{stem}__v00.jpg", f"{stem}__v01.jpg"}
        assert listed[name]["role"] == "original"
        assert listed[f"{stem}__v01.jpg"]["source"]["path"] == name
    # The manifest paths are the on-disk names, byte for byte (no normalisation, no quoting).
    assert set(listed) == expected
    assert set(os.listdir(out)) - CONTRACT == expected
    for path, record in listed.items():
        assert sha(out / path) == record["sha256"]
    assert (out / CAFE_NFC).read_bytes() == (root / CAFE_NFC).read_bytes()
    assert (out / CAFE_NFD).read_bytes() == (root / CAFE_NFD).read_bytes()

    sums = (out / "SHA256SUMS").read_bytes().decode("utf-8")
    escaped = [line for line in sums.splitlines() if line.startswith("\\")]
    assert len(escaped) == 6  # a\b.jpg and new\nline.jpg, each original + 2 variants
    check = subprocess.run(
        ["sha256sum", "--strict", "-c", "SHA256SUMS"],
        cwd=out,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count(b": OK\n") == len(expected)

    validated = invoke("validate", "manifest", out / "manifest.jsonl")
    assert validated.exit_code == 0, validated.output


# --- 2. image modes --------------------------------------------------------------------------


def png_rgb16(pixels: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (bit depth 16, colour type 2): Pillow cannot write one."""
    height, width, _ = pixels.shape
    rows = pixels.astype(">u2")
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_16_bit_rgb_png_is_scaled_to_8_bits(tmp_path: Path) -> None:
    values = np.zeros((SIZE[1], SIZE[0], 3), dtype=np.uint16)
    values[:, :4] = (65535, 32896, 0)
    values[:, 4:8] = (0, 65535, 32896)
    values[:, 8:12] = (4112, 0, 65535)  # 0x1010 → 16
    root = tmp_path / "data"
    root.mkdir()
    (root / "deep.png").write_bytes(png_rgb16(values))
    with Image.open(root / "deep.png") as check:
        check.load()
        assert check.size == SIZE  # the fixture is a real PNG Pillow reads
    out = expand(identity_recipe(tmp_path, "png"), root, tmp_path / "out")
    img, record = only_variant(out)
    assert img.format == "PNG"
    assert img.mode == "RGB"
    array = np.asarray(img).astype(int)
    expected = np.rint(values.astype(float) / 257).astype(int)
    assert np.abs(array - expected).max() <= 1, array[0, ::4]
    assert record["decoded"]["format"] == "PNG"
    assert record["image_size"] == [SIZE[1], SIZE[0]]


def la_image() -> Image.Image:
    pixels = np.zeros((SIZE[1], SIZE[0], 2), dtype=np.uint8)
    pixels[:, :, 0] = 90
    pixels[:, 8:, 1] = 255  # right half opaque grey, left half fully transparent
    return Image.fromarray(pixels, "LA")


def test_la_png_keeps_alpha_in_png(tmp_path: Path) -> None:
    root = single_input(tmp_path, "la.png", la_image())
    img, record = only_variant(expand(identity_recipe(tmp_path, "png"), root, tmp_path / "o"))
    assert img.mode == "RGBA"
    assert img.getpixel((12, 6)) == (90, 90, 90, 255)
    assert img.getpixel((2, 6))[3] == 0
    assert record["decoded"]["mode"] == "LA"


def test_la_png_as_jpeg_is_composited_over_white(tmp_path: Path) -> None:
    root = single_input(tmp_path, "la.png", la_image())
    img, _ = only_variant(expand(identity_recipe(tmp_path, "jpeg"), root, tmp_path / "o"))
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert all(c >= 245 for c in img.getpixel((1, 6)))  # transparent became white, not black
    assert all(abs(c - 90) <= 8 for c in img.getpixel((14, 6)))


def palette_image(transparent: bool) -> Image.Image:
    img = Image.new("P", SIZE, 0)
    img.putpalette([10, 20, 200, 0, 255, 0] + [0] * (256 * 3 - 6))
    img.paste(1, (8, 0, 16, 12))
    if transparent:
        img.info["transparency"] = 0
    return img


def test_palette_without_transparency_becomes_rgb(tmp_path: Path) -> None:
    root = single_input(tmp_path, "p.png", palette_image(False))
    img, record = only_variant(expand(identity_recipe(tmp_path, "png"), root, tmp_path / "o"))
    assert img.mode == "RGB"
    assert img.getpixel((2, 6)) == (10, 20, 200)
    assert img.getpixel((12, 6)) == (0, 255, 0)
    assert record["decoded"]["mode"] == "P"


def test_palette_with_transparency_as_jpeg_is_composited_over_white(tmp_path: Path) -> None:
    root = single_input(tmp_path, "p.png", palette_image(True), transparency=0)
    img, _ = only_variant(expand(identity_recipe(tmp_path, "jpeg"), root, tmp_path / "o"))
    assert img.mode == "RGB"
    assert all(c >= 245 for c in img.getpixel((1, 6)))  # not the palette's blue
    green = img.getpixel((14, 6))
    assert green[1] > 200 and green[0] < 60 and green[2] < 60


FRAME_COLOURS = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]


@pytest.mark.parametrize(("name", "fmt"), [("anim.gif", "GIF"), ("pages.tif", "TIFF")])
def test_multi_frame_uses_the_first_frame_and_records_the_count(
    tmp_path: Path, name: str, fmt: str
) -> None:
    frames = [Image.new("RGB", SIZE, colour) for colour in FRAME_COLOURS]
    root = single_input(tmp_path, name, frames[0], save_all=True, append_images=frames[1:])
    with Image.open(root / name) as check:
        assert check.n_frames == 3
    out = expand(identity_recipe(tmp_path, "same"), root, tmp_path / "out")
    img, record = only_variant(out)
    assert record["path"] == name.rsplit(".", 1)[0] + "__v00.png"
    assert img.format == "PNG"
    assert img.convert("RGB").getpixel((8, 6)) == FRAME_COLOURS[0]
    assert record["decoded"]["frames"] == 3
    assert record["decoded"]["format"] == fmt


# --- 3. a disk that fills up when a file is closed -------------------------------------------


class _FullAtClose:
    """A binary file whose close() closes the descriptor, then reports ENOSPC (as a delayed
    write-back error does)."""

    def __init__(self, inner: io.BufferedWriter) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _FullAtClose:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._inner.close()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_at_close_fails_cleanly_and_a_rerun_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    for seed, name in enumerate(["a.jpg", "b.jpg", "sub/c.jpg"]):
        (root / name).write_bytes(jpeg_bytes(seed, SIZE))
    recipe = write_recipe(tmp_path)
    clean = expand(recipe, root, tmp_path / "clean")

    out = tmp_path / "out"
    real_fdopen = os.fdopen
    outputs_opened = 0
    fail_at = 4  # the 4th output file: b.jpg's original (after a.jpg and its two variants)

    def fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        nonlocal outputs_opened
        handle = real_fdopen(fd, mode, *args, **kwargs)
        if mode != "wb":
            return handle
        # Count only the dataset's outputs, not the run-state files (their temp files are
        # named after them).
        opened = Path(os.readlink(f"/proc/self/fd/{fd}"))
        state = any(name in opened.name for name in STATE_FILES)
        if not state and opened.parent in (out.resolve(), (out / "sub").resolve()):
            outputs_opened += 1
            if outputs_opened == fail_at:
                return _FullAtClose(handle)
        return handle

    monkeypatch.setattr(os, "fdopen", fdopen)
    result = invoke("expand", recipe, root, "-o", out, "--quiet")
    monkeypatch.undo()
    assert outputs_opened >= fail_at
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {out}: writing failed: [Errno 28] No space left on device; run again to resume\n"
    )
    assert [p for p in out.rglob(f"{TEMP_PREFIX}*")] == []
    assert not (out / "manifest.jsonl").exists()
    assert not (out / "SHA256SUMS").exists()
    assert not (out / "b.jpg").exists()  # the file whose close failed is not there

    expand(recipe, root, out)
    excluded = frozenset({"run.json", STATE_DIR, *STATE_FILES})
    assert tree_digest(out, excluded) == tree_digest(clean, excluded)
    assert invoke("validate", "manifest", out / "manifest.jsonl").exit_code == 0


# --- 4. unusable inputs ----------------------------------------------------------------------


def test_empty_input_folder_is_a_usage_error(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "README.txt").write_text("no images here\n")
    out = tmp_path / "out"
    result = invoke("expand", write_recipe(tmp_path), root, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {root}: no image files found (endings: .jpg, ")
    assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_input_that_is_a_file_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "one.jpg"
    source.write_bytes(jpeg_bytes(0, SIZE))
    out = tmp_path / "out"
    result = invoke("expand", write_recipe(tmp_path), source, "-o", out)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {source}: input is not a folder\n"
    assert not out.exists()


# --- 5. images outside the split folders -----------------------------------------------------


def test_images_outside_the_split_folders_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for seed, name in enumerate(["train/cat/a.jpg", "val/cat/b.jpg", "top.jpg", "misc/c.jpg"]):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(jpeg_bytes(seed, SIZE))
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")
    reason = "outside the split folders (test, train, val)"
    assert skipped(out) == {"top.jpg": reason, "misc/c.jpg": reason}
    assert set(file_records(out)) == {
        "train/cat/a.jpg",
        "train/cat/a__v00.jpg",
        "train/cat/a__v01.jpg",
        "val/cat/b.jpg",
    }
    assert not (out / "top.jpg").exists()
    assert not (out / "misc").exists()
    assert read_manifest(out)[-1]["counts"]["skipped"] == 2


def test_a_folder_that_cannot_be_listed_is_skipped_not_silently_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    for seed, name in enumerate(["train/cat/a.jpg", "train/dog/b.jpg", "val/cat/c.jpg"]):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(jpeg_bytes(seed, SIZE))
    # Root reads any folder whatever its mode, so the refusal is the file system's here.
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if Path(path) == root / "train/dog":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")
    assert skipped(out) == {"train/dog": "a folder that cannot be listed: Permission denied"}
    assert "train/cat/a__v00.jpg" in file_records(out)


def test_files_put_in_the_output_by_someone_else_are_named_and_kept(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for seed, name in enumerate(["train/cat/a.jpg", "val/cat/b.jpg"]):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(jpeg_bytes(seed, SIZE))
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")
    (out / "train/cat/notes.txt").write_text("mine\n")
    (out / "extra").mkdir()
    (out / "extra/elsewhere").symlink_to(tmp_path)
    result = invoke("expand", write_recipe(tmp_path), root, "-o", out, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["unlisted"] == ["extra/elsewhere", "train/cat/notes.txt"]
    assert result.stderr == (
        f"warning: {out}: 2 files augtool did not make (extra/elsewhere, …): left in place, "
        "and validate manifest reports them\n"
    )
    assert (out / "train/cat/notes.txt").read_text() == "mine\n"  # nothing is lost
    (out / "train/cat/notes.txt").unlink()
    (out / "extra/elsewhere").unlink()
    again = invoke("expand", write_recipe(tmp_path), root, "-o", out, "--json", "--quiet")
    assert json.loads(again.stdout)["unlisted"] == [] and again.stderr == ""


# --- 6. upper-case endings -------------------------------------------------------------------


def test_upper_case_ending_is_found_and_kept(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / "A.JPG").write_bytes(jpeg_bytes(0, SIZE))
    out = expand(write_recipe(tmp_path, RECIPE + "output: {format: same}\n"), root, tmp_path / "o")
    assert set(file_records(out)) == {"A.JPG", "A__v00.JPG", "A__v01.JPG"}
    record = file_records(out)["A__v00.JPG"]
    assert record["encoder"]["format"] == "JPEG"
    with Image.open(out / "A__v00.JPG") as img:
        assert img.format == "JPEG"
    assert (out / "A.JPG").read_bytes() == (root / "A.JPG").read_bytes()


# --- names the manifest cannot hold, or that clash with augtool's own files -------------------


def test_file_name_that_is_not_utf8_is_skipped_not_a_crash(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / os.fsdecode(b"bad\xffname.jpg")).write_bytes(jpeg_bytes(0, SIZE))
    (root / "ok.jpg").write_bytes(jpeg_bytes(1, SIZE))
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")
    # Recorded with the stray byte shown as \xff: the manifest is UTF-8 JSON.
    assert skipped(out) == {"bad\\xffname.jpg": "the file name is not valid UTF-8; rename it"}
    assert set(file_records(out)) == {"ok.jpg", "ok__v00.jpg", "ok__v01.jpg"}
    assert invoke("validate", "manifest", out / "manifest.jsonl").exit_code == 0


def test_input_folder_named_like_the_state_folder_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / ".augtool").mkdir(parents=True)
    (root / ".augtool" / "x.jpg").write_bytes(jpeg_bytes(0, SIZE))
    (root / "ok.jpg").write_bytes(jpeg_bytes(1, SIZE))
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")
    reason = "inside '.augtool', a name augtool keeps for its own files"
    assert skipped(out) == {".augtool/x.jpg": reason}
    assert not (out / ".augtool" / "x.jpg").exists()
    validated = invoke("validate", "manifest", out / "manifest.jsonl")
    assert validated.exit_code == 0, validated.output


def test_input_file_named_like_a_temp_file_is_skipped(tmp_path: Path) -> None:
    """Its outputs would bear augtool's temp file prefix, and every run removes such files as
    a killed run's leftovers: listed in the manifest, they would be missing."""
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / f"{TEMP_PREFIX}x.jpg").write_bytes(jpeg_bytes(0, SIZE))
    (root / "ok.jpg").write_bytes(jpeg_bytes(1, SIZE))
    out = expand(write_recipe(tmp_path), root, tmp_path / "out")
    reason = f"named like augtool's temp files ({TEMP_PREFIX!r}), which a run removes; rename it"
    assert skipped(out) == {f"sub/{TEMP_PREFIX}x.jpg": reason}
    validated = invoke("validate", "manifest", out / "manifest.jsonl", "--source", root)
    assert validated.exit_code == 0, validated.output


# --- an unchanged variant is encoded from the decoded picture -------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_an_empty_pipeline_writes_what_recompute_makes_from_the_array(
    tmp_path: Path, fmt: str
) -> None:
    """Variants that change no pixel skip the copy into numpy and are encoded from the decoded
    Pillow image; the bytes must be those the array path gives (validate --recompute uses it),
    and no metadata of the source (a JPEG comment, XMP, EXIF) may ride along."""
    root = tmp_path / "data"
    root.mkdir()
    pixels = random_pixels((SIZE[1], SIZE[0], 3), 3)
    exif = Image.Exif()
    exif[0x010E] = "a description"  # ImageDescription
    Image.fromarray(pixels, "RGB").save(
        root / "tagged.jpg",
        quality=95,
        comment=b"a comment",
        exif=exif.tobytes(),
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
        icc_profile=b"not-really-an-icc-profile",
    )
    Image.fromarray(pixels[:, :, 0], "L").save(root / "grey.png", dpi=(300, 300))
    out = expand(identity_recipe(tmp_path, fmt), root, tmp_path / "out")
    checked = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", root, "--recompute", "all"
    )
    assert checked.exit_code == 0, checked.output
    for record in file_records(out).values():
        data = (out / record["path"]).read_bytes()
        assert b"a comment" not in data
        assert b"xmpmeta" not in data
        assert b"a description" not in data
