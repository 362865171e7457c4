"""``croissant.json``: every output described in MLCommons Croissant 1.0, checked by MLCommons'
own library (mlcroissant, in the test extra), offline, on the output of every bundled config."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import invoke

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(ROOT.glob("configs/*.yaml"))
MLCROISSANT = Path(sys.executable).parent / "mlcroissant"


def _expand(config: Path, out: Path) -> Path:
    recipe = yaml.safe_load(config.read_text(encoding="utf-8"))
    source = (config.parent / recipe["input"]["path"]).resolve()
    result = invoke("expand", config, source, "-o", out, "--jobs", "1", "--quiet")
    assert result.exit_code == 0, result.output
    return source


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _offline() -> dict[str, str]:
    """No proxy reaches anything: a validation that wanted the network would fail here."""
    return {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def test_croissant_sits_beside_the_manifest_and_names_its_hashes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = _expand(ROOT / "configs" / "quickstart.yaml", out)
    described = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    assert described["conformsTo"] == "http://mlcommons.org/croissant/1.0"
    objects = {d["@id"]: d for d in described["distribution"] if d["@type"] == "cr:FileObject"}
    assert sorted(objects) == ["SHA256SUMS", "manifest.jsonl"]
    for name, item in objects.items():
        assert item["sha256"] == _sha256(out / name)
    file_sets = {d["@id"]: d for d in described["distribution"] if d["@type"] == "cr:FileSet"}
    assert sorted(file_sets) == ["train-jpeg", "train-png", "val"]
    assert file_sets["val"]["includes"] == ["val/**/*.jpg"]
    fields = [f["name"] for f in described["recordSet"][0]["field"]]
    assert {"file", "label", "source", "sha256"} <= set(fields)
    # Listed in neither the manifest nor SHA256SUMS (it holds their hashes), and not unlisted.
    assert "croissant.json" not in (out / "SHA256SUMS").read_text(encoding="utf-8")
    assert '"croissant.json"' not in (out / "manifest.jsonl").read_text(encoding="utf-8")
    result = invoke("validate", "manifest", out / "manifest.jsonl", "--source", source)
    assert result.exit_code == 0, result.output


def test_a_rerun_and_force_write_it_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _expand(ROOT / "configs" / "quickstart.yaml", out)
    first = (out / "croissant.json").read_bytes()
    (out / "croissant.json").write_text("{}", encoding="utf-8")
    _expand(ROOT / "configs" / "quickstart.yaml", out)
    assert (out / "croissant.json").read_bytes() == first
    recipe = ROOT / "configs" / "quickstart.yaml"
    result = invoke("expand", recipe, "--seed", "7", "-o", out, "--force", "--quiet", "-j", "1")
    assert result.exit_code == 0, result.output
    again = json.loads((out / "croissant.json").read_text(encoding="utf-8"))
    sums = next(d for d in again["distribution"] if d["@id"] == "SHA256SUMS")
    assert sums["sha256"] == _sha256(out / "SHA256SUMS")


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.stem)
def test_mlcroissant_validates_the_output_of_every_bundled_config(
    config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    _expand(config, out)
    done = subprocess.run(
        [MLCROISSANT, "validate", "--jsonld", out / "croissant.json"],
        capture_output=True,
        text=True,
        env=_offline(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done." in done.stderr


LOAD = """
import json, sys
import mlcroissant as mlc
dataset = mlc.Dataset(sys.argv[1])
names = [r.name for r in dataset.metadata.record_sets]
print(json.dumps({n: [{k: (v.decode() if isinstance(v, bytes) else getattr(v, "size", v))
                       for k, v in r.items()} for r in dataset.records(n)] for n in names}))
"""


@pytest.mark.slow
def test_mlcroissant_loads_the_records(tmp_path: Path) -> None:
    """A loader reads every manifest line's fields, and every image with its name."""
    out = tmp_path / "out"
    _expand(ROOT / "configs" / "quickstart.yaml", out)
    done = subprocess.run(
        [sys.executable, "-c", LOAD, out / "croissant.json"],
        capture_output=True,
        text=True,
        env=_offline(),
        cwd=out,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = json.loads(done.stdout)
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(records["files"]) == len(lines)
    files = {r["files/file"]: r for r in records["files"] if r["files/file"]}
    variant = files["train/cat/cat_001__v01.jpg"]
    assert variant["files/label"] == "cat" and variant["files/role"] == "augmented"
    assert variant["files/source"] == "train/cat/cat_001.jpg"
    images = [r for name in records if name != "files" for r in records[name]]
    assert len(images) == sum(1 for line in lines if '"role":"' in line and '"kind"' not in line)
    assert all(next(iter(r.values())) for r in images)  # an image, with its size
