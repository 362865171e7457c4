"""A source's boxes and their class names, read through its layout (as expand reads them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from augtool.layouts import registry
from augtool.layouts.base import AnnotationError, LabelRules, SourceLabels
from augtool.layouts.discovery import Dataset, Source
from augtool.report.model import Box


class LabelReader:
    """Reads the labels of the sources of ``dataset`` (in ``root``)."""

    def __init__(self, root: Path, dataset: Dataset) -> None:
        self.root = root
        self.dataset = dataset
        self.layout = registry.get(dataset.layout)
        vocabulary = self.layout.vocabulary(dataset)
        self.rules = LabelRules(dataset.layout, vocabulary)
        self.classes: dict[Any, Any] = {}
        for entry in vocabulary:
            if isinstance(entry, dict):
                self.classes[entry.get("id")] = entry.get("name")
            else:
                self.classes[entry[0]] = entry[1]

    def labels(self, source: Source) -> SourceLabels | None:
        payload = None
        if self.dataset.state is not None:
            payload = self.layout.payload(self.dataset.state, source.path)
        if payload is not None:
            return SourceLabels(f"{source.annotation}: {source.path}", payload=payload)
        if source.annotation is not None:
            data = (self.root / source.annotation).read_bytes()
            return SourceLabels(source.annotation, data=data)
        return None

    def boxes(self, source: Source, size: tuple[int, int]) -> tuple[list[Box], str | None]:
        """The source's boxes (class, width, height, centre x, centre y as fractions of the
        image), and the reason when its labels cannot be read (then no boxes)."""
        try:
            labels = self.labels(source)
            if labels is None:
                return [], None
            targets = self.layout.read(labels, self.rules, size)
        except (OSError, AnnotationError) as exc:
            return [], str(exc)
        height, width = (max(1, int(v)) for v in size)
        anns = labels.payload[1] if isinstance(labels.payload, tuple) else None
        found: list[Box] = []
        for box, label in zip(targets.boxes, targets.box_labels, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            found.append(
                (
                    self._name(label, anns),
                    (x1 - x0) / width,
                    (y1 - y0) / height,
                    (x0 + x1) / 2 / width,
                    (y0 + y1) / 2 / height,
                )
            )
        return found, None

    def instances(self, source: Source, size: tuple[int, int]) -> list[str]:
        """The class name of each object of the source: each box and polygon, except that the
        parts of one COCO annotation (its box and its polygons) are one object. Raises
        ``OSError`` or :class:`AnnotationError` when its labels cannot be read."""
        labels = self.labels(source)
        if labels is None:
            return []
        targets = self.layout.read(labels, self.rules, size)
        anns = labels.payload[1] if isinstance(labels.payload, tuple) else None
        names: list[str] = []
        seen: set[Any] = set()
        for label in [*targets.box_labels, *targets.polygon_labels]:
            if isinstance(label, dict) and "ann" in label:
                if label["ann"] in seen:
                    continue
                seen.add(label["ann"])
            names.append(self._name(label, anns))
        return names

    def _name(self, label: Any, anns: list[Any] | None) -> str:
        """A box's class name: a label file's class id by its name, an annotation's category,
        or the name a label file gives it."""
        key: Any = None
        if isinstance(label, dict) and "class" in label:
            key = label["class"]
        elif isinstance(label, dict) and "ann" in label and anns is not None:
            key = anns[label["ann"]].get("category_id")
        elif isinstance(label, dict):  # a label file that names its classes (VOC, LabelMe)
            key = label.get("name", label.get("label"))
        name = self.classes.get(key, key)
        return "" if name is None else str(name)
