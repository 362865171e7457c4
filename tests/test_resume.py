"""Runs you can trust: interruption, resume, incremental reruns, the output lock.

Signals are sent to real processes; the final tree of an interrupted-then-resumed run must be
byte-identical to a clean run's.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import expand_argv, invoke, write_images
from contract import tree
from PIL import Image
from processes import FAULTHANDLER, children_of, drop_an_interrupt, ended, wait_gone

from augtool.manifest import JOURNAL_NAME, LOCK_NAME, STAT_CACHE_NAME, STATE_DIR
from augtool.run.journal import TaskResult
from augtool.run.worker import SourceChanged, read_stable

RECIPE = """\
version: 1
seed: 3
variants: 3
pipeline:
  - rotate: {limit: 20, border: reflect}
  - gaussian_blur: {sigma: [0.5, 1.0]}
  - gaussian_noise: {std: [2, 6]}
"""


def make_images(folder: Path, count: int, start: int = 0, size: int = 96) -> None:
    names = {f"img_{i:04d}.jpg": i for i in range(start, start + count)}
    write_images(folder, names, (size, size))


def command(recipe: Path, source: Path, out: Path, *extra: str) -> list[str]:
    return expand_argv(recipe, source, out, "--quiet", *extra)


def run_json(
    recipe: Path, source: Path, out: Path, *extra: str, env: dict[str, str] | None = None
) -> dict:
    done = subprocess.run(
        command(recipe, source, out, "--json", *extra), capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """A dataset that takes a few seconds at --jobs 2, and the tree of a clean run of it."""
    root = tmp_path_factory.mktemp("big")
    source = root / "in"
    make_images(source, 240)
    recipe = root / "recipe.yaml"
    recipe.write_text(RECIPE)
    clean = root / "clean"
    run_json(recipe, source, clean, "--jobs", "2")
    return recipe, source, tree(clean)


def start_and_wait_for_progress(
    recipe: Path, source: Path, out: Path, env: dict[str, str] | None = None, lines: int = 20
) -> subprocess.Popen:
    """Start a run and return once it has journaled ``lines`` finished tasks."""
    proc = subprocess.Popen(
        command(recipe, source, out, "--jobs", "2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**(os.environ if env is None else env), **FAULTHANDLER},
    )
    journal = out / JOURNAL_NAME
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b"\n") >= lines:
            return proc
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    proc.kill()
    raise AssertionError("no progress within 60 s")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_stops_cleanly_and_resumes_to_the_same_bytes(
    tmp_path: Path, big: tuple[Path, Path, dict[str, str]], signum: int
) -> None:
    recipe, source, clean = big
    out = tmp_path / "out"
    proc = start_and_wait_for_progress(recipe, source, out)
    workers = children_of(proc.pid)
    proc.send_signal(signum)
    _, stderr = ended(proc)
    assert proc.returncode == 130, stderr
    assert b"Interrupted: finished work is kept" in stderr
    assert wait_gone(workers) == set(), "worker processes outlived the run"
    assert not list(out.rglob(".augtool-tmp-*")), "a temp file was left behind"
    assert not (out / "manifest.jsonl").exists()
    journaled = (out / JOURNAL_NAME).read_bytes().count(b"\n")
    assert journaled >= 20
    summary = run_json(recipe, source, out, "--resume", "--jobs", "2")
    assert summary["kept"] >= 20 * 3
    assert summary["made"] + summary["kept"] == 240 * 4
    assert tree(out) == clean


def catching_sigint(pid: int) -> set[int]:
    """The pool workers of ``pid`` whose Python has set its SIGINT handler: started, and
    importing what they run (before that, a SIGINT ends a worker without a word)."""
    found = set()
    for child in children_of(pid):
        try:
            if b"popen_loky" not in Path(f"/proc/{child}/cmdline").read_bytes():
                continue
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        if caught & (1 << (signal.SIGINT - 1)):
            found.add(child)
    return found


def test_ctrl_c_while_the_workers_start_is_one_line_and_no_worker_traceback(
    tmp_path: Path,
) -> None:
    """A terminal's Ctrl-C goes to the whole process group, workers included: a worker still
    starting (importing numpy) printed a 20 to 60 line traceback beside the run's one line.
    The workers are born with SIGINT and SIGTERM blocked; the main process stops them."""
    source = tmp_path / "in"
    make_images(source, 40, size=64)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    for attempt in range(3):  # the worker's start-up is a window of some 0.5 s: hit every time
        out = tmp_path / f"out{attempt}"
        proc = subprocess.Popen(
            command(recipe, source, out, "--jobs", "2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, as a terminal's job is
        )
        deadline = time.monotonic() + 30
        while not catching_sigint(proc.pid):
            assert proc.poll() is None, "the run ended before its workers started"
            assert time.monotonic() < deadline, "no worker started within 30 s"
            time.sleep(0.005)
        everyone = children_of(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = ended(proc)
        assert proc.returncode == 130, stderr
        assert stderr.decode().splitlines() == [
            "Interrupted: finished work is kept; run the same command again to resume."
        ]
        assert wait_gone(everyone) == set(), "processes outlived the run"


@pytest.mark.parametrize("at", [0, 9], ids=["first", "last"])
def test_an_interrupt_python_drops_still_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    """Ctrl-C landing in a weakref callback (the import system's module-lock one, 1 run in about
    150): Python dropped the ``KeyboardInterrupt`` and the run wrote its manifest, exit 0. Here
    it lands while source ``at`` is made: the run stops after it, exit 130, and resumes."""

    import augtool.run.engine

    source = tmp_path / "in"
    make_images(source, 10, size=48)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    real = augtool.run.engine.process_tasks
    calls = 0

    def dropping(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        if calls == at:
            drop_an_interrupt()
        calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(augtool.run.engine, "process_tasks", dropping)
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        argv = ["expand", str(recipe), str(source), "-o", str(out), "--quiet", "--jobs", "1"]
        result = invoke(*argv)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert result.exit_code == 130, result.output
    assert result.output == (
        "Interrupted: finished work is kept; run the same command again to resume.\n"
    )
    assert not (out / "manifest.jsonl").exists()
    assert (out / JOURNAL_NAME).read_bytes().count(b"\n") == at + 1
    monkeypatch.undo()
    summary = run_json(recipe, source, out)
    assert (summary["kept"], summary["made"]) == ((at + 1) * 4, (9 - at) * 4)


@pytest.mark.parametrize("dropped", [True, False], ids=["after-an-interrupt", "alone"])
def test_an_error_an_interrupt_caused_is_the_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dropped: bool
) -> None:
    """numpy cut by Ctrl-C while it imports raises ``ImportError: numpy._core.multiarray failed
    to import`` (seen: exit 1 and a traceback). After an interrupt, such an error is the
    interrupt: one line, exit 130. Without one it is a bug, and shown as one."""

    import augtool.run.engine

    source = tmp_path / "in"
    make_images(source, 2, size=48)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)

    def broken(*args: Any, **kwargs: Any) -> Any:
        if dropped:
            drop_an_interrupt()
        raise ImportError("numpy._core.multiarray failed to import")

    monkeypatch.setattr(augtool.run.engine, "process_tasks", broken)
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        argv = ["expand", str(recipe), str(source), "-o", str(tmp_path / "out"), "--quiet"]
        result = invoke(*argv)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    if dropped:
        assert result.exit_code == 130, result.output
        assert result.output.startswith("Interrupted: finished work is kept;")
    else:
        assert isinstance(result.exception, ImportError)


@pytest.mark.slow
def test_kill_9_of_the_main_process_leaves_a_resumable_state(
    tmp_path: Path, big: tuple[Path, Path, dict[str, str]]
) -> None:
    recipe, source, clean = big
    out = tmp_path / "out"
    proc = start_and_wait_for_progress(recipe, source, out)
    workers = children_of(proc.pid)
    proc.kill()
    ended(proc)
    assert wait_gone(workers, 30) == set(), "workers outlived a killed main process"
    summary = run_json(recipe, source, out, "--jobs", "2")
    assert summary["kept"] > 0
    assert tree(out) == clean
    assert not list(out.rglob(".augtool-tmp-*"))


@pytest.mark.parametrize("name", [LOCK_NAME, f"{STATE_DIR}/lock"], ids=["lock", "old-lock"])
def test_a_second_run_into_the_same_output_is_refused_while_the_first_holds_the_lock(
    tmp_path: Path, name: str
) -> None:
    """The first run may be of an earlier version, which holds its lock in .augtool/."""
    source = tmp_path / "in"
    make_images(source, 3, size=32)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    lock = out / name
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        done = subprocess.run(command(recipe, source, out), capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == (
        f"Error: {out}: another augtool run is writing here (it holds the lock {lock})\n"
    )
    # Released with its holder: the next run goes through.
    run_json(recipe, source, out)


def test_resume_needs_an_earlier_run(tmp_path: Path) -> None:
    source = tmp_path / "in"
    make_images(source, 2, size=32)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    out = tmp_path / "out"
    done = subprocess.run(command(recipe, source, out, "--resume"), capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr == f"Error: {out}: there is no earlier run here to resume\n"


@pytest.mark.slow
def test_a_rerun_interrupted_after_keeping_resumes_to_the_same_bytes(
    tmp_path: Path, big: tuple[Path, Path, dict[str, str]]
) -> None:
    """A rerun does not journal what it keeps from the earlier manifest (which stays until the
    run writes its own); interrupted, the next run keeps those outputs from the manifest again
    and ends where a clean run ends."""
    recipe, source, _ = big
    inp = tmp_path / "in"
    shutil.copytree(source, inp)
    out = tmp_path / "out"
    run_json(recipe, inp, out, "--jobs", "2")
    make_images(inp, 150, start=5000)  # new work, so the rerun can be stopped mid-way
    proc = start_and_wait_for_progress(recipe, inp, out, lines=10)  # the pool is running
    proc.send_signal(signal.SIGINT)
    _, stderr = ended(proc)
    assert proc.returncode == 130, stderr
    journal = (out / JOURNAL_NAME).read_text().splitlines()
    entries = [json.loads(line) for line in journal]
    assert entries and not any(entry["kept"] for entry in entries)
    summary = run_json(recipe, inp, out, "--jobs", "2")
    assert summary["kept"] >= 240 * 4  # the original and 3 variants of each earlier source
    clean = tmp_path / "clean"
    run_json(recipe, inp, clean, "--jobs", "2")
    assert tree(out) == tree(clean)


def other_numpy(folder: Path) -> dict[str, str]:
    """An environment whose Python reports numpy 0.0.1: another version, as after an upgrade."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text("import numpy\nnumpy.__version__ = '0.0.1'\n")
    return {**os.environ, "PYTHONPATH": str(folder)}


@pytest.mark.slow
def test_a_run_interrupted_under_other_versions_keeps_none_of_the_older_outputs(
    tmp_path: Path, big: tuple[Path, Path, dict[str, str]]
) -> None:
    """A complete run, then a run under another numpy interrupted halfway: the next run under
    that numpy keeps what the interrupted run made and remakes the rest, keeping nothing of
    the first run (its manifest and the journal were made with different versions)."""
    recipe, source, clean = big
    out = tmp_path / "out"
    run_json(recipe, source, out, "--jobs", "2")
    other = other_numpy(tmp_path / "site")
    proc = start_and_wait_for_progress(recipe, source, out, env=other)
    proc.send_signal(signal.SIGINT)
    _, stderr = ended(proc)
    assert proc.returncode == 130, stderr
    journal = (out / JOURNAL_NAME).read_text().splitlines()
    made_then = sum(r["type"] == "file" for line in journal for r in json.loads(line)["records"])
    summary = run_json(recipe, source, out, env=other)
    total = sum("__v" in path or path.endswith(".jpg") for path in clean)
    assert (summary["kept"], summary["made"]) == (made_then, total - made_then)


class TestIncremental:
    """Reruns redo only what changed, and end where a clean run of the new input would."""

    @pytest.fixture()
    def setup(self, tmp_path: Path) -> tuple[Path, Path, Path]:
        source = tmp_path / "in"
        make_images(source, 10, size=48)
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(RECIPE)
        out = tmp_path / "out"
        first = run_json(recipe, source, out, "--jobs", "1")
        assert (first["made"], first["kept"], first["removed"]) == (40, 0, 0)
        return recipe, source, out

    def clean_tree(self, recipe: Path, source: Path, tmp_path: Path) -> dict[str, str]:
        clean = tmp_path / "clean"
        run_json(recipe, source, clean, "--jobs", "1")
        return tree(clean)

    def test_a_no_op_rerun_decodes_nothing(self, setup: tuple[Path, Path, Path]) -> None:
        recipe, source, out = setup
        before = tree(out)
        summary = run_json(recipe, source, out)
        assert (summary["made"], summary["kept"], summary["removed"]) == (0, 40, 0)
        assert tree(out) == before

    def test_the_stat_cache_spares_the_workers(
        self, setup: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:

        import augtool.run.engine

        def no_work(*args: object, **kwargs: object) -> list[TaskResult]:
            raise AssertionError("an unchanged source was sent to a worker")

        monkeypatch.setattr(augtool.run.engine, "process_tasks", no_work)
        recipe, source, out = setup
        result = invoke("expand", recipe, source, "-o", out)
        assert result.exit_code == 0, result.output

    def test_added_changed_and_deleted_sources(
        self, setup: tuple[Path, Path, Path], tmp_path: Path
    ) -> None:
        recipe, source, out = setup
        make_images(source, 5, start=100, size=48)  # five new sources
        (source / "img_0003.jpg").unlink()  # one gone
        Image.new("RGB", (48, 48), (200, 10, 10)).save(source / "img_0004.jpg")  # one changed
        summary = run_json(recipe, source, out)
        assert summary["made"] == 5 * 4 + 4
        assert summary["kept"] == 8 * 4
        assert summary["removed"] == 4
        assert tree(out) == self.clean_tree(recipe, source, tmp_path)

    def test_a_touched_but_unchanged_source_is_kept(self, setup: tuple[Path, Path, Path]) -> None:
        recipe, source, out = setup
        os.utime(source / "img_0001.jpg", (1, 1))
        summary = run_json(recipe, source, out)
        assert (summary["made"], summary["kept"]) == (0, 40)

    def test_a_damaged_output_is_remade(self, setup: tuple[Path, Path, Path]) -> None:
        recipe, source, out = setup
        before = tree(out)
        target = out / "img_0002__v01.jpg"
        target.write_bytes(b"tampered")
        summary = run_json(recipe, source, out)
        assert summary["made"] == 4 and summary["kept"] == 36
        assert tree(out) == before

    def test_an_output_damaged_in_place_with_its_size_and_mtime_put_back_is_remade(
        self, setup: tuple[Path, Path, Path]
    ) -> None:
        """The stat cache compares the ctime too, which only the kernel sets."""
        recipe, source, out = setup
        before = tree(out)
        target = out / "img_0002__v01.jpg"
        edit_in_place(target, target.stat().st_size // 2)
        summary = run_json(recipe, source, out)
        assert (summary["made"], summary["kept"]) == (4, 36)
        assert tree(out) == before

    def test_a_source_edited_in_place_with_its_size_and_mtime_put_back_is_redone(
        self, setup: tuple[Path, Path, Path], tmp_path: Path
    ) -> None:
        recipe, source, out = setup
        before = tree(out)
        target = source / "img_0004.jpg"
        edit_in_place(target, jpeg_quantisation_offset(target.read_bytes()))
        summary = run_json(recipe, source, out)
        assert (summary["made"], summary["kept"]) == (4, 36)
        after = tree(out)
        assert after == self.clean_tree(recipe, source, tmp_path)
        changed = {path for path in after if after[path] != before[path]}
        assert {path for path in changed if path != "SHA256SUMS"} == {
            "img_0004.jpg",
            "img_0004__v00.jpg",
            "img_0004__v01.jpg",
            "img_0004__v02.jpg",
            "manifest.jsonl",
            "croissant.json",  # it names the manifest's sha256
        }

    def test_a_stat_cache_without_ctimes_is_hashed_once(
        self, setup: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A cache an earlier augtool wrote (no ctime_ns) vouches for nothing, and is no error:
        the rerun hashes, keeps everything, and writes a cache the next rerun trusts."""
        recipe, source, out = setup
        before = tree(out)
        cache = out / STAT_CACHE_NAME
        header, *entries = [json.loads(line) for line in cache.read_text().splitlines()]
        files = [entry for entry in entries if "root" in entry]  # (then the manifest's index)
        assert files and all("ctime_ns" in entry for entry in files)
        old = [header] + [{k: v for k, v in e.items() if k != "ctime_ns"} for e in entries]
        cache.write_text("".join(json.dumps(entry) + "\n" for entry in old))
        summary = run_json(recipe, source, out)
        assert (summary["made"], summary["kept"]) == (0, 40)
        assert tree(out) == before
        assert_kept_without_workers(recipe, source, out, monkeypatch)

    @pytest.mark.slow
    def test_other_library_versions_remake_everything(
        self, setup: tuple[Path, Path, Path], tmp_path: Path
    ) -> None:
        """Outputs made under another numpy (or Pillow) are not kept under a header that names
        this run's versions; the outputs of a source that is gone are still removed."""
        recipe, source, out = setup
        (source / "img_0003.jpg").unlink()
        other = other_numpy(tmp_path / "site")
        done = subprocess.run(
            command(recipe, source, out, "--json"), capture_output=True, text=True, env=other
        )
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert (summary["made"], summary["kept"], summary["removed"]) == (36, 0, 4)
        header = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])
        assert header["libraries"]["numpy"] == "0.0.1"
        clean = self.clean_tree(recipe, source, tmp_path)
        found = tree(out)
        assert found.pop("manifest.jsonl") != clean.pop("manifest.jsonl")  # the header differs
        assert found.pop("croissant.json") != clean.pop("croissant.json")  # names its sha256
        assert found == clean  # the files (numpy did not really change)
        # Back under the first run's versions: remade once, then kept.
        assert run_json(recipe, source, out)["made"] == 36
        assert run_json(recipe, source, out)["kept"] == 36

    def test_another_recipe_is_refused_unless_forced(self, setup: tuple[Path, Path, Path]) -> None:
        recipe, source, out = setup
        recipe.write_text(RECIPE.replace("limit: 20", "limit: 25"))
        done = subprocess.run(command(recipe, source, out), capture_output=True, text=True)
        assert done.returncode == 2
        assert done.stderr == (
            f"Error: {out}: made by another recipe (pipeline[0].rotate.limit: [-20.0, 20.0] -> "
            "[-25.0, 25.0]); use --force to rebuild it\n"
        )
        summary = run_json(recipe, source, out, "--force")
        assert summary["made"] == 40


def edit_in_place(path: Path, offset: int) -> None:
    """Change one byte of a file where it is, then put its mtime back (as ``touch -r`` does):
    its size and mtime are as before, its ctime is not."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)[0]
        handle.seek(offset)
        handle.write(bytes([byte - 1 if byte > 1 else byte + 1]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino,
        before.st_size,
        before.st_mtime_ns,
    )


def jpeg_quantisation_offset(data: bytes) -> int:
    """The offset of a value in a JPEG's first quantisation table: changed, the file still
    decodes, to other pixels."""
    marker = data.index(b"\xff\xdb")
    return marker + 5 + 1  # marker, length (2), precision and table id (1), then 64 values


def assert_kept_without_workers(
    recipe: Path, source: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rerun in which the stat cache vouches for every source: nothing reaches a worker (so
    nothing is read or hashed), and the tree is as it was."""

    import augtool.run.engine

    def no_work(*args: object, **kwargs: object) -> list[TaskResult]:
        raise AssertionError("an unchanged source was sent to a worker")

    before = tree(out)
    with monkeypatch.context() as patch:
        patch.setattr(augtool.run.engine, "process_tasks", no_work)
        result = invoke("expand", recipe, source, "-o", out)
    assert result.exit_code == 0, result.output
    assert tree(out) == before


class TestLinkedOriginals:
    """``originals: link`` makes the original a hard link to its source, and a new link moves
    the source's ctime (its link count changes); reruns still settle."""

    @pytest.fixture()
    def setup(self, tmp_path: Path) -> tuple[Path, Path, Path]:
        source = tmp_path / "in"
        make_images(source, 10, size=48)
        recipe = tmp_path / "recipe.yaml"
        recipe.write_text(RECIPE + "output: {originals: link}\n")
        out = tmp_path / "out"
        first = run_json(recipe, source, out, "--jobs", "1")
        assert (first["made"], first["kept"]) == (40, 0)
        assert (out / "img_0001.jpg").stat().st_ino == (source / "img_0001.jpg").stat().st_ino
        return recipe, source, out

    def test_two_no_op_reruns_keep_everything_and_the_second_hashes_nothing(
        self, setup: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        recipe, source, out = setup
        before = tree(out)
        summary = run_json(recipe, source, out)  # the sources linked since they were read: hashed
        assert (summary["made"], summary["kept"]) == (0, 40)
        assert tree(out) == before
        assert_kept_without_workers(recipe, source, out, monkeypatch)
        assert_kept_without_workers(recipe, source, out, monkeypatch)

    def test_a_source_redone_leaves_no_temp_link_and_settles(
        self, setup: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A damaged variant redoes its source, whose original is already the right link."""
        recipe, source, out = setup
        before = tree(out)
        run_json(recipe, source, out)
        (out / "img_0002__v01.jpg").write_bytes(b"tampered")
        summary = run_json(recipe, source, out)
        assert (summary["made"], summary["kept"]) == (4, 36)
        assert not list(out.rglob(".augtool-tmp-*"))
        assert (source / "img_0002.jpg").stat().st_nlink == 2
        assert tree(out) == before
        assert_kept_without_workers(recipe, source, out, monkeypatch)


def test_a_source_that_changes_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.jpg"
    path.write_bytes(b"0123456789")
    real_fstat = os.fstat
    calls = {"n": 0}

    def growing(fd: int) -> os.stat_result:
        calls["n"] += 1
        st = real_fstat(fd)
        if calls["n"] == 1:
            return st
        values = list(st)
        values[6] += 5  # st_size grew while we read
        return os.stat_result(values)

    monkeypatch.setattr(os, "fstat", growing)
    with pytest.raises(SourceChanged):
        read_stable(path)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_exit_1_and_the_run_resumes_to_the_same_bytes(
    tmp_path: Path, big: tuple[Path, Path, dict[str, str]]
) -> None:
    """What the out-of-memory killer does to a worker: one error line, exit 1, nothing left
    running, and the next run finishes the job."""
    recipe, source, clean = big
    out = tmp_path / "out"
    proc = start_and_wait_for_progress(recipe, source, out)
    everyone = children_of(proc.pid)
    workers = [
        pid
        for pid in everyone
        if b"popen_loky" in Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    ]
    assert workers, "no loky worker found"
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = ended(proc)
    assert proc.returncode == 1, stderr
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: a worker process died (exit codes {SIGKILL(-9)}")
    assert lines[0].endswith("finished work is kept, run the same command again to resume")
    assert wait_gone(everyone) == set(), "worker processes outlived the run"
    assert not list(out.rglob(".augtool-tmp-*")), "a temp file was left behind"
    assert not (out / "manifest.jsonl").exists()
    summary = run_json(recipe, source, out, "--jobs", "2")
    assert summary["kept"] >= 20 * 3
    assert tree(out) == clean
