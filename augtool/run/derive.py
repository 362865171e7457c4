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

from augtool.layouts import registry
from augtool.layouts.base import LabelRules, Moved, SourceLabels
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


@dataclass(frozen=True)
class InputLimits:
    """What the recipe's ``input`` section allows a source to be."""

    formats: tuple[str, ...]
    max_pixels: int | None = None


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
class Variant:
    """One derived variant: its pixels (``None`` when no step changed one), (height, width),
    step records, moved labels, and its file bytes when it was encoded."""

    image: np.ndarray | None
    size: list[int]
    steps: list[Record]
    moved: Moved | None
    data: bytes | None


def labelled(layout: str) -> bool:
    """Whether the labels of a dataset in ``layout`` move with its images."""
    found = registry.find(layout)
    return found is not None and found.labelled


def label_rules(
    layout: str, vocabulary: tuple[Any, ...], targets: dict[str, Any]
) -> LabelRules | None:
    """How a dataset's labels move, from its vocabulary and the recipe's ``targets`` section
    (as normalised: ``bbox`` and ``flip_pairs``); None for a layout without labels."""
    if not labelled(layout):
        return None
    bbox = targets.get("bbox") if isinstance(targets.get("bbox"), dict) else {}
    return LabelRules(
        layout,
        vocabulary,
        (float(bbox.get("min_visibility", 0.0)), float(bbox.get("min_area", 0.0))),
        tuple((str(a), str(b)) for a, b in targets.get("flip_pairs") or []),
    )


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
    if labels.data is None and labels.payload is None:
        return None
    return registry.get(rules.layout).read(labels, rules, (height, width))


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
    layout = registry.get(rules.layout)
    # A box that a move left thinner than the layout allows labels nothing a detector can use.
    wanted = layout.min_box_side
    min_side = wanted if wanted is not None and moved_geometry(records) else NOTHING_LEFT
    kept, dropped = filter_objects(moved, *rules.bbox, min_side=min_side)
    flipped = bool(rules.flip_pairs) and mirrored(records)
    assert labels is not None
    return layout.moved(labels, kept, dropped, rules, flipped)


__all__ = [
    "InputLimits",
    "LabelRules",
    "Moved",
    "Opened",
    "SourceLabels",
    "Variant",
    "derive",
    "labelled",
    "move_targets",
    "open_source",
    "pixels",
    "targets_of",
    "with_labels",
]
