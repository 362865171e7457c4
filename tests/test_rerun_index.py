"""A rerun's bookkeeping: the stat cache's index of the manifest (records found without parsing
every line), the stat cache's own lines, and the sorter's run files."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from array import array
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from augtool.manifest import STAT_CACHE_NAME, LineSorter, dump_line, write_manifest
from augtool.manifest import writer as manifest_writer
from augtool.run import incremental, spans
from augtool.run.incremental import Previous, load_previous
from augtool.run.statcache import entry_line, load_stat_cache, task_entries

WEIRD = ["plain.jpg", "tab\there.jpg", "new\nline.jpg", 'quo"te.jpg', "back\\slash.jpg",
         '"leading.jpg', "ünï/cödé.jpg", "sep\u2028arator.jpg", "del\x7f.jpg"]  # fmt: skip


def expand_config(name: str, out: Path) -> None:
    recipe = yaml.safe_load((ROOT / "configs" / f"{name}.yaml").read_text())
    recipe["input"]["path"] = str((ROOT / "configs" / recipe["input"]["path"]).resolve())
    recipe["output"]["path"] = str(out)
    recipe_file = out.parent / f"{out.name}.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe, sort_keys=False))
    command = [sys.executable, "-m", "augtool", "expand", str(recipe_file), "-q", "-j", "1"]
    subprocess.run(command, check=True, cwd=out.parent)


def by_owner(previous: Previous) -> dict[str, list[str]]:
    return {
        owner: sorted(dump_line(record) for record in earlier.records)
        for owner, earlier in previous.tasks.items()
    }


@pytest.mark.parametrize(
    "name",
    ["classification", "detection-yolo", "detection-coco", "segmentation", "detection-voc",
     "detection-labelme", "classification-list"],
)  # fmt: skip
def test_the_index_places_each_record_with_the_task_a_parse_gives_it(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    expand_config(name, out)

    class Unread:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise AssertionError("the manifest's lines were parsed to find their owners")

    with monkeypatch.context() as patch:
        patch.setattr(incremental, "ManifestReader", Unread)
        indexed = load_previous(out)
    try:
        found = by_owner(indexed)
    finally:
        indexed.close()
    (out / STAT_CACHE_NAME).unlink()  # no index: every line is parsed
    parsed = load_previous(out)
    try:
        assert found == by_owner(parsed)
        assert found  # (every sample has records)
    finally:
        parsed.close()


def test_an_edited_manifest_is_not_taken_from_the_index(tmp_path: Path) -> None:
    """The index is used only while the manifest has the digest it was written with: an edit
    that keeps the manifest well formed (a line and its footer changed together) is read line
    by line."""
    out = tmp_path / "out"
    expand_config("classification", out)
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    body = lines[:-1]
    record = json.loads(body[1])
    body[1] = json.dumps(record, indent=None) + "\n"  # the same object, other bytes (spaces)
    digest = hashlib.sha256("".join(body).encode()).hexdigest()
    footer = json.loads(lines[-1])
    footer["sha256"] = digest
    (out / "manifest.jsonl").write_text("".join(body) + dump_line(footer))
    previous = load_previous(out)
    try:
        index = load_stat_cache(out / STAT_CACHE_NAME, Previous())
        assert index.usable and index.manifest_sha256 != digest
        owner = record["source"]["path"]
        assert record in previous.tasks[owner].records  # read from the edited line
    finally:
        previous.close()


def test_stat_cache_lines_are_canonical_and_read_back(tmp_path: Path) -> None:
    cache = tmp_path / STAT_CACHE_NAME
    lines = [dump_line({"input_root": "/in"})]
    for i, name in enumerate(WEIRD):
        seen = (i + 1, 10**18 + i, 100 + i, 2 * 10**18 + i)
        entry = {"root": "in", "path": name, "ino": seen[0], "mtime_ns": seen[1],
                 "size": seen[2], "ctime_ns": seen[3], "sha256": f"{i:064x}"}  # fmt: skip
        assert entry_line("in", name, seen, f"{i:064x}") == dump_line(entry)
        out_entry = {k: v for k, v in entry.items() if k != "sha256"} | {"root": "out"}
        assert entry_line("out", name, seen) == dump_line(out_entry)
        lines += [dump_line(entry), dump_line(out_entry)]
    cache.write_text("".join(lines), encoding="utf-8")
    previous = Previous()
    load_stat_cache(cache, previous)
    assert sorted(previous.source_stats) == sorted(WEIRD)
    assert sorted(previous.output_stats) == sorted(WEIRD)
    assert previous.source_stats["tab\there.jpg"] == ((2, 10**18 + 1, 101, 2 * 10**18 + 1),
                                                      (f"{1:064x}"))  # fmt: skip


def test_the_sorter_carries_any_name_through_its_run_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(manifest_writer, "_SORT_RUN_LINES", 2)
    lines = [(name, f'{{"path":{json.dumps(name)}}}\n', f"sum {name}\n" if i % 2 else "", name)
             for i, name in enumerate(WEIRD)]  # fmt: skip
    with LineSorter(tmp_path) as sorter:
        for line in reversed(lines):
            sorter.add(line)
        assert list(sorter.sorted()) == sorted(lines)


def test_lines_in_path_order_make_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines that arrive sorted after two that did not are spilled to one run file, read back
    without a merge."""
    monkeypatch.setattr(manifest_writer, "_SORT_RUN_LINES", 3)
    lines = [(f"{i:03d}.jpg", f"{i}\n", "", "") for i in range(20)]
    with LineSorter(tmp_path) as sorter:
        for line in [lines[1], lines[0], *lines[2:]]:
            sorter.add(line)
        assert list(sorter.sorted()) == lines
        runs = [p for p in tmp_path.iterdir() if p.name.startswith(manifest_writer.SORT_PREFIX)]
        assert len(runs) == 1
    assert not any(tmp_path.iterdir())


def test_stat_cache_lines_in_another_form_read_as_their_json(tmp_path: Path) -> None:
    """Lines another writer formatted otherwise (spaces, leading zeros, keys in another order)
    give the stats their JSON says; a source's line without a digest vouches for nothing."""
    seen = (7, 10**18, 42, 2 * 10**18)
    entry = {"ctime_ns": seen[3], "ino": seen[0], "mtime_ns": seen[1], "path": "a.jpg",
             "root": "in", "sha256": "ab" * 32, "size": seen[2]}  # fmt: skip
    out_entry = {**entry, "root": "out", "path": "a__v0.jpg"}
    del out_entry["sha256"]
    canonical = entry_line("out", "b__v0.jpg", seen)
    lines = [
        dump_line({"input_root": "/in"}),
        json.dumps(entry) + "\n",  # spaces
        json.dumps(dict(reversed(out_entry.items())), separators=(",", ":")) + "\n",
        canonical.replace('"ino":7', '"ino":07'),  # not JSON: the pattern reads it
        entry_line("in", "c.jpg", seen, "cd" * 32).replace(f'"sha256":"{"cd" * 32}",', ""),
    ]
    cache = tmp_path / STAT_CACHE_NAME
    cache.write_text("".join(lines), encoding="utf-8")
    previous = Previous()
    load_stat_cache(cache, previous)
    assert previous.source_stats == {"a.jpg": (seen, "ab" * 32)}
    assert previous.output_stats == {"a__v0.jpg": seen, "b__v0.jpg": seen}


def owned_lines(names: list[str]) -> list[tuple[str, str, str, str]]:
    """Sorter lines of ``names`` (sorted): every third one without a SHA256SUMS line, owners
    of two lines each, some of them weird."""
    lines = []
    for i, name in enumerate(sorted(names)):
        text = dump_line({"path": name, "i": i, "ü": "é"})
        sums = "" if i % 3 == 2 else f"{i:064x}  {name}\n".replace("\n", "\\n", name.count("\n"))
        lines.append((name, text, sums, WEIRD[(i // 2) % len(WEIRD)]))
    return lines


Place = tuple[int, int, str, int, int]


def written(out: Path, lines: object) -> tuple[bytes, bytes, list[Place]]:
    """The manifest, SHA256SUMS and each owner's places in both, adjacent ones joined."""
    places: list[Place] = []

    def placed(offset: int, length: int, owner: str, sums_at: int, sums_len: int) -> None:
        if places:
            at, size, last, last_sums_at, last_sums_len = places[-1]
            if (last, at + size, last_sums_at + last_sums_len) == (owner, offset, sums_at):
                places.pop()
                offset, length = at, size + length
                sums_at, sums_len = last_sums_at, last_sums_len + sums_len
        places.append((offset, length, owner, sums_at, sums_len))

    out.mkdir()
    write_manifest(out, {"type": "header"}, lines, {}, placed)  # type: ignore[arg-type]
    return (out / "manifest.jsonl").read_bytes(), (out / "SHA256SUMS").read_bytes(), places


def test_lines_in_path_order_are_copied_as_they_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lines that all arrive sorted go to disk in the form they are written in: no run file
    line is formatted or parsed, and the manifest, SHA256SUMS and the index's places are those
    of the lines written one by one."""
    monkeypatch.setattr(manifest_writer, "_SORT_RUN_LINES", 4)
    names = [f"{i:02d}{WEIRD[i % len(WEIRD)]}" for i in range(23)]
    lines = owned_lines(names)
    expected = written(tmp_path / "one-by-one", iter(lines))

    def unused(*args: object) -> str:
        raise AssertionError("a line went through a run file")

    monkeypatch.setattr(manifest_writer, "_run_line", unused)
    monkeypatch.setattr(manifest_writer, "_parse_run_line", unused)
    with LineSorter(tmp_path) as sorter:
        for line in lines:
            sorter.add(line)
        assert written(tmp_path / "straight", sorter) == expected


@pytest.mark.parametrize("late", [0, 5, 13, 22])
def test_a_line_out_of_order_after_sorted_ones_is_merged_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, late: int
) -> None:
    monkeypatch.setattr(manifest_writer, "_SORT_RUN_LINES", 4)
    monkeypatch.setattr(manifest_writer, "_MERGE_FAN_IN", 2)
    names = [f"{i:02d}{WEIRD[i % len(WEIRD)]}" for i in range(23)]
    lines = owned_lines(names)
    arrived = [*lines[:late], *lines[late + 1 :], lines[late]]
    if late < 3:
        arrived = [*arrived[8:], *arrived[:8]]  # (then the first ones come late too)
    expected = written(tmp_path / "sorted", iter(lines))
    with LineSorter(tmp_path) as sorter:
        for line in arrived:
            sorter.add(line)
        assert written(tmp_path / "merged", sorter) == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(manifest_writer.SORT_PREFIX)]


def test_spans_read_in_any_order_across_read_ahead_blocks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spans are served from a block read ahead: in file order, out of it, across a block's
    end and longer than a block, each reads the bytes at its place."""
    monkeypatch.setattr(spans, "_READ_AHEAD", 64)
    lines = [dump_line({"n": i, "pad": "x" * (i * 7 % 90)}) for i in range(40)]
    path = tmp_path / "lines.jsonl"
    path.write_text("".join(lines))
    places, offset = [], 0
    for line in lines:
        places.append((offset, len(line)))
        offset += len(line)
    order = [*range(40), *range(39, -1, -3), 5, 5, 0]
    file = spans.SpanFile(path, journal=False)
    try:
        for i in order:
            records, texts = file.read(array("q", places[i]))
            assert (records, texts) == ([json.loads(lines[i])], [lines[i]])
        both = array("q", [*places[3], *places[30]])
        assert file.read(both)[1] == [lines[3], lines[30]]
    finally:
        file.close()


@pytest.mark.parametrize("names", [["a__v00.jpg", "a__v01.jpg"], WEIRD, ["b.jpg", *WEIRD]])
def test_a_tasks_entries_are_its_entry_lines(names: list[str]) -> None:
    """Formatted at once (as a rerun formats every kept source's to compare them), a plain
    task's entries are the lines :func:`entry_line` gives one by one."""
    seen = (3, 10**18, 40, 2 * 10**18)
    outputs = [(name, (i, 10**18 + i, 50 + i, 2 * 10**18 - i)) for i, name in enumerate(names)]
    expected = entry_line("in", "a.jpg", seen, "ab" * 32)
    expected += "".join(entry_line("out", name, stat) for name, stat in outputs)
    assert task_entries("a.jpg", seen, "ab" * 32, outputs) == expected
