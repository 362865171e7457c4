"""An earlier run's files, read back by byte spans: its manifest or journal (records), and the
SHA256SUMS and stat cache a rerun copies kept sources' lines from
(:mod:`augtool.run.kept_blocks`).

Each file stays open for the run, so a file this run replaces (its journal, its manifest, its
stat cache) is still read as it was.
"""

from __future__ import annotations

import json
import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from augtool.manifest import RecordDict
from augtool.run.journal import TaskResult
from augtool.run.kept_lines import image_line_fields
from augtool.run.owned import Owned
from augtool.run.statcache import (
    ManifestIndex,
    Stat,
    owned_lines,
    read_entries,
    sha256_of,
    stat_key,
    unpacked,
)

if TYPE_CHECKING:
    from augtool.run.incremental import Previous

#: How much of a file is read at once to serve the spans around it, and how many such windows
#: are kept: a rerun asks for spans in about the order they are in the file (the stat cache's
#: in the order an earlier run's tasks finished, a little out of it), one read a window.
_READ_AHEAD = 1 << 20
_WINDOWS = 4


class SpanFile:
    """An open file of an earlier run and how to read its bytes and records back by span."""

    def __init__(self, path: Path, journal: bool) -> None:
        self._handle = open(path, "rb")  # noqa: SIM115  (closed by close)
        self.journal = journal
        #: whether it is the output's own manifest, which stays in place until this run writes
        #: its own (set by :func:`~augtool.run.incremental.load_previous`)
        self.in_place = False
        #: the augtool and library versions its outputs were made with
        self.made_with: tuple[str | None, dict[str, str] | None, dict[str, str] | None] = (
            None,
            None,
            None,
        )
        #: whether its outputs can be kept (see :meth:`Previous.keep_only_made_with`)
        self.keepable = True
        #: whether its records were placed by the stat cache's index (not read line by line)
        self.indexed = False
        #: the windows read, by their offset (a multiple of the window's size), newest last
        self._windows: dict[int, bytes] = {}

    def bytes_at(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``, from a window read ahead when they fit in one."""
        start = offset - offset % _READ_AHEAD
        if offset + length > start + _READ_AHEAD:
            return os.pread(self._handle.fileno(), length, offset)
        window = self._windows.get(start)
        if window is None:
            if len(self._windows) >= _WINDOWS:
                del self._windows[next(iter(self._windows))]
            window = self._windows[start] = os.pread(self._handle.fileno(), _READ_AHEAD, start)
        return window[offset - start : offset - start + length]

    def sha256(self) -> str:
        """The digest of the file's bytes (as open, whatever its name holds now)."""
        return sha256_of(self._handle.fileno())

    def stat(self) -> os.stat_result:
        return os.fstat(self._handle.fileno())

    def read(
        self, spans: array[int], fields_only: bool = False
    ) -> tuple[list[RecordDict], list[str] | None]:
        """The records in these spans, and their manifest lines when the file holds them as
        written (``None`` when some are known only as records). With ``fields_only``, plain
        image lines of a manifest give only the fields :mod:`augtool.run.kept_lines` reads."""
        records: list[RecordDict] = []
        lines: list[str] | None = []
        for i in range(0, len(spans), 2):
            raw = self.bytes_at(spans[i], spans[i + 1])
            if self.journal:
                result = TaskResult.from_line(json.loads(raw))
                records.extend(result.records)
                if lines is not None and result.lines is not None:
                    lines.extend(result.lines)
                else:
                    lines = None
            else:
                # A span may hold several lines (the index joins an owner's adjacent lines):
                # they are decoded once and parsed as one JSON array, one call for the lot.
                parts = raw.decode("utf-8").split("\n")[:-1]
                texts = [part + "\n" for part in parts]
                fields = image_line_fields(texts) if fields_only else None
                records.extend(json.loads(f"[{','.join(parts)}]") if fields is None else fields)
                if lines is not None:
                    lines.extend(texts)
        return records, lines

    def close(self) -> None:
        self._handle.close()


@dataclass
class BlockFiles:
    """The plain tasks' entries a lazy read of the stat cache passed over
    (:func:`~augtool.run.statcache.load_stat_cache`), read when asked; and, when the output's
    manifest (its records placed by the stat cache's index) and SHA256SUMS are as the stat
    cache describes them (their digests checked), what kept sources' lines are copied from."""

    cache: SpanFile
    #: where each plain task's line is in the cache (packed, see
    #: :func:`~augtool.run.statcache.unpacked`)
    owned: dict[str, int]
    manifest: SpanFile | None = None
    sums: SpanFile | None = None
    #: where each source's lines are in SHA256SUMS (packed; None: not one span)
    sums_spans: dict[str, int | None] = field(default_factory=dict)
    #: the stat of each file the scan of the output found that no entry read names
    found: dict[str, Stat] = field(default_factory=dict)

    def owned_of(self, source: str) -> Owned | None:
        """The source's lines, when it is a plain task (read again from the cache: a number a
        source is held, not its fields)."""
        packed = self.owned.get(source)
        return None if packed is None else owned_lines(self.cache.bytes_at(*unpacked(packed)))

    def read_entries_of(self, source: str, previous: Previous) -> None:
        """The source's entries, when they were passed over, into ``previous`` (what an
        interrupted run's journal has of the source stays)."""
        owned = self.owned_of(source)
        if owned is not None:
            self.owned.pop(source)
            read_entries(owned.lines[owned.head :], previous, self.found)

    def read_all(self, previous: Previous) -> None:
        for source in list(self.owned):
            self.read_entries_of(source, previous)

    def close(self) -> None:
        self.cache.close()
        if self.sums is not None:
            self.sums.close()


def open_block_files(
    sums: Path, cache: Path, manifest: SpanFile, index: ManifestIndex
) -> BlockFiles | None:
    """The stat cache as it was read (None when it was replaced since: its entries passed over
    are not known), with the files kept sources' lines are copied from when SHA256SUMS is the
    one the stat cache's index describes."""
    try:
        cache_file = SpanFile(cache, journal=False)
    except OSError:
        return None
    if stat_key(cache_file.stat()) != index.cache:
        cache_file.close()
        return None
    files = BlockFiles(cache_file, index.owned)
    if not manifest.indexed or index.sums_sha256 is None:
        return files
    try:
        sums_file = SpanFile(sums, journal=False)
    except OSError:
        return files
    if sums_file.sha256() != index.sums_sha256:
        sums_file.close()
        return files
    files.manifest, files.sums, files.sums_spans = manifest, sums_file, index.sums
    return files
