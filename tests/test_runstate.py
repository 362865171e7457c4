"""What a rerun holds of the earlier run: byte spans of its manifest, read back on demand."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from augtool.manifest import as_line, write_manifest
from augtool.run.incremental import load_previous
from augtool.run.journal import TaskResult
from augtool.run.statcache import STAT_CACHE_NAME


def records(sources: int) -> list[dict[str, object]]:
    out = []
    for i in range(sources):
        source = {"path": f"img_{i:05d}.jpg", "sha256": f"{i:064x}"}
        for variant in range(4):
            steps = [{"name": "rotate", "fired": True, "params": {"angle": 0.1 * variant}}] * 5
            out.append(
                {
                    "type": "file",
                    "kind": "image",
                    "path": f"img_{i:05d}__v{variant:02d}.jpg",
                    "sha256": f"{i * 4 + variant:064x}",
                    "source": source,
                    "steps": steps,
                }
            )
    return sorted(out, key=lambda r: r["path"])


def test_earlier_records_are_read_back_not_held(tmp_path: Path) -> None:
    written = records(1500)
    header = {"type": "header", "recipe_sha256": "r", "tool": {"version": "x"}, "recipe": {}}
    write_manifest(tmp_path, header, (as_line(r) for r in written), {"files": len(written)})
    size = (tmp_path / "manifest.jsonl").stat().st_size
    tracemalloc.start()
    try:
        previous = load_previous(tmp_path)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        # Parsed, the records take seven times the file's size; their spans, a seventh of it.
        assert held < size / 5, (held, size)
        assert len(previous.tasks) == 1500
        earlier = previous.tasks["img_00007.jpg"]
        assert earlier.records == [r for r in written if r["source"]["path"] == "img_00007.jpg"]
    finally:
        previous.close()


def test_stats_without_a_ctime_are_unknown(tmp_path: Path) -> None:
    """A journal or stat cache written before the ctime was part of a stat is read without
    error, and vouches for no file (each is hashed)."""
    source = {"path": "a.jpg", "sha256": "s"}
    record = {"type": "file", "path": "a__v00.jpg", "sha256": "o", "source": source}
    old = {"sources": {"a.jpg": [1, 2, 3]}, "outputs": {"a__v00.jpg": [4, 5, 6]}}
    line = {"source": "a.jpg", "records": [record], "kept": False, **old}
    result = TaskResult.from_line(line)
    assert (result.sources, result.outputs) == ({}, {})
    new = {"sources": {"a.jpg": [1, 2, 3, 7]}, "outputs": {"a__v00.jpg": [4, 5, 6, 8]}}
    result = TaskResult.from_line({**line, **new})
    assert (result.sources, result.outputs) == (
        {"a.jpg": (1, 2, 3, 7)},
        {"a__v00.jpg": (4, 5, 6, 8)},
    )

    header = {"type": "header", "recipe_sha256": "r", "tool": {"version": "x"}, "recipe": {}}
    write_manifest(tmp_path, header, iter([as_line(record)]), {"files": 1})
    entries = [
        {"input_root": "/in"},
        {"root": "in", "path": "a.jpg", "ino": 1, "mtime_ns": 2, "size": 3, "sha256": "s"},
        {"root": "out", "path": "a__v00.jpg", "ino": 4, "mtime_ns": 5, "size": 6},
    ]
    (tmp_path / STAT_CACHE_NAME).write_text("".join(json.dumps(e) + "\n" for e in entries))
    previous = load_previous(tmp_path)
    try:
        assert (previous.source_stats, previous.output_stats) == ({}, {})
        assert list(previous.tasks) == ["a.jpg"]
    finally:
        previous.close()
