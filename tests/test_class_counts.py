"""Class counts of label files (docs/governance.md): with ``output.class_counts: true`` every
label file and COCO JSON line records its objects per class, counted from the file written, and
``validate manifest`` names a label file edited to change its classes even when its line's
sha256 and SHA256SUMS were rewritten to match."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, file_records, invoke, manifest_parts, rewrite

LAYOUTS = ("yolo", "coco", "voc", "labelme")


def reference_counts(path: Path) -> dict[str, int]:
    """The objects per class of a written label file, read here without augtool."""
    data = path.read_bytes()
    if path.suffix == ".txt":
        found = Counter(line.split()[0] for line in data.decode().splitlines() if line.split())
    elif path.suffix == ".xml":
        found = Counter(o.findtext("name") or "" for o in ET.fromstring(data).iter("object"))
    else:
        document = json.loads(data)
        if "shapes" in document:
            found = Counter(shape["label"] for shape in document["shapes"])
        else:
            names = {c["id"]: c["name"] for c in document["categories"]}
            found = Counter(names[a["category_id"]] for a in document["annotations"])
    return dict(sorted(found.items()))


def recipe(tmp_path: Path, layout: str, counts: bool | None = True, variants: int = 2) -> Path:
    output: dict[str, object] = {"format": "png"}
    if counts is not None:
        output["class_counts"] = counts
    text = {
        "version": 1,
        "seed": 5,
        "input": {"layout": layout},
        "output": output,
        "splits": {"augment": ["train"]},
        "variants": variants,
        "pipeline": [{"hflip": {"p": 0.5}}, {"random_brightness_contrast": {"p": 0.5}}],
    }
    path = tmp_path / f"{layout}-{counts}.yaml"
    path.write_text(json.dumps(text), encoding="utf-8")
    return path


def expanded(tmp_path: Path, layout: str, counts: bool | None = True) -> Path:
    out = tmp_path / f"out-{layout}-{counts}"
    source = ROOT / "samples" / f"detection-{layout}"
    result = invoke("expand", recipe(tmp_path, layout, counts), source, "-o", out, "--quiet")
    assert result.exit_code == 0, result.output
    return out


def label_lines(out: Path) -> dict[str, dict]:
    return {
        path: r
        for path, r in file_records(out).items()
        if r.get("kind") in ("label", "annotations") and not path.startswith("ImageSets/")
    }


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_label_line_records_the_classes_of_its_file(tmp_path: Path, layout: str) -> None:
    out = expanded(tmp_path, layout)
    lines = label_lines(out)
    assert len(lines) >= 2
    for path, record in lines.items():
        assert record["classes"] == reference_counts(out / path), path
    # the variants carry objects: some label file of an augmented image counts some
    assert any(r["role"] == "augmented" and r["classes"] for r in lines.values()) or (
        layout == "coco"
    )
    result = invoke("validate", "manifest", out / "manifest.jsonl")
    assert result.exit_code == 0, result.output


def _edit_yolo(data: bytes) -> bytes:
    first, *rest = data.decode().splitlines()
    return "\n".join([" ".join(["9", *first.split()[1:]]), *rest]).encode() + b"\n"


def _edit_json(data: bytes) -> bytes:
    document = json.loads(data)
    if "shapes" in document:
        document["shapes"] = document["shapes"][1:]
    else:
        document["annotations"] = document["annotations"][1:]
    return json.dumps(document).encode()


def _edit_voc(data: bytes) -> bytes:
    root = ET.fromstring(data)
    name = root.find("object/name")
    assert name is not None
    name.text = "dinosaur"
    return ET.tostring(root)


EDITS: dict[str, Callable[[bytes], bytes]] = {
    "yolo": _edit_yolo,
    "coco": _edit_json,
    "voc": _edit_voc,
    "labelme": _edit_json,
}


def forge(out: Path, path: str, data: bytes, drop_counts: bool = False) -> None:
    """``path`` replaced by ``data``, its line's sha256 and size and SHA256SUMS rewritten to
    match (and, with ``drop_counts``, its recorded counts removed)."""
    (out / path).write_bytes(data)

    def edit(records: list[dict]) -> list[dict]:
        for record in records:
            if record.get("path") == path:
                record["sha256"] = hashlib.sha256(data).hexdigest()
                record["bytes"] = len(data)
                if drop_counts:
                    del record["classes"]
        return records

    rewrite(out, edit)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_forged_label_file_is_named_with_its_counts(tmp_path: Path, layout: str) -> None:
    out = expanded(tmp_path, layout)
    lines = label_lines(out)
    # a variant's (an original's is caught anyway: its sha256 is no longer its source's)
    path = next(p for p, r in sorted(lines.items()) if r["classes"] and r["role"] != "original")
    edited = EDITS[layout]((out / path).read_bytes())
    forge(out, path, edited)
    result = invoke("validate", "manifest", out / "manifest.jsonl")
    assert result.exit_code == 1, result.output
    problems = [line for line in result.output.splitlines() if line.startswith(f"{path}: ")]
    assert len(problems) == 1, result.output
    now = ", ".join(f"{k}: {v}" for k, v in reference_counts(out / path).items()) or "none"
    was = ", ".join(f"{k}: {v}" for k, v in lines[path]["classes"].items())
    assert problems[0] == (f"{path}: holds {now} objects by class; the manifest records {was}")
    assert "labels 1" in result.output  # fixity and SHA256SUMS pass: only this check fails


def test_removing_the_recorded_counts_does_not_pass(tmp_path: Path) -> None:
    out = expanded(tmp_path, "yolo")
    path = next(p for p, r in sorted(label_lines(out).items()) if r["role"] == "augmented")
    forge(out, path, _edit_yolo((out / path).read_bytes()), drop_counts=True)
    result = invoke("validate", "manifest", out / "manifest.jsonl")
    assert result.exit_code == 1
    assert f"{path}: no class counts recorded (the recipe records them" in result.output


def test_off_by_default_with_the_manifest_and_recipe_hash_unchanged(tmp_path: Path) -> None:
    without = expanded(tmp_path, "yolo", None)
    off = expanded(tmp_path, "yolo", False)
    assert manifest_parts(without)[0]["recipe_sha256"] == manifest_parts(off)[0]["recipe_sha256"]
    assert (without / "manifest.jsonl").read_bytes() == (off / "manifest.jsonl").read_bytes()
    assert not any("classes" in r for r in file_records(without).values())
    on = manifest_parts(expanded(tmp_path, "yolo"))[0]["recipe_sha256"]
    assert on != manifest_parts(off)[0]["recipe_sha256"]


def test_a_text_recipe_is_refused_naming_the_key(tmp_path: Path) -> None:
    text = {
        "version": 1,
        "input": {"layout": "table"},
        "output": {"class_counts": True},
        "pipeline": [{"random_swap": {"rate": [0.1, 0.2]}}],
    }
    path = tmp_path / "text.yaml"
    path.write_text(json.dumps(text), encoding="utf-8")
    result = invoke("expand", path, ROOT / "samples" / "text", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "class_counts" in result.output and len(result.output.strip().splitlines()) == 1


def test_jobs_1_and_2_write_the_same_counted_manifest(tmp_path: Path) -> None:
    # enough outputs (over 48) for a pool of processes
    source, path = ROOT / "samples" / "detection-coco", recipe(tmp_path, "coco", variants=8)
    for jobs in ("1", "2"):
        result = invoke("expand", path, source, "-o", tmp_path / jobs, "--jobs", jobs, "--quiet")
        assert result.exit_code == 0, result.output
    one, two = (tmp_path / "1" / "manifest.jsonl", tmp_path / "2" / "manifest.jsonl")
    assert b'"classes"' in one.read_bytes() and one.read_bytes() == two.read_bytes()
    assert len(file_records(tmp_path / "1")) > 48
