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

_SORT_RUN_LINES = 2_048
_MERGE_FAN_IN = 64


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


def as_line(record: dict[str, Any], text: str | None = None) -> Line:
    """The sort key, manifest line and SHA256SUMS line of a record; ``text``, when given, is
    the record's manifest line as already dumped."""
    sums = sums_line(record["sha256"], record["path"]) if record["type"] == "file" else ""
    return (record["path"], dump_line(record) if text is None else text, sums)


def write_manifest(
    out_dir: Path, header: Header | dict[str, Any], lines: Iterable[Line], counts: dict[str, int]
) -> str:
    """Stream ``lines`` (already sorted by path, see :func:`sort_lines`) into ``manifest.jsonl``
    and ``SHA256SUMS``, each atomically; return the footer's digest."""
    digest = hashlib.sha256()
    with (
        atomic_open(out_dir / MANIFEST_NAME, fsync=True) as manifest,
        atomic_open(out_dir / SUMS_NAME, fsync=True) as sums,
    ):
        head = header.to_json() if isinstance(header, Header) else header
        first = dump_line(head).encode("utf-8")
        digest.update(first)
        manifest.write(first)
        for _, line, sums_text in lines:
            data = line.encode("utf-8")
            digest.update(data)
            manifest.write(data)
            if sums_text:
                sums.write(sums_text.encode("utf-8"))
        footer = Footer(counts=counts, sha256=digest.hexdigest())
        manifest.write(dump_line(footer.to_json()).encode("utf-8"))
    return digest.hexdigest()


def sort_lines(records: Iterable[dict[str, Any]], workdir: Path | None = None) -> Iterator[Line]:
    """``records`` as :data:`Line` tuples sorted by path (see :func:`sort_prepared`); each
    record is dumped to JSON once."""
    return sort_prepared(map(as_line, records), workdir)


def sort_prepared(lines: Iterable[Line], workdir: Path | None = None) -> Iterator[Line]:
    """``lines`` sorted by path, with bounded memory: sorted runs of ``_SORT_RUN_LINES`` (kept
    in memory when there is only one), then a k-way merge from disk that opens at most
    ``_MERGE_FAN_IN`` runs at once (more runs are first merged in groups, so a dataset of any
    size neither holds a buffer per run nor runs out of file descriptors). A run file line is
    ``[path, sums]`` in JSON, a tab (which JSON never leaves raw), then the record's line.

    Run files are temp files right in ``workdir`` (an output's root: no folder that a loader
    would take for a class), removed at the end; one a kill left is a temp file the next run
    removes."""
    iterator = iter(lines)
    chunk = sorted(itertools.islice(iterator, _SORT_RUN_LINES))
    following = list(itertools.islice(iterator, 1))
    if not following:
        yield from chunk
        return
    with _run_files(workdir) as new_file:
        runs: list[Path] = []
        rest = itertools.chain(following, iterator)
        while chunk:
            runs.append(_write_run(new_file(), chunk))
            chunk = []  # let the written run go before the next is read: one run in memory
            chunk = sorted(itertools.islice(rest, _SORT_RUN_LINES))
        while len(runs) > _MERGE_FAN_IN:
            merged = []
            for start in range(0, len(runs), _MERGE_FAN_IN):
                group = runs[start : start + _MERGE_FAN_IN]
                with _merged(group) as lines:
                    merged.append(_write_run(new_file(), lines))
                for run in group:
                    run.unlink()
            runs = merged
        with _merged(runs) as lines:
            yield from lines


#: The names of the sort's run files: temp files, which a run that finds them removes.
SORT_PREFIX = f"{TEMP_PREFIX}sort-"


@contextlib.contextmanager
def _run_files(workdir: Path | None) -> Iterator[Callable[[], Path]]:
    """A maker of new, empty temp files in ``workdir``; every one it made is gone after."""
    made: list[Path] = []

    def new_file() -> Path:
        handle, name = tempfile.mkstemp(prefix=SORT_PREFIX, suffix=".jsonl", dir=workdir)
        os.close(handle)
        made.append(Path(name))
        return made[-1]

    try:
        yield new_file
    finally:
        for path in made:
            path.unlink(missing_ok=True)


def _write_run(path: Path, lines: Iterable[Line]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for key, line, sums in lines:
            handle.write(f"{json.dumps([key, sums])}\t{line}")
    return path


@contextlib.contextmanager
def _merged(runs: list[Path]) -> Iterator[Iterator[Line]]:
    """The lines of sorted run files, merged in path order."""
    files = [open(run, encoding="utf-8") for run in runs]  # noqa: SIM115
    try:
        yield heapq.merge(*(map(_parse_run_line, f) for f in files))
    finally:
        for file in files:
            file.close()


def _parse_run_line(text: str) -> Line:
    prefix, line = text.split("\t", 1)
    path, sums = json.loads(prefix)
    return (path, line, sums)


def sort_records(
    records: Iterable[dict[str, Any]], workdir: Path | None = None
) -> Iterator[dict[str, Any]]:
    """``records`` sorted by path (as dicts), with the bounded memory of :func:`sort_lines`."""
    for _, line, _ in sort_lines(records, workdir):
        yield json.loads(line)
