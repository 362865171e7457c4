"""Discovery streamed in path order: the walk meets the files in the order of their paths as
strings without sorting or holding them all, and a flat or class-folder dataset holds none of
its sources (they are read back from the walk's spill at each loop)."""

from __future__ import annotations

import os
import tempfile
import tracemalloc
from pathlib import Path

import pytest

from augtool.errors import WriteError
from augtool.layouts import spill
from augtool.layouts.discovery import discover
from augtool.run.plan import make_plan

#: Names whose order by folder differs from their order as strings: ``a.b/`` sorts before
#: ``a/``, and ``a/b/c`` before ``a/z``.
TRICKY = [
    "a.jpg",
    "a-b.jpg",
    "a.b/x.jpg",
    "a/b.jpg",
    "a/b/c.jpg",
    "a/b.c/d.jpg",
    "a/z.jpg",
    "a0.jpg",
    "B.jpg",
    "é/x.jpg",
    "é.jpg",
]


def _touch(root: Path, names: list[str]) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


@pytest.fixture
def small_spill(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records past the first few go to the temporary file, read back a few bytes at a time
    (so that records straddle the reads)."""
    monkeypatch.setattr(spill, "HELD", 40)
    monkeypatch.setattr(spill, "READ", 7)


@pytest.mark.usefixtures("small_spill")
def test_the_walk_meets_files_in_path_order(tmp_path: Path) -> None:
    _touch(tmp_path, TRICKY)
    dataset = discover(tmp_path, "flat", [".jpg"], (), ())
    assert [s.path for s in dataset.sources] == sorted(TRICKY)
    assert [s.path for s in dataset.sources] == sorted(TRICKY)  # and again, the same
    assert len(dataset.sources) == len(TRICKY)


@pytest.mark.usefixtures("small_spill")
def test_linked_folders_are_merged_into_path_order(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    _touch(data, ["a/x.jpg", "m.jpg", "z/y.jpg"])
    _touch(elsewhere, ["q/p.jpg", "r.jpg"])
    os.symlink(elsewhere, data / "l")
    dataset = discover(data, "flat", [".jpg"], (), (), follow_links=True)
    assert [s.path for s in dataset.sources] == [
        "a/x.jpg",
        "l/q/p.jpg",
        "l/r.jpg",
        "m.jpg",
        "z/y.jpg",
    ]


@pytest.mark.usefixtures("small_spill")
def test_class_folders_stream_their_splits_classes_and_skips(tmp_path: Path) -> None:
    _touch(tmp_path, ["train/cat/1.jpg", "train/dog/2.jpg", "val/cat/3.jpg", "loose.jpg"])
    dataset = discover(tmp_path, "imagefolder", [".jpg"], ("train", "val"), ("train",))
    found = [(s.path, s.split, s.label, s.augment) for s in dataset.sources]
    assert found == [
        ("train/cat/1.jpg", "train", "cat", True),
        ("train/dog/2.jpg", "train", "dog", True),
        ("val/cat/3.jpg", "val", "cat", False),
    ]
    assert [s.path for s in dataset.skipped] == ["loose.jpg"]
    assert dataset.splits == ("train", "val")
    assert [t.source.path for t in make_plan(dataset, 2, 0, "png", "copy")] == [
        p for p, *_ in found
    ]


def test_a_flat_dataset_holds_none_of_its_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    count = 20_000
    monkeypatch.setattr(spill, "HELD", 4096)
    _touch(tmp_path / "warm", ["x.jpg"])
    discover(tmp_path / "warm", "flat", [".jpg"], (), ())  # imports the layouts first
    data = tmp_path / "data"
    for folder in range(count // 1000):
        (data / f"d{folder:02d}").mkdir(parents=True)
    for index in range(count):
        os.close(os.open(data / f"d{index // 1000:02d}/{index:06d}.jpg", os.O_CREAT, 0o644))
    tracemalloc.start()
    try:
        dataset = discover(data, "flat", [".jpg"], (), ())
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(dataset.sources) == count
    assert sum(1 for _ in dataset.sources) == count
    # Held, 20,000 sources and their paths take over 3 MB; streamed, a few KiB of buffer.
    assert held < 256 * 1024, held


@pytest.mark.usefixtures("small_spill")
def test_a_spill_reads_back_what_was_written_in_every_iterator_at_once() -> None:
    written = [(f"folder/{i:04d}-ä.jpg", i % 3 == 0) for i in range(50)]
    kept = spill.Spill()
    for path, link in written:
        kept.add(path, link)
    first, second = iter(kept), iter(kept)
    assert [next(first) for _ in range(10)] == written[:10]
    assert list(second) == written
    assert list(first) == written[10:]
    assert list(kept.paths) == [path for path, _ in written]


@pytest.mark.usefixtures("small_spill")
def test_a_temporary_folder_without_room_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _touch(tmp_path / "data", TRICKY)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    with pytest.raises(WriteError, match="missing: cannot keep the list of input files there"):
        discover(tmp_path / "data", "flat", [".jpg"], (), ())
