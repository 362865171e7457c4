"""The manifest (``manifest.jsonl``) and ``SHA256SUMS``: format, writing and reading.

JSON Lines, one canonical JSON object a line (sorted keys, no spaces, UTF-8):

1. a header (``"type": "header"``): schema id and version, tool and library versions, the
   normalised recipe and its sha256, the seed, the input layout and splits, the counts;
2. one line per file written (``"type": "file"``) and per input skipped (``"type": "skipped"``),
   sorted by ``path``;
3. a footer (``"type": "footer"``): the counts again and the sha256 of every byte before it, so
   a truncated or edited manifest is detected.

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
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from augtool.atomic import atomic_open
from augtool.canonical import canonical_json

SCHEMA = "augtool.manifest"
SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.jsonl"
SUMS_NAME = "SHA256SUMS"
RUN_NAME = "run.json"
STATE_DIR = ".augtool"
#: Files in an output folder that the manifest does not list, by contract.
CONTRACT_FILES = (MANIFEST_NAME, SUMS_NAME, RUN_NAME)

_SORT_RUN_LINES = 2_048
_MERGE_FAN_IN = 64
#: A first line longer than this is not an augtool header (which holds a recipe, not data).
_HEADER_LIMIT = 16 * 2**20


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
    out_dir: Path, header: dict[str, Any], lines: Iterable[Line], counts: dict[str, int]
) -> str:
    """Stream ``lines`` (already sorted by path, see :func:`sort_lines`) into ``manifest.jsonl``
    and ``SHA256SUMS``, each atomically; return the footer's digest."""
    digest = hashlib.sha256()
    with (
        atomic_open(out_dir / MANIFEST_NAME, fsync=True) as manifest,
        atomic_open(out_dir / SUMS_NAME, fsync=True) as sums,
    ):
        first = dump_line(header).encode("utf-8")
        digest.update(first)
        manifest.write(first)
        for _, line, sums_text in lines:
            data = line.encode("utf-8")
            digest.update(data)
            manifest.write(data)
            if sums_text:
                sums.write(sums_text.encode("utf-8"))
        footer = {"type": "footer", "counts": counts, "sha256": digest.hexdigest()}
        manifest.write(dump_line(footer).encode("utf-8"))
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
    ``[path, sums]`` in JSON, a tab (which JSON never leaves raw), then the record's line."""
    iterator = iter(lines)
    chunk = sorted(itertools.islice(iterator, _SORT_RUN_LINES))
    following = list(itertools.islice(iterator, 1))
    if not following:
        yield from chunk
        return
    with tempfile.TemporaryDirectory(prefix="augtool-sort-", dir=workdir) as folder:
        runs: list[Path] = []
        rest = itertools.chain(following, iterator)
        while chunk:
            runs.append(_write_run(Path(folder) / f"run-{len(runs):06d}.jsonl", chunk))
            chunk = []  # let the written run go before the next is read: one run in memory
            chunk = sorted(itertools.islice(rest, _SORT_RUN_LINES))
        generation = 0
        while len(runs) > _MERGE_FAN_IN:
            generation += 1
            merged = []
            for start in range(0, len(runs), _MERGE_FAN_IN):
                group = runs[start : start + _MERGE_FAN_IN]
                name = f"merge-{generation}-{len(merged):06d}.jsonl"
                with _merged(group) as lines:
                    merged.append(_write_run(Path(folder) / name, lines))
                for run in group:
                    run.unlink()
            runs = merged
        with _merged(runs) as lines:
            yield from lines


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


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The raw lines of a manifest with their 1-based numbers (for the validator)."""
    with open(path, "rb") as handle:
        yield from enumerate(handle, start=1)


def _tree_files(output_root: Path) -> Iterator[str]:
    """Every non-folder entry of an output (links not followed), but augtool's own files."""
    for folder, dirs, files in os.walk(output_root, followlinks=False):
        rel = Path(folder).relative_to(output_root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        if not prefix:
            dirs[:] = [d for d in dirs if d != STATE_DIR]
        # A link to a folder is listed among dirs but not walked: it is an entry all the same.
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]
        for name in (*files, *links):
            if prefix or name not in CONTRACT_FILES:
                yield prefix + name


def unlisted_files(output_root: Path, listed: int) -> list[str]:
    """The files in ``output_root`` that its manifest does not list (put there by someone
    else), in path order; empty when the tree holds just the ``listed`` files besides
    augtool's own. One walk counts; the manifest's paths are read only when the count is off."""
    if sum(1 for _ in _tree_files(output_root)) == listed:
        return []
    paths = set()
    with open(output_root / MANIFEST_NAME, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("type") == "file":
                paths.add(record["path"])
    return sorted(path for path in _tree_files(output_root) if path not in paths)


def has_header(path: Path) -> bool:
    """Whether ``path`` is a file whose first line is an augtool manifest header, whatever
    follows it: what tells an augtool output from a folder that holds another tool's
    ``manifest.jsonl``."""
    if not path.is_file():  # (a folder, or a FIFO that would block the read)
        return False
    try:
        with open(path, "rb") as handle:
            first = handle.readline(_HEADER_LIMIT)
    except OSError:
        return False
    try:
        header = json.loads(first)
    except ValueError:
        return False
    return (
        isinstance(header, dict)
        and header.get("type") == "header"
        and header.get("schema") == SCHEMA
    )
