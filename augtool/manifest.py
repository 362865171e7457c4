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

import hashlib
import heapq
import itertools
import json
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

_SORT_RUN_LINES = 8_192


def dump_line(record: dict[str, Any]) -> str:
    """One canonical JSON line (with its newline): the same record always gives the same bytes."""
    return canonical_json(record) + "\n"


def sums_line(sha256: str, path: str) -> str:
    """A coreutils ``sha256sum`` line, with its escaping of backslashes and newlines in names."""
    if "\\" in path or "\n" in path or "\r" in path:
        escaped = path.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{sha256}  {escaped}\n"
    return f"{sha256}  {path}\n"


def write_manifest(
    out_dir: Path, header: dict[str, Any], records: Iterable[dict[str, Any]], counts: dict[str, int]
) -> str:
    """Stream ``records`` (already sorted by path) into ``manifest.jsonl`` and ``SHA256SUMS``,
    each atomically; return the footer's digest."""
    digest = hashlib.sha256()
    with (
        atomic_open(out_dir / MANIFEST_NAME, fsync=True) as manifest,
        atomic_open(out_dir / SUMS_NAME, fsync=True) as sums,
    ):
        for record in _with_header(header, records):
            data = dump_line(record).encode("utf-8")
            digest.update(data)
            manifest.write(data)
            if record["type"] == "file":
                sums.write(sums_line(record["sha256"], record["path"]).encode("utf-8"))
        footer = {"type": "footer", "counts": counts, "sha256": digest.hexdigest()}
        manifest.write(dump_line(footer).encode("utf-8"))
    return digest.hexdigest()


def _with_header(
    header: dict[str, Any], records: Iterable[dict[str, Any]]
) -> Iterator[dict[str, Any]]:
    yield header
    yield from records


def sort_records(
    records: Iterable[dict[str, Any]], workdir: Path | None = None
) -> Iterator[dict[str, Any]]:
    """``records`` sorted by path with bounded memory: sorted runs on disk, then a k-way merge."""
    with tempfile.TemporaryDirectory(prefix="augtool-sort-", dir=workdir) as folder:
        runs: list[Path] = []
        iterator = iter(records)
        while True:
            chunk = [dump_line(r) for r in itertools.islice(iterator, _SORT_RUN_LINES)]
            if not chunk:
                break
            chunk.sort(key=_path_key)
            run = Path(folder) / f"{len(runs):06d}.jsonl"
            run.write_text("".join(chunk), encoding="utf-8")
            runs.append(run)
        files = [open(run, encoding="utf-8") for run in runs]  # noqa: SIM115
        try:
            for line in heapq.merge(*files, key=_path_key):
                yield json.loads(line)
        finally:
            for file in files:
                file.close()


def _path_key(line: str) -> str:
    return json.loads(line)["path"]


def read_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The raw lines of a manifest with their 1-based numbers (for the validator)."""
    with open(path, "rb") as handle:
        yield from enumerate(handle, start=1)
