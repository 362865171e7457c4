"""Privacy, proven on real files: EXIF (with GPS and a maker note), XMP, IPTC and PNG text
written into the sources with exiftool are gone from every variant, and from the originals too
with ``strip_metadata: originals_too``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import file_records, invoke, read_manifest
from PIL import Image

EXIFTOOL = shutil.which("exiftool")
pytestmark = pytest.mark.skipif(
    EXIFTOOL is None,
    reason="exiftool is not installed (Debian: apt-get install libimage-exiftool-perl)",
)

GPS = ["-GPSLatitude=48.8584", "-GPSLatitudeRef=N", "-GPSLongitude=2.2945", "-GPSLongitudeRef=E"]
COMMON = [
    *GPS,
    "-EXIF:Make=SecretMake",
    "-EXIF:MakerNoteUnknownText=SecretMaker",
    "-XMP-dc:Creator=SecretXmp",
]
#: what each source carries, written by exiftool
WRITTEN = {
    "photo.jpg": [*COMMON, "-IPTC:By-line=SecretIptc", "-EXIF:UserComment=SecretExif"],
    "drawing.png": [*COMMON, "-PNG:Comment=SecretText"],
}
PRIVATE_GROUPS = ("GPS", "XMP", "IPTC", "MakerNotes")
PRIVATE_TAGS = ("Make", "MakerNoteUnknownText", "Comment", "UserComment")


def exiftool(*args: str | Path) -> str:
    assert EXIFTOOL is not None
    done = subprocess.run([EXIFTOOL, *map(str, args)], capture_output=True, text=True, check=True)
    return done.stdout


def private_tags(path: Path) -> list[str]:
    """Every tag of ``path`` that says something about its maker, place or author."""
    (tags,) = json.loads(exiftool("-json", "-G1", "-a", "-u", path))
    found = []
    for name, value in tags.items():
        group, _, tag = name.partition(":")
        private = any(group.startswith(g) for g in PRIVATE_GROUPS) or "Secret" in str(value)
        if private or tag in PRIVATE_TAGS:
            found.append(f"{name}={value}")
    return found


def sources(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, tags in WRITTEN.items():
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(root / name)
        exiftool("-q", "-overwrite_original", *tags, root / name)
        carried = private_tags(root / name)
        assert any(t.startswith("GPS") for t in carried) and len(carried) >= 5, carried
    return root


def run(tmp_path: Path, strip: Any) -> Path:
    recipe = tmp_path / f"recipe-{strip}.yaml"
    doc = {
        "version": 1,
        "variants": 2,
        "output": {"strip_metadata": strip},
        "pipeline": [{"hflip": {"p": 1}}],
    }
    recipe.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / f"out-{strip}"
    result = invoke("expand", recipe, sources(tmp_path / str(strip)), "-o", out)
    assert result.exit_code == 0, result.output
    return out


def test_variants_carry_no_private_metadata(tmp_path: Path) -> None:
    out = run(tmp_path, True)
    records = file_records(out)
    variants = [p for p, r in records.items() if r["role"] == "augmented"]
    assert len(variants) == 4
    for path in variants:
        assert private_tags(out / path) == [], path
        assert records[path]["metadata"] == "stripped"


def test_originals_too_strips_every_output_and_says_so(tmp_path: Path) -> None:
    out = run(tmp_path, "originals_too")
    records = file_records(out)
    assert len(records) == 6
    for path, record in records.items():
        assert private_tags(out / path) == [], path
        assert record["metadata"] == "stripped"
    originals = [r for r in records.values() if r["role"] == "original"]
    assert {r["how"] for r in originals} == {"normalize"}
    header = read_manifest(out)[0]
    assert "gps" in header["stripped"]["originals"]
    assert "gps" in header["stripped"]["variants"]
    # the rewritten originals are re-derived from their sources
    source = tmp_path / "originals_too" / "in"
    checked = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert checked.exit_code == 0, checked.output


def test_png_originals_are_rewritten_losslessly(tmp_path: Path) -> None:
    out = run(tmp_path, "originals_too")
    source = tmp_path / "originals_too" / "in" / "drawing.png"
    with Image.open(source) as before, Image.open(out / "drawing.png") as after:
        assert np.array_equal(np.asarray(before), np.asarray(after))
