"""A finished task's records are dumped to JSON once in the main process, and that one text
goes to both the journal and the manifest: the journal's line keeps the bytes of the task's
canonical entry, and a run's manifest keeps its bytes."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import expand, write_images

import augtool.manifest.writer as writer
from augtool.manifest import dump_line
from augtool.run.journal import TaskResult

RECIPE = """\
version: 1
seed: 5
variants: 2
output: {originals: copy}
pipeline:
  - rotate: {limit: 10}
  - gaussian_noise: {std: [1, 3]}
"""


def entry(result: TaskResult) -> dict[str, Any]:
    """The journal entry as the journal has always dumped it, whole."""
    found: dict[str, Any] = {
        "source": result.source,
        "sources": result.sources,
        "outputs": result.outputs,
        "kept": result.kept,
    }
    if result.lines is None:
        found["records"] = result.records
    else:
        found["lines"] = result.lines
    return found


@pytest.mark.parametrize(
    "result",
    [
        TaskResult(
            'a/ü "q".jpg',
            [
                {"path": "a/ü_0.jpg", "type": "file", "params": {"x": 0.1, "y": [1, -2e-9]}},
                {"path": "a/ü.jpg", "type": "file", "sha256": "0" * 64, "note": "\n\\"},
            ],
            {'a/ü "q".jpg': (1, 2, 3, 4)},
            {"a/ü_0.jpg": (5, 6, 7, 8), "a/ü.jpg": (9, 10, 11, 12)},
        ),
        TaskResult("gone.jpg", [{"path": "gone.jpg", "type": "skipped", "reason": "r"}]),
        TaskResult("empty.jpg", []),
        TaskResult(
            "kept.jpg",
            [{"path": "kept_0.jpg", "type": "file"}],
            kept=True,
            lines=['{"path":"kept_0.jpg","type":"file"}\n'],
        ),
    ],
)
def test_journal_line_is_the_canonical_entry(result: TaskResult) -> None:
    assert result.as_line() == dump_line(entry(result))
    assert TaskResult.from_line(json.loads(result.as_line())) == result


def records_dumped(value: Any) -> list[str]:
    """The output paths of the records a JSON text holds: one record, or a journal entry's."""
    if not isinstance(value, dict):
        return []
    if "records" in value and "source" in value:
        return [r["path"] for r in value["records"]]
    return [value["path"]] if "path" in value and "type" in value else []


def test_each_record_is_dumped_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write_images(tmp_path / "in", {f"img_{i}.jpg": i for i in range(4)}, (48, 40))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    dumped: Counter[str] = Counter()
    original = writer.canonical_json

    def counting(value: Any) -> str:
        dumped.update(records_dumped(value))
        return original(value)

    monkeypatch.setattr(writer, "canonical_json", counting)
    out = expand(recipe, source, tmp_path / "out", "--jobs", "1")
    manifest = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(manifest) == 1 + 4 * 3 + 1  # header, 2 variants and the original each, footer
    assert len(dumped) == 4 * 3
    assert set(dumped.values()) == {1}
