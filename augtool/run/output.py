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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from augtool.atomic import TEMP_PREFIX
from augtool.endings import split_ending
from augtool.errors import OutputError
from augtool.manifest import (
    CONTRACT_FILES,
    JOURNAL_NAME,
    LEGACY_STATE_NAMES,
    LOCK_NAME,
    MANIFEST_NAME,
    RUN_STATE_NAME,
    STAT_CACHE_NAME,
    STATE_DIR,
    ManifestReader,
    has_header,
)
from augtool.recipe import Recipe
from augtool.run.incremental import Previous, load_previous, recipe_difference, unlink_output
from augtool.run.journal import read_journal
from augtool.run.statcache import Stat, stat_of
from augtool.run.state import remove_legacy_state, state_file

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


def refuse_folders_at_files(
    output_root: Path, folders: list[str], own: list[str], planned: Callable[[], Iterable[str]]
) -> None:
    """Refuse to run when someone put a folder where the run writes a file: writing it fails
    at every run alike. ``own`` are the dataset's own files (few); every ``planned`` name is
    looked at only when a folder is named with a file ending, as an output is."""
    if not folders:
        return
    at = set(folders)
    names = planned() if any(split_ending(folder)[1] for folder in at) else own
    for name in names:
        if name in at:
            raise OutputError(
                f"{output_root}: {name} is a folder where the run writes a file; remove or "
                "rename it"
            )


def is_augtool_output(folder: Path) -> bool:
    """Its manifest begins with an augtool header, or augtool's state holds the state of a run
    (an interrupted one has no manifest yet). A ``manifest.jsonl`` of another tool, or a bare
    lock, does not make a folder augtool's."""
    if any(state_file(folder, name).is_file() for name in (RUN_STATE_NAME, JOURNAL_NAME)):
        return True
    return has_header(folder / MANIFEST_NAME)


def _holds_nothing(folder: Path) -> bool:
    """Empty, or holding no more than augtool's lock (and temp files), at the root or in an
    earlier version's state folder: what a run stopped before it wrote anything leaves."""
    for child in folder.iterdir():
        if child.is_symlink():
            return False
        if child.name == STATE_DIR and child.is_dir():
            if not all(_bare_lock(inner) for inner in child.iterdir()):
                return False
        elif child.name != LOCK_NAME and not child.name.startswith(TEMP_PREFIX):
            return False
    return True


def _bare_lock(path: Path) -> bool:
    return path.name == LEGACY_STATE_NAMES[LOCK_NAME] or path.name.startswith(TEMP_PREFIX)


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
        probe = output_root
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
    if state_file(output_root, RUN_STATE_NAME).is_file():
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
    paths = (
        output_root / MANIFEST_NAME,
        state_file(output_root, RUN_STATE_NAME),
        state_file(output_root, JOURNAL_NAME),
    )
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
    holds (an earlier version's state folder goes whole). A file augtool did not write stays.
    Each deleted file's path goes to ``removed``."""
    for relative in recorded_files(output_root):
        if unlink_output(output_root, relative):
            removed.write(json.dumps(relative) + "\n")
            _remove_empty_folders(output_root, relative)
    for name in (*CONTRACT_FILES, JOURNAL_NAME, RUN_STATE_NAME, STAT_CACHE_NAME):
        (output_root / name).unlink(missing_ok=True)
    remove_legacy_state(output_root)


def recorded_files(output_root: Path) -> Iterator[str]:
    """The path of every file the last manifest (when it is augtool's) and an interrupted run's
    journal record; a manifest line that does not parse is passed over."""
    manifest = output_root / MANIFEST_NAME
    if has_header(manifest):
        salvaged = ManifestReader(manifest, mode="salvage").entries()
        yield from _file_paths(entry.value for entry in salvaged)
    for result in read_journal(state_file(output_root, JOURNAL_NAME)):
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
    """An exclusive lock on an output folder for the length of a run. In an output an earlier
    version made, the lock in its ``.augtool/`` folder is taken too, so that a run of that
    version still writing there is refused like any other, not raced."""

    def __init__(self, output_root: Path) -> None:
        self.path = output_root / LOCK_NAME
        self.legacy = output_root / STATE_DIR / LEGACY_STATE_NAMES[LOCK_NAME]
        self._fds: list[int] = []

    def __enter__(self) -> OutputLock:
        fd = self._open()
        try:
            self._take(fd, self.path)
            if self.legacy.is_file() and not self.legacy.is_symlink():
                with contextlib.suppress(OSError):  # gone, or not ours to open: no run's
                    legacy = os.open(self.legacy, os.O_RDWR)
                    self._take(legacy, self.legacy)
        except BaseException:
            self.__exit__()
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return self

    def _take(self, fd: int, path: Path) -> None:
        import fcntl

        self._fds.append(fd)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(
                f"{self.path.parent}: another augtool run is writing here (it holds the lock "
                f"{path})"
            ) from None

    def _open(self) -> int:
        """The lock file. A folder augtool cannot write in (read-only, not permitted) is an
        unusable output: refused, with nothing left behind."""
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(
                f"{self.path.parent}: cannot write in the output folder: {exc.strerror}"
            ) from None

    def __exit__(self, *exc: object) -> None:
        while self._fds:
            os.close(self._fds.pop())  # closing releases the flock
