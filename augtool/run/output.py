"""Output-folder safety: what may be written where, the run's lock, and ``--force``'s removal.

Every refusal here comes before the run writes anything, so a refused run leaves OUT as it was:
an output that cannot be a folder, overlaps the input, or holds something augtool did not make;
a link to a folder inside it; an earlier run of another recipe or input; ``--resume`` with
nothing to resume; another run holding the lock. ``--force`` removes what earlier runs recorded,
and nothing else.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from augtool.atomic import TEMP_PREFIX
from augtool.errors import OutputError
from augtool.manifest import (
    CONTRACT_FILES,
    MANIFEST_NAME,
    STATE_DIR,
    ManifestReader,
    has_header,
)
from augtool.recipe import Recipe
from augtool.run.incremental import Previous, load_previous, recipe_difference, unlink_output
from augtool.run.journal import JOURNAL_NAME, RUN_STATE_NAME, read_journal
from augtool.run.statcache import Stat, stat_of

LOCK_NAME = "lock"
BROKEN_LINK = "a broken symbolic link (or a link loop)"


def check_output(input_root: Path, output_root: Path) -> None:
    """Refuse an output that cannot be a folder, overlaps the input, or is a non-empty folder
    augtool did not make (see :func:`is_augtool_output`)."""
    _check_folder_path(output_root)
    inp = input_root.resolve()
    out = output_root.resolve()
    if out == inp or inp in out.parents:
        raise OutputError(f"{output_root}: the output is inside the input {input_root}")
    if out in inp.parents:
        raise OutputError(f"{output_root}: the output contains the input {input_root}")
    try:
        foreign = out.is_dir() and not _holds_nothing(out) and not is_augtool_output(out)
    except OSError as exc:
        raise OutputError(f"{output_root}: cannot read the folder: {exc.strerror}") from None
    if foreign:
        raise OutputError(
            f"{output_root}: not empty and not an augtool output; choose an empty folder"
        )


def refuse_folder_links(output_root: Path, links: list[str], planned: Iterable[str]) -> None:
    """Refuse to write through a link to a folder that someone put in the output (``links``, as
    :func:`augtool.run.tree.scan` found them): augtool makes its folders itself, and a file
    written below such a link would land in its target, outside the output. The ``planned``
    names are looked at only when there is a link."""
    if not links:
        return
    prefixes = tuple(f"{link}/" for link in links)
    for name in planned:
        if name.startswith(prefixes):
            link = next(link for link in links if name.startswith(f"{link}/"))
            raise OutputError(
                f"{output_root}: {link} is a symbolic link to a folder, and {name} would be "
                "written through it, outside the output; remove the link"
            )


def is_augtool_output(folder: Path) -> bool:
    """Its manifest begins with an augtool header, or augtool's state folder holds the state of
    a run (an interrupted one has no manifest yet). A ``manifest.jsonl`` of another tool, or a
    bare ``.augtool/lock``, does not make a folder augtool's."""
    state = folder / STATE_DIR
    if any((state / name).is_file() for name in (RUN_STATE_NAME, JOURNAL_NAME)):
        return True
    return has_header(folder / MANIFEST_NAME)


def _holds_nothing(folder: Path) -> bool:
    """Empty, or holding only augtool's state folder with no more than its lock (and temp
    files) in it: what a run stopped before it wrote anything leaves."""
    for child in folder.iterdir():
        if child.name != STATE_DIR or child.is_symlink() or not child.is_dir():
            return False
        for inner in child.iterdir():
            if inner.name != LOCK_NAME and not inner.name.startswith(TEMP_PREFIX):
                return False
    return True


def _nearest_existing(path: Path) -> Path:
    """``path``, or its nearest parent that exists (as anything, a broken link too)."""
    while not os.path.lexists(path) and path.parent != path:
        path = path.parent
    return path


def _check_folder_path(output_root: Path) -> None:
    """The output is a folder or can be made one: the nearest part of its path that exists
    must be a folder (a file or a broken link there fails ``mkdir``)."""
    probe = _nearest_existing(output_root)
    if not os.path.lexists(probe) or probe.is_dir():
        return
    broken = not probe.exists()  # a link to nothing, or a link loop
    if probe == output_root:
        problem = BROKEN_LINK if broken else "exists and is not a folder"
        raise OutputError(f"{output_root}: {problem}")
    raise OutputError(f"{output_root}: {probe} is {BROKEN_LINK if broken else 'not a folder'}")


def check_writable(output_root: Path) -> None:
    """--dry-run: the refusal the real run meets when it makes the folder or takes its lock in
    a read-only or forbidden place (the real run tells them by the error it gets)."""
    if os.path.lexists(output_root):
        state = output_root / STATE_DIR
        probe = state if state.is_dir() else output_root
        problem = "cannot write in the output folder"
    else:
        probe = _nearest_existing(output_root.parent)
        problem = "cannot create the output folder"
    code = None
    if os.statvfs(probe).f_flag & os.ST_RDONLY:
        code = errno.EROFS
    elif not os.access(probe, os.W_OK | os.X_OK):
        code = errno.EACCES
    if code is not None:
        raise OutputError(f"{output_root}: {problem}: {os.strerror(code)}")


def earlier_run(recipe: Recipe, input_root: Path, output_root: Path, resume: bool) -> Previous:
    """What earlier runs left in OUT, read (never written) before the run writes anything, so
    that its refusals leave OUT as it was: ``--resume`` where no run was interrupted, a damaged
    manifest, another recipe's output, an output made from another input folder (whose outputs
    the run would remove as vanished: a typo in INPUT must not wipe an output). The caller
    closes the result."""
    if resume:
        _check_resumable(output_root)
    previous = load_previous(output_root)
    try:
        if resume and previous.empty:
            raise OutputError(f"{output_root}: there is no earlier run here to resume")
        if not previous.empty and previous.recipe_sha256 != recipe.sha256:
            difference = recipe_difference(previous.recipe, recipe.normalised)
            raise OutputError(
                f"{output_root}: made by another recipe ({difference}); use --force to rebuild it"
            )
        earlier_input = previous.input_root
        if not previous.empty and earlier_input and earlier_input != str(input_root.resolve()):
            raise OutputError(
                f"{output_root}: made from another input ({earlier_input}, now "
                f"{input_root.resolve()}); use --force to rebuild it from {input_root}"
            )
    except BaseException:
        previous.close()
        raise
    return previous


def _check_resumable(output_root: Path) -> None:
    """--resume needs a run to finish: the state an interrupted run leaves."""
    if (output_root / STATE_DIR / RUN_STATE_NAME).is_file():
        return
    if (output_root / MANIFEST_NAME).is_file():
        raise OutputError(
            f"{output_root}: the last run finished; there is nothing to resume "
            "(run without --resume to update it)"
        )
    raise OutputError(f"{output_root}: there is no earlier run here to resume")


def run_files_stamp(output_root: Path) -> tuple[Stat | None, ...]:
    """The stat of the files :func:`load_previous` reads: another run that finished or wrote
    here between the read and the lock changes it."""
    state = output_root / STATE_DIR
    paths = (output_root / MANIFEST_NAME, state / RUN_STATE_NAME, state / JOURNAL_NAME)
    return tuple(stat_of(path) for path in paths)


def locked_output(output_root: Path) -> OutputLock:
    """The output folder, made if need be, locked for the run. When it cannot be locked (a
    read-only or forbidden folder, another run), the folders made for it are removed again."""
    existing = _nearest_existing(output_root)
    try:
        output_root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{output_root}: cannot create the output folder: {exc.strerror}"
        ) from None
    lock = OutputLock(output_root)
    try:
        lock.__enter__()
    except OutputError:
        folder = output_root
        while folder != existing and existing in folder.parents:
            with contextlib.suppress(OSError):
                folder.rmdir()
            folder = folder.parent
        raise
    return lock


def clear_previous_output(output_root: Path, removed: IO[str]) -> None:
    """--force: delete what earlier runs wrote here, and nothing else: every file their manifest
    (read as far as it parses, when damaged) and an interrupted run's journal record, the
    folders that leaves empty, the contract files and augtool's state but for the lock this run
    holds. A file augtool did not write stays. Each deleted file's path goes to ``removed``."""
    for relative in recorded_files(output_root):
        if unlink_output(output_root, relative):
            removed.write(json.dumps(relative) + "\n")
            _remove_empty_folders(output_root, relative)
    for name in CONTRACT_FILES:
        (output_root / name).unlink(missing_ok=True)
    for inner in (output_root / STATE_DIR).iterdir():
        if inner.name != LOCK_NAME:
            shutil.rmtree(inner) if inner.is_dir() and not inner.is_symlink() else inner.unlink()


def recorded_files(output_root: Path) -> Iterator[str]:
    """The path of every file the last manifest (when it is augtool's) and an interrupted run's
    journal record; a manifest line that does not parse is passed over."""
    manifest = output_root / MANIFEST_NAME
    if has_header(manifest):
        salvaged = ManifestReader(manifest, mode="salvage").entries()
        yield from _file_paths(entry.value for entry in salvaged)
    for result in read_journal(output_root / STATE_DIR / JOURNAL_NAME):
        yield from _file_paths(result.records)


def _file_paths(records: Iterable[Any]) -> Iterator[str]:
    for record in records:
        file = isinstance(record, dict) and record.get("type") == "file"
        if file and isinstance(record.get("path"), str):
            yield record["path"]


def _remove_empty_folders(output_root: Path, relative: str) -> None:
    """The folders below the output that removing this file left empty (an empty class folder
    is a class with no images to a loader)."""
    folder = (output_root / relative).parent
    while folder != output_root and output_root in folder.parents:
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone)
            return
        folder = folder.parent


def not_written_again(output_root: Path, removed: IO[str]) -> int:
    """How many of the files --force removed this run did not write again."""
    removed.seek(0)
    return sum(not os.path.lexists(output_root / json.loads(line)) for line in removed)


class OutputLock:
    """An exclusive lock on an output folder for the length of a run."""

    def __init__(self, output_root: Path) -> None:
        self.path = output_root / STATE_DIR / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        fd = self._open()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{self.path.parent.parent}: another augtool run is writing here "
                f"(it holds the lock {self.path})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def _open(self) -> int:
        """The lock file, made with its folder if need be. A folder augtool cannot write in
        (read-only, not permitted) is an unusable output: refused, with nothing left behind."""
        state_dir = self.path.parent
        made = not state_dir.exists()
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if made:
                with contextlib.suppress(OSError):
                    state_dir.rmdir()
            raise OutputError(
                f"{state_dir.parent}: cannot write in the output folder: {exc.strerror}"
            ) from None

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None
