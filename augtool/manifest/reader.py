"""Reading a manifest: the one streaming reader every consumer uses.

:class:`ManifestReader` yields a manifest's lines one at a time (never the whole file in
memory), each with its number, byte offset and text, and checks the structure on the way: the
header first, the footer last, and the footer's digest of every byte before it. How it treats a
problem is its mode:

- ``strict`` (a rerun reading the previous run): the first problem raises :class:`ManifestDamaged`;
- ``report`` (``augtool validate``): each problem is noted in :attr:`ManifestReader.problems`
  with its line number, the footer's counts are checked against the lines, and reading goes on;
- ``salvage`` (``--force``): whatever parses is yielded, nothing is checked.

A line comes as an :class:`Entry` holding the parsed JSON object; :meth:`Entry.record` gives the
typed record (:mod:`augtool.manifest.records`) for consumers that want one checked.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from augtool.errors import ManifestError
from augtool.manifest.names import MANIFEST_NAME
from augtool.manifest.records import SCHEMA, SCHEMA_VERSION, Record, parse_record

Mode = Literal["strict", "report", "salvage"]
#: A first line longer than this is not an augtool header (which holds a recipe, not data).
_HEADER_LIMIT = 16 * 2**20
#: The footer's counts that must equal the number of lines of each kind.
_TALLIED = ("files", "original", "augmented", "skipped")


class ManifestDamaged(Exception):
    """A manifest read in ``strict`` mode is truncated, edited or not JSON Lines."""

    def __init__(self, path: Path, number: int, message: str) -> None:
        super().__init__(f"{path}:{number}: {message}")
        self.number = number
        self.message = message


@dataclass(frozen=True, slots=True)
class Entry:
    """One parsed line: its 1-based number, byte offset, bytes as written, and JSON object."""

    number: int
    offset: int
    raw: bytes
    value: dict[str, Any]

    @property
    def type(self) -> Any:
        return self.value.get("type")

    def record(self) -> Record:
        """The typed record; raises :class:`~augtool.manifest.records.RecordError`."""
        return parse_record(self.value)


class ManifestReader:
    """Streams the manifest at ``path`` (see the module's docstring for ``mode``)."""

    def __init__(self, path: Path, mode: Mode = "strict") -> None:
        self.path = Path(path)
        self.mode = mode
        #: (line number, message) of each problem found (``report`` mode)
        self.problems: list[tuple[int, str]] = []
        #: the footer's line number and object, once the lines are read
        self.footer: tuple[int, dict[str, Any]] | None = None
        self._header_line: bytes | None = None
        self._header: dict[str, Any] = {}

    def raw_lines(self) -> Iterator[tuple[int, int, bytes]]:
        """Each line's number, byte offset and bytes, unchecked."""
        try:
            with open(self.path, "rb") as handle:
                offset = 0
                for number, raw in enumerate(handle, start=1):
                    yield number, offset, raw
                    offset += len(raw)
        except FileNotFoundError:
            raise ManifestError(f"{self.path}: no such manifest") from None
        except IsADirectoryError:
            raise ManifestError(f"{self.path}: is a folder, expected a manifest.jsonl") from None
        except OSError as exc:
            raise ManifestError(f"{self.path}: cannot read: {exc.strerror or exc}") from None

    def header(self) -> dict[str, Any]:
        """The header line, checked to be an augtool manifest of the version this augtool reads;
        raises :class:`ManifestError` when it is not. The lines read later must begin with it."""
        line = next((raw for _, _, raw in self.raw_lines()), b"")
        if not line:
            raise ManifestError(f"{self.path}: empty file, not an augtool manifest")
        try:
            header = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            raise ManifestError(f"{self.path}:1: not JSON Lines, not an augtool manifest") from None
        if not isinstance(header, dict) or header.get("schema") != SCHEMA:
            raise ManifestError(f"{self.path}:1: not an augtool manifest (schema {SCHEMA!r})")
        if header.get("type") != "header":
            raise ManifestError(f"{self.path}:1: the first line is not the manifest header")
        if header.get("schema_version") != SCHEMA_VERSION:
            raise ManifestError(
                f"{self.path}:1: schema version {header.get('schema_version')!r} is not supported "
                f"(this augtool reads version {SCHEMA_VERSION})"
            )
        self._header_line = line
        self._header = header
        return header

    def entries(self) -> Iterator[Entry]:
        """Every line but the footer, the header included, in order; the footer and its digest
        are checked when the last line has been read (see :attr:`footer`)."""
        digest = hashlib.sha256()
        tally: Counter[str] = Counter()
        last = 0
        self.footer = None
        for number, offset, raw in self.raw_lines():
            last = number
            if number == 1 and self._header_line is not None and raw != self._header_line:
                raise ManifestError(f"{self.path}: changed while it was being read")
            if self.footer is not None and self.mode != "salvage":
                self._problem(number, "a line after the footer")
                continue
            known = number == 1 and self._header_line is not None
            value = self._header if known else self._parse(number, raw)
            if value is not None and value.get("type") == "footer" and self.mode != "salvage":
                self.footer = (number, value)
                continue
            digest.update(raw)
            if value is None:
                continue
            if number == 1 and value.get("type") != "header" and self.mode == "strict":
                self._problem(number, "the first line is not the manifest header")
            _tally(tally, value)
            yield Entry(number, offset, raw, value)
        if self.mode != "salvage":
            self._check_footer(digest.hexdigest(), tally, last)

    def records(self) -> Iterator[tuple[int, Record]]:
        """Every line but the footer as a typed record, with its number. A line that is not a
        record of its type is a problem (``RecordError`` in ``strict`` mode)."""
        from augtool.manifest.records import RecordError

        for entry in self.entries():
            try:
                yield entry.number, entry.record()
            except RecordError as exc:
                self._problem(entry.number, str(exc))

    def lines_at(self, numbers: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        """The objects at the given line numbers (a second pass, for ``recompute``)."""
        for number, _, raw in self.raw_lines():
            if number in numbers:
                yield number, json.loads(raw)

    def _parse(self, number: int, raw: bytes) -> dict[str, Any] | None:
        if not raw.endswith(b"\n") and self.mode != "salvage":
            self._problem(number, "the line is cut short (no newline); the manifest is truncated")
            return None
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._problem(number, f"not valid JSON ({exc})")
            return None
        if not isinstance(value, dict):
            self._problem(number, "not a JSON object")
            return None
        return value

    def _check_footer(self, digest: str, tally: Counter[str], last: int) -> None:
        """The one place a footer's digest is compared with the lines before it."""
        if self.footer is None:
            self._problem(last + 1, "no footer; the manifest is truncated or unfinished")
            return
        number, footer = self.footer
        report = self.mode == "report"
        unknown = sorted(set(footer) - {"type", "counts", "sha256"})
        if unknown and report:
            self._problem(number, f"unknown footer field(s) {', '.join(unknown)}")
        if report and footer.get("counts") != self._header.get("counts"):
            self._problem(number, "the footer's counts are not the header's")
        expected = footer.get("sha256")
        if not isinstance(expected, str) or expected.lower() != digest:
            self._problem(
                number,
                f"FAILED footer sha256 expected={expected} found={digest}; "
                "the manifest was edited or truncated",
            )
        counts = footer.get("counts")
        if report and isinstance(counts, dict):
            for key in _TALLIED:
                if counts.get(key, 0) != tally[key]:
                    self._problem(
                        number,
                        f"FAILED footer count {key} expected={counts.get(key, 0)} "
                        f"found={tally[key]}",
                    )

    def _problem(self, number: int, message: str) -> None:
        if self.mode == "strict":
            raise ManifestDamaged(self.path, number, message)
        if self.mode == "report":
            self.problems.append((number, message))


def _tally(tally: Counter[str], value: dict[str, Any]) -> None:
    kind = value.get("type")
    if kind == "skipped":
        tally["skipped"] += 1
    elif kind == "file":
        tally["files"] += 1
        if isinstance(value.get("role"), str):
            tally[value["role"]] += 1


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


def listed_paths(output_root: Path) -> set[str]:
    """The path of every file the (complete) manifest of ``output_root`` lists."""
    reader = ManifestReader(output_root / MANIFEST_NAME, mode="strict")
    return {e.value["path"] for e in reader.entries() if e.type == "file"}
