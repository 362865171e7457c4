"""The ``imagelist`` layout: images listed with their labels in a table, as Hugging Face's
``imagefolder`` reads them: ``metadata.csv`` or ``metadata.jsonl`` with a ``file_name`` column
(the image's path from the table's folder) and any other columns (``label``, a caption...).

Tables are found at the dataset's root and in its top-level folders (one per split folder, as
``imagefolder`` allows). An image's class is its row's ``label``. An image no table lists is
skipped, and so is a row whose image is not there; a table without ``file_name``, a row whose
``file_name`` leaves its folder or is listed twice is an input error.

Written back: each table again, one row per output under its folder (originals and
variants), in the order of their sources' rows, each source's outputs in path order; a
variant's row is its source's with ``file_name`` naming the variant, every other column
carried. CSV keeps the header's column order and the line ends
the input used; JSONL writes each row's keys in the order read. ``validate --recompute`` makes
each table again from the manifest's image lines.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from augtool.errors import InputError
from augtool.layouts.base import AnnotationError, Layout, Record
from augtool.layouts.discovery import (
    Dataset,
    Skip,
    Walk,
    sorted_skips,
    split_folder_sources,
)

TABLE_NAMES = ("metadata.csv", "metadata.jsonl")
FILE_COLUMN = "file_name"
LABEL_COLUMN = "label"


@dataclass(frozen=True)
class Table:
    """One table: its folder (relative to the root, "" for the root), its kind (csv, jsonl),
    its CSV header and line ending."""

    folder: str
    kind: str
    columns: tuple[str, ...] = ()
    newline: str = "\n"


@dataclass
class Tables:
    """Every table by its path, and each listed image's table and row."""

    tables: dict[str, Table] = field(default_factory=dict)
    rows: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    #: each listed image's place in its table (its rows are written in that order)
    order: dict[str, int] = field(default_factory=dict)


def _inside(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def find_tables(root: Path) -> list[str]:
    """The tables at the root and in its top-level folders (links are not followed)."""
    found = [name for name in TABLE_NAMES if _regular(root / name)]
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink()):
        found += [f"{folder.name}/{name}" for name in TABLE_NAMES if _regular(folder / name)]
    return found


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def read_tables(root: Path) -> Tables:
    """Every table's rows. Raises :class:`AnnotationError` naming the table and row when one
    cannot be used (nothing is written then)."""
    tables = Tables()
    for rel in find_tables(root):
        folder = str(PurePosixPath(rel).parent).removeprefix(".")
        try:
            data = (root / rel).read_bytes()
            text = data.decode("utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise AnnotationError(f"{rel}: cannot read: {exc}") from None
        if rel.endswith(".csv"):
            reader = csv.DictReader(io.StringIO(text, newline=""))
            columns = tuple(reader.fieldnames or ())
            newline = "\r\n" if b"\r\n" in data else "\n"
            table = Table(folder, "csv", columns, newline)
            rows = [(number, dict(row)) for number, row in enumerate(reader, start=2)]
        else:
            table = Table(folder, "jsonl")
            rows = list(_jsonl_rows(text, rel))
        if table.kind == "csv" and FILE_COLUMN not in table.columns:
            found = ", ".join(table.columns) or "nothing"
            raise AnnotationError(
                f"{rel}: no {FILE_COLUMN!r} column (the file of each row; the header has {found})"
            )
        tables.tables[rel] = table
        for number, row in rows:
            _add_row(tables, rel, number, row)
    return tables


def _jsonl_rows(text: str, rel: str) -> Any:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise AnnotationError(f"{rel}:{number}: not a JSON object: {exc}") from None
        if not isinstance(row, dict):
            raise AnnotationError(f"{rel}:{number}: not a JSON object")
        yield number, row


def _add_row(tables: Tables, rel: str, number: int, row: dict[Any, Any]) -> None:
    if None in row:  # csv.DictReader's key for the fields past the header's
        raise AnnotationError(f"{rel}:{number}: more fields than the header names")
    name = row.get(FILE_COLUMN)
    if not isinstance(name, str) or not name:
        raise AnnotationError(f"{rel}:{number}: no {FILE_COLUMN!r} (the file of the row)")
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or ":" in name[:2] or name.startswith("~"):
        raise AnnotationError(
            f"{rel}:{number}: {FILE_COLUMN} {name!r} points outside its folder; use a path "
            "inside it"
        )
    path = _inside(tables.tables[rel].folder, str(pure))
    if path in tables.rows:
        other = tables.rows[path][0]
        raise AnnotationError(f"{rel}:{number}: {path} is listed twice (also in {other})")
    tables.rows[path] = (rel, row)
    tables.order[path] = len(tables.order)


class ImageListLayout(Layout):
    name = "imagelist"
    detect_order = 45
    # Labels are whole-image classes: nothing moves, but the tables are derived (and
    # validate re-derives them from the source's).
    labelled = True

    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        """A table that lists one of the input's files (a table that cannot be read is taken
        too: discovery then says why)."""
        if not find_tables(root):
            return False
        try:
            rows = read_tables(root).rows
        except AnnotationError:
            return True
        return any(rel in rows for rel in candidates)

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        try:
            tables = read_tables(root)
        except AnnotationError as exc:
            raise InputError(str(exc)) from None
        if not tables.tables:
            raise InputError(f"{root}: no {' or '.join(TABLE_NAMES)} (the table of the files)")
        found = split_folder_sources(root, self.name, walk, split_names, augmented, False)
        skipped = list(found.skipped)
        sources = []
        for source in found.sources:
            listed = tables.rows.get(source.path)
            if listed is None:
                names = " or ".join(sorted(tables.tables))
                skipped.append(Skip(source.path, f"not listed in {names}"))
                continue
            label = listed[1].get(LABEL_COLUMN)
            sources.append(replace(source, label=None if label is None else str(label)))
        on_disk = set(walk.candidates)
        for path, (table, _) in sorted(tables.rows.items()):
            if path not in on_disk:
                skipped.append(Skip(path, f"listed in {table} but not a readable file here"))
        return replace(found, sources=tuple(sources), skipped=sorted_skips(skipped), state=tables)

    def vocabulary(self, dataset: Dataset) -> tuple[Any, ...]:
        return ()

    def derived_line(self, record: Record) -> Record | None:
        """Every image line: its path, and its source's (whose row it carries)."""
        source = record.get("source")
        if record.get("kind") is not None or not isinstance(source, dict):
            return None
        return {"path": record.get("path"), "source": source.get("path")}

    def derived_names(self, state: Tables | None) -> list[str]:
        return [] if state is None else sorted(state.tables)

    def derived_file(
        self, state: Tables | None, name: str, images: dict[str, list[Record]]
    ) -> bytes | None:
        """The table ``name`` with a row per output of its images: in its sources' order, each
        source's outputs in path order."""
        table = None if state is None else state.tables.get(name)
        if state is None or table is None:
            return None
        prefix = table.folder + "/" if table.folder else ""
        keyed = []
        for record in (r for lines in images.values() for r in lines):
            source = str(record.get("source"))
            listed = state.rows.get(source)
            if listed is None or listed[0] != name:
                continue
            path = str(record["path"])
            row = {**listed[1], FILE_COLUMN: path.removeprefix(prefix)}
            keyed.append(((state.order[source], path), row))
        rows = [row for _, row in sorted(keyed, key=lambda item: item[0])]
        if table.kind == "jsonl":
            text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            return text.encode("utf-8")
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, table.columns, lineterminator=table.newline)
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().encode("utf-8")

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        tables = read_tables(source_root)
        return (), tables if tables.tables else None


__all__ = ["FILE_COLUMN", "LABEL_COLUMN", "ImageListLayout", "Tables", "find_tables", "read_tables"]
