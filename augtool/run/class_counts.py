"""``output.class_counts: true``: each label file's and annotations file's manifest line records how
many objects of each class the file holds, counted by its layout from the file as written
(:meth:`augtool.layouts.base.Layout.class_counts`), so that ``validate manifest`` can name a
label file edited to change its classes (docs/governance.md, "Class counts of label files")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augtool.layouts.base import AnnotationError, Layout

#: the manifest lines of files that hold labels
LABEL_KINDS = ("label", "annotations")


class ClassCounter:
    """Adds ``classes`` to the label lines of the output at ``output_root``."""

    def __init__(self, output_root: Path, layout: Layout) -> None:
        self.output_root = output_root
        self.layout = layout

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        if record.get("type") != "file" or record.get("kind") not in LABEL_KINDS:
            return record
        path = record["path"]
        try:
            counts = self.layout.class_counts((self.output_root / path).read_bytes(), path)
        except (OSError, AnnotationError):
            # a label file the layout read to write it always parses; were it not to, the
            # line without counts is what validate reports
            return record
        return record if counts is None else {**record, "classes": counts}
