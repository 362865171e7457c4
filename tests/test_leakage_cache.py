"""The near-duplicate check's cache and pool (docs/governance.md): a rerun decodes only the
sources that are new or changed, the hashes are the same cached, computed on one process or on
several, and nothing is cached by a dry run or a run the check stops."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import file_records, invoke, read_manifest, write_images
from test_leakage_content import PLANTED, planted, recipe

import augtool.neardup
from augtool.manifest import PHASH_CACHE_NAME
from augtool.neardup import file_phash
from augtool.run.executors.hashing import FINGERPRINT_POOL_MIN, fingerprint_files
from augtool.run.phashcache import load_phashes, source_phashes, write_phashes


def cached(out: Path) -> dict[str, str | None]:
    lines = (out / PHASH_CACHE_NAME).read_text(encoding="utf-8").splitlines()
    return {entry["path"]: entry["phash"] for entry in map(json.loads, lines[1:])}


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the check decodes in this process (a run of --jobs 1 decodes them here)."""
    seen: list[str] = []

    def counting(path: str | Path) -> int | None:
        seen.append(Path(path).name)
        return file_phash(path)

    monkeypatch.setattr(augtool.neardup, "file_phash", counting)
    return seen


def test_a_rerun_decodes_only_new_and_changed_sources(tmp_path: Path, decodes: list[str]) -> None:
    source, out = planted(tmp_path), tmp_path / "out"
    warn = recipe(tmp_path, "warn")
    assert invoke("expand", warn, source, "-o", out, "--jobs", "1").exit_code == 0
    # every source is decoded once, and the cache holds what the manifest records
    recorded = {r["source"]["path"]: r["source_phash"] for r in file_records(out).values()}
    assert len(recorded) > 30 and sorted(decodes) == sorted(Path(p).name for p in recorded)
    assert cached(out) == recorded
    first = read_manifest(out)

    decodes.clear()
    again = invoke("expand", warn, source, "-o", out, "--jobs", "1")
    assert again.exit_code == 0 and decodes == []
    assert PLANTED in again.output  # the pair is still found, from the cache
    assert read_manifest(out)[1:] == first[1:]

    # rewritten in place with the same size and mtime put back: the ctime gives it away
    planted_file = source / PLANTED
    before = planted_file.stat()
    data = bytearray(planted_file.read_bytes())
    data[-3] ^= 0xFF
    planted_file.write_bytes(bytes(data))
    os.utime(planted_file, ns=(before.st_atime_ns, before.st_mtime_ns))
    shutil.copy(source / "train/cat/cat_001.jpg", source / "train/cat/new.jpg")
    decodes.clear()
    assert invoke("expand", warn, source, "-o", out, "--jobs", "1").exit_code == 0
    assert sorted(decodes) == ["new.jpg", "planted_copy.jpg"]


def test_a_dry_run_or_a_stopped_run_caches_nothing(tmp_path: Path) -> None:
    source, out = planted(tmp_path), tmp_path / "out"
    dry = invoke("expand", recipe(tmp_path, "warn"), source, "-o", out, "--dry-run")
    assert dry.exit_code == 0 and not (out / PHASH_CACHE_NAME).exists()
    failed = invoke("expand", recipe(tmp_path, "fail"), source, "-o", out)
    assert failed.exit_code == 1 and not (out / PHASH_CACHE_NAME).exists()
    ignored = invoke("expand", recipe(tmp_path, "ignore"), source, "-o", out)
    assert ignored.exit_code == 0 and not (out / PHASH_CACHE_NAME).exists()


def test_a_cache_of_another_input_or_kind_vouches_for_nothing(tmp_path: Path) -> None:
    source = write_images(tmp_path / "in", {"a.png": 1, "b.png": 2})
    entries = source_phashes(source, ["a.png", "b.png"], {}, 1, "image")
    write_phashes(tmp_path, source, entries, "phash64-v1")
    assert load_phashes(tmp_path, source, "phash64-v1") == entries
    assert load_phashes(tmp_path, tmp_path / "other", "phash64-v1") == {}
    assert load_phashes(tmp_path, source, "audio-bands64-v1") == {}


def test_the_pool_hashes_as_this_process_does(tmp_path: Path) -> None:
    count = FINGERPRINT_POOL_MIN + 6
    source = write_images(tmp_path, {f"{i:03d}.png": i for i in range(count)}, size=(48, 40))
    (source / "broken.png").write_bytes(b"not an image")
    paths = [*sorted(p.name for p in source.glob("[0-9]*.png")), "broken.png"]
    alone = fingerprint_files("image", source, paths, 1)
    assert alone == fingerprint_files("image", source, paths, 2)
    assert alone[-1] is None and len(set(alone[:-1])) == count
