"""The one derive path: a source's bytes and labels in, a variant's bytes and labels out.

``expand`` (the worker), ``validate --recompute`` and ``preview`` all derive a variant here, so
they agree on every decision that shapes an output: the decode and its pixel limit, the steps
(sampled from a seed, or replayed from a manifest line), the kernels that warp, the targets
moved through the steps, the objects dropped (``min_visibility``, ``min_area``), the left/right
classes swapped on a mirror (``flip_pairs``), the label bytes and the encoded image bytes.

Two calls: :func:`open_source` decodes a source once and reads its labels (raising
:class:`~augtool.media.image.codecs.DecodeError` or
:class:`~augtool.layouts.base.AnnotationError`, the reasons ``expand`` skips it for);
:func:`derive` then makes each variant of it. Nothing outside the arguments decides a byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from augtool.layouts import FORMATS, read_targets
from augtool.layouts.base import AnnotationError
from augtool.media.image.codecs import Decoded, decode, encode, kept_exif
from augtool.media.image.targets import (
    NOTHING_LEFT,
    Targets,
    apply_targets,
    filter_objects,
    mirrored,
    moved_geometry,
)
from augtool.media.image.transforms import Step, kernels, replay, run
from augtool.media.image.transforms.fusion import Reductions

Record = dict[str, Any]
CocoTask = tuple[dict[str, Any], list[dict[str, Any]]]  # (image entry, annotations)

#: The layouts whose labels move with the image.
LABELLED = ("yolo", "masks", "coco")
#: A COCO box a geometric step left thinner than this (pixels, wide or high) is dropped.
MIN_BOX_SIDE = 1.0


@dataclass(frozen=True)
class InputLimits:
    """What the recipe's ``input`` section allows a source to be."""

    formats: tuple[str, ...]
    max_pixels: int | None = None


@dataclass(frozen=True)
class LabelRules:
    """How labels move besides the steps: the layout (``yolo``, ``masks``, ``coco``), the class
    names (flip pairs name classes), the COCO categories (their keypoint names) and the
    recipe's ``targets`` rules."""

    layout: str
    class_names: tuple[tuple[int, str], ...] = ()
    bbox: tuple[float, float] = (0.0, 0.0)  # min_visibility, min_area
    flip_pairs: tuple[tuple[str, str], ...] = ()
    categories: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SourceLabels:
    """A source's labels as read: a label file's bytes, or its COCO (image entry, annotations);
    ``where`` names them in an error."""

    where: str
    data: bytes | None = None
    coco: CocoTask | None = None


@dataclass
class Opened:
    """A decoded source with its targets, ready for any number of variants. The box reductions
    its variants share live here and go with it."""

    decoded: Decoded
    kernels: str
    targets: Targets | None = None
    labels: SourceLabels | None = None
    rules: LabelRules | None = None
    reductions: Reductions = field(default_factory=Reductions)

    @cached_property
    def exif(self) -> bytes | None:
        """The EXIF block every variant carries when metadata is kept (orientation reset), or
        None; raises :class:`~augtool.media.image.codecs.EncodeError` when it cannot be
        written back."""
        return None if self.decoded.exif is None else kept_exif(self.decoded.exif)


@dataclass(frozen=True)
class Moved:
    """A variant's labels, as ``expand`` writes them: the kept targets (classes swapped on a
    mirror), a label file's bytes or a COCO image's ``{"image", "annotations"}``, and what the
    manifest line says besides (``dropped``, and ``flipped_labels`` for a label file)."""

    targets: Targets
    label: bytes | None = None
    coco: Record | None = None
    said: Record = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """One derived variant: its pixels (``None`` when no step changed one), (height, width),
    step records, moved labels, and its file bytes when it was encoded."""

    image: np.ndarray | None
    size: list[int]
    steps: list[Record]
    moved: Moved | None
    data: bytes | None


def open_source(
    data: bytes,
    limits: InputLimits,
    kernels_name: str = kernels.DEFAULT,
    labels: SourceLabels | None = None,
    rules: LabelRules | None = None,
) -> Opened:
    """Decode ``data`` within ``limits`` and read its ``labels`` by ``rules``. Raises
    ``DecodeError`` or ``AnnotationError`` (whose message is the skip reason)."""
    decoded = decode(data, list(limits.formats), limits.max_pixels)
    opened = Opened(decoded, kernels.check(kernels_name))
    return opened if labels is None or rules is None else with_labels(opened, labels, rules)


def with_labels(opened: Opened, labels: SourceLabels, rules: LabelRules) -> Opened:
    """``opened`` (the same decode and reductions) with ``labels`` read by ``rules``. Raises
    ``AnnotationError`` when they do not parse."""
    targets = targets_of(labels, rules, opened.decoded.size)
    return replace(opened, targets=targets, labels=labels, rules=rules)


def targets_of(labels: SourceLabels, rules: LabelRules, size: Any) -> Targets | None:
    """``labels`` read as the targets of an image of ``size`` (height, width). Raises
    ``AnnotationError`` when they do not parse."""
    height, width = (int(v) for v in size)
    return read_targets(
        rules.layout,
        dict(rules.class_names),
        (height, width),
        labels.where,
        label=labels.data,
        coco=None if labels.coco is None else labels.coco[1],
    )


def derive(
    opened: Opened,
    steps: tuple[Step, ...] | list[Step] = (),
    seed: int | None = None,
    records: list[Record] | None = None,
    encoder: dict[str, Any] | None = None,
    keep_metadata: bool = False,
) -> Variant:
    """A variant of ``opened``: ``steps`` sampled from ``seed``, or the recorded steps
    (``records``) replayed; its labels moved; encoded with ``encoder`` settings when given
    (EXIF kept when ``keep_metadata``). Raises ``EncodeError`` when the pixels cannot be
    written in the output format."""
    decoded = opened.decoded
    image: np.ndarray | None = None
    if records is not None:
        image = replay(records, decoded.image, opened.kernels, opened.reductions)
    elif steps:
        assert seed is not None
        rng = np.random.Generator(np.random.PCG64(seed))
        array = decoded.image
        image, records = run(list(steps), array, rng, opened.kernels, opened.reductions)
        if image is array:
            image = None  # no pixel changed: the decoded picture is encoded as it is
    records = [] if records is None else records
    if image is not None and image is decoded.image:
        image = None
    size = list(decoded.size) if image is None else [int(image.shape[0]), int(image.shape[1])]
    data = None
    if encoder is not None:
        exif = opened.exif if keep_metadata else None
        if image is None:
            same = decoded.picture if decoded.picture is not None else decoded.image
            data = encode(same, encoder, decoded.icc_profile, exif)
        else:
            data = encode(image, encoder, decoded.icc_profile, exif)
    moved = None if opened.targets is None else move_targets(opened, records)
    return Variant(image, size, records, moved, data)


def pixels(opened: Opened, variant: Variant) -> np.ndarray:
    """The variant's kernel array (the decoded one when no step changed a pixel)."""
    return opened.decoded.image if variant.image is None else variant.image


def move_targets(opened: Opened, records: list[Record]) -> Moved:
    """The source's targets moved through ``records``, filtered and mirrored by the rules,
    written in the source's own format."""
    assert opened.targets is not None and opened.rules is not None
    rules = opened.rules
    moved = apply_targets(records, opened.targets, opened.kernels)
    labels = opened.labels
    coco = labels is not None and labels.coco is not None
    # A COCO box that a move left under a pixel wide or high labels nothing a detector can use.
    min_side = MIN_BOX_SIDE if coco and moved_geometry(records) else NOTHING_LEFT
    kept, dropped = filter_objects(moved, *rules.bbox, min_side=min_side)
    flipped = bool(rules.flip_pairs) and mirrored(records)
    if labels is not None and labels.coco is not None:
        return _moved_coco(labels.coco, kept, dropped, rules, flipped, labels.where)
    said: Record = {"dropped": sorted(dropped, key=lambda label: label["line"])}
    if flipped and (kept.box_labels or kept.polygon_labels):
        kept, said["flipped_labels"] = _swap_classes(kept, rules)
    label_format = FORMATS[rules.layout](dict(rules.class_names))
    return Moved(kept, label=label_format.write(kept), said=said)


def _partners(pairs: tuple[tuple[str, str], ...], ids: dict[Any, Any]) -> dict[Any, Any]:
    """Each id named by a flip pair, mapped to its partner's (pairs naming unknown names
    are left out)."""
    swap = {}
    for left, right in pairs:
        if left in ids and right in ids:
            swap[ids[left]], swap[ids[right]] = ids[right], ids[left]
    return swap


def _swap_classes(kept: Targets, rules: LabelRules) -> tuple[Targets, list[str]]:
    """A label file's classes swapped left for right; the names of the classes swapped."""
    names = dict(rules.class_names)
    swap = _partners(rules.flip_pairs, {name: cls for cls, name in rules.class_names})
    boxes = [{**lab, "class": swap.get(lab["class"], lab["class"])} for lab in kept.box_labels]
    polygons = [
        {**lab, "class": swap.get(lab["class"], lab["class"])} for lab in kept.polygon_labels
    ]
    swapped = kept.replace(box_labels=boxes, polygon_labels=polygons)
    return swapped, sorted({names.get(c, str(c)) for c in swap})


def _moved_coco(
    coco: CocoTask,
    kept: Targets,
    dropped: list[Any],
    rules: LabelRules,
    flipped: bool,
    where: str,
) -> Moved:
    """A COCO image's annotations moved: keypoints reordered and left/right categories
    swapped on a mirror; the targets are read back from the annotations written."""
    from augtool.layouts.coco import from_targets, keypoint_swaps, to_targets

    extra, anns = coco
    categories = list(rules.categories)
    swap = keypoint_swaps(categories, list(rules.flip_pairs)) if flipped else None
    out = from_targets(anns, kept, swap)
    if flipped:
        ids = {c.get("name"): c.get("id") for c in categories}
        partner = _partners(rules.flip_pairs, ids)
        for ann in out:
            ann["category_id"] = partner.get(ann.get("category_id"), ann.get("category_id"))
    gone = sorted(label["ann"] for label in dropped)
    said = {"dropped": [anns[i].get("id") for i in gone]}
    try:
        written = to_targets(out, kept.size, where)
    except AnnotationError:
        written = kept
    return Moved(written, coco={"image": extra, "annotations": out}, said=said)


__all__ = [
    "LABELLED",
    "CocoTask",
    "InputLimits",
    "LabelRules",
    "Moved",
    "Opened",
    "SourceLabels",
    "Variant",
    "derive",
    "move_targets",
    "open_source",
    "pixels",
    "targets_of",
    "with_labels",
]
