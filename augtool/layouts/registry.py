"""The layouts by name. Adding one is a module with a :class:`~augtool.layouts.base.Layout`
subclass and one line in ``_CLASSES``; nothing outside ``augtool/layouts`` names a layout.

``auto`` asks each layout whether the input is one of its, in the order of their
``detect_order``: those that find their own files first (``yolo``: a ``data.yaml``; ``coco``:
``annotations/*.json``; ``masks``: a ``masks`` folder beside an ``images`` one), then
``imagefolder`` (an image in a subfolder of a split root), then ``flat``, which takes anything.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from augtool.errors import InputError
from augtool.layouts.base import Layout

#: Every layout (its module and class), in the order the recipe's documentation lists them.
_CLASSES: dict[str, tuple[str, str]] = {
    "flat": ("augtool.layouts.flat", "FlatLayout"),
    "imagefolder": ("augtool.layouts.imagefolder", "ImageFolderLayout"),
    "yolo": ("augtool.layouts.yolo", "YoloLayout"),
    "coco": ("augtool.layouts.coco", "CocoLayout"),
    "masks": ("augtool.layouts.masks", "MasksLayout"),
    "table": ("augtool.layouts.table", "TableLayout"),
    "voc": ("augtool.layouts.voc", "VocLayout"),
    "labelme": ("augtool.layouts.labelme", "LabelMeLayout"),
    "imagelist": ("augtool.layouts.imagelist", "ImageListLayout"),
}


class _Layouts(Mapping[str, Layout]):
    """The layouts by name, each imported when first asked for: most load numpy and Pillow,
    which reading one manifest (``validate manifest``) does without."""

    def __getitem__(self, name: str) -> Layout:
        return _load(name)

    def __iter__(self) -> Iterator[str]:
        return iter(_CLASSES)

    def __len__(self) -> int:
        return len(_CLASSES)

    def __contains__(self, name: object) -> bool:
        return name in _CLASSES


@cache
def _load(name: str) -> Layout:
    module, cls = _CLASSES[name]
    layout: Layout = getattr(importlib.import_module(module), cls)()
    if layout.name != name:
        raise AssertionError(f"{module}.{cls} is named {layout.name!r}, registered as {name!r}")
    return layout


LAYOUTS: Mapping[str, Layout] = _Layouts()


@cache
def detect_order() -> tuple[Layout, ...]:
    """The order ``auto`` asks the layouts in."""
    return tuple(sorted(LAYOUTS.values(), key=lambda layout: layout.detect_order))


def get(name: str) -> Layout:
    """The layout called ``name``; raises ``InputError`` for a name no layout has."""
    if name not in _CLASSES:
        raise InputError(f"unknown layout {name!r}; expected one of {', '.join(LAYOUTS)}")
    return _load(name)


def find(name: Any) -> Layout | None:
    """The layout a manifest header names, or None (a header may hold anything)."""
    return _load(name) if isinstance(name, str) and name in _CLASSES else None


#: Layouts asked before this ``detect_order`` find their own files; those after take any tree
#: of images, so only the first kind can make an input ambiguous.
OWN_FILES_ORDER = 50


def detect(root: Path, candidates: list[str], split_names: set[str]) -> Layout:
    """The first layout, in registry order, that takes the input as one of its own. An input
    that two layouts finding their own files both take (a ``data.yaml`` and an
    ``annotations/`` folder) is refused with both names: guessing would drop one's labels."""
    found = [
        layout
        for layout in detect_order()
        if layout.detect_order < OWN_FILES_ORDER and layout.detect(root, candidates, split_names)
    ]
    if len(found) > 1:
        names = [layout.name for layout in found]
        choices = " or ".join(f"input.layout: {name}" for name in names)
        raise InputError(
            f"{root}: the input is both a {' and a '.join(names)} dataset; say which with "
            f"{choices} in the recipe"
        )
    if found:
        return found[0]
    for layout in detect_order():
        if layout.detect(root, candidates, split_names):
            return layout
    raise InputError(f"{root}: no layout takes this input")  # flat takes any: never here


def payload_from(record: dict[str, Any]) -> Any:
    """The hash of the payload an output line was made from (None: no payload made it)."""
    for layout in LAYOUTS.values():
        if layout.record_fields and layout.record_fields[0] in record:
            return record[layout.record_fields[0]].get("from")
    return None


def payload_current(record: dict[str, Any], payload_sha: str | None) -> bool:
    """Whether an output line made from a task's payload was made from this one (a line no
    payload made is current whatever the task carries)."""
    for layout in LAYOUTS.values():
        if layout.record_fields:
            field = layout.record_fields[0]
            if field in record and record[field].get("from") != payload_sha:
                return False
    return True


__all__ = ["LAYOUTS", "detect", "detect_order", "find", "get", "payload_current", "payload_from"]
