"""Writing a manifest: canonical lines, sorted by path with bounded memory, streamed into
``manifest.jsonl`` and ``SHA256SUMS`` with the footer's digest.

Records arrive from the workers in any order, so the engine journals them as they come and this
module sorts the journal on disk (sorted runs, then a k-way merge): memory stays bounded whatever
the dataset size.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import itertools
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from augtool.atomic import TEMP_PREFIX, atomic_open
from augtool.canonical import canonical_json
from augtool.manifest.names import MANIFEST_NAME, SUMS_NAME
from augtool.manifest.records import Footer, Header
from augtool.manifest.straight import Block, Straight

_SORT_RUN_LINES = 2_048
_MERGE_FAN_IN = 64
#: Lines :func:`write_manifest` encodes, hashes and writes at once.
_WRITE_BATCH = 1_024


def dump_line(record: dict[str, Any]) -> str:
    """One canonical JSON line (with its newline): the same record always gives the same bytes."""
    return canonical_json(record) + "\n"


def sums_line(sha256: str, path: str) -> str:
    """A coreutils ``sha256sum`` line, with its escaping of backslashes and newlines in names."""
    if "\\" in path or "\n" in path or "\r" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{sha256}  {escaped}\n"
    return f"{sha256}  {path}\n"


#: A record ready to write: its path (the sort key), its canonical line, and its SHA256SUMS
#: line ("" for records that are not files).
Line = tuple[str, str, str]
#: A :data:`Line` and the source whose task wrote the record (its owner in the stat cache's
#: index of the manifest, :mod:`augtool.run.statcache`).
OwnedLine = tuple[str, str, str, str]


def as_line(record: dict[str, Any], text: str | None = None) -> Line:
    """The sort key, manifest line and SHA256SUMS line of a record; ``text``, when given, is
    the record's manifest line as already dumped."""
    sums = sums_line(record["sha256"], record["path"]) if record["type"] == "file" else ""
    return (record["path"], dump_line(record) if text is None else text, sums)


def write_manifest(
    out_dir: Path,
    header: Header | dict[str, Any],
    lines: Iterable[Line] | Iterable[OwnedLine] | LineSorter,
    counts: dict[str, int],
    placed: Callable[[int, int, str, int, int], None] | None = None,
) -> str:
    """Stream ``lines`` (already sorted by path, see :func:`sort_lines`, or a sorter's) into
    ``manifest.jsonl`` and ``SHA256SUMS``, each atomically; return the footer's digest.
    ``placed`` is told the byte offset, length and owner of owned lines as they are written,
    and the offset and length of their lines in SHA256SUMS (adjacent lines of one owner may
    come as one)."""
    digest = hashlib.sha256()
    with (
        atomic_open(out_dir / MANIFEST_NAME, fsync=True) as manifest,
        atomic_open(out_dir / SUMS_NAME, fsync=True) as sums,
    ):
        head = header.to_json() if isinstance(header, Header) else header
        first = dump_line(head).encode("utf-8")
        digest.update(first)
        manifest.write(first)
        offset, sums_at = len(first), 0
        straight = lines.straight() if isinstance(lines, LineSorter) else None
        if straight is not None:
            straight.copy_into(manifest, sums, digest, offset, placed)
        # Written a batch of lines at a time: one write and one digest update for many lines.
        iterator = iter(() if straight is not None else _sorted(lines))
        while batch := list(itertools.islice(iterator, _WRITE_BATCH)):
            data = [item[1].encode("utf-8") for item in batch]
            chunk = b"".join(data)
            digest.update(chunk)
            manifest.write(chunk)
            summed = [item[2].encode("utf-8") for item in batch]
            sums.write(b"".join(summed))
            if placed is not None:
                for item, line, sum_line in zip(batch, data, summed, strict=True):
                    placed(offset, len(line), item[3], sums_at, len(sum_line))  # type: ignore[misc]
                    offset += len(line)
                    sums_at += len(sum_line)
        footer = Footer(counts=counts, sha256=digest.hexdigest())
        manifest.write(dump_line(footer.to_json()).encode("utf-8"))
    return digest.hexdigest()


def _sorted(lines: Iterable[Line] | Iterable[OwnedLine] | LineSorter) -> Iterator[Any]:
    return lines.sorted() if isinstance(lines, LineSorter) else iter(lines)


def sort_lines(records: Iterable[dict[str, Any]], workdir: Path | None = None) -> Iterator[Line]:
    """``records`` as :data:`Line` tuples sorted by path (see :func:`sort_prepared`); each
    record is dumped to JSON once."""
    return sort_prepared(map(as_line, records), workdir)


def sort_prepared(lines: Iterable[Line], workdir: Path | None = None) -> Iterator[Line]:
    """``lines`` sorted by path, with the bounded memory of :class:`LineSorter`."""
    with LineSorter(workdir) as sorter:
        for key, text, sums in lines:
            sorter.add((key, text, sums, ""))
        for key, text, sums, _ in sorter.sorted():
            yield (key, text, sums)


#: The names of the sort's run files: temp files, which a run that finds them removes.
SORT_PREFIX = f"{TEMP_PREFIX}sort-"


class LineSorter:
    """Lines taken one at a time, given back sorted by path, with bounded memory: sorted runs
    of ``_SORT_RUN_LINES`` (kept in memory when there is only one), then a k-way merge from
    disk that opens at most ``_MERGE_FAN_IN`` runs at once (more runs are first merged in
    groups, so a dataset of any size neither holds a buffer per run nor runs out of file
    descriptors). Lines can be added as a run goes, so they are never read back from a journal.
    Lines that come in path order, as a rerun's kept ones do, go to disk in the form they are
    written in until one does not (:mod:`augtool.manifest.straight`).

    Run files are temp files right in ``workdir`` (an output's root: no folder that a loader
    would take for a class), removed when the sorter is closed; one a kill left is a temp file
    the next run removes."""

    def __init__(self, workdir: Path | None = None) -> None:
        self._workdir = workdir
        self._chunk: list[OwnedLine] = []
        self._runs: list[Path] = []
        self._made: list[Path] = []
        self._tail: OwnedLine | None = None  # the last line of the last run
        #: the lines that came in order, once there were more than a chunk of them
        self._straight: Straight | None = None
        self._in_order = True  # whether every line so far came in order
        self._last: OwnedLine | None = None  # the last line taken

    def __enter__(self) -> LineSorter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add_block(self, block: Block) -> None:
        """A kept source's lines as an earlier manifest holds them (see :class:`Block`): kept
        as they are while every line comes in order, else taken one at a time."""
        last = self._last
        if self._in_order and (last is None or block.keys[0] > last[0]):
            self._last = (block.keys[-1], "", "", "")
            self._chunk.append(block)  # type: ignore[arg-type]
            if len(self._chunk) >= _SORT_RUN_LINES:
                if self._straight is None:
                    self._straight = Straight(self._new_file)
                self._straight.write(self._chunk)  # type: ignore[arg-type]
                self._chunk = []
            return
        for line in block.lines():
            self.add(line)

    def add(self, line: OwnedLine) -> None:
        if self._in_order:
            if self._last is None or line >= self._last:
                self._last = line
                self._chunk.append(line)
                if len(self._chunk) >= _SORT_RUN_LINES:
                    if self._straight is None:
                        self._straight = Straight(self._new_file)
                    self._straight.write(self._chunk)
                    self._chunk = []
                return
            self._in_order = False
            if self._straight is not None and self._chunk:
                self._straight.write(self._chunk)  # type: ignore[arg-type]
                self._chunk = []
            self._chunk = _unblocked(self._chunk)
        self._chunk.append(line)
        if len(self._chunk) >= _SORT_RUN_LINES:
            self._spill()

    def straight(self) -> Straight | None:
        """Every line, when all came in order and more than a chunk of them (then the chunk
        still held is written to the others)."""
        if not self._in_order or self._straight is None:
            return None
        if self._chunk:
            self._straight.write(self._chunk)
            self._chunk = []
        return self._straight

    def sorted(self) -> Iterator[OwnedLine]:
        """Every line added, in path order (once)."""
        if self.straight() is not None:
            assert self._straight is not None
            yield from self._straight.lines()
            return
        if not self._runs and self._straight is None:
            self._chunk = _unblocked(self._chunk)
            self._chunk.sort()
            yield from self._chunk
            return
        if self._chunk:
            self._spill()
        runs = self._runs
        while len(runs) > _MERGE_FAN_IN - (self._straight is not None):
            merged = []
            for start in range(0, len(runs), _MERGE_FAN_IN):
                group = runs[start : start + _MERGE_FAN_IN]
                with _merged(group) as lines:
                    merged.append(_write_run(self._new_file(), lines))
                for run in group:
                    run.unlink()
            runs = merged
        first = () if self._straight is None else (self._straight.lines(),)
        with _merged(runs, *first) as lines:
            yield from lines

    def _spill(self) -> None:
        """The chunk, sorted, to disk: appended to the last run when it sorts after it (lines
        that come in path order mostly make one run, which is read back without a merge),
        else as a new run."""
        chunk = self._chunk
        chunk.sort()
        if self._runs and self._tail is not None and chunk[0] >= self._tail:
            _write_run(self._runs[-1], chunk, append=True)
        else:
            self._runs.append(_write_run(self._new_file(), chunk))
        self._tail = chunk[-1]
        self._chunk = []

    def close(self) -> None:
        if self._straight is not None:
            self._straight.close()
        for path in self._made:
            path.unlink(missing_ok=True)
        self._made.clear()

    def _new_file(self) -> Path:
        handle, name = tempfile.mkstemp(prefix=SORT_PREFIX, suffix=".jsonl", dir=self._workdir)
        os.close(handle)
        self._made.append(Path(name))
        return self._made[-1]


def _unblocked(chunk: list[Any]) -> list[OwnedLine]:
    """The chunk's lines, each block's taken one at a time."""
    if not any(type(item) is Block for item in chunk):
        return chunk
    return [line for item in chunk for line in (item.lines() if type(item) is Block else (item,))]


def _write_run(path: Path, lines: Iterable[OwnedLine], append: bool = False) -> Path:
    """A run file line: the path, the SHA256SUMS line without its newline and the owner, each
    followed by a tab, then the record's line. The path, sums line and owner are written as
    they are when plain (in JSON when they hold a control character or a backslash, or begin
    with a quote), so most lines go to disk and back without JSON."""
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        handle.writelines(_run_line(*owned) for owned in lines)
    return path


def _run_line(key: str, line: str, sums: str, owner: str) -> str:
    body = sums[:-1]
    # Most often all three fields are plain: one check of the three together.
    joined = f"{key}{body}{owner}"
    if (
        joined.isprintable()
        and "\\" not in joined
        and not key.startswith('"')
        and not owner.startswith('"')
        and (not sums or (body and sums[-1] == "\n" and not body.startswith('"')))
    ):
        return f"{key}\t{body}\t{owner}\t{line}"
    return f"{_field(key)}\t{_sums_field(sums)}\t{_field(owner)}\t{line}"


def _plain(text: str) -> bool:
    return text.isprintable() and "\\" not in text and not text.startswith('"')


def _field(text: str) -> str:
    return text if _plain(text) else json.dumps(text)


def _sums_field(sums: str) -> str:
    if not sums:
        return ""
    body = sums[:-1]
    return body if sums.endswith("\n") and body and _plain(body) else json.dumps(sums)


@contextlib.contextmanager
def _merged(runs: list[Path], *sorted_lines: Iterator[OwnedLine]) -> Iterator[Iterator[OwnedLine]]:
    """The lines of sorted run files (and of other sorted lines), merged in path order."""
    files = [open(run, encoding="utf-8") for run in runs]  # noqa: SIM115
    try:
        inputs = [*sorted_lines, *(map(_parse_run_line, f) for f in files)]
        if len(inputs) == 1:
            yield inputs[0]
        else:
            yield heapq.merge(*inputs)
    finally:
        for file in files:
            file.close()


def _parse_run_line(text: str) -> OwnedLine:
    key, sums, owner, line = text.split("\t", 3)
    if key.startswith('"'):
        key = json.loads(key)
    if sums.startswith('"'):
        sums = json.loads(sums)
    elif sums:
        sums += "\n"
    if owner.startswith('"'):
        owner = json.loads(owner)
    return (key, line, sums, owner)


def sort_records(
    records: Iterable[dict[str, Any]], workdir: Path | None = None
) -> Iterator[dict[str, Any]]:
    """``records`` sorted by path (as dicts), with the bounded memory of :func:`sort_lines`."""
    for _, line, _ in sort_lines(records, workdir):
        yield json.loads(line)
