"""Licences (docs/governance.md): from a LICENSES sidecar or the recipe's default, carried into
the records of every image, counted in the header, checked by require_licence and
allow_licences, and a NOTICE naming each source whose licence asks for attribution."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import invoke, read_manifest, write_images

from augtool.run.licences import Rule, read_sidecar, resolve

RECIPE = """\
version: 1
seed: 3
input: {layout: imagefolder INPUT}
output: {format: png}
splits: {names: [train, val], augment: [train]}
variants: 2
pipeline:
  - hflip: {p: 0.5}
"""
SIDECAR = """\
path,licence,author
train/cat/c0.png,CC-BY-4.0,Ada Lovelace
train/cat/*,CC0-1.0,
val/*,CC-BY-SA-4.0,Grace Hopper
"""


def dataset(root: Path, sidecar: str | None = SIDECAR, name: str = "LICENSES.csv") -> Path:
    images = {"train/cat/c0.png": 1, "train/cat/c1.png": 2, "train/dog/d0.png": 3}
    write_images(root, {**images, "val/dog/v0.png": 4})
    if sidecar is not None:
        (root / name).write_text(sidecar, encoding="utf-8")
    return root


def recipe(tmp_path: Path, input_keys: str = "") -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE.replace(" INPUT", f", {input_keys}" if input_keys else ""))
    return path


def test_the_first_matching_rule_wins_then_the_default() -> None:
    rules = [Rule("a/x.png", "CC-BY-4.0", "Ada"), Rule("a/*", "CC0-1.0")]
    found = resolve(["a/x.png", "a/y.png", "b/z.png"], rules, "MIT")
    assert found == {
        "a/x.png": ("CC-BY-4.0", "Ada"),
        "a/y.png": ("CC0-1.0", None),
        "b/z.png": ("MIT", None),
    }
    assert "b/z.png" not in resolve(["b/z.png"], rules, None)


def test_a_yaml_sidecar_maps_paths_to_licences(tmp_path: Path) -> None:
    (tmp_path / "LICENSES.yaml").write_text(
        "train/*: CC0-1.0\nval/*: {licence: CC-BY-4.0, author: Ada}\n", encoding="utf-8"
    )
    assert read_sidecar(tmp_path) == [
        Rule("train/*", "CC0-1.0"),
        Rule("val/*", "CC-BY-4.0", "Ada"),
    ]


def test_licences_reach_every_image_record_the_header_and_a_notice(tmp_path: Path) -> None:
    source = dataset(tmp_path / "in")
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, "licence: MIT"), source, "-o", out)
    assert result.exit_code == 0, result.output
    lines = read_manifest(out)
    assert lines[0]["licences"] == {"CC-BY-4.0": 1, "CC-BY-SA-4.0": 1, "CC0-1.0": 1, "MIT": 1}
    images = [line for line in lines if line["type"] == "file" and line["role"] != "dataset"]
    expected = {
        "train/cat/c0.png": ("CC-BY-4.0", "Ada Lovelace"),
        "train/cat/c1.png": ("CC0-1.0", None),
        "train/dog/d0.png": ("MIT", None),  # the recipe's default
        "val/dog/v0.png": ("CC-BY-SA-4.0", "Grace Hopper"),
    }
    assert len(images) == 4 + 3 * 2
    for line in images:
        assert (line["licence"], line.get("author")) == expected[line["source"]["path"]]
    notice = (out / "NOTICE").read_text(encoding="utf-8")
    assert "train/cat/c0.png\tCC-BY-4.0\tAda Lovelace" in notice
    assert "val/dog/v0.png\tCC-BY-SA-4.0\tGrace Hopper" in notice
    assert "c1.png" not in notice and "d0.png" not in notice  # CC0 and MIT ask no credit
    assert any(line.get("path") == "NOTICE" for line in lines)
    assert "  NOTICE\n" in (out / "SHA256SUMS").read_text(encoding="utf-8")
    validated = invoke(
        "validate", "manifest", out / "manifest.jsonl", "--source", source, "--recompute", "all"
    )
    assert validated.exit_code == 0, validated.output
    again = invoke("expand", recipe(tmp_path, "licence: MIT"), source, "-o", out, "--json")
    assert again.exit_code == 0, again.output
    assert '"made": 0' in again.stdout  # a rerun keeps the NOTICE like every other file


def test_no_licence_no_notice_and_no_new_keys(tmp_path: Path) -> None:
    source = dataset(tmp_path / "in", sidecar=None)
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path), source, "-o", out)
    assert result.exit_code == 0, result.output
    lines = read_manifest(out)
    assert "licences" not in lines[0] and not (out / "NOTICE").exists()
    assert not any("licence" in line for line in lines[1:])
    assert "licence" not in lines[0]["recipe"]["input"]


def test_require_licence_refuses_and_names_the_sources_without_one(tmp_path: Path) -> None:
    source = dataset(tmp_path / "in")
    out = tmp_path / "out"
    result = invoke("expand", recipe(tmp_path, "require_licence: true"), source, "-o", out)
    assert result.exit_code == 2
    assert "train/dog/d0.png" in result.output and "c0.png" not in result.output
    assert not out.exists()


def test_allow_licences_refuses_the_others_and_names_them(tmp_path: Path) -> None:
    source = dataset(tmp_path / "in")
    keys = "licence: MIT, allow_licences: [CC0-1.0, CC-BY-4.0, MIT]"
    result = invoke("expand", recipe(tmp_path, keys), source, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "val/dog/v0.png (CC-BY-SA-4.0)" in result.output
    assert "c0.png" not in result.output and "d0.png" not in result.output


@pytest.mark.parametrize("bad", ["licence: 'CC BY'", "allow_licences: [1]"])
def test_licence_keys_are_checked(tmp_path: Path, bad: str) -> None:
    result = invoke("validate", "recipe", recipe(tmp_path, bad))
    assert result.exit_code == 2, result.output


def test_an_edited_sidecar_rewrites_the_records_of_kept_images(tmp_path: Path) -> None:
    source = dataset(tmp_path / "in")
    out = tmp_path / "out"
    assert invoke("expand", recipe(tmp_path), source, "-o", out).exit_code == 0
    (source / "LICENSES.csv").write_text("path,licence\ntrain/cat/c1.png,MIT\n")
    again = invoke("expand", recipe(tmp_path), source, "-o", out, "--json")
    assert again.exit_code == 0, again.output
    lines = read_manifest(out)
    assert lines[0]["licences"] == {"MIT": 1} and not (out / "NOTICE").exists()
    licensed = {line["path"]: line.get("licence") for line in lines if line.get("licence")}
    assert set(licensed) == {"train/cat/c1.png", "train/cat/c1__v00.png", "train/cat/c1__v01.png"}
    assert not any("author" in line for line in lines)


def test_coco_license_fields_give_the_licences_when_licences_are_asked_about(
    tmp_path: Path,
) -> None:
    import shutil

    import yaml
    from conftest import ROOT

    source = tmp_path / "in"
    shutil.copytree(ROOT / "samples" / "detection-coco", source)
    doc = yaml.safe_load((ROOT / "configs" / "detection-coco.yaml").read_text())
    doc["input"] = {**doc["input"], "require_licence": True}
    doc["input"].pop("path", None)
    doc["output"].pop("path", None)
    path = tmp_path / "coco.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "out"
    result = invoke("expand", path, source, "-o", out)
    assert result.exit_code == 0, result.output
    licences = {
        line["path"]: line.get("licence")
        for line in read_manifest(out)
        if line["type"] == "file" and line["role"] == "original"
    }
    assert licences["train/cat_001.jpg"] == "CC0-1.0"  # from its creativecommons.org URL
    assert licences["train/rocket_001.jpg"] == "Public Domain"  # no SPDX id: its name
    assert not (out / "NOTICE").exists()
