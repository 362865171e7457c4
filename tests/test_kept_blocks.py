"""A rerun keeps a plain source by copying its lines from the last run's manifest, SHA256SUMS
and stat cache, none of them read (augtool.run.kept_blocks): the outputs are those a fresh run
writes, whatever was added, removed or tampered with since."""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import expand, invoke, tree_digest, write_images
from test_rerun_index import WEIRD, written

from augtool.manifest import STAT_CACHE_NAME, SUMS_NAME, Block, LineSorter, dump_line
from augtool.manifest import writer as manifest_writer
from augtool.run import engine, kept_work, worker
from augtool.run.incremental import Previous
from augtool.run.owned import fingerprint, plain_records
from augtool.run.statcache import _OWNED, load_stat_cache, owned_lines, unpacked

RECIPE = """\
version: 1
seed: 3
input: {layout: imagefolder}
output: {format: jpeg, quality: 90, originals: copy}
variants: 2
pipeline:
  - hflip: {p: 0.5}
"""
NAMES = {
    "train/cat/a.jpg": 1,
    "train/cat/c.jpg": 2,
    "train/dog/b c.jpg": 3,
    'train/dog/quo"te.jpg': 4,
    "val/cat/d.jpg": 5,
    "val/dog/ünï.jpg": 6,
}
#: what a rerun leaves as it was, besides the outputs: the lock and run.json change
UNCHANGED = frozenset({".augtool-lock", "run.json"})


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path, Path]:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    source = write_images(tmp_path / "in", NAMES)
    return recipe, source, expand(recipe, source, tmp_path / "out", "-j", "1")


@pytest.fixture
def kept(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many sources the runs keep as blocks and how many line by line."""
    counts = {"blocks": 0, "lines": 0}
    as_block, by_stat = kept_work.kept_block, kept_work.kept_by_stat

    def kept_block(*args: Any) -> Any:
        found = as_block(*args)
        counts["blocks"] += found is not None
        return found

    def kept_by_stat(*args: Any) -> Any:
        found = by_stat(*args)
        counts["lines"] += found is not None
        return found

    monkeypatch.setattr(kept_work, "kept_block", kept_block)
    monkeypatch.setattr(kept_work, "kept_by_stat", kept_by_stat)
    return counts


def contract(out: Path) -> dict[str, bytes]:
    return {
        name: (out / name).read_bytes() for name in ("manifest.jsonl", SUMS_NAME, "croissant.json")
    }


def test_a_no_op_rerun_keeps_every_source_as_a_block_and_changes_no_byte(
    made: tuple[Path, Path, Path], kept: dict[str, int]
) -> None:
    recipe, source, out = made
    before = tree_digest(out, UNCHANGED)  # the stat cache too
    expand(recipe, source, out, "-j", "1")
    assert kept == {"blocks": len(NAMES), "lines": 0}
    assert tree_digest(out, UNCHANGED) == before


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sources_added_among_kept_ones_give_what_a_fresh_run_writes(
    made: tuple[Path, Path, Path], kept: dict[str, int], tmp_path: Path, jobs: str
) -> None:
    """New sources whose lines sort between kept ones (and one removed): the kept blocks are
    merged with the new lines, and the output is a fresh run's, byte for byte."""
    recipe, source, out = made
    write_images(source, {"train/cat/b.jpg": 7, "train/cat/aa.jpg": 8, "val/cat/e.jpg": 9})
    (source / "train/cat/c.jpg").unlink()
    expand(recipe, source, out, "-j", jobs)
    assert kept == {"blocks": len(NAMES) - 1, "lines": 0}
    fresh = expand(recipe, source, tmp_path / "fresh", "-j", jobs)
    assert contract(out) == contract(fresh)
    assert not (out / "train/cat/c.jpg").exists()
    assert invoke("validate", "manifest", out / "manifest.jsonl").exit_code == 0
    kept.update(blocks=0)
    expand(recipe, source, out, "-j", jobs)  # the merged run's index serves the next one
    assert kept["blocks"] == len(NAMES) + 2
    assert contract(out) == contract(fresh)


def test_an_edited_sha256sums_is_not_copied_from(
    made: tuple[Path, Path, Path], kept: dict[str, int], tmp_path: Path
) -> None:
    recipe, source, out = made
    sums = out / SUMS_NAME
    text = sums.read_text()
    sums.write_text(text.replace(text[0], "f" if text[0] != "f" else "e", 1))
    expand(recipe, source, out, "-j", "1")
    assert kept == {"blocks": 0, "lines": len(NAMES)}
    assert contract(out) == contract(expand(recipe, source, tmp_path / "fresh", "-j", "1"))


def test_a_stat_cache_of_an_earlier_form_is_read_line_by_line_then_replaced(
    made: tuple[Path, Path, Path], kept: dict[str, int]
) -> None:
    """A cache without the tasks' lines and the index's SHA256SUMS spans (as augtool wrote it
    before them) still vouches for every file; the rerun writes them, and the next one copies
    every source's lines."""
    recipe, source, out = made
    cache = out / STAT_CACHE_NAME
    lines = []
    for line in cache.read_text(encoding="utf-8").splitlines(keepends=True):
        entry = json.loads(line)
        if "fingerprint" in entry:
            continue
        entry.pop("sums_at", None), entry.pop("sums_len", None), entry.pop("sums_sha256", None)
        lines.append(dump_line(entry))
    cache.write_text("".join(lines), encoding="utf-8")
    before = contract(out)
    expand(recipe, source, out, "-j", "1")
    assert kept == {"blocks": 0, "lines": len(NAMES)}
    expand(recipe, source, out, "-j", "1")
    assert kept == {"blocks": len(NAMES), "lines": len(NAMES)}
    assert contract(out) == before


@pytest.mark.parametrize("touched", ["train/cat/a__v01.jpg", "train/cat/a.jpg", "in:"])
def test_a_file_whose_stat_moved_keeps_its_source_only_after_hashing(
    made: tuple[Path, Path, Path], kept: dict[str, int], monkeypatch: pytest.MonkeyPatch,
    touched: str,
) -> None:  # fmt: skip
    """A file of a source given its own times back (only its ctime moves) is not vouched for
    by the stat cache: the worker hashes that source's files again (the same bytes, kept);
    the other sources are copied."""
    recipe, source, out = made
    path = source / "train/cat/a.jpg" if touched == "in:" else out / touched
    info = path.stat()
    while path.stat().st_ctime_ns == info.st_ctime_ns:  # (the kernel's clock ticks coarsely)
        time.sleep(0.005)
        os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    hashed: list[str] = []

    def process_tasks(batch: list[tuple[Any, Any]], ctx: Any) -> Any:
        hashed.extend(task.source.path for task, _ in batch)
        return worker.process_tasks(batch, ctx)

    monkeypatch.setattr(engine, "process_tasks", process_tasks)
    before = contract(out)
    expand(recipe, source, out, "-j", "1")
    assert kept == {"blocks": len(NAMES) - 1, "lines": 0}
    assert hashed == ["train/cat/a.jpg"]
    assert contract(out) == before


@pytest.mark.parametrize("change", [10**6, -1])
def test_a_task_line_with_a_wrong_length_loses_the_copy_not_a_byte(
    made: tuple[Path, Path, Path], kept: dict[str, int], change: int
) -> None:
    """A damaged task line (its entries' length off) makes what follows it unreadable as the
    index: no source is copied, every one is checked line by line or hashed again, and the
    output is the bytes it was."""
    recipe, source, out = made
    cache = out / STAT_CACHE_NAME
    text = cache.read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if '"fingerprint"' in line)
    count = json.loads(first)["entries"]
    cache.write_text(text.replace(f'"entries":{count},', f'"entries":{count + change},', 1))
    before = contract(out)
    expand(recipe, source, out, "-j", "1")
    assert kept["blocks"] == 0
    assert contract(out) == before


def file_record(path: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "file",
        "path": path,
        "role": "augmented",
        "label": "cat",
        "split": "train",
        "source": {"path": "train/cat/a.jpg", "sha256": "b" * 64},
        "decoded": {"format": "JPEG"},
        "steps": [{"name": "hflip", "fired": True, "params": {}}],
    }
    record.update(changes)
    return record


STATS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12))


def test_the_records_fingerprint_is_the_tasks() -> None:
    records = [file_record("train/cat/a__v01.jpg"), file_record("train/cat/a.jpg", role="original")]
    plain = plain_records("train/cat/a.jpg", records)
    names = ("train/cat/a.jpg", "train/cat/a__v01.jpg")
    assert plain == (list(names), "cat", "train", "b" * 64, "augmented:1,original:1")
    print_ = fingerprint(plain.paths, plain.label, plain.split, plain.sha256, STATS)
    assert print_ == fingerprint(names, "cat", "train", "b" * 64, STATS)
    others = [
        fingerprint(names[:1], "cat", "train", "b" * 64, STATS[:2]),
        fingerprint(names, "dog", "train", "b" * 64, STATS),
        fingerprint(names, "cat", "val", "b" * 64, STATS),
        fingerprint(names, "cat", None, "b" * 64, STATS),
        fingerprint(names, "cat", "train", "c" * 64, STATS),
        fingerprint((*names, "train/cat/a__v02.jpg"), "cat", "train", "b" * 64, STATS),
        fingerprint(names, "cat", "train", "b" * 64, (STATS[0], STATS[2], STATS[1])),
        fingerprint(names, "cat", "train", "b" * 64, (STATS[0], STATS[1], (9, 10, 11, 13))),
    ]
    assert print_ not in others


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "skipped"},
        {"kind": "label"},
        {"licence": "CC-BY-4.0"},
        {"author": "someone"},
        {"source_phash": "0" * 16},
        {"label": "dog"},
        {"split": "val"},
        {"source": {"path": "train/cat/other.jpg", "sha256": "b" * 64}},
        {"source": {"path": "train/cat/a.jpg", "sha256": "c" * 64}},
        {"decoded": {"format": "PNG", "range": [0.0, 900.0]}},
        {"steps": [{"name": "copy_paste", "fired": True, "params": {"objects": 0}}]},
        {"steps": [{"name": "clip", "fired": True, "params": {"peak": 1.5}}]},
    ],
)
def test_a_task_whose_lines_a_rerun_must_read_is_not_plain(changes: dict[str, Any]) -> None:
    plain = file_record("train/cat/a__v00.jpg")
    assert plain_records("train/cat/a.jpg", [plain]) is not None
    assert plain_records("train/cat/a.jpg", [plain, file_record("x.jpg", **changes)]) is None
    assert plain_records("train/cat/a.jpg", []) is None


def blocks_of(lines: list[tuple[str, str, str, str]]) -> Iterator[Block]:
    for owner, group in itertools.groupby(lines, key=lambda line: line[3]):
        owned = list(group)
        keys = tuple(line[0] for line in owned)
        body = "".join(line[1] for line in owned).encode()
        yield Block(keys, body, "".join(line[2] for line in owned).encode(), owner)


@pytest.mark.parametrize("late", [None, 0, 7, 16])
def test_blocks_are_copied_in_order_and_merged_out_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: int | None
) -> None:
    """Blocks of lines give the manifest, SHA256SUMS and index places the same lines added
    one by one give: copied while they come in order, taken line by line after one that
    does not."""
    monkeypatch.setattr(manifest_writer, "_SORT_RUN_LINES", 3)
    names = sorted(f"{i:02d}{WEIRD[i % len(WEIRD)]}" for i in range(17))
    lines = [
        (name, dump_line({"path": name, "i": i}), f"{i:064x}  {name.replace(chr(10), '')}\n",
         WEIRD[(i // 2) % len(WEIRD)])
        for i, name in enumerate(names)
    ]  # fmt: skip
    expected = written(tmp_path / "one-by-one", iter(lines))
    arrived = lines if late is None else [*lines[:late], *lines[late + 1 :]]
    with LineSorter(tmp_path) as sorter:
        for block in blocks_of(arrived):
            sorter.add_block(block)
        if late is not None:
            sorter.add(lines[late])
        assert written(tmp_path / "blocks", sorter) == expected


def test_a_task_line_is_read_where_its_pattern_has_its_fields(
    made: tuple[Path, Path, Path],
) -> None:
    """A plain task's line, read again by position (its pattern matched it when the cache was
    read), gives the fields the pattern gives, whatever its source's name."""
    out = made[2]
    data = (out / STAT_CACHE_NAME).read_bytes()
    index = load_stat_cache(out / STAT_CACHE_NAME, Previous(), lazy=True)
    assert sorted(index.owned) == sorted(NAMES)
    for packed in index.owned.values():
        at, length = unpacked(packed)
        lines = data[at : at + length]
        head = lines.index(b"\n") + 1
        found = _OWNED.fullmatch(lines[:head].decode())
        assert found is not None
        entries, print_, _, roles, sha = found.groups()
        assert owned_lines(lines) == (print_, roles, sha, lines, head)
        assert length == head + int(entries)


def _swap_index_fields(text: str, fields: tuple[str, ...]) -> str:
    """The first two index lines with these fields' values swapped."""
    lines = text.splitlines(keepends=True)
    at = [i for i, line in enumerate(lines) if line.startswith('{"at":')][:2]
    first, second = (json.loads(lines[i]) for i in at)
    for name in fields:
        first[name], second[name] = second[name], first[name]
    lines[at[0]], lines[at[1]] = dump_line(first), dump_line(second)
    return "".join(lines)


def _shift_at(text: str) -> str:
    lines = text.splitlines(keepends=True)
    for i in [i for i, line in enumerate(lines) if line.startswith('{"at":')][:2]:
        entry = json.loads(lines[i])
        lines[i] = dump_line({**entry, "at": entry["at"] + 1})
    return "".join(lines)


EDITS = {
    "roles": lambda text: text.replace('"roles":"augmented:2,original:1"', '"roles":"bogus:9"', 1),
    "manifest spans swapped": lambda text: _swap_index_fields(text, ("at", "len")),
    "sums spans swapped": lambda text: _swap_index_fields(text, ("sums_at", "sums_len")),
    "index shifted": _shift_at,
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_a_stat_cache_edited_since_it_was_written_steers_no_copy(
    made: tuple[Path, Path, Path], kept: dict[str, int], edit: str
) -> None:
    """The cache's last line gives the digest of every line before it: a task line or an
    index line edited since (its digest left as it was) is not used, so no count, span or
    line comes from it; its entries still vouch for their files."""
    recipe, source, out = made
    cache = out / STAT_CACHE_NAME
    text = cache.read_text(encoding="utf-8")
    edited = EDITS[edit](text)
    assert edited != text
    cache.write_text(edited, encoding="utf-8")
    before = contract(out)
    expand(recipe, source, out, "-j", "1")
    assert kept == {"blocks": 0, "lines": len(NAMES)}
    assert contract(out) == before
    assert invoke("validate", "manifest", out / "manifest.jsonl").exit_code == 0


def test_a_folder_at_the_stat_caches_name_vouches_for_nothing(
    made: tuple[Path, Path, Path],
) -> None:
    recipe, source, out = made
    (out / STAT_CACHE_NAME).unlink()
    (out / STAT_CACHE_NAME).mkdir()
    result = invoke("expand", recipe, source, "-o", out, "-j", "1")
    assert result.exit_code == 1
    assert "Traceback" not in result.output and STAT_CACHE_NAME in result.output
