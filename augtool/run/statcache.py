"""The stat cache, ``OUT/.augtool-stat-cache.jsonl``: (inode, mtime, size, ctime, sha256) of
every source and output after the last complete run, so that a rerun recognises unchanged files
without hashing them (as DVC does). The ctime is what catches a file edited in place whose size
and mtime were put back (``touch -r``, ``os.utime``): only the kernel sets it. A cache or journal
that an earlier augtool wrote without it vouches for nothing, so the first rerun hashes
everything once. Not part of the determinism contract or the manifest.

After the entries comes an index of the manifest written beside the cache: each record line's
byte offset, length and owner (the source whose task wrote it), then the manifest's digest.
A rerun whose manifest still has that digest takes its records' places from the index instead
of parsing every line to find their owners (:mod:`augtool.run.incremental`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from augtool.atomic import atomic_open
from augtool.manifest import STAT_CACHE_NAME, RecordDict, dump_line

if TYPE_CHECKING:
    from augtool.run.incremental import Previous
    from augtool.run.journal import TaskResult

#: (inode, mtime in ns, size, ctime in ns) of a file as last seen. The ctime moves with any change
#: to the file's data or inode (a write, a rename, a new hard link) and cannot be set back.
Stat = tuple[int, int, int, int]
STAT_FIELDS = 4


def stat_of(path: str | Path, follow: bool = False) -> Stat | None:
    """The :data:`Stat` of a regular file (following a link only when asked), or None."""
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return stat_key(st)


def stat_key(st: os.stat_result) -> Stat:
    """What the stat cache compares of a file's ``os.stat`` result."""
    return (st.st_ino, st.st_mtime_ns, st.st_size, st.st_ctime_ns)


def stats_by_path(value: dict[str, Any]) -> dict[str, Stat]:
    """A journal's stats by path. One written before the ctime was part of a stat (three
    numbers) is left out: unknown, so its file is hashed."""
    return {k: tuple(v) for k, v in value.items() if len(v) == STAT_FIELDS}


def source_shas(records: list[RecordDict]) -> dict[str, str]:
    """The sha256 of every input file a task's records name (the image, its labels)."""
    shas: dict[str, str] = {}
    for record in records:
        if record["type"] == "file":
            shas[record["source"]["path"]] = record["source"]["sha256"]
        elif record.get("sha256"):
            shas[record["path"]] = record["sha256"]
    return shas


#: A stat cache line as :func:`entry_line` writes it (keys sorted, no spaces): read with this
#: pattern, a hundred thousand lines take a tenth of the time ``json.loads`` takes. A line in
#: any other form (another writer) is read as JSON.
_ENTRY = re.compile(
    r'\{"ctime_ns":(\d+),"ino":(\d+),"mtime_ns":(\d+),"path":"((?:[^"\\]|\\.)*)",'
    r'"root":"(in|out)",(?:"sha256":"([0-9a-f]{64})",)?"size":(\d+)\}\n'
)


#: The same line for a path without a quote or backslash (nothing to unescape), an output's
#: or a source's with its sha256: a rerun reads one per source and output, and this narrower
#: pattern reads them in three quarters of the time the general one takes.
_PLAIN_ENTRY = re.compile(
    r'\{"ctime_ns":(\d+),"ino":(\d+),"mtime_ns":(\d+),"path":"([^"\\]*)",'
    r'"root":"(?:out|in","sha256":"([0-9a-f]{64}))","size":(\d+)\}\n'
)

_PLACE = re.compile(r'\{"at":(\d+),"len":(\d+),"owner":"((?:[^"\\]|\\.)*)"\}\n')


@dataclass
class ManifestIndex:
    """Where each owner's record lines are in the manifest a stat cache was written beside
    (offset, length, offset, length, ...), and that manifest's digest."""

    spans: dict[str, array[int]] = field(default_factory=dict)
    manifest_sha256: str | None = None
    #: whether every line of the cache was read (else the index may lack some)
    complete: bool = True

    @property
    def usable(self) -> bool:
        return self.complete and self.manifest_sha256 is not None


def load_stat_cache(path: Path, previous: Previous) -> ManifestIndex:
    """The cached stats, into ``previous``, and the index of the manifest, in one pass; a line
    that does not parse vouches for nothing."""
    index = ManifestIndex()
    try:
        handle = open(path, encoding="utf-8")  # noqa: SIM115
    except FileNotFoundError:
        return index
    with handle:
        header = _first_json(handle)
        if header is None:
            return index
        previous.input_root = header.get("input_root")
        sources, outputs, spans = previous.source_stats, previous.output_stats, index.spans
        plain, entry, place = _PLAIN_ENTRY.fullmatch, _ENTRY.fullmatch, _PLACE.fullmatch
        for line in handle:
            if (found := plain(line)) is not None:
                ctime, ino, mtime, name, sha, size = found.groups()
                seen = (int(ino), int(mtime), int(size), int(ctime))
                if sha is None:
                    outputs[name] = seen
                else:
                    sources[name] = (seen, sha)
            elif (found := entry(line)) is not None:
                ctime, ino, mtime, name, root, sha, size = found.groups()
                seen = (int(ino), int(mtime), int(size), int(ctime))
                if root == "out":
                    outputs[_unescape(name)] = seen
                elif sha is not None:
                    sources[_unescape(name)] = (seen, sha)
            elif (found := place(line)) is not None:
                offset, length, owner = found.groups()
                _place(spans, owner, int(offset), int(length))
            else:
                _load_json_entry(line, previous, index)
    if any("\\" in owner for owner in index.spans):
        escaped, index.spans = index.spans, {}
        for owner, owned in escaped.items():
            _place(index.spans, _unescape(owner), *owned)
    return index


def _unescape(name: str) -> str:
    """A JSON string's text (between its quotes) as the string it stands for."""
    return json.loads(f'"{name}"') if "\\" in name else name


def _place(spans: dict[str, array[int]], owner: str, *places: int) -> None:
    """Note (offset, length) pairs of an owner's lines."""
    owned = spans.get(owner)
    if owned is None:
        owned = spans[owner] = array("q")
    owned.extend(places)


def _load_json_entry(line: str, previous: Previous, index: ManifestIndex) -> None:
    """A line in another form than this augtool writes, read as JSON. One that does not parse
    may have been a line of the index, which then vouches for nothing."""
    try:
        entry = json.loads(line)
    except ValueError:
        index.complete = False
        return
    if not isinstance(entry, dict):
        index.complete = False
        return
    try:
        if "root" in entry:
            # A KeyError for an entry without "ctime_ns" (an older cache): not vouched for.
            seen = (entry["ino"], entry["mtime_ns"], entry["size"], entry["ctime_ns"])
            if entry["root"] == "in":
                previous.source_stats[entry["path"]] = (seen, entry["sha256"])
            else:
                previous.output_stats[entry["path"]] = seen
        elif "owner" in entry:
            owner = json.dumps(entry["owner"], ensure_ascii=False)[
                1:-1
            ]  # (as the pattern reads it)
            _place(index.spans, owner, entry["at"], entry["len"])
        elif "manifest_sha256" in entry:
            index.manifest_sha256 = entry["manifest_sha256"]
    except (KeyError, TypeError):
        index.complete = False


def entry_line(root: str, path: str, seen: Stat, sha256: str | None = None) -> str:
    """One stat cache line: the bytes :func:`~augtool.manifest.dump_line` gives the entry,
    formatted directly (a rerun writes one for every source and output)."""
    ino, mtime, size, ctime = seen
    digest = "" if sha256 is None else f'"sha256":{_json_text(sha256)},'
    name = _json_text(path)
    return (
        f'{{"ctime_ns":{ctime},"ino":{ino},"mtime_ns":{mtime},"path":{name},'
        f'"root":"{root}",{digest}"size":{size}}}\n'
    )


def _first_json(handle: IO[str]) -> dict[str, Any] | None:
    try:
        value = json.loads(handle.readline())
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class StatCacheWriter:
    """A new stat cache: the files of each task as it finishes, then the index of the manifest
    as it is written; committed (atomically) when the block ends without an error."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        #: the owner, offset and end of the index entry not written yet
        self._pending: tuple[str, int, int] | None = None

    def note(self, result: TaskResult) -> None:
        """A task's sources (with their sha256) and outputs."""
        shas = source_shas(result.records)
        lines = [
            entry_line("in", path, seen, shas[path])
            for path, seen in result.sources.items()
            if path in shas
        ]
        lines += [entry_line("out", path, seen) for path, seen in result.outputs.items()]
        self._handle.write("".join(lines).encode("utf-8"))

    def place(self, offset: int, length: int, owner: str) -> None:
        """Where record lines of the manifest were written, and their owner. Adjacent lines of
        one owner (a source's variants, most often) make one entry."""
        pending = self._pending
        if pending is not None and pending[0] == owner and pending[2] == offset:
            self._pending = (owner, pending[1], offset + length)
            return
        self._flush()
        self._pending = (owner, offset, offset + length)

    def seal(self, manifest_sha256: str) -> None:
        """The digest of the manifest the index describes (its footer's)."""
        self._flush()
        self._handle.write(dump_line({"manifest_sha256": manifest_sha256}).encode("utf-8"))

    def _flush(self) -> None:
        if self._pending is not None:
            owner, start, end = self._pending
            entry = f'{{"at":{start},"len":{end - start},"owner":{_json_text(owner)}}}\n'
            self._handle.write(entry.encode("utf-8"))
            self._pending = None


@contextlib.contextmanager
def stat_cache_writer(output_root: Path, input_root: str) -> Iterator[StatCacheWriter]:
    """A new stat cache (see :class:`StatCacheWriter`)."""
    with atomic_open(output_root / STAT_CACHE_NAME) as handle:
        handle.write(dump_line({"input_root": input_root}).encode("utf-8"))
        yield StatCacheWriter(handle)


def _json_text(text: str) -> str:
    """``text`` as a JSON string, as :func:`~augtool.canonical.canonical_json` writes it."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)
