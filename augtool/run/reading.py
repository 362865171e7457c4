"""Reading an input file whole, refusing one that changed while it was read (the sources, their
label files and their partners are all read so)."""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

from augtool.run.statcache import Stat, stat_key


def read_partner(path: Path, follow: bool) -> bytes:
    try:
        return read_stable(path, follow)[0]
    except SourceChanged:
        raise OSError(0, "changed while it was being read") from None


class SourceChanged(Exception):
    """The source's size or mtime moved while it was read."""


def read_stable(path: Path, follow: bool = False) -> tuple[bytes, Stat]:
    """The bytes of a regular file, refusing one that changed while it was read. The file is
    opened without following a link (unless discovery allowed this one) and checked to be
    regular before reading: a FIFO swapped in after discovery would block."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        before = os.fstat(fd)
        if not stat_module.S_ISREG(before.st_mode):
            raise OSError(0, "not a regular file")
        data = handle.read()
        after = os.fstat(fd)
    if (before.st_mtime_ns, before.st_size) != (after.st_mtime_ns, after.st_size) or len(
        data
    ) != after.st_size:
        raise SourceChanged(str(path))
    # The stat as the file was read; its ctime is compared only by the next run's stat cache
    # (here a new hard link to the file, as ``originals: link`` makes, is no change).
    return data, stat_key(after)


__all__ = ["SourceChanged", "read_partner", "read_stable"]
