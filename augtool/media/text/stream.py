"""A table source read and written as a stream (docs/text.md, "Memory").

A source of many rows is read twice from its file, never held: a first pass checks every row
and keeps only a hash of each row's texts (the duplicate rail needs every source row before the
first variant is judged); a second pass derives each row's variants and writes them, with the
row table, ``CHUNK_ROWS`` rows at a time. Memory is then the chunk, the hashes (8 bytes a row and
kept variant) and the skipped rows' line numbers, whatever the file's size.

The row table (``train__v00.csv.rows.jsonl``, beside the variant file) has a line per source row,
``{"row", "example"}`` (the key validate compares across splits), then one per variant of it:
``{"row", "variant", "seed", "steps"}``, plus ``example`` when it is written or ``dropped``
when a rail left it out.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from augtool.atomic import atomic_open
from augtool.canonical import canonical_json
from augtool.layouts.table import ROWS_ENDING
from augtool.media.base import DecodeError
from augtool.media.text import codecs
from augtool.media.text.codecs import Row, Table
from augtool.media.text.rows import (
    Deriver,
    Judge,
    Rails,
    Record,
    Seen,
    replay_entry,
    texts_hash,
)

#: rows derived between two writes of the variant file and the row table (or fewer, once
#: ``CHUNK_CHARS`` of either is waiting: rows may be long)
CHUNK_ROWS = 1024
CHUNK_CHARS = 1 << 20


def rows_path(variant: str) -> str:
    """The row table's path beside the variant file ``variant`` (its ending kept in the name:
    ``train.csv`` and ``train.jsonl`` may be side by side)."""
    return variant + ROWS_ENDING


def read_rows(
    kind: str, lines: Iterable[str], options: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...], Iterator[Row | codecs.Bad]]:
    """(the CSV header, the text columns, the rows or bad rows) of a table's ``lines``."""
    text_columns = options["text"]
    required = tuple(c for c in (options["label"], options["split"]) if c)
    header: tuple[str, ...] = ()
    split: Any = None
    if kind == "csv":
        header, items = codecs.iter_csv(lines, text_columns, required)
        if options["split"]:
            split = (header.index(options["split"]), options["names"])
    elif kind == "jsonl":
        items = codecs.iter_jsonl(lines, text_columns, required)
        if options["split"]:
            split = (options["split"], options["names"])
    else:
        items, text_columns = codecs.iter_lines(lines), ("line",)
    return header, text_columns, codecs.classify(items, text_columns, split)


def kept(
    rows: Iterable[Row | codecs.Bad], bad_rows: str, skipped: list[codecs.Bad] | None
) -> Iterator[Row]:
    """The usable rows; a bad one is noted in ``skipped`` (None: passed over), or with
    ``bad_rows: error`` raises :class:`DecodeError`."""
    for row in rows:
        if isinstance(row, Row):
            yield row
        elif bad_rows == "error":
            raise DecodeError(f"line {row[0]}: {row[1]}")
        elif skipped is not None:
            skipped.append(row)


@dataclass(frozen=True)
class Packed:
    """A table source opened for streaming: its file, what the first pass found (as a
    :class:`Table` without rows), and the hashes of its rows' texts."""

    path: Path
    table: Table
    count: int
    seen: Seen


@contextlib.contextmanager
def lines_of(path: Path, kind: str) -> Iterator[IO[str]]:
    # The csv module wants newline=""; JSONL and lines split at \n alone, as str.split does.
    newline = "" if kind == "csv" else "\n"
    with open(path, encoding="utf-8-sig", newline=newline) as handle:
        try:
            yield handle
        except UnicodeDecodeError:
            codecs.decode_text(path.read_bytes())  # raises with the bad byte's line and offset
            raise


def open_packed(path: Path, kind: str, options: dict[str, Any]) -> Packed:
    """The first pass over a table file: every row checked, its texts hashed. Raises
    :class:`DecodeError` as :meth:`TextMedium.decode_file` would."""
    with open(path, "rb") as handle:
        start = handle.read(3)
    codecs.decode_text(start if start[:2] in (b"\xff\xfe", b"\xfe\xff") else b"")
    skipped: list[codecs.Bad] = []
    seen = Seen()
    count = 0
    with lines_of(path, kind) as lines:
        header, text_columns, rows = read_rows(kind, lines, options)
        for row in kept(rows, options["bad_rows"], skipped):
            seen.add(texts_hash(row.texts))
            count += 1
    table = Table(kind, (), header, text_columns, start == b"\xef\xbb\xbf", tuple(skipped), options)
    return Packed(path, table, count, seen)


class _Hashed:
    """A binary file written through (or, with no handle, only hashed): its sha256 and size
    as it grows."""

    def __init__(self, handle: IO[bytes] | None) -> None:
        self.handle, self.sha256, self.bytes = handle, hashlib.sha256(), 0

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        if self.handle is not None:
            self.handle.write(data)
        self.sha256.update(data)
        self.bytes += len(data)


def write_packed(
    packed: Packed, steps: Any, seed: int, variants: int, rails: Rails, targets: tuple[Path, Path]
) -> dict[str, Any]:
    """The second pass: each row's variants derived and written to ``targets`` (the variant
    file, the row table). Their sha256 and bytes, and the rows written."""
    table = packed.table
    deriver = Deriver(steps, table, seed, variants, Judge(rails, packed.seen))
    key_of = _keys(table)
    written = 0
    with (
        atomic_open(targets[0]) as variant_file,
        atomic_open(targets[1]) as rows_file,
        lines_of(packed.path, table.format) as lines,
    ):
        out, record = _Hashed(variant_file), _Hashed(rows_file)
        buffer, entries = io.StringIO(newline=""), io.StringIO()
        writer = codecs.RowWriter(table, buffer)
        rows = kept(read_rows(table.format, lines, table.options)[2], "skip", None)
        for number, row in enumerate(rows, start=1):
            entries.write(canonical_json({"row": row.number, "example": key_of(row.texts, row)}))
            entries.write("\n")
            for entry, texts in deriver.row(row):
                if texts is not None:
                    writer.write(row, entry["variant"], texts)
                    entry["example"] = key_of(texts, row)
                    written += 1
                entries.write(canonical_json(entry) + "\n")
            if number % CHUNK_ROWS == 0 or max(buffer.tell(), entries.tell()) > CHUNK_CHARS:
                _flush(buffer, out)
                _flush(entries, record)
        _flush(buffer, out)
        _flush(entries, record)
    return {
        "variant": (out.sha256.hexdigest(), out.bytes),
        "rows": (record.sha256.hexdigest(), record.bytes),
        "written": written,
    }


def replay_packed(packed: Packed, records: Iterable[Record], rails: Rails) -> tuple[str, int]:
    """The variant file a row table's ``records`` (read in order) write from the source, made
    again as a stream and hashed, not kept: its sha256 and bytes. Raises ``ValueError`` for an
    entry naming a row the source does not have (or out of order), or whose recorded drop is
    not the rails' verdict."""
    table = packed.table
    judge = Judge(rails, packed.seen)
    out, buffer = _Hashed(None), io.StringIO(newline="")
    writer = codecs.RowWriter(table, buffer)
    with lines_of(packed.path, table.format) as lines:
        rows = kept(read_rows(table.format, lines, table.options)[2], "skip", None)
        row: Row | None = None
        for entry in records:
            if "seed" not in entry:
                continue  # a source row's line: its example key is the leakage check's
            row = _row_named(rows, row, entry.get("row"))
            texts = replay_entry(judge, table.text_columns, row, entry)
            if texts is not None:
                writer.write(row, int(entry.get("variant", 0)), texts)
            if buffer.tell() > CHUNK_CHARS:
                _flush(buffer, out)
    _flush(buffer, out)
    return out.sha256.hexdigest(), out.bytes


def _row_named(rows: Iterator[Row], current: Row | None, number: Any) -> Row:
    """The source row numbered ``number``: ``current`` or one after it (the row table is in
    row order)."""
    if current is not None and current.number == number:
        return current
    if not isinstance(number, int) or (current is not None and number < current.number):
        raise ValueError(f"the row table names row {number!r} out of order")
    for row in rows:
        if row.number == number:
            return row
        if row.number > number:
            break
    raise ValueError(f"the row table names row {number!r}, not in the source")


def _flush(buffer: io.StringIO, out: _Hashed) -> None:
    out.write(buffer.getvalue())
    buffer.seek(0)
    buffer.truncate()


def _keys(table: Table) -> Any:
    from augtool.media.text.medium import example_key

    return lambda texts, row: example_key(tuple(texts), row.split)


__all__ = [
    "CHUNK_ROWS",
    "ROWS_ENDING",
    "Packed",
    "kept",
    "open_packed",
    "read_rows",
    "replay_packed",
    "rows_path",
    "write_packed",
]
