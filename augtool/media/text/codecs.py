"""Reading and writing text datasets: CSV and JSONL tables, a ``.txt`` with one example per
line, and a ``.txt`` that is one example.

Text is UTF-8 (a BOM is accepted and not written back). A row that cannot be used (an empty
text, a missing field, a JSONL line that is not an object, a CSV row with the wrong number of
fields) is skipped with its line number, or, with ``bad_rows: error``, makes the whole file a
skipped input; a file that cannot be read as a whole (not UTF-8, an unbalanced CSV quote, a
header without the text or label column) is always skipped, with the line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from augtool.media.base import DecodeError

#: the columns (or JSONL fields) a variant file adds to the source's
ADDED = ("source_row", "variant")
BOM = "\ufeff"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".txt": "lines"}

# Python's csv refuses a field over 131,072 characters by default, so a long document in one
# cell (valid CSV, read whole from JSONL) made its file "malformed". 2**31 - 1 fits a C long
# everywhere (Windows' is 32-bit).
csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))


@dataclass(frozen=True)
class Row:
    """A source row: its 1-based number among the data rows, the line it starts on, its values
    (a CSV row's list, a JSONL line's object, a text line) and its texts to augment."""

    number: int
    line: int
    values: Any
    texts: tuple[str, ...]
    split: str | None = None  # from the recipe's split column, when it names one


@dataclass(frozen=True)
class Table:
    """A decoded text source."""

    format: str  # csv | jsonl | lines | document
    rows: tuple[Row, ...]
    columns: tuple[str, ...] = ()  # a CSV's header
    text_columns: tuple[str, ...] = ()
    bom: bool = False
    skipped: tuple[tuple[int, str], ...] = ()  # (line, reason) of each row left out
    options: dict[str, Any] = field(default_factory=dict)  # the run's text settings


def decode_text(data: bytes) -> tuple[str, bool]:
    """``data`` as UTF-8, and whether it began with a BOM. Raises :class:`DecodeError`."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DecodeError("UTF-16 text (a UTF-16 BOM); augtool reads UTF-8: save it as UTF-8")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        bad = data[exc.start : exc.start + 1].hex()
        raise DecodeError(
            f"line {line}: not UTF-8 (byte 0x{bad} at offset {exc.start}); augtool reads text "
            "as UTF-8: convert the file (iconv -f <encoding> -t UTF-8)"
        ) from None
    if text.startswith(BOM):
        return text[1:], True
    return text, False


Bad = tuple[int, str]  # (line, reason) of a data row that cannot be used


def iter_csv(
    lines: Iterable[str], columns: tuple[str, ...], required: tuple[str, ...]
) -> tuple[tuple[str, ...], Iterator[Any]]:
    """The header of a CSV read from ``lines`` (its file opened with ``newline=""``), and its
    data rows as ``(line, values, texts)``, or a :data:`Bad` row. Raises :class:`DecodeError`
    for a file that cannot be read (as the rows are read too)."""
    reader = csv.reader(lines, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DecodeError(f"line {reader.line_num}: malformed CSV ({exc})") from None
    if header is None:
        raise DecodeError("an empty CSV file (no header line)")
    _check_columns(tuple(header), columns, required, "column")
    return tuple(header), _csv_rows(reader, len(header), [header.index(c) for c in columns])


def _csv_rows(reader: Any, width: int, where: list[int]) -> Iterator[Any]:
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:
            raise DecodeError(f"line {line}: malformed CSV ({exc})") from None
        if values is None:
            return
        if values == []:
            pass  # a blank line
        elif len(values) != width:
            yield line, f"{len(values)} fields where the header has {width}"
        else:
            yield line, values, [values[i] for i in where]
        line = reader.line_num + 1


def _lone_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a lone UTF-16 surrogate (an escape such as
    ``"\\ud800"``), which JSON allows but UTF-8 cannot encode."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def iter_jsonl(
    lines: Iterable[str], columns: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[Any]:
    """The objects of a JSONL text's ``lines`` (split at ``\\n`` only) as ``(line, value,
    texts)``, or a :data:`Bad` row."""
    for line, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, f"not JSON ({exc.msg})"
            continue
        except RecursionError:  # json's decoder recurses once per nested array or object
            yield line, "not JSON (nested too deeply)"
            continue
        if not isinstance(value, dict):
            yield line, f"a JSON {type(value).__name__}, not an object"
            continue
        if "\\u" in raw and _lone_surrogate(value):
            yield line, "a lone surrogate escape (\\ud800-\\udfff), which is not UTF-8 text"
            continue
        missing = [c for c in (*columns, *required) if c not in value]
        if missing:
            yield line, f"no {missing[0]!r} field"
        elif any(k in value for k in ADDED):
            yield line, f"has a field augtool adds ({', '.join(ADDED)})"
        else:
            yield line, value, [value[c] for c in columns]


def iter_lines(lines: Iterable[str]) -> Iterator[Any]:
    """The non-blank lines of a text as ``(line, text, [text])``, numbered as
    ``str.splitlines`` numbers them (``lines`` split at ``\\n`` only)."""
    line = 0
    for physical in lines:
        for raw in physical.splitlines():
            line += 1
            if raw.strip():
                yield line, raw, [raw]


def _check_columns(
    header: tuple[str, ...], columns: tuple[str, ...], required: tuple[str, ...], what: str
) -> None:
    for name in (*columns, *required):
        if name not in header:
            raise DecodeError(f"line 1: no {what} {name!r} (the header has {', '.join(header)})")
    taken = [name for name in ADDED if name in header]
    if taken:
        raise DecodeError(f"line 1: the {what} {taken[0]!r} is one augtool adds; rename it")


def classify(
    items: Iterable[Any],
    names: tuple[str, ...],
    split: tuple[int | str, tuple[str, ...]] | None = None,
) -> Iterator[Row | Bad]:
    """The rows of ``items`` (of the iterators above) as :class:`Row`, each numbered by its
    place among the data rows (a bad one counted), or a :data:`Bad` row: a text that is not a
    string or is empty, or (``split``: the split column's index or name, and the known
    splits) a row naming no known split."""
    count = 0
    for item in items:
        count += 1
        if len(item) == 2:
            yield item
            continue
        line, values, texts = item
        reason = next((r for r in map(_text_problem, names, texts) if r), None)
        if reason is not None:
            yield line, reason
            continue
        where = None
        if split is not None:
            where = values[split[0]] if isinstance(values, list) else values.get(split[0])
            if where not in split[1]:
                yield line, f"split {where!r} is not among splits.names"
                continue
        yield Row(count, line, values, tuple(texts), where)


def _text_problem(name: str, text: Any) -> str | None:
    if not isinstance(text, str):
        return f"{name!r} is not a string"
    return None if text.strip() else f"empty text in {name!r}"


class RowWriter:
    """Writes a variant file's rows in the source's format to ``out`` (text)."""

    def __init__(self, table: Table, out: IO[str]) -> None:
        self.table, self.out = table, out
        if table.format == "csv":
            self.csv = csv.writer(out, lineterminator="\n")
            self.csv.writerow([*table.columns, *ADDED])
            self.where = [table.columns.index(c) for c in table.text_columns]

    def write(self, row: Row, variant: int, texts: tuple[str, ...]) -> None:
        kind = self.table.format
        if kind == "csv":
            values = list(row.values)
            for i, text in zip(self.where, texts, strict=True):
                values[i] = text
            self.csv.writerow([*values, row.number, variant])
        elif kind == "jsonl":
            value = dict(row.values)
            value.update(zip(self.table.text_columns, texts, strict=True))
            value.update({"source_row": row.number, "variant": variant})
            self.out.write(json.dumps(value, ensure_ascii=False) + "\n")
        else:
            self.out.write(texts[0] + ("\n" if kind == "lines" else ""))


def encode_rows(table: Table, rows: list[tuple[Row, int, tuple[str, ...]]]) -> bytes:
    """The variant file: each (source row, variant index, new texts), in the source's format,
    the source's columns carried and ``source_row`` and ``variant`` added."""
    out = io.StringIO(newline="")
    writer = RowWriter(table, out)
    for row, variant, texts in rows:
        writer.write(row, variant, texts)
    return out.getvalue().encode("utf-8")


__all__ = [
    "ADDED",
    "FORMATS",
    "Bad",
    "Row",
    "RowWriter",
    "Table",
    "classify",
    "decode_text",
    "encode_rows",
    "iter_csv",
    "iter_jsonl",
    "iter_lines",
]
