"""Class counts of label files (``output.class_counts``): each label file's and annotations file's
objects per class, counted again by the layout from the file as it is, against the counts its
manifest line records. A label file rewritten to add, drop or rename objects, with its line's
sha256 and SHA256SUMS rewritten to match, passes fixity; its counts no longer match."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augtool.layouts.base import AnnotationError
from augtool.layouts.class_counts import describe
from augtool.run.class_counts import LABEL_KINDS
from augtool.validate.checks import mapping
from augtool.validate.report import Findings


class ClassCounts:
    """Collects the label lines as the manifest streams by; :meth:`run` counts their files."""

    def __init__(self, header: dict[str, Any], found: Findings) -> None:
        self.found = found
        # The recipe's own flag (covered by the recipe hash): a line without counts is then a
        # finding, so that deleting the key does not pass.
        output = mapping(mapping(header.get("recipe")).get("output"))
        self.recorded = output.get("class_counts") is True
        self.layout_name = header.get("layout")
        self.lines: list[tuple[str, Any]] = []

    def take(self, path: str, record: dict[str, Any]) -> None:
        if self.recorded and record.get("kind") in LABEL_KINDS:
            self.lines.append((path, record.get("classes")))

    def run(self, root: Path) -> int:
        """Count each label file again; the number of files counted."""
        if not self.lines:
            return 0
        from augtool.layouts import registry

        layout = registry.find(self.layout_name)
        checked = 0
        for path, recorded in self.lines:
            try:
                data = (root / path).read_bytes()
            except OSError:
                continue  # a missing or unreadable file is completeness's finding
            try:
                counts = None if layout is None else layout.class_counts(data, path)
            except AnnotationError as exc:
                self.found.add("labels", path, f"its classes cannot be counted: {exc}")
                continue
            if counts is None:
                continue  # a file of the layout that names no classes (a list of images)
            checked += 1
            if not _counts(recorded):
                message = "no class counts recorded (the recipe records them: output.class_counts)"
                self.found.add("labels", path, message)
            elif counts != recorded:
                self.found.add(
                    "labels",
                    path,
                    f"holds {describe(counts)} objects by class; the manifest records "
                    f"{describe(recorded)}",
                )
        return checked


def _counts(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v > 0
        for k, v in value.items()
    )
