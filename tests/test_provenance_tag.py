"""``output.provenance_tag: true``: each variant's own metadata names its source's sha256, the
recipe's sha256 and the tool, read back with Pillow, exiftool and (WAV) the standard library;
the bytes stay deterministic and ``validate --recompute`` re-derives them."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import soundfile
from audio_data import make_speech_like
from conftest import expand, file_records, invoke, random_image, read_manifest, sha, tree_digest
from PIL import Image

from augtool import __version__
from augtool.manifest import STAT_CACHE_NAME
from augtool.provenance import NAMESPACE

EXIFTOOL = shutil.which("exiftool")
TOOL = f"augtool {__version__}"
#: what a source carries that no variant may: a GPS position (EXIF) and a creator (XMP)
SOURCE_XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">SecretCreator</x:xmpmeta>'


def _sources(root: Path) -> Path:
    for index, name in enumerate(("train/a.jpg", "train/b.jpg")):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        exif = Image.Exif()
        exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # GPSLatitude
        random_image(index, (40, 30)).save(path, quality=90, exif=exif, xmp=SOURCE_XMP)
    return root


def _recipe(tmp_path: Path, fmt: str, extra: str = ", provenance_tag: true") -> Path:
    recipe = tmp_path / f"recipe-{fmt}.yaml"
    recipe.write_text(
        f"version: 1\nseed: 2\noutput: {{format: {fmt}{extra}}}\nvariants: 2\n"
        "pipeline:\n  - hflip: {p: 0.5}\n  - gaussian_noise: {std: [2, 6]}\n",
        encoding="utf-8",
    )
    return recipe


def _xmp(path: Path) -> dict[str, str]:
    """The attributes of the variant's XMP description, as Pillow reads the packet."""
    with Image.open(path) as image:
        packet = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp")
    assert packet, f"{path.name} carries no XMP"
    text = packet.decode("utf-8") if isinstance(packet, bytes) else packet
    assert "SecretCreator" not in text
    root = ET.fromstring(text[text.index("<x:xmpmeta") : text.index("</x:xmpmeta>") + 12])
    (description,) = root.iter("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    return {key.rpartition("}")[2]: value for key, value in description.attrib.items()
            if key.startswith(f"{{{NAMESPACE}}}")}  # fmt: skip


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_each_variant_names_its_source_recipe_and_tool(tmp_path: Path, fmt: str) -> None:
    source = _sources(tmp_path / "in")
    out = expand(_recipe(tmp_path, fmt), source, tmp_path / "out", "--quiet")
    header = read_manifest(out)[0]
    variants = {p: r for p, r in file_records(out).items() if r["role"] == "augmented"}
    assert len(variants) == 4
    for path, record in variants.items():
        tag = _xmp(out / path)
        assert tag == {
            "derived": "true",
            "sourceSha256": sha(source / record["source"]["path"]),
            "recipeSha256": header["recipe_sha256"],
            "tool": TOOL,
        }
        with Image.open(out / path) as image:
            assert 0x8825 not in image.getexif()  # stripped first, then tagged
        assert record["encoder"]["provenance"]["source_sha256"] == tag["sourceSha256"]


@pytest.mark.skipif(EXIFTOOL is None, reason="exiftool is not installed (libimage-exiftool-perl)")
@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_exiftool_reads_the_tag(tmp_path: Path, fmt: str) -> None:
    assert EXIFTOOL is not None
    source = _sources(tmp_path / "in")
    out = expand(_recipe(tmp_path, fmt), source, tmp_path / "out", "--quiet")
    records = file_records(out)
    path = next(p for p, r in records.items() if r["role"] == "augmented")
    done = subprocess.run([EXIFTOOL, "-json", "-G1", "-a", out / path], capture_output=True,
                          text=True, check=True)  # fmt: skip
    (tags,) = json.loads(done.stdout)
    source_sha = records[path]["source"]["sha256"]
    assert tags["XMP-augtool:SourceSha256"] == source_sha
    assert tags["XMP-augtool:Tool"] == TOOL
    assert tags["XMP-dc:Source"] == f"sha256:{source_sha}"
    assert not any(key.startswith("GPS") for key in tags), tags


def test_tagged_outputs_are_deterministic_and_recompute(tmp_path: Path) -> None:
    source = _sources(tmp_path / "in")
    recipe = _recipe(tmp_path, "png")
    one = expand(recipe, source, tmp_path / "one", "--jobs", "1", "--quiet")
    two = expand(recipe, source, tmp_path / "two", "--jobs", "2", "--quiet")
    own = frozenset({"run.json", STAT_CACHE_NAME})
    assert tree_digest(one, own) == tree_digest(two, own)
    result = invoke("validate", "manifest", one / "manifest.jsonl", "--source", source,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 outputs re-derived" in result.output


def test_off_by_default_with_the_recipe_hash_unchanged(tmp_path: Path) -> None:
    source = _sources(tmp_path / "in")
    plain = expand(_recipe(tmp_path, "jpeg", ""), source, tmp_path / "plain", "--quiet")
    off = _recipe(tmp_path, "jpeg", ", provenance_tag: false")
    unset = expand(off, source, tmp_path / "off", "--quiet")
    assert read_manifest(unset)[0]["recipe_sha256"] == read_manifest(plain)[0]["recipe_sha256"]
    for path, record in file_records(plain).items():
        if record["role"] == "augmented":
            with Image.open(plain / path) as image:
                assert "xmp" not in image.info
            assert "provenance" not in record["encoder"]


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """A RIFF WAVE's top-level chunks by id."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    chunks, at = {}, 12
    while at < len(data):
        kind, size = data[at : at + 4], struct.unpack("<I", data[at + 4 : at + 8])[0]
        chunks[kind] = data[at + 8 : at + 8 + size]
        at += 8 + size + (size & 1)
    return chunks


def _info(list_chunk: bytes) -> dict[bytes, str]:
    assert list_chunk[:4] == b"INFO"
    found, at = {}, 4
    while at < len(list_chunk):
        kind, size = list_chunk[at : at + 4], struct.unpack("<I", list_chunk[at + 4 : at + 8])[0]
        found[kind] = list_chunk[at + 8 : at + 8 + size].rstrip(b"\0").decode("utf-8")
        at += 8 + size + (size & 1)
    return found


def test_a_wav_variant_carries_a_list_info_chunk(tmp_path: Path) -> None:
    source = make_speech_like(tmp_path / "in")
    recipes = {}
    for name, extra in (("tagged", "provenance_tag: true"), ("plain", "")):
        recipes[name] = tmp_path / f"{name}.yaml"
        recipes[name].write_text(
            f"version: 1\nseed: 1\ninput: {{extensions: [.wav]}}\noutput: {{{extra}}}\n"
            "variants: 1\npipeline:\n  - gain: {gain_db: [-3, 3]}\n",
            encoding="utf-8",
        )
    tagged = expand(recipes["tagged"], source, tmp_path / "tagged", "--quiet")
    plain = expand(recipes["plain"], source, tmp_path / "plain", "--quiet")
    header = read_manifest(tagged)[0]
    variants = {p: r for p, r in file_records(tagged).items() if r["role"] == "augmented"}
    assert variants
    for path, record in variants.items():
        data = (tagged / path).read_bytes()
        chunks = _chunks(data)
        info = _info(chunks[b"LIST"])
        assert info[b"ISFT"] == TOOL
        assert sha(source / record["source"]["path"]) in info[b"ICMT"]
        assert header["recipe_sha256"] in info[b"ICMT"]
        assert chunks[b"data"] == _chunks((plain / path).read_bytes())[b"data"]  # same sound
        samples, _ = soundfile.read(tagged / path)
        assert np.array_equal(samples, soundfile.read(plain / path)[0])
    result = invoke("validate", "manifest", tagged / "manifest.jsonl", "--source", source,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_text_recipe_is_refused(tmp_path: Path) -> None:
    recipe = tmp_path / "text.yaml"
    recipe.write_text(
        "version: 1\noutput: {provenance_tag: true}\npipeline:\n  - random_swap: {rate: 0.1}\n",
        encoding="utf-8",
    )
    result = invoke("expand", recipe, tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "provenance_tag" in result.output and "text" in result.output
