"""The manifest (``manifest.jsonl``) and ``SHA256SUMS``: records, writing and reading.

JSON Lines, one canonical JSON object a line (sorted keys, no spaces, UTF-8):

1. a header (``"type": "header"``): schema id and version, tool and library versions, the
   normalised recipe and its sha256, the seed, the input layout and splits, the counts;
2. one line per file written (``"type": "file"``) and per input skipped (``"type": "skipped"``),
   sorted by ``path``;
3. a footer (``"type": "footer"``): the counts again and the sha256 of every byte before it, so
   a truncated or edited manifest is detected.

- :mod:`~augtool.manifest.records`: the typed records, one class per line type;
- :mod:`~augtool.manifest.writer`: canonical lines, sorting, ``manifest.jsonl`` and ``SHA256SUMS``;
- :mod:`~augtool.manifest.reader`: the one streaming reader (the footer's digest is checked there);
- :mod:`~augtool.manifest.schema`: the JSON Schema of a line, generated from the records.
"""

from __future__ import annotations

from augtool.manifest.names import (
    CONTRACT_FILES,
    JOURNAL_NAME,
    LEGACY_STATE_NAMES,
    LOCK_NAME,
    MANIFEST_NAME,
    PHASH_CACHE_NAME,
    RUN_NAME,
    RUN_STATE_NAME,
    STAT_CACHE_NAME,
    STATE_DIR,
    STATE_FILES,
    SUMS_NAME,
)
from augtool.manifest.reader import Entry, ManifestDamaged, ManifestReader, has_header, listed_paths
from augtool.manifest.records import (
    SCHEMA,
    SCHEMA_VERSION,
    FileRecord,
    Footer,
    Header,
    Record,
    RecordDict,
    RecordError,
    Skipped,
    SourceRef,
    parse_record,
)
from augtool.manifest.straight import Block
from augtool.manifest.writer import (
    Line,
    LineSorter,
    OwnedLine,
    as_line,
    dump_line,
    sort_lines,
    sort_prepared,
    sort_records,
    sums_line,
    write_manifest,
)

__all__ = [
    "CONTRACT_FILES",
    "JOURNAL_NAME",
    "LEGACY_STATE_NAMES",
    "LOCK_NAME",
    "MANIFEST_NAME",
    "PHASH_CACHE_NAME",
    "RUN_NAME",
    "RUN_STATE_NAME",
    "SCHEMA",
    "SCHEMA_VERSION",
    "STATE_DIR",
    "STATE_FILES",
    "STAT_CACHE_NAME",
    "SUMS_NAME",
    "Block",
    "Entry",
    "FileRecord",
    "Footer",
    "Header",
    "Line",
    "LineSorter",
    "ManifestDamaged",
    "ManifestReader",
    "OwnedLine",
    "Record",
    "RecordDict",
    "RecordError",
    "Skipped",
    "SourceRef",
    "as_line",
    "dump_line",
    "has_header",
    "listed_paths",
    "parse_record",
    "sort_lines",
    "sort_prepared",
    "sort_records",
    "sums_line",
    "write_manifest",
]
