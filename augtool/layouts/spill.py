"""The files a walk found, kept on disk rather than in memory, read back in order as often as
asked: what lets discovery hold a million sources in a few MiB.

A :class:`Spill` is written once, in path order, then read by any number of iterators at once
(each reads at its own offset). The first :data:`HELD` bytes stay in memory, so that a small
dataset never touches the disk; past them the records go to an anonymous temporary file, closed
when the spill is collected. A record is the file's relative path and whether it is a link;
names never hold a NUL byte, which ends a record.
"""

from __future__ import annotations

import heapq
import os
import tempfile
import weakref
from collections.abc import Iterable, Iterator

from augtool.errors import WriteError

#: Bytes kept in memory before the records go to a temporary file.
HELD = 1 << 20
#: Bytes read at a time: a read's records are split at once, so this bounds what a loop holds.
READ = 1 << 16
_LINK, _FILE = b"1", b"0"


class Spill:
    """(path, link) records appended in order, then read back as often as asked."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._fd: int | None = None
        self._size = 0  # bytes in the file
        self.count = 0  # records

    def add(self, path: str, link: bool) -> None:
        self._buffer += _LINK if link else _FILE
        self._buffer += path.encode("utf-8")
        self._buffer += b"\0"
        self.count += 1
        if len(self._buffer) >= HELD:
            self._flush()

    def _flush(self) -> None:
        try:
            if self._fd is None:
                fd, name = tempfile.mkstemp(prefix="augtool-walk-")
                os.unlink(name)
                self._fd = fd
                weakref.finalize(self, os.close, fd)
            data, done = bytes(self._buffer), 0
            while done < len(data):
                done += os.pwrite(self._fd, data[done:], self._size + done)
        except OSError as exc:
            raise WriteError(
                f"{tempfile.gettempdir()}: cannot keep the list of input files there "
                f"({exc.strerror or exc}); set TMPDIR to a folder with room"
            ) from exc
        self._size += done
        self._buffer.clear()

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[tuple[str, bool]]:
        rest = b""
        for chunk in self._chunks():
            records = (rest + chunk).split(b"\0")
            rest = records.pop()
            for record in records:
                yield record[1:].decode("utf-8"), record[:1] == _LINK

    def _chunks(self) -> Iterator[bytes]:
        offset, size = 0, self._size  # what is in the file when the reading starts
        while self._fd is not None and offset < size:
            chunk = os.pread(self._fd, min(READ, size - offset), offset)
            offset += len(chunk)
            yield chunk
        for start in range(0, len(self._buffer), READ):
            yield bytes(self._buffer[start : start + READ])

    @property
    def paths(self) -> Paths:
        """The paths alone, as often as asked."""
        return Paths(self)


class Paths:
    """A spill's paths in order: iterable again and again (a layout's ``detect`` may look twice)."""

    def __init__(self, spill: Spill) -> None:
        self._spill = spill

    def __iter__(self) -> Iterator[str]:
        return (path for path, _ in self._spill)

    def __len__(self) -> int:
        return len(self._spill)


def merged(spills: Iterable[Spill]) -> Spill:
    """One spill of the records of several, each in path order, in path order."""
    parts = list(spills)
    if len(parts) == 1:
        return parts[0]
    into = Spill()
    for path, link in heapq.merge(*parts):
        into.add(path, link)
    return into
