"""The one walk of an output folder, and what the run and validate take from it.

The walk never follows a link (a link below the output is an entry, not a folder to enter: its
target is not the output's) and skips augtool's state files (and an earlier version's
``.augtool`` state folder) at the root only: the same names deeper down are someone's files
like any other. Every reader of the output tree goes
through :func:`walk`, so they agree on what the tree holds: the engine (folder links it must not
write through, temp files a killed run left, files augtool did not make) and validate (the files
and sizes it checks against the manifest).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from augtool.atomic import TEMP_PREFIX
from augtool.manifest import CONTRACT_FILES, STATE_DIR, STATE_FILES, listed_paths
from augtool.run.statcache import Stat


class Entry(NamedTuple):
    """Something in the output that is not a folder, or a folder that could not be read."""

    #: relative to the output, ``/``-separated; ``.`` for the output itself when unreadable
    path: str
    #: its ``st_mode`` (links not followed), or ``None`` when it could not be read
    mode: int | None
    size: int

    @property
    def is_file(self) -> bool:
        return self.mode is not None and stat.S_ISREG(self.mode)

    @property
    def is_link(self) -> bool:
        return self.mode is not None and stat.S_ISLNK(self.mode)


def walk(root: Path, skip: Iterable[str] = ()) -> Iterator[Entry]:
    """Every non-folder entry below ``root`` (and each folder that cannot be read), without
    following links, skipping augtool's state at the root (its files, an earlier version's
    ``.augtool`` folder) and the names in ``skip`` there. A missing ``root`` holds nothing."""
    skipped = {STATE_DIR, *STATE_FILES, *skip}
    stack = [""]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(os.path.join(root, folder) if folder else root) as entries:
                items = list(entries)
        except FileNotFoundError:
            if folder:
                yield Entry(folder, None, 0)
            continue
        except OSError:
            yield Entry(folder or ".", None, 0)
            continue
        for item in items:
            if not folder and item.name in skipped:
                continue
            rel = f"{folder}/{item.name}" if folder else item.name
            try:
                info = item.stat(follow_symlinks=False)
            except OSError:
                yield Entry(rel, None, 0)
                continue
            if stat.S_ISDIR(info.st_mode):
                stack.append(rel)
            else:
                yield Entry(rel, info.st_mode, info.st_size)


def kind_of(mode: int) -> str:
    """What a non-folder, non-regular entry is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device or special file"


def _augtools_own(path: str) -> bool:
    """A contract file at the root (the manifest, SHA256SUMS, run.json): augtool's, unlisted."""
    return path in CONTRACT_FILES


@dataclass
class Scan:
    """What a run needs to know of its output before writing: the links to folders someone put
    there (never written through), the temp files a killed run left (removed), the files that
    are as the stat cache last saw them, and how many entries :func:`tree_files` counts."""

    folder_links: list[str] = field(default_factory=list)
    #: every folder below the root (a few, however many files they hold)
    folders: list[str] = field(default_factory=list)
    temp_files: list[str] = field(default_factory=list)
    #: the stat of each file the stat cache knows that is still there with that stat
    current: dict[str, Stat] = field(default_factory=dict)
    #: the stat of each other regular file, when asked for
    others: dict[str, Stat] = field(default_factory=dict)
    files: int = 0


def scan(root: Path, known: dict[str, Stat] | None = None, others: bool = False) -> Scan:
    """One walk of the output before a run; holds only links, temp files and the files of
    ``known`` (the stat cache's) found unchanged, however large the tree. It is the one pass
    over the output a rerun makes: the stat cache is checked here, not file by file later.
    Entries are told apart by their type as the folder lists it; only a file the stat cache
    knows is stat'ed (to compare), by its name in its folder (no path to resolve again), and
    with ``others`` every other file too (its stat kept in :attr:`Scan.others`)."""
    found = Scan()
    current, other, known = found.current, found.others, {} if known is None else known
    files, regular = 0, stat.S_ISREG
    for folder, items in _listed(root):
        if folder:
            found.folders.append(folder)
        prefix = f"{folder}/" if folder else ""
        files += len(items) - (0 if folder else sum(i.name in CONTRACT_FILES for i in items))
        for item in items:
            name = item.name
            rel = prefix + name
            try:
                link = item.is_symlink()
                if link and os.path.isdir(os.path.join(root, rel)):
                    found.folder_links.append(rel)
                elif name.startswith(TEMP_PREFIX):
                    found.temp_files.append(rel)
                elif link:
                    continue
                elif (seen := known.get(rel)) is not None or others:
                    info = item.stat(follow_symlinks=False)
                    if not regular(info.st_mode):
                        continue
                    # (what stat_key gives, inline: a rerun compares every output's)
                    now = (info.st_ino, info.st_mtime_ns, info.st_size, info.st_ctime_ns)
                    if seen is None:
                        other[rel] = now
                    elif seen == now:
                        current[rel] = seen
            except OSError:
                continue  # gone or unreadable: nothing to vouch for
    found.files = files
    return found


def _listed(root: Path) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Each folder below ``root`` (its path relative to it, ``""`` for ``root``) with its
    non-folder entries, as :func:`walk` finds them (links not followed, augtool's state at the
    root skipped), told from folders by the type the folder lists, without a stat; a folder
    that cannot be read is left out. The folder is listed through an open descriptor, which
    stays open until the next folder is asked for: an entry's ``stat`` then looks its name up
    in that folder rather than resolving its whole path again."""
    skipped = {STATE_DIR, *STATE_FILES}
    stack = [""]
    while stack:
        folder = stack.pop()
        try:
            fd = os.open(os.path.join(root, folder) if folder else root, _FOLDER_FLAGS)
        except OSError:
            continue
        try:
            try:
                with os.scandir(fd) as entries:
                    items = list(entries)
            except OSError:
                continue
            files = []
            for item in items:
                if not folder and item.name in skipped:
                    continue
                try:
                    is_dir = item.is_dir(follow_symlinks=False)
                except OSError:
                    continue
                if is_dir:
                    stack.append(f"{folder}/{item.name}" if folder else item.name)
                else:
                    files.append(item)
            yield folder, files
        finally:
            os.close(fd)


#: How :func:`_listed` opens a folder to list it (a folder in the output is never a link: a
#: link is an entry, not walked; the output itself may be one).
_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)


def remove_temp_files(root: Path, paths: Iterable[str] | None = None) -> int:
    """Delete temp files that a killed run left behind (never under a final name): ``paths``
    when a :func:`scan` found them, else those a new walk finds."""
    if paths is None:
        paths = scan(root).temp_files
    removed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root / path)
            removed += 1
    return removed


def tree_files(root: Path) -> Iterator[str]:
    """Every non-folder entry of an output (links not followed), but augtool's own files."""
    for entry in walk(root):
        if entry.mode is not None and not _augtools_own(entry.path):
            yield entry.path


def unlisted_files(root: Path, listed: int) -> list[str]:
    """After a run: the files in ``root`` that its manifest does not list (put there by
    someone else), in path order; empty when the tree holds just the ``listed`` files besides
    augtool's own. The same walk removes temp files a lost worker left (a Dask worker killed
    mid-write, whose batch ran again elsewhere): nothing writes into the output any more. One
    walk that reads folders but no file's stat counts; the manifest's paths are read only when
    the count is off."""
    if _count_entries(root) == listed:
        return []
    paths = listed_paths(root)
    return sorted(path for path in tree_files(root) if path not in paths)


def _count_entries(root: Path) -> int:
    """How many non-folder entries :func:`tree_files` would give, or more, removing temp files
    on the way: each folder's entries are told apart by their type as the folder lists it,
    without a stat (one that cannot be read is counted, where :func:`tree_files` leaves it
    out)."""
    skipped = {STATE_DIR, *STATE_FILES, *CONTRACT_FILES}
    count = 0
    top = os.fspath(root)
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for item in entries:
                    if folder == top and item.name in skipped:
                        continue
                    try:
                        is_dir = item.is_dir(follow_symlinks=False)
                    except OSError:
                        is_dir = False
                    if is_dir:
                        stack.append(item.path)
                    elif item.name.startswith(TEMP_PREFIX):
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(item.path)
                    else:
                        count += 1
        except OSError:
            count += 1
    return count
