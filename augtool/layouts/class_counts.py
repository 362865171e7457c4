"""How many objects of each class a written label file holds, read from its bytes alone (no
image, no other file), for ``output.class_counts`` (docs/governance.md, "Class counts of label
files"): expand records them on each label file's manifest line, ``validate manifest`` counts
the file again and names one whose counts differ.

Each counter is pure and raises :class:`AnnotationError` naming ``where`` when the file does
not parse. Classes are what the file itself names: a YOLO line's class id (the names live in
``data.yaml``), a VOC object's ``<name>``, a LabelMe shape's ``label``, a COCO annotation's
category name (from the JSON's own ``categories``).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from augtool.layouts import safexml
from augtool.layouts.base import AnnotationError

Counts = dict[str, int]


def _sorted(counter: Counter[str]) -> Counts:
    return {name: counter[name] for name in sorted(counter)}


def yolo(data: bytes, where: str) -> Counts:
    """A YOLO label file: one object a non-empty line, its class id first."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AnnotationError(f"{where}: not UTF-8 text") from None
    counter: Counter[str] = Counter()
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if not parts[0].isdigit():
            raise AnnotationError(f"{where}: line {number}: class {parts[0]!r} is not an id")
        counter[str(int(parts[0]))] += 1
    return _sorted(counter)


def voc(data: bytes, where: str) -> Counts:
    """A Pascal VOC XML: one object an ``<object>``, named by its ``<name>``."""
    try:
        root = safexml.parse(data).root
    except safexml.UnsafeXML as exc:
        raise AnnotationError(f"{where}: {exc}") from None
    counter: Counter[str] = Counter()
    for index, obj in enumerate(root.iter("object"), start=1):
        name = (obj.findtext("name") or "").strip()
        if not name:
            raise AnnotationError(f"{where}: object {index} has no <name>")
        counter[name] += 1
    return _sorted(counter)


def _json(data: bytes, where: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"{where}: not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise AnnotationError(f"{where}: not a JSON object")
    return document


def labelme(data: bytes, where: str) -> Counts:
    """A LabelMe JSON: one object a shape, named by its ``label``."""
    shapes = _json(data, where).get("shapes")
    if not isinstance(shapes, list):
        raise AnnotationError(f"{where}: no 'shapes' list")
    counter: Counter[str] = Counter()
    for index, shape in enumerate(shapes, start=1):
        label = shape.get("label") if isinstance(shape, dict) else None
        if not isinstance(label, str):
            raise AnnotationError(f"{where}: shape {index} has no label")
        counter[label] += 1
    return _sorted(counter)


def coco(data: bytes, where: str) -> Counts:
    """A COCO JSON: one object an annotation, named by its category's ``name``."""
    document = _json(data, where)
    names: dict[Any, str] = {}
    for category in document.get("categories") or []:
        if isinstance(category, dict):
            names[category.get("id")] = str(category.get("name"))
    counter: Counter[str] = Counter()
    for index, ann in enumerate(document.get("annotations") or [], start=1):
        category = ann.get("category_id") if isinstance(ann, dict) else None
        if category not in names:
            raise AnnotationError(f"{where}: annotation {index}: unknown category {category!r}")
        counter[names[category]] += 1
    return _sorted(counter)


def describe(counts: Counts) -> str:
    """``cat: 2, dog: 1`` (``none`` for a file without objects)."""
    return ", ".join(f"{name}: {count}" for name, count in counts.items()) or "none"
