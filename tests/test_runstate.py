"""What a rerun holds of the earlier run: byte spans of its manifest, read back on demand."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from augtool.manifest import as_line, write_manifest
from augtool.runstate import load_previous


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
