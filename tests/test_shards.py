"""expand --shard K/N and augtool merge: N shards merged are the single run, byte for byte, on
every bundled layout and medium; a missing, repeated or foreign part is refused before anything
is written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, invoke, read_manifest, tree_digest, write_images

from augtool.layouts.registry import LAYOUTS
from augtool.run.shards import Shard

CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
#: The layout each bundled config's input is read as (checked against its run's header); the
#: one layout no config uses, ``flat``, has a test of its own below.
CONFIG_LAYOUTS = {
    "audio": "imagefolder",
    "classification": "imagefolder",
    "classification-list": "imagelist",
    "detection-coco": "coco",
    "detection-labelme": "labelme",
    "detection-roboflow-coco": "coco",
    "detection-roboflow-yolo": "yolo",
    "detection-voc": "voc",
    "detection-yolo": "yolo",
    "quickstart": "imagefolder",
    "segmentation": "masks",
    "text": "table",
}
#: files that are not part of the determinism contract: the run's own log and state
RUN_FILES = frozenset({"run.json", ".augtool-lock", ".augtool-stat-cache.jsonl"})


def _input(config: Path) -> Path:
    recipe = yaml.safe_load(config.read_text(encoding="utf-8"))
    return (config.parent / recipe["input"]["path"]).resolve()


def _run(*args: str | Path) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, result.output


def _shards(config: Path, tmp: Path, count: int, data: Path | None = None) -> list[Path]:
    data = data or _input(config)
    parts = [tmp / f"part-{k}" for k in range(1, count + 1)]
    for k, part in enumerate(parts, 1):
        _run("expand", config, data, "-o", part, "--shard", f"{k}/{count}", "-j", "1", "-q")
    return parts


def _one_and_three_shards_are_the_single_run(recipe: Path, data: Path, tmp: Path) -> list[Path]:
    """1 shard merged, 3 shards merged and one run: the same bytes. The 3 parts."""
    whole = tmp / "whole"
    _run("expand", recipe, data, "-o", whole, "-j", "1", "-q")
    expected = tree_digest(whole, RUN_FILES)
    (one,) = _shards(recipe, tmp / "one", 1, data)
    _run("merge", recipe, one, "--input", data, "-o", tmp / "merged-1", "-q")
    assert tree_digest(tmp / "merged-1", RUN_FILES) == expected
    parts = _shards(recipe, tmp / "three", 3, data)
    # Given in any order, the parts merge into the same bytes as the single run.
    _run("merge", recipe, *reversed(parts), "--input", data, "-o", tmp / "merged-3", "-q")
    assert tree_digest(tmp / "merged-3", RUN_FILES) == expected
    # Each part is a slice: together they hold each source's outputs exactly once.
    records = [r for p in parts for r in read_manifest(p) if r["type"] == "file"]
    sourced = [r["path"] for r in records if r["role"] != "dataset"]
    assert len(sourced) == len(set(sourced))
    assert all(read_manifest(p)[0]["shard"]["count"] == 3 for p in parts)
    assert "shard" not in read_manifest(tmp / "merged-3")[0]
    return parts


def test_every_registered_layout_is_sharded() -> None:
    assert set(CONFIG_LAYOUTS) == {config.stem for config in CONFIGS}
    assert {*CONFIG_LAYOUTS.values(), "flat"} == set(LAYOUTS)


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.stem)
def test_one_and_three_shards_merged_are_the_single_run(config: Path, tmp_path: Path) -> None:
    parts = _one_and_three_shards_are_the_single_run(config, _input(config), tmp_path)
    assert read_manifest(parts[0])[0]["layout"] == CONFIG_LAYOUTS[config.stem]


def _shard_of_each_source(parts: list[Path]) -> dict[str, int]:
    return {
        r["source"]["path"]: read_manifest(part)[0]["shard"]["index"]
        for part in parts
        for r in read_manifest(part)[1:-1]
        if r["type"] == "file" and r.get("source")
    }


@pytest.mark.slow
def test_a_flat_dataset_shards_alike_and_added_files_move_no_source(tmp_path: Path) -> None:
    folders = ["a/", "a/deep/", "b/", ""] * 4  # flat: images anywhere below a split folder
    images = {f"{split}/{d}img_{i:03d}.png": i for split in ("train", "val") for i, d in
              enumerate(folders)}  # fmt: skip
    data = write_images(tmp_path / "in", images, (40, 30))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\nseed: 5\ninput: {layout: flat}\nvariants: 2\npipeline:\n"
        "  - hflip: {p: 0.5}\n  - rotate: {limit: 10}\n",
        encoding="utf-8",
    )
    before = _one_and_three_shards_are_the_single_run(recipe, data, tmp_path / "before")
    assert read_manifest(before[0])[0]["layout"] == "flat"
    owners = _shard_of_each_source(before)
    assert set(owners) == set(images) and set(owners.values()) == {1, 2, 3}
    added = {f"train/new/img_{i:03d}.png": 100 + i for i in range(12)}
    write_images(data, added, (40, 30))
    again = _shard_of_each_source(
        _one_and_three_shards_are_the_single_run(recipe, data, tmp_path / "after")
    )
    assert set(again) == set(images) | set(added)
    assert {path: again[path] for path in owners} == owners


def test_one_shard_is_the_single_run_and_merge_reads_no_output(tmp_path: Path) -> None:
    config = ROOT / "configs" / "quickstart.yaml"
    whole, merged = tmp_path / "whole", tmp_path / "merged"
    _run("expand", config, "-o", whole, "-j", "1", "-q")
    (part,) = _shards(config, tmp_path, 1)
    result = invoke("merge", config, part, "-o", merged, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    # Every output was vouched for by the part's stat cache: linked, kept, none remade.
    assert summary["made"] == 0
    assert summary["kept"] == summary["counts"]["files"]
    assert tree_digest(merged, RUN_FILES) == tree_digest(whole, RUN_FILES)
    # The part is left as it was, and still validates.
    check = invoke("validate", "manifest", part / "manifest.jsonl", "--source", _input(config))
    assert check.exit_code == 0, check.output


def test_a_part_that_cannot_vouch_is_checked_by_hashing(tmp_path: Path) -> None:
    config = ROOT / "configs" / "quickstart.yaml"
    whole, merged = tmp_path / "whole", tmp_path / "merged"
    _run("expand", config, "-o", whole, "-j", "1", "-q")
    parts = _shards(config, tmp_path, 2)
    (parts[0] / ".augtool-stat-cache.jsonl").unlink()  # as a part made on another machine
    _run("merge", config, *parts, "-o", merged, "-q")
    assert tree_digest(merged, RUN_FILES) == tree_digest(whole, RUN_FILES)


def test_a_damaged_output_in_a_part_is_made_again(tmp_path: Path) -> None:
    config = ROOT / "configs" / "quickstart.yaml"
    whole, merged = tmp_path / "whole", tmp_path / "merged"
    _run("expand", config, "-o", whole, "-j", "1", "-q")
    parts = _shards(config, tmp_path, 2)
    victim = next(r["path"] for r in read_manifest(parts[1]) if r.get("role") == "augmented")
    (parts[1] / victim).write_bytes(b"not the image")
    _run("merge", config, *parts, "-o", merged, "-q")
    assert tree_digest(merged, RUN_FILES) == tree_digest(whole, RUN_FILES)


def test_an_output_missing_from_a_part_is_made_again(tmp_path: Path) -> None:
    config = ROOT / "configs" / "quickstart.yaml"
    whole, merged = tmp_path / "whole", tmp_path / "merged"
    _run("expand", config, "-o", whole, "-j", "1", "-q")
    parts = _shards(config, tmp_path, 2)
    victim = next(r["path"] for r in read_manifest(parts[0]) if r.get("role") == "augmented")
    (parts[0] / victim).unlink()
    result = invoke("merge", config, *parts, "-o", merged, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["made"] >= 1
    assert tree_digest(merged, RUN_FILES) == tree_digest(whole, RUN_FILES)


def _refused(tmp_path: Path, *args: str | Path) -> str:
    result = invoke("merge", ROOT / "configs" / "quickstart.yaml", *args, "-o", tmp_path / "m")
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "m").exists()  # refused before anything was written
    return result.output


def test_a_missing_or_repeated_shard_is_refused(tmp_path: Path) -> None:
    parts = _shards(ROOT / "configs" / "quickstart.yaml", tmp_path, 3)
    assert "shard 2 of 3 missing" in _refused(tmp_path, parts[0], parts[2])
    assert "shards 2, 3 of 3 missing" in _refused(tmp_path, parts[0])
    copy = tmp_path / "copy"
    shutil.copytree(parts[1], copy)
    output = _refused(tmp_path, *parts, copy)
    assert f"{parts[1]} and {copy} are both shard 2/3" in output


def test_parts_of_other_shard_counts_recipes_or_runs_are_refused(tmp_path: Path) -> None:
    config = ROOT / "configs" / "quickstart.yaml"
    three = _shards(config, tmp_path / "three", 3)
    two = _shards(config, tmp_path / "two", 2)
    assert "is of 3 shards" in _refused(tmp_path, *three, two[1])
    whole = tmp_path / "whole"
    _run("expand", config, "-o", whole, "-j", "1", "-q")
    assert "made without --shard" in _refused(tmp_path, whole)
    other = tmp_path / "other.yaml"
    recipe = yaml.safe_load(config.read_text(encoding="utf-8"))
    recipe["variants"] = 2
    recipe["input"]["path"] = str(_input(config))
    other.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    _run("expand", other, "-o", elsewhere, "--shard", "1/1", "-j", "1", "-q")
    assert "made by another recipe" in _refused(tmp_path, elsewhere)
    assert "not a shard's output" in _refused(tmp_path, tmp_path / "nothing")


def test_a_shard_refuses_an_output_holding_another_slice(tmp_path: Path) -> None:
    config = ROOT / "configs" / "quickstart.yaml"
    (part,) = _shards(config, tmp_path, 1)
    result = invoke("expand", config, "-o", part, "--shard", "1/2", "-q")
    assert result.exit_code == 2
    assert "holds shard 1/1, this run makes shard 1/2" in result.output
    result = invoke("expand", config, "-o", part, "-q")
    assert "holds shard 1/1, this run makes a whole run" in result.output


@pytest.mark.parametrize("text", ["3", "0/2", "3/2", "a/b", "1/0"])
def test_a_bad_shard_is_a_usage_error(text: str, tmp_path: Path) -> None:
    result = invoke("expand", ROOT / "configs" / "quickstart.yaml", "-o", tmp_path, "--shard", text)
    assert result.exit_code == 2
    assert "--shard" in result.output


def test_shards_are_balanced_and_stable_when_files_are_added() -> None:
    paths = [f"train/class_{i % 7}/img_{i:05d}.jpg" for i in range(3000)]
    owner = {p: next(k for k in (1, 2, 3) if Shard(k, 3).holds(p)) for p in paths}
    sizes = [sum(1 for k in owner.values() if k == shard) for shard in (1, 2, 3)]
    assert all(900 <= size <= 1100 for size in sizes), sizes
    # A source's shard is a function of its path alone: new files move no other source.
    more = [*paths, *(f"train/new/{i}.jpg" for i in range(500))]
    again = {p: next(k for k in (1, 2, 3) if Shard(k, 3).holds(p)) for p in more}
    assert all(again[p] == owner[p] for p in paths)


def test_a_changed_source_is_remade_by_its_shard_and_merged(tmp_path: Path) -> None:
    data = write_images(tmp_path / "in", {f"train/{c}/{i}.png": i for c in "ab" for i in range(6)})
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "version: 1\nseed: 3\nvariants: 2\npipeline:\n  - hflip: {p: 0.5}\n", encoding="utf-8"
    )
    parts = [tmp_path / f"p{k}" for k in (1, 2)]
    for k, part in enumerate(parts, 1):
        _run("expand", recipe, data, "-o", part, "--shard", f"{k}/2", "-j", "1", "-q")
    _run("merge", recipe, *parts, "--input", data, "-o", tmp_path / "m", "-q")
    write_images(data, {"train/a/0.png": 99})  # a changed source: its shard runs again
    shard = 1 if Shard(1, 2).holds("train/a/0.png") else 2
    _run("expand", recipe, data, "-o", parts[shard - 1], "--shard", f"{shard}/2", "-j", "1", "-q")
    _run("merge", recipe, *parts, "--input", data, "-o", tmp_path / "m", "-q")
    _run("expand", recipe, data, "-o", tmp_path / "whole", "-j", "1", "-q")
    assert tree_digest(tmp_path / "m", RUN_FILES) == tree_digest(tmp_path / "whole", RUN_FILES)
