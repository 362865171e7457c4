"""A rerun's kept image lines read without JSON (augtool.run.kept_lines): the fields it takes
are the ones a parse gives, any other line is parsed, and the rewritten manifest is the one a
full run writes."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import RUN_STATE, expand, tree_digest, write_images

from augtool.manifest import STAT_CACHE_NAME, dump_line
from augtool.run import engine, spans, worker
from augtool.run.kept_lines import image_line_fields

RECIPE = """\
version: 1
seed: 5
input: {layout: imagefolder}
output: {format: jpeg, quality: 90, originals: copy}
variants: 2
pipeline:
  - hflip: {p: 0.5}
  - rotate: {limit: 10}
"""
#: names that escape in JSON (skipped by the pattern) and names that do not (read by it)
NAMES = {
    "train/cat/plain.jpg": 1,
    "train/cat/ünï cödé.jpg": 2,
    "train/dog/sep\u2028arator.jpg": 3,
    'train/dog/quo"te.jpg': 4,
    "train/dog/back\\slash.jpg": 5,
    "train/dog/tab\there.jpg": 6,
}
FIELDS = ("label", "path", "role", "sha256", "source", "split", "type")


@pytest.fixture
def made(tmp_path: Path) -> tuple[Path, Path, Path]:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    source = write_images(tmp_path / "in", NAMES)
    return recipe, source, expand(recipe, source, tmp_path / "out", "-j", "1")


def manifest_lines(out: Path) -> list[str]:
    """The record lines, each with its newline (split on "\\n" only)."""
    body = (out / "manifest.jsonl").read_bytes().decode("utf-8")
    return [line + "\n" for line in body.split("\n")[1:-2]]


def projected(line: str) -> dict[str, Any]:
    record = json.loads(line)
    return {key: record[key] for key in FIELDS}


def test_the_fields_read_are_those_a_parse_gives(made: tuple[Path, Path, Path]) -> None:
    lines = manifest_lines(made[2])
    read = [image_line_fields([line]) for line in lines]
    plain = [line for line, fields in zip(lines, read, strict=True) if fields is not None]
    assert len(plain) == 3 * 3  # the original and two variants of the three plain names
    for line, fields in zip(lines, read, strict=True):
        if fields is not None:
            assert fields == [projected(line)]
        else:
            assert "\\" in line  # only a name with an escape is left to the parser
    assert image_line_fields(plain) == [projected(line) for line in plain]


def record_line(**changes: Any) -> str:
    record: dict[str, Any] = {
        "bytes": 10,
        "decoded": {"format": "JPEG", "frames": 1, "mode": "RGB", "orientation": 1},
        "encoder": {"format": "JPEG", "quality": 90},
        "image_size": [4, 6],
        "label": "cat",
        "metadata": "stripped",
        "path": "train/cat/a__v00.jpg",
        "role": "augmented",
        "seed": 7,
        "sha256": "a" * 64,
        "source": {"path": "train/cat/a.jpg", "sha256": "b" * 64},
        "split": "train",
        "steps": [{"fired": True, "name": "hflip", "params": {}}],
        "type": "file",
        "variant": 0,
    }
    record.update(changes)
    return dump_line(record)


@pytest.mark.parametrize(
    "changes",
    [
        {"decoded": {"format": "PNG", "frames": 1, "mode": "I;16", "range": [0.0, 900.0]}},
        {"steps": [{"fired": True, "name": "copy_paste", "params": {"objects": 0}}]},
        {"steps": [{"fired": True, "name": "clip", "params": {"peak": 1.5}}]},
        {"licence": "CC-BY-4.0"},
        {"author": "someone"},
        {"kind": "label"},
        {"label": {"boxes": []}},
        {"source": {"path": "a.jpg", "sha256": "b" * 64, "extra": 1}},
        {"path": "train/cat/a\\b.jpg"},
    ],
)
def test_a_line_the_summary_counts_or_of_another_shape_is_parsed(changes: dict[str, Any]) -> None:
    assert image_line_fields([record_line()]) == [projected(record_line())]
    assert image_line_fields([record_line(), record_line(**changes)]) is None


def test_a_no_op_rerun_parses_no_kept_line_and_writes_the_same_bytes(
    made: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every source is kept by copying its lines (augtool.run.kept_blocks), names with escapes
    too: no kept line is parsed, and the manifest, SHA256SUMS and stat cache are the bytes
    they were."""
    recipe, source, out = made
    before = tree_digest(out, RUN_STATE - {STAT_CACHE_NAME})
    parses: list[str] = []

    def loads(text: str | bytes) -> Any:
        if isinstance(text, str) and text.startswith("[{"):
            parses.append(text)
        return json.loads(text)

    def unread(lines: list[str]) -> None:
        raise AssertionError(f"a kept line was read: {lines[0]}")

    with monkeypatch.context() as patch:
        patch.setattr(spans, "json", SimpleNamespace(loads=loads, dumps=json.dumps))
        patch.setattr(spans, "image_line_fields", unread)
        expand(recipe, source, out, "-j", "1")
    assert parses == []
    assert tree_digest(out, RUN_STATE - {STAT_CACHE_NAME}) == before
    fresh = expand(recipe, source, tmp_path / "fresh", "-j", "1")
    assert (out / "manifest.jsonl").read_bytes() == (fresh / "manifest.jsonl").read_bytes()


def test_a_source_digest_the_line_and_cache_disagree_on_is_checked_again(
    made: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe, source, out = made
    cache = out / STAT_CACHE_NAME
    text = cache.read_text(encoding="utf-8")
    line = next(
        entry
        for entry in text.splitlines(keepends=True)
        if '"path":"train/cat/plain.jpg","root":"in"' in entry
    )
    # (the source's entry and its task's line, which both carry the digest)
    cache.write_text(text.replace(json.loads(line)["sha256"], "0" * 64), encoding="utf-8")
    before = tree_digest(out, RUN_STATE)
    checked: list[str] = []

    def process_tasks(batch: list[tuple[Any, Any]], ctx: Any) -> Any:
        checked.extend(task.source.path for task, _ in batch)
        return worker.process_tasks(batch, ctx)

    with monkeypatch.context() as patch:
        patch.setattr(engine, "process_tasks", process_tasks)
        expand(recipe, source, out, "-j", "1")
    # Not kept on the stat cache's word: the worker hashed its files again (the same bytes).
    assert checked == ["train/cat/plain.jpg"]
    assert tree_digest(out, RUN_STATE) == before
