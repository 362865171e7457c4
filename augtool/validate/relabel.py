"""Re-deriving labels, for ``validate manifest --recompute``.

An augmented image's labels are a pure function of its source's labels, the steps its manifest
line records and the recipe's target rules, as its pixels are of the source and the steps. So
``--recompute`` re-reads the source's labels from ``--source``, moves them through the image's
recorded steps with the code ``expand`` uses, and compares what comes out with what the output
holds: a label file's bytes, or the fields an image's line records of labels its task carried
(the layout's payload). The dataset files the layout derives from the image lines are then made
again from those lines, as ``expand`` makes them, and must hash as their own lines say.

:func:`label_rules` runs in the main process (it reads the layout's dataset files once);
:func:`moved_label` and :func:`moved_payload` run beside the image's re-derivation, in a worker,
on the source decoded once, through :mod:`augtool.run.derive` as ``expand`` moves them. No
layout is named here: the manifest's header names it, and the registry answers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from augtool.layouts import AnnotationError, registry
from augtool.layouts.base import Layout
from augtool.manifest.records import RecordDict
from augtool.run.derive import (
    LabelRules,
    Opened,
    SourceLabels,
    labelled,
    move_targets,
    with_labels,
)
from augtool.run.derive import label_rules as rules_of


@dataclass(frozen=True)
class SourceDataset:
    """What the source folder's layout files say, as ``expand`` read them: the layout and its
    state (opaque here)."""

    layout: Layout
    state: Any

    def payload(self, path: str) -> Any:
        """What ``expand``'s plan gives the task of the source at ``path`` (None: nothing)."""
        return self.layout.payload(self.state, path)

    @property
    def record_fields(self) -> tuple[str, ...]:
        return self.layout.record_fields

    def derived_sha(self, name: str, images: dict[str, list[RecordDict]]) -> str | None:
        """The sha256 of the dataset file ``expand`` derives as ``name`` from the image lines
        of each split; None when the source's dataset has no such file."""
        data = self.layout.derived_file(self.state, name, images)
        return None if data is None else hashlib.sha256(data).hexdigest()


def label_rules(
    header: RecordDict, source_root: Path
) -> tuple[LabelRules | None, SourceDataset | None]:
    """The rules for the manifest's layout, reading its dataset files (class names, annotation
    JSONs) from ``source_root``; ``(None, None)`` for a layout without labels. Raises
    :class:`AnnotationError` when the source's dataset files cannot be read."""
    name = header.get("layout")
    layout = registry.find(name)
    if layout is None or not labelled(str(name)):
        return None, None
    recipe = header.get("recipe") if isinstance(header.get("recipe"), dict) else {}
    targets = recipe.get("targets") if isinstance(recipe.get("targets"), dict) else {}
    vocabulary, state = layout.source_rules(source_root)
    source = None if state is None else SourceDataset(layout, state)
    return rules_of(layout.name, vocabulary, targets), source


def moved_label(
    opened: Opened,
    rules: LabelRules,
    steps: list[RecordDict],
    data: bytes,
    where: str,
    image: str,
    partners: Sequence[Opened] = (),
) -> tuple[bytes, RecordDict]:
    """A label file of the decoded source ``opened``, moved through ``steps`` by
    :mod:`augtool.run.derive` as ``expand`` writes it beside the output image ``image``, and
    what its manifest line says besides (dropped objects, mirrored classes)."""
    labelled = with_labels(opened, SourceLabels(where, data=data), rules)
    moved = move_targets(labelled, steps, partners)
    assert moved.label is not None
    return registry.get(rules.layout).label_for(moved.label, image), moved.said


def moved_payload(
    opened: Opened,
    rules: LabelRules,
    steps: list[RecordDict],
    payload: Any,
    where: str,
    partners: Sequence[Opened] = (),
) -> RecordDict:
    """What an augmented image's line records of the labels its task carried (``payload``),
    moved through ``steps``."""
    labelled = with_labels(opened, SourceLabels(where, payload=payload), rules)
    moved = move_targets(labelled, steps, partners)
    return dict(moved.image_fields)


__all__ = [
    "AnnotationError",
    "LabelRules",
    "SourceDataset",
    "label_rules",
    "moved_label",
    "moved_payload",
]
