"""The manifest itself: the one reader (footer digest and counts, header), the record types a
manifest may hold after its header, and each record's own form and order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from augtool.manifest import ManifestReader
from augtool.validate.checks import HEX64
from augtool.validate.report import Findings, Problem


class ValidatingReader:
    """The manifest as validation reads it: the one reader in ``report`` mode (each problem
    noted with its line number, the footer's digest and counts checked there), plus the
    header's own consistency and the record types a manifest may hold after its header."""

    def __init__(self, path: Path) -> None:
        self.reader = ManifestReader(path, mode="report")
        self.name = str(path)
        self.problems: list[Problem] = []

    def header(self) -> dict[str, Any]:
        header = self.reader.header()
        recipe = header.get("recipe")
        if isinstance(recipe, dict) and "seed" in recipe and header.get("seed") != recipe["seed"]:
            seed = header.get("seed")
            self._problem(1, f"the header's seed {seed!r} is not its recipe's {recipe['seed']!r}")
        return header

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every record after the header; then the footer checks."""
        for entry in self.reader.entries():
            self._take_reader_problems()
            if entry.number == 1:
                continue
            if entry.type not in ("file", "skipped"):
                self._problem(entry.number, f"unknown record type {entry.type!r}")
                continue
            yield entry.number, entry.value
        self._take_reader_problems()

    def _take_reader_problems(self) -> None:
        """The reader's problems so far, in line order with this class's own."""
        for number, message in self.reader.problems:
            self._problem(number, message)
        self.reader.problems.clear()

    def _problem(self, number: int, message: str) -> None:
        self.problems.append(Problem("manifest", f"{self.name}:{number}", message))

    def lines_at(self, numbers: set[int]) -> Iterator[tuple[int, dict[str, Any]]]:
        """The records at the given line numbers (a second pass, for ``recompute``)."""
        return self.reader.lines_at(numbers)


class RecordForm:
    """Each record with a safe path: listed once and in path order; a file line with a sha256, a
    size, a role and a source. Counts the files and the skipped sources."""

    def __init__(self, manifest: str, found: Findings) -> None:
        self.manifest = manifest
        self.found = found
        self.files = 0
        self.skipped = 0
        self._previous = ""

    def take(self, number: int, record: dict[str, Any], path: str) -> bool:
        """Whether ``record`` is a well-formed file line the other checks can read."""
        if path <= self._previous:
            self._at(number, f"{path!r} is listed twice or out of path order")
        self._previous = path
        if record["type"] == "skipped":
            self.skipped += 1
            return False
        if not self._well_formed(number, record):
            return False
        self.files += 1
        return True

    def _well_formed(self, number: int, record: dict[str, Any]) -> bool:
        sha, size, role = record.get("sha256"), record.get("bytes"), record.get("role")
        if not isinstance(sha, str) or not HEX64.match(sha):
            self._at(number, f"sha256 {sha!r} is not 64 hex digits")
        elif not isinstance(size, int) or isinstance(size, bool) or size < 0:
            self._at(number, f"bytes {size!r} is not a size")
        elif role not in ("original", "augmented", "dataset"):
            self._at(number, f"role {role!r}: expected original, augmented or dataset")
        elif not isinstance(record.get("source"), dict):
            self._at(number, "no source")
        else:
            return True
        return False

    def _at(self, number: int, message: str) -> None:
        self.found.add("manifest", f"{self.manifest}:{number}", message)
