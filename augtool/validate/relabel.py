"""Re-deriving labels, for ``validate manifest --recompute``.

An augmented image's labels are a pure function of its source's labels, the steps its manifest
line records and the recipe's target rules, as its pixels are of the source and the steps. So
``--recompute`` re-reads the source's labels from ``--source``, moves them through the image's
recorded steps with the code ``expand`` uses, and compares what comes out with what the output
holds: a YOLO label file's or a mask's bytes, and the annotations (and dropped ids) a COCO
image's line records. Each split's COCO JSON is then rebuilt from the image lines, as ``expand``
builds it, and must hash as its own line says.

:func:`label_rules` runs in the main process (it reads ``data.yaml`` or the COCO JSON once);
:func:`moved_label` and :func:`moved_coco` run beside the image's re-derivation, in a worker,
on the source decoded once, through :mod:`augtool.run.derive` as ``expand`` moves them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.canonical import canonical_sha256
from augtool.layouts import AnnotationError
from augtool.manifest.records import RecordDict
from augtool.run.derive import (
    LABELLED,
    LabelRules,
    Opened,
    SourceLabels,
    move_targets,
    with_labels,
)


@dataclass(frozen=True)
class CocoSource:
    """A COCO source folder's annotations: each split's head and image folder, each image's
    entry and annotations, as ``expand`` read them."""

    splits: dict[str, Any]  # split name -> annotations.coco.CocoSplit
    images: dict[str, tuple[str, dict[str, Any], list[dict[str, Any]]]]

    def task_coco(self, path: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """The (image entry, annotations) pair ``expand``'s plan gives the source at ``path``."""
        found = self.images.get(path)
        if found is None:
            return None
        from augtool.layouts.coco import image_task

        return image_task(*found[1:])


def label_rules(
    header: RecordDict, source_root: Path
) -> tuple[LabelRules | None, CocoSource | None]:
    """The rules for the manifest's layout, reading the class names (``data.yaml``) or the COCO
    JSON from ``source_root``; ``(None, None)`` for a layout without labels. Raises
    :class:`AnnotationError` when the source's dataset files cannot be read."""
    layout = header.get("layout")
    if layout not in LABELLED:
        return None, None
    recipe = header.get("recipe") if isinstance(header.get("recipe"), dict) else {}
    targets = recipe.get("targets") if isinstance(recipe.get("targets"), dict) else {}
    bbox = targets.get("bbox") if isinstance(targets.get("bbox"), dict) else {}
    rules = {
        "bbox": (float(bbox.get("min_visibility", 0.0)), float(bbox.get("min_area", 0.0))),
        "flip_pairs": tuple((str(a), str(b)) for a, b in targets.get("flip_pairs") or []),
    }
    if layout == "coco":
        from augtool.layouts.coco import categories_of, read_coco_dataset

        dataset = read_coco_dataset(source_root)
        categories = tuple(categories_of(dataset))
        coco = CocoSource(dataset.splits, dataset.images)
        return LabelRules("coco", categories=categories, **rules), coco
    names: dict[int, str] = {}
    if layout == "yolo":
        from augtool.layouts.yolo import read_data_yaml

        names = read_data_yaml(source_root)[1]
    return LabelRules(str(layout), class_names=tuple(sorted(names.items())), **rules), None


def moved_label(
    opened: Opened, rules: LabelRules, steps: list[RecordDict], data: bytes, where: str
) -> tuple[bytes, RecordDict]:
    """A label file (YOLO text or mask PNG) of the decoded source ``opened``, moved through
    ``steps`` by :mod:`augtool.run.derive` as ``expand`` writes it, and what its manifest
    line says besides (dropped objects, mirrored classes)."""
    moved = move_targets(with_labels(opened, SourceLabels(where, data=data), rules), steps)
    assert moved.label is not None
    return moved.label, moved.said


def moved_coco(
    opened: Opened,
    rules: LabelRules,
    steps: list[RecordDict],
    source: tuple[dict[str, Any], list[dict[str, Any]]],
    where: str,
) -> RecordDict:
    """What an augmented COCO image's line records of its labels: ``coco`` (image entry,
    moved annotations, the hash of the source's) and ``dropped``."""
    moved = move_targets(with_labels(opened, SourceLabels(where, coco=source), rules), steps)
    assert moved.coco is not None
    return {"coco": {**moved.coco, "from": canonical_sha256(source)}, **moved.said}


def split_json_sha(split: Any, images: list[RecordDict]) -> str:
    """The sha256 of the COCO JSON ``expand`` writes for ``split`` from its image lines."""
    from augtool.layouts.coco import split_json

    return hashlib.sha256(split_json(split, images)).hexdigest()


__all__ = [
    "LABELLED",
    "AnnotationError",
    "CocoSource",
    "LabelRules",
    "label_rules",
    "moved_coco",
    "moved_label",
    "split_json_sha",
]
