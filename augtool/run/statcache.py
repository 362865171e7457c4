"""The stat cache, ``OUT/.augtool-stat-cache.jsonl``: (inode, mtime, size, ctime, sha256) of
every source and output after the last complete run, so that a rerun recognises unchanged files
without hashing them (as DVC does). The ctime is what catches a file edited in place whose size
and mtime were put back (``touch -r``, ``os.utime``): only the kernel sets it. A cache or journal
that an earlier augtool wrote without it vouches for nothing, so the first rerun hashes
everything once. Not part of the determinism contract or the manifest.

A plain task's entries (:mod:`augtool.run.owned`) follow a line of its own: the bytes of its
entries (its source's, then its outputs' in path order), a fingerprint of its records, their
count by role and its source's digest; a rerun passes over them unread. After the entries comes
an index of the manifest written beside the cache: the byte offset, length and owner (the
source whose task wrote them) of each owner's run of record lines, and the offset and length of
their lines in SHA256SUMS, then both files' digests and the digest of the cache's own lines
before that last one (a cache edited since it was written vouches for its files' stats, one
entry at a time, but its index and its tasks' lines are not used). A rerun whose manifest
still has that digest takes its records' places from the index instead of parsing every line
to find their owners (:mod:`augtool.run.incremental`), and one whose SHA256SUMS has its digest
too keeps a plain task by copying its lines from the three files without reading them
(:mod:`augtool.run.kept_blocks`).
"""

from __future__ import annotations

import contextlib
import hashlib
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
from augtool.run.owned import Owned, fingerprint, plain_records

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


def sha256_file(path: str | Path) -> str:
    """The sha256 of a file's bytes, read a block at a time."""
    with open(path, "rb") as handle:
        return sha256_of(handle.fileno())


def sha256_of(fd: int, end: int | None = None) -> str:
    """The sha256 of an open file's bytes up to ``end`` (all of them: None), read a block at a
    time by offset; a file that ends sooner gives the digest of what it holds."""
    digest, offset = hashlib.sha256(), 0
    while end is None or offset < end:
        chunk = os.pread(fd, _BUFFER if end is None else min(_BUFFER, end - offset), offset)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


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

_PLACE = re.compile(
    r'\{"at":(\d+),"len":(\d+),"owner":"((?:[^"\\]|\\.)*)"(?:,"sums_at":(\d+),"sums_len":(\d+))?\}\n'
)
#: A plain task's line before its entries (:class:`~augtool.run.owned.Owned`).
_OWNED = re.compile(
    r'\{"entries":(\d+),"fingerprint":"([0-9a-f]{32})","owner":"((?:[^"\\]|\\.)*)",'
    r'"roles":"([a-z_]+:\d+(?:,[a-z_]+:\d+)*)","sha256":"([0-9a-f]{64})"\}\n'
)


@dataclass
class ManifestIndex:
    """Where each owner's record lines are in the manifest a stat cache was written beside
    (offset, length, offset, length, ...), and that manifest's digest; where its lines are in
    ``SHA256SUMS`` when they are one span there, and that file's digest; and what the cache
    notes of each plain task (:mod:`augtool.run.owned`)."""

    spans: dict[str, array[int]] = field(default_factory=dict)
    manifest_sha256: str | None = None
    #: each owner's offset and length in SHA256SUMS (:func:`unpacked`); None for one whose
    #: lines are not together
    sums: dict[str, int | None] = field(default_factory=dict)
    sums_sha256: str | None = None
    #: the offset and length of each plain task's lines (:func:`unpacked`; see
    #: :func:`owned_lines`): one number a source, whatever the dataset's size
    owned: dict[str, int] = field(default_factory=dict)
    #: the cache file's stat as it was read
    cache: Stat | None = None
    #: the digest the cache's last line gives of every byte before it, and where it begins
    cache_sha256: str | None = None
    seal_at: int | None = None
    #: whether every line of the cache was read (else the index may lack some)
    complete: bool = True

    @property
    def usable(self) -> bool:
        return self.complete and self.manifest_sha256 is not None


def load_stat_cache(path: Path, previous: Previous, lazy: bool = False) -> ManifestIndex:
    """The cached stats, into ``previous``, and the index of the manifest, in one pass; a line
    that does not parse vouches for nothing. With ``lazy``, the entries of a plain task (after
    its line, :mod:`augtool.run.owned`) are passed over, not read: its line in the index says
    where they are (:func:`read_entries` reads them when asked)."""
    index = ManifestIndex()
    try:
        handle = open(path, "rb", buffering=_BUFFER)  # noqa: SIM115
    except OSError:  # (none, or not a file: it vouches for nothing)
        return index
    with handle:
        index.cache = stat_key(os.fstat(handle.fileno()))
        raw = handle.readline()
        header = _json_object(raw.decode("utf-8", _BYTES))
        if header is None:
            return index
        previous.input_root = header.get("input_root")
        offset = len(raw)
        outputs, sources, plain = previous.output_stats, previous.source_stats, _PLAIN_ENTRY
        readline, seek, owned = handle.readline, handle.seek, index.owned
        while raw := readline():
            line = raw.decode("utf-8", _BYTES)
            # The common line inline: a rerun reads one for every source and output.
            if (found := plain.fullmatch(line)) is not None:
                ctime, ino, mtime, name, sha, length = found.groups()
                seen = (int(ino), int(mtime), int(length), int(ctime))
                if sha is None:
                    outputs[name] = seen
                else:
                    sources[name] = (seen, sha)
            elif line.startswith('{"entries":') and (found := _OWNED.fullmatch(line)):
                owner, size = _unescape(found.group(3)), int(found.group(1))
                owned[owner] = offset * _PACK + len(raw) + size
                if lazy:
                    seek(size, os.SEEK_CUR)  # (within the buffer: no read)
                    offset += size
            else:
                if line.startswith('{"cache_sha256":'):
                    index.seal_at = offset
                _read_line(line, previous, index)
            offset += len(raw)
        if _sealed_cache(handle.fileno(), index):
            return index
    # Edited since it was written (or written before caches were sealed): its entries still
    # vouch for their files each, but not its index or its tasks' lines.
    if lazy:
        return load_stat_cache(path, previous, lazy=False)
    index.complete = False
    index.owned.clear()
    return index


def _sealed_cache(fd: int, index: ManifestIndex) -> bool:
    """Whether the cache's bytes before its last line have the digest that line gives."""
    if index.cache_sha256 is None or index.seal_at is None:
        return False
    return sha256_of(fd, index.seal_at) == index.cache_sha256


def unpacked(number: int) -> tuple[int, int]:
    """The (offset, length) packed in one number of a :class:`ManifestIndex`."""
    return divmod(number, _PACK)


#: A length packed with an offset is below this.
_PACK = 1 << 32


def owned_lines(data: bytes) -> Owned:
    """A plain task's lines (its line, then its entries) as a read of the cache found them
    (:data:`_OWNED` matched its line; the cache file checked unchanged since): its line's
    fields are where that pattern has them."""
    head = data.index(b"\n") + 1
    line = data[:head].decode("utf-8", _BYTES)
    comma = line.index(",", 11)  # after '{"entries":'
    roles = line.rindex('"roles":"') + 9
    # ends with '","sha256":"<64 hex>"}\n'
    print_, sha = line[comma + 16 : comma + 48], line[-67:-3]
    return Owned(print_, line[roles:-79], sha, data, head)


def read_entries(data: bytes, previous: Previous, found: dict[str, Stat]) -> None:
    """A plain task's entries that a lazy :func:`load_stat_cache` passed over, into
    ``previous``: its source's stat and digest, and the stat of each output that the scan of
    the output ``found`` as the cache has it (what ``previous`` already has of a file, from an
    interrupted run's journal, stays)."""
    for line in data.decode("utf-8", _BYTES).split("\n")[:-1]:
        matched = _ENTRY.fullmatch(line + "\n")
        if matched is None:
            continue
        ctime, ino, mtime, name, root, sha, size = matched.groups()
        seen = (int(ino), int(mtime), int(size), int(ctime))
        if root == "out" and found.get(name := _unescape(name)) == seen:
            previous.output_stats.setdefault(name, seen)
        elif root == "in" and sha is not None:
            previous.source_stats.setdefault(_unescape(name), (seen, sha))


def _read_line(line: str, previous: Previous, index: ManifestIndex) -> None:
    """One line of the cache but a plain entry or a task's line into ``previous`` and
    ``index``."""
    if (found := _ENTRY.fullmatch(line)) is not None:
        ctime, ino, mtime, name, root, sha, size = found.groups()
        seen = (int(ino), int(mtime), int(size), int(ctime))
        if root == "out":
            previous.output_stats[_unescape(name)] = seen
        elif sha is not None:
            previous.source_stats[_unescape(name)] = (seen, sha)
    elif (found := _PLACE.fullmatch(line)) is not None:
        at, length, owner, sums_at, sums_len = found.groups()
        owner = _unescape(owner)
        _place(index.spans, owner, int(at), int(length))
        first = owner not in index.sums
        index.sums[owner] = int(sums_at) * _PACK + int(sums_len) if first and sums_at else None
    else:
        _load_json_entry(line, previous, index)


#: How the cache is decoded: a byte that is not UTF-8 is kept (its line then matches nothing).
_BYTES = "surrogateescape"
#: The buffer the cache is read through: a plain task's entries are passed over within it.
_BUFFER = 1 << 20


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
        elif "at" in entry:
            _place(index.spans, entry["owner"], entry["at"], entry["len"])
            index.sums[entry["owner"]] = None  # (its span in SHA256SUMS unknown)
        elif "manifest_sha256" in entry:
            index.manifest_sha256 = entry["manifest_sha256"]
            index.sums_sha256 = entry.get("sums_sha256")
            index.cache_sha256 = entry.get("cache_sha256")
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


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


#: Bytes of lines :class:`StatCacheWriter` holds before writing them.
_HELD_BYTES = 1 << 16


class StatCacheWriter:
    """A new stat cache: the files of each task as it finishes, then the index of the manifest
    as it is written; committed (atomically) when the block ends without an error."""

    def __init__(self, handle: IO[bytes]) -> None:
        self._handle = handle
        #: of every byte written (the seal gives it, so a rerun knows the cache unedited)
        self._digest = hashlib.sha256()
        #: lines not written yet (a rerun notes every source: one write for many)
        self._held: list[bytes] = []
        self._held_bytes = 0
        #: the owner, offset and end of the index entry not written yet, and its span's start
        #: and end in SHA256SUMS
        self._pending: tuple[str, int, int, int, int] | None = None

    def note(self, result: TaskResult) -> None:
        """A task's sources (with their sha256) and outputs; a plain task's after a line that
        says what a rerun needs to keep them unread (:mod:`augtool.run.owned`), with its
        outputs in path order."""
        shas = source_shas(result.records)
        plain = plain_records(result.source, result.records)
        source, outputs = result.source, result.outputs
        if (
            plain is not None
            and len(shas) == 1
            and source in result.sources
            and sorted(outputs) == plain.paths
        ):
            entries = [(path, tuple(outputs[path])) for path in plain.paths]
            seen = tuple(result.sources[source])
            stats = (seen, *(stat for _, stat in entries))
            print_ = fingerprint(plain.paths, plain.label, plain.split, plain.sha256, stats)
            data = task_entries(source, seen, plain.sha256, entries).encode("utf-8")
            head = (
                f'{{"entries":{len(data)},"fingerprint":"{print_}",'
                f'"owner":{_json_text(source)},"roles":"{plain.roles}",'
                f'"sha256":"{plain.sha256}"}}\n'
            )
            self._write(head.encode("utf-8") + data)
            return
        lines = [
            entry_line("in", path, seen, shas[path])
            for path, seen in result.sources.items()
            if path in shas
        ]
        lines += [entry_line("out", path, seen) for path, seen in result.outputs.items()]
        self._write("".join(lines).encode("utf-8"))

    def copy(self, lines: bytes) -> None:
        """A kept task's lines as the earlier cache holds them (its files unchanged)."""
        self._write(lines)

    def _write(self, data: bytes) -> None:
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= _HELD_BYTES:
            self.flush()

    def flush(self) -> None:
        """Write the lines held."""
        data = b"".join(self._held)
        self._digest.update(data)
        self._handle.write(data)
        self._held, self._held_bytes = [], 0

    def place(self, offset: int, length: int, owner: str, sums_at: int, sums_len: int) -> None:
        """Where record lines of the manifest were written, their owner, and where their lines
        in SHA256SUMS were. Adjacent lines of one owner (a source's variants, most often) make
        one entry."""
        pending = self._pending
        if pending is not None and (pending[0], pending[2], pending[4]) == (owner, offset, sums_at):
            self._pending = (owner, pending[1], offset + length, pending[3], sums_at + sums_len)
            return
        self._flush()
        self._pending = (owner, offset, offset + length, sums_at, sums_at + sums_len)

    def seal(self, manifest_sha256: str, sums_sha256: str) -> None:
        """The digests of the manifest the index describes (its footer's), of SHA256SUMS and
        of the cache's own lines before this last one."""
        self._flush()
        self.flush()
        seal = {
            "cache_sha256": self._digest.hexdigest(),
            "manifest_sha256": manifest_sha256,
            "sums_sha256": sums_sha256,
        }
        self._write(dump_line(seal).encode("utf-8"))
        self.flush()

    def _flush(self) -> None:
        if self._pending is not None:
            owner, start, end, sums_start, sums_end = self._pending
            entry = (
                f'{{"at":{start},"len":{end - start},"owner":{_json_text(owner)},'
                f'"sums_at":{sums_start},"sums_len":{sums_end - sums_start}}}\n'
            )
            self._write(entry.encode("utf-8"))
            self._pending = None


@contextlib.contextmanager
def stat_cache_writer(output_root: Path, input_root: str) -> Iterator[StatCacheWriter]:
    """A new stat cache (see :class:`StatCacheWriter`)."""
    with atomic_open(output_root / STAT_CACHE_NAME) as handle:
        writer = StatCacheWriter(handle)
        writer._write(dump_line({"input_root": input_root}).encode("utf-8"))
        yield writer
        writer.flush()


def task_entries(source: str, seen: Stat, sha256: str, outputs: list[tuple[str, Stat]]) -> str:
    """A plain task's entries as the stat cache holds them (:func:`entry_line` each): its
    source's, then each output's in the order given. A rerun formats every kept source's to
    compare them, so names without anything to escape (all of them, most often) are formatted
    directly."""
    first = entry_line("in", source, seen, sha256)
    names = "".join(path for path, _ in outputs)
    if not (names.isprintable() and '"' not in names and "\\" not in names):
        return first + "".join(entry_line("out", path, stat) for path, stat in outputs)
    return first + "".join(
        f'{{"ctime_ns":{ctime},"ino":{ino},"mtime_ns":{mtime},"path":"{path}",'
        f'"root":"out","size":{size}}}\n'
        for path, (ino, mtime, size, ctime) in outputs
    )


def _json_text(text: str) -> str:
    """``text`` as a JSON string, as :func:`~augtool.canonical.canonical_json` writes it."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text, ensure_ascii=False)
