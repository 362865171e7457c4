"""validate's checks as units: each one fed records by hand, without a manifest or an output."""

from __future__ import annotations

from pathlib import Path

from augtool.validate.checks.completeness import Completeness, Tree, walk
from augtool.validate.checks.fixity import Fixity
from augtool.validate.checks.leakage import Provenance
from augtool.validate.checks.reading import RecordForm
from augtool.validate.report import KINDS, Findings

SHA = "a" * 64


def test_findings_list_by_kind_each_in_the_order_found() -> None:
    found = Findings()
    found.add("extra", "b", "second extra")
    found.add("manifest", "m:3", "a manifest problem")
    found.add("extra", "a", "found after b, listed after b")
    found.add("missing", "c", "missing")
    assert [(p.kind, p.path) for p in found.by_kind()] == [
        ("manifest", "m:3"),
        ("missing", "c"),
        ("extra", "b"),
        ("extra", "a"),
    ]
    assert [p.kind for p in found.by_kind()] == sorted(
        (p.kind for p in found.problems), key=KINDS.index
    )


def test_completeness_crosses_listed_files_off_one_walk(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "a.png").write_bytes(b"12345")
    (tmp_path / "train" / "extra.png").write_bytes(b"")
    (tmp_path / "outside").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "outside")
    (tmp_path / "manifest.jsonl").write_bytes(b"")
    tree = walk(tmp_path, "manifest.jsonl")
    found = Findings()
    check = Completeness(tree, found)
    assert check.locate("train/a.png") == 5
    assert check.locate("train/gone.png") is None
    assert check.locate("linked/b.png") is None
    check.finish()
    assert [p.line() for p in found.problems] == [
        "train/gone.png: listed in the manifest but missing",
        "linked/b.png: lies behind linked, a symbolic link; not followed",
        "linked: present but not in the manifest (a symbolic link; not followed)",
        "train/extra.png: present but not in the manifest",
    ]


def test_a_tree_needs_no_disk() -> None:
    tree = Tree(files={"x.png": 3})
    found = Findings()
    fixity = Fixity(found)
    size = Completeness(tree, found).locate("x.png")
    assert size == 3
    fixity.take("x.png", 4, size, SHA)
    assert [p.line() for p in found.problems] == ["x.png: FAILED size expected=4 found=3"]
    assert fixity.to_hash == []


def test_record_form_and_provenance_alone() -> None:
    found = Findings()
    form = RecordForm("m.jsonl", found)
    header = {"recipe": {"splits": {"augment": ["train"]}}, "splits": {"found": ["train", "val"]}}
    provenance = Provenance("m.jsonl", header, found)
    record = {
        "type": "file",
        "path": "val/x_aug0.png",
        "sha256": SHA,
        "bytes": 1,
        "role": "augmented",
        "split": "val",
        "source": {"path": "val/x.png", "sha256": SHA},
    }
    assert form.take(2, record, record["path"])
    provenance.take(2, record)
    assert not form.take(3, {**record, "sha256": "nope"}, record["path"])
    assert form.files == 1
    assert [p.line() for p in found.problems] == [
        "val/x_aug0.png: augmented from split 'val', which the recipe does not augment "
        "(augments: train)",
        "m.jsonl:3: 'val/x_aug0.png' is listed twice or out of path order",
        "m.jsonl:3: sha256 'nope' is not 64 hex digits",
    ]
