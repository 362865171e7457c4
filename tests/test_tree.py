"""The one walk of the output tree (augtool/run/tree.py) and the executors' one interface: every
reader of OUT agrees on what it holds, a clean run walks it as few times as it can, and
validate's pool reports a lost worker as a run's pool does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import invoke, write_images

from augtool.atomic import TEMP_PREFIX
from augtool.manifest import STATE_FILES
from augtool.run.executors import WorkerLost, map_in_order
from augtool.run.statcache import stat_of
from augtool.run.tree import scan, tree_files, walk

RECIPE = """\
version: 1
seed: 3
input: {layout: imagefolder}
variants: 2
pipeline:
  - hflip: {p: 0.5}
"""


def make_dataset(root: Path) -> Path:
    return write_images(root, {"train/cat/cat_0.png": 0, "train/cat/cat_1.png": 1})


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return path


def test_the_state_folder_is_skipped_at_the_root_only(tmp_path: Path) -> None:
    (tmp_path / ".augtool").mkdir()
    (tmp_path / ".augtool" / "journal.jsonl").write_text("")
    (tmp_path / "train" / ".augtool").mkdir(parents=True)
    (tmp_path / "train" / ".augtool" / "theirs.txt").write_text("x")
    (tmp_path / "manifest.jsonl").write_text("")
    assert sorted(e.path for e in walk(tmp_path)) == ["manifest.jsonl", "train/.augtool/theirs.txt"]
    assert list(tree_files(tmp_path)) == ["train/.augtool/theirs.txt"]


def test_the_state_files_are_skipped_at_the_root_only(tmp_path: Path) -> None:
    for name in STATE_FILES:
        (tmp_path / name).write_text("")
        (tmp_path / "train" / name).parent.mkdir(exist_ok=True)
        (tmp_path / "train" / name).write_text("theirs")
    theirs = sorted(f"train/{name}" for name in STATE_FILES)
    assert sorted(e.path for e in walk(tmp_path)) == theirs
    assert sorted(tree_files(tmp_path)) == theirs


def test_links_are_entries_and_never_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "deep").mkdir(parents=True)
    (elsewhere / "deep" / "f.txt").write_text("x")
    out = tmp_path / "out"
    out.mkdir()
    (out / "linked").symlink_to(elsewhere, target_is_directory=True)
    (out / f"{TEMP_PREFIX}x").write_text("")
    found = scan(out)
    assert found.folder_links == ["linked"]
    assert found.temp_files == [f"{TEMP_PREFIX}x"]
    assert sorted(e.path for e in walk(out)) == sorted(["linked", f"{TEMP_PREFIX}x"])


def test_the_scan_vouches_for_exactly_the_known_files_as_they_are(tmp_path: Path) -> None:
    """Each known file is compared with its stat in its own folder, at any depth: one left as
    it was is vouched for, one rewritten, replaced by a link or a folder, or gone is not."""
    out = tmp_path / "out"
    names = ["top.txt", "a/one.txt", "a/b/two.txt", "a/b/c/three.txt", "d/four.txt"]
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(name)
    (out / "manifest.jsonl").write_text("")
    (out / "a" / "b" / f"{TEMP_PREFIX}t").write_text("")
    (out / "d" / "link.txt").symlink_to(out / "top.txt")
    known = {name: stat_of(out / name) for name in names}
    known["d/link.txt"] = known["top.txt"]
    known["gone.txt"] = known["top.txt"]
    (out / "a" / "b" / "two.txt").write_text("changed")
    (out / "d" / "four.txt").unlink()
    (out / "d" / "four.txt").mkdir()
    found = scan(out, {k: v for k, v in known.items() if v is not None})
    assert found.current == {n: known[n] for n in ["top.txt", "a/one.txt", "a/b/c/three.txt"]}
    assert found.temp_files == [f"a/b/{TEMP_PREFIX}t"]
    assert found.files == len(list(tree_files(out)))


def test_a_temp_file_below_a_nested_state_folder_is_removed(tmp_path: Path, recipe: Path) -> None:
    """Every reader now agrees a ``.augtool`` below the root is an ordinary folder: the temp
    file a killed run left there is removed, not reported as a file augtool did not make."""
    data, out = make_dataset(tmp_path / "data"), tmp_path / "out"
    assert invoke("expand", recipe, data, "-o", out, "--quiet").exit_code == 0
    nested = out / "train" / "cat" / ".augtool"
    nested.mkdir()
    (nested / f"{TEMP_PREFIX}left").write_bytes(b"half")
    result = invoke("expand", recipe, data, "-o", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert not (nested / f"{TEMP_PREFIX}left").exists()
    assert '"unlisted": []' in result.stdout


def test_a_clean_run_walks_the_output_twice(
    tmp_path: Path, recipe: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once before writing (folder links, temp files), once after (files augtool did not make);
    the folder-link check, the temp-file sweep and the unlisted count each walked it before."""
    data, out = make_dataset(tmp_path / "data"), tmp_path / "out"
    out.mkdir()
    walks = []
    real = os.scandir

    def counting(path: int | str | os.PathLike[str] = ".") -> os.ScandirIterator[str]:
        # (The scan lists a folder through an open descriptor.)
        if isinstance(path, int):
            root = os.path.samestat(os.fstat(path), os.stat(out))
        else:
            root = os.path.abspath(path) == str(out)
        if root:
            walks.append(path)
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    assert invoke("expand", recipe, data, "-o", out, "--quiet").exit_code == 0
    assert len(walks) == 2


def _die(_: int) -> int:
    os._exit(3)


def test_validates_pool_reports_a_lost_worker_as_a_run_does() -> None:
    with pytest.raises(WorkerLost, match="a worker process died"):
        list(map_in_order(_die, [(1,), (2,), (3,)], 2, True))
