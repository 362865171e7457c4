"""Atomic file writes: a temp file in the same folder, then ``os.replace``.

A reader (or a crash) sees either the old file or the whole new one, never a half-written file
under a final name. The temp file is removed on any failure, ENOSPC at close included.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

TEMP_PREFIX = ".augtool-tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once, at import, in the main thread: os.umask is process-wide and not thread-safe to probe.
_FILE_MODE = 0o666 & ~_umask()


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _open_temp(path: Path) -> tuple[int, str]:
    """Create a new temp file beside ``path``, named after this process, thread and ``path``.

    No two live writers share a name (one pid and thread writes one file at a time), so the name
    needs no random part, and ``O_CREAT`` with the default mode gives the umask's permissions
    without an ``fchmod``. A leftover of the same name (a killed process whose pid came back) or
    a name too long for the file system falls back to ``mkstemp``.
    """
    tmp = os.path.join(
        path.parent, f"{TEMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{path.name}.tmp"
    )
    try:
        try:
            return os.open(tmp, _FLAGS, 0o666), tmp
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(tmp, _FLAGS, 0o666), tmp
    except (FileExistsError, OSError) as exc:
        if not isinstance(exc, FileExistsError) and exc.errno != errno.ENAMETOOLONG:
            raise
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX, suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


@contextlib.contextmanager
def atomic_open(path: Path, fsync: bool = False) -> Iterator[IO[bytes]]:
    """Open a temp file beside ``path`` for binary writing; on success it replaces ``path``."""
    fd, tmp = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_open(path) as handle:
        handle.write(data)


def link_atomic(source: Path, path: Path) -> None:
    """Hard-link ``source`` to ``path`` atomically (a link under a temp name, then a rename).

    A ``path`` that already is a link to ``source`` is left alone: a rename between two links to
    one file does nothing (POSIX), which would leave the temp link behind in the output, and
    every link made or removed moves the file's ctime, which the stat cache compares.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if os.path.samestat(os.lstat(path), os.stat(source)):
            return
    tmp = path.parent / f"{TEMP_PREFIX}{os.getpid()}-{path.name}"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
    os.link(source, tmp)
    try:
        os.replace(tmp, path)
    finally:
        # Gone after a rename that took it; still there after one that did nothing, or failed.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
