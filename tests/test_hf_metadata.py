"""``output.hf_metadata: true``: Hugging Face ``datasets`` (test extra) loads each output's
label and provenance with ``load_dataset("imagefolder", data_dir=OUT)``, offline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from audio_data import make_speech_like
from conftest import expand, file_records, invoke, read_manifest, sha, tree_digest, write_images

from augtool.manifest import STAT_CACHE_NAME

RECIPE = """\
version: 1
seed: 5
input: {{layout: {layout}}}
output: {{format: png{extra}}}
splits: {{names: [train, val]}}
variants: 2
pipeline:
  - hflip: {{p: 0.5}}
"""

LOAD = """
import json, sys
import datasets
loaded = datasets.load_dataset(sys.argv[1], data_dir=sys.argv[2], cache_dir=sys.argv[3])
columns = ("label", "role", "source_path", "source_sha256", "variant", "recipe_sha256")
print(json.dumps({split: {
    "columns": sorted(part.column_names),
    "rows": [dict(zip(columns, row)) for row in zip(*(part[c] for c in columns))],
    "files": [e["path"] for e in part.cast_column("image", datasets.Image(decode=False))["image"]],
} for split, part in loaded.items()}))
"""


def _recipe(
    tmp_path: Path, layout: str = "imagefolder", extra: str = ", hf_metadata: true"
) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.format(layout=layout, extra=extra), encoding="utf-8")
    return path


def _classes(root: Path) -> Path:
    images = {
        f"train/{c}/{c}_{i}.jpg": 10 * n + i for n, c in enumerate(("ant", "bee")) for i in range(2)
    }
    images.update({"val/ant/ant_9.jpg": 90, "val/bee/bee_9.jpg": 91})
    return write_images(root, images)


def _load(builder: str, out: Path, cache: Path) -> dict[str, dict[str, list]]:
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(cache)}
    env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    done = subprocess.run(
        [sys.executable, "-c", LOAD, builder, out, cache / "datasets"],
        capture_output=True,
        text=True,
        env=env,
        cwd=out.parent,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_datasets_loads_labels_and_provenance_for_train_and_val(tmp_path: Path) -> None:
    pytest.importorskip("datasets")
    source = _classes(tmp_path / "in")
    out = expand(_recipe(tmp_path), source, tmp_path / "out", "--jobs", "1", "--quiet")
    loaded = _load("imagefolder", out, tmp_path / "hf")
    assert sorted(loaded) == ["train", "validation"]
    header = read_manifest(out)[0]
    records = file_records(out)
    for split, folder in (("train", "train"), ("validation", "val")):
        part = loaded[split]
        assert part["columns"] == sorted(["image", "label", "role", "source_path",
                                          "source_sha256", "variant", "recipe_sha256"])  # fmt: skip
        paths = [Path(p).relative_to(out).as_posix() for p in part["files"]]
        listed = sorted(
            p for p, r in records.items() if r.get("kind") is None and r["split"] == folder
        )
        assert sorted(paths) == listed
        for path, row in zip(paths, part["rows"], strict=True):
            record = records[path]
            assert row["label"] == path.split("/")[1] == record["label"]
            assert row["source_path"] == record["source"]["path"]
            assert row["source_sha256"] == sha(source / record["source"]["path"])
            assert row["recipe_sha256"] == header["recipe_sha256"]
            variant = re.search(r"__v(\d+)\.png$", path)
            assert row["variant"] == (int(variant[1]) if variant else -1)
            assert row["role"] == ("augmented" if variant else "original")
    assert len(loaded["train"]["rows"]) == 4 * 3 and len(loaded["validation"]["rows"]) == 2


def test_metadata_is_listed_validated_and_the_same_with_two_jobs(tmp_path: Path) -> None:
    source = _classes(tmp_path / "in")
    one = expand(_recipe(tmp_path), source, tmp_path / "one", "--jobs", "1", "--quiet")
    two = expand(_recipe(tmp_path), source, tmp_path / "two", "--jobs", "2", "--quiet")
    own = frozenset({"run.json", STAT_CACHE_NAME})  # the stat cache holds times
    assert tree_digest(one, own) == tree_digest(two, own)
    records = file_records(one)
    for name in ("train/metadata.jsonl", "val/metadata.jsonl"):
        assert records[name]["role"] == "dataset" and records[name]["sha256"] == sha(one / name)
    croissant = (one / "croissant.json").read_text(encoding="utf-8")
    assert "metadata.jsonl" not in croissant  # its file sets describe the images only
    result = invoke("validate", "manifest", one / "manifest.jsonl", "--source", source,
                    "--recompute", "all")  # fmt: skip
    assert result.exit_code == 0, result.output
    (one / "val" / "metadata.jsonl").write_text("{}\n", encoding="utf-8")
    result = invoke("validate", "manifest", one / "manifest.jsonl")
    assert result.exit_code == 1 and "val/metadata.jsonl" in result.output


def test_off_by_default_and_the_recipe_hash_unchanged(tmp_path: Path) -> None:
    source = _classes(tmp_path / "in")
    plain = expand(_recipe(tmp_path, extra=""), source, tmp_path / "plain", "--quiet")
    assert not list(plain.rglob("metadata.jsonl"))
    off = expand(
        _recipe(tmp_path, extra=", hf_metadata: false"), source, tmp_path / "off", "--quiet"
    )
    assert read_manifest(off)[0]["recipe_sha256"] == read_manifest(plain)[0]["recipe_sha256"]


def test_audio_class_folders_get_the_same_rows(tmp_path: Path) -> None:
    """audiofolder reads the same files; ``datasets`` needs torchcodec (torch) to load audio,
    so the rows are checked against the loader's rules here: one file per split folder,
    ``file_name`` relative to it naming every listed clip of the split, no null anywhere."""
    source = make_speech_like(tmp_path / "in")
    recipe = tmp_path / "audio.yaml"
    recipe.write_text(
        "version: 1\nseed: 1\ninput: {layout: imagefolder, extensions: [.wav]}\n"
        "output: {hf_metadata: true}\nsplits: {names: [train, val]}\nvariants: 2\n"
        "pipeline:\n  - gain: {gain_db: [-3, 3]}\n",
        encoding="utf-8",
    )
    out = expand(recipe, source, tmp_path / "out", "--quiet")
    records = file_records(out)
    for split in ("train", "val"):
        rows = [
            json.loads(line) for line in (out / split / "metadata.jsonl").read_text().splitlines()
        ]
        named = sorted(f"{split}/{row['file_name']}" for row in rows)
        assert named == sorted(
            p for p, r in records.items() if r.get("kind") is None and r["split"] == split
        )
        assert all(None not in row.values() for row in rows)
        assert all(row["label"] == row["file_name"].split("/")[0] for row in rows)
        assert len({tuple(sorted(row)) for row in rows}) == 1


def test_a_layout_without_class_folders_is_refused(tmp_path: Path) -> None:
    source = write_images(tmp_path / "in", {"images/train/a.jpg": 1})
    (source / "labels" / "train").mkdir(parents=True)
    (source / "labels" / "train" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n", encoding="utf-8")
    result = invoke("expand", _recipe(tmp_path, layout="yolo"), source, "-o", tmp_path / "out")
    assert result.exit_code == 2, result.output
    assert "hf_metadata needs class folders" in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_mlcroissant_validates_an_output_with_metadata(tmp_path: Path) -> None:
    source = _classes(tmp_path / "in")
    out = expand(_recipe(tmp_path), source, tmp_path / "out", "--quiet")
    done = subprocess.run(
        [
            Path(sys.executable).parent / "mlcroissant",
            "validate",
            "--jsonld",
            out / "croissant.json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
