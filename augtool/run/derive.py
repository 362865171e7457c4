"""The one derive path: a source's bytes and labels in, a variant's bytes and labels out.

``expand`` (the worker), ``validate --recompute`` and ``preview`` all derive a variant here, so
they agree on every decision that shapes an output: the decode and its pixel limit, the steps
(sampled from a seed, or replayed from a manifest line), the kernels that warp, the targets
moved through the steps, the objects dropped (``min_visibility``, ``min_area``), the left/right
classes swapped on a mirror (``flip_pairs``), the label bytes and the encoded image bytes.

Two calls: :func:`open_source` decodes a source once and reads its labels (raising
:class:`~augtool.media.base.DecodeError` or
:class:`~augtool.layouts.base.AnnotationError`, the reasons ``expand`` skips it for);
:func:`derive` then makes each variant of it. Nothing outside the arguments decides a byte.

What is particular to a medium (decode, the steps, kernels, caches, encode, target movement) is
asked of the :class:`~augtool.media.base.Medium` named by the caller, through
:mod:`augtool.media.registry`: this module is the same for images, audio or text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from augtool.canonical import canonical_json
from augtool.layouts import registry
from augtool.layouts.base import LabelRules, Moved, SourceLabels
from augtool.media import registry as media
from augtool.media.base import Medium
from augtool.run.resources import Resources

Record = dict[str, Any]
Step = Any  # a configured step of the medium (a transform or a block)
Targets = Any  # the medium's targets (boxes, polygons … of an image)


@dataclass(frozen=True)
class InputLimits:
    """What the recipe allows a source to be: its ``input`` section's formats and size limit,
    and the medium that decodes it (the recipe's, see :mod:`augtool.media.registry`)."""

    formats: tuple[str, ...]
    max_pixels: int | None = None
    medium: str = media.DEFAULT
    #: what a medium that reads a source by its name and the recipe (one with ``decode_file``)
    #: is told: :func:`recipe_settings` of the run; "" for the media that need only the above
    settings: str = ""
    #: the recipe's ``output.bit_depth``: 8, or ``source`` (16-bit sources keep 16 bits)
    bit_depth: int | str = 8


def recipe_settings(normalised: dict[str, Any] | None, layout: Any) -> str:
    """The run's normalised recipe and the dataset's (resolved) layout, as one canonical JSON
    text: the same for expand, ``validate --recompute`` and preview of one run."""
    return canonical_json({"layout": layout, "recipe": normalised or {}})


@dataclass
class Opened:
    """A decoded source with its targets, ready for any number of variants, and the medium
    that decoded it. The cache its variants share (an image's box reductions) lives here and
    goes with it."""

    decoded: Any
    kernels: str
    targets: Targets | None = None
    labels: SourceLabels | None = None
    rules: LabelRules | None = None
    medium: Medium = field(default_factory=media.get)
    reductions: Any = None  # the medium's cache; a fresh one when None
    #: the files the steps read besides the source (:mod:`augtool.run.resources`), or None
    resources: Resources | None = None

    def __post_init__(self) -> None:
        if self.reductions is None:
            self.reductions = self.medium.new_cache()

    @cached_property
    def exif(self) -> Any:
        """The metadata every variant carries when metadata is kept (an image's EXIF block,
        orientation reset), or None; raises :class:`~augtool.media.base.EncodeError` when it
        cannot be written back."""
        return self.medium.kept_metadata(self.decoded)


@dataclass(frozen=True)
class Variant:
    """One derived variant: its content, e.g. pixels (``None`` when no step changed it), its
    size (an image's [height, width]), step records, moved labels, and its file bytes when it
    was encoded."""

    image: Any
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
    kernels_name: str | None = None,
    labels: SourceLabels | None = None,
    rules: LabelRules | None = None,
    name: str = "",
    resources: Resources | None = None,
) -> Opened:
    """Decode ``data`` as the medium of ``limits``, within them (with the medium's default
    kernels when ``kernels_name`` is None), and read its ``labels`` by ``rules``. A medium
    whose sources' format and reading rules come from their name and the recipe (it has
    ``decode_file``) is given the source's relative path ``name`` and ``limits.settings``.
    ``resources``: the files its steps may read besides it (a background noise).
    Raises ``DecodeError`` or ``AnnotationError`` (whose message is the skip reason)."""
    kind = media.get(limits.medium)
    decode_file = getattr(kind, "decode_file", None)
    if decode_file is not None:
        decoded = decode_file(data, limits, name)
    else:
        wide = {} if limits.bit_depth == 8 else {"bit_depth": limits.bit_depth}
        decoded = kind.decode(data, limits.formats, limits.max_pixels, **wide)
    chosen = kind.check_kernels(kind.default_kernels if kernels_name is None else kernels_name)
    opened = Opened(decoded, chosen, medium=kind, resources=resources)
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
    partners: Sequence[Any] = (),
) -> Variant:
    """A variant of ``opened``: ``steps`` sampled from ``seed``, or the recorded steps
    (``records``) replayed; its labels moved; encoded with ``encoder`` settings when given
    (EXIF kept when ``keep_metadata``). ``partners``: the decoded partner sources its
    synthesis steps take, in order (a sequence may decode each when first indexed). Raises
    ``EncodeError`` when the pixels cannot be written in the output format."""
    decoded, medium = opened.decoded, opened.medium
    image: Any = None  # None: nothing changed, the decoded source is encoded as it is
    # Only a medium whose steps read resource files is handed them (and takes the keyword),
    # and only one with synthesis steps is handed partners.
    extra: dict[str, Any] = {} if opened.resources is None else {"resources": opened.resources}
    if partners:
        extra["partners"] = _Decodes(partners)
    if records is not None:
        image = medium.replay(records, decoded, opened.kernels, opened.reductions, **extra)
    elif steps:
        assert seed is not None
        # Only a medium whose steps may read the source's targets is handed them; one with
        # partners is handed theirs too (copy_paste chooses among a partner's objects, also
        # for a source without labels of its own).
        located = {} if opened.targets is None else {"targets": opened.targets}
        if partners:
            located["partner_targets"] = _PartnerTargets(partners)
        image, records = medium.run(
            steps, decoded, seed, opened.kernels, opened.reductions, **located, **extra
        )
    records = [] if records is None else records
    size = medium.size(decoded, image)
    data = None
    if encoder is not None:
        metadata = opened.exif if keep_metadata else None
        data = medium.encode(decoded, image, encoder, metadata)
    moved = None if opened.targets is None else move_targets(opened, records, partners)
    return Variant(image, size, records, moved, data)


class _Decodes(Sequence[Any]):
    """The decoded content of each partner (an :class:`Opened`), fetched when indexed."""

    def __init__(self, partners: Sequence[Opened]) -> None:
        self._partners = partners

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: Any) -> Any:
        return self._partners[index].decoded


class _PartnerTargets(Sequence[Any]):
    """The targets of each partner (an :class:`Opened`) as read, fetched when indexed."""

    def __init__(self, partners: Sequence[Opened]) -> None:
        self._partners = partners

    def __len__(self) -> int:
        return len(self._partners)

    def __getitem__(self, index: Any) -> Any:
        return self._partners[index].targets


def pixels(opened: Opened, variant: Variant) -> Any:
    """The variant's kernel array (the decoded one when no step changed a pixel)."""
    return opened.decoded.image if variant.image is None else variant.image


def move_targets(opened: Opened, records: list[Record], partners: Sequence[Opened] = ()) -> Moved:
    """The source's targets moved through ``records`` (joined by those of the ``partners``
    that synthesis steps took), filtered and mirrored by the rules, written in the source's
    own format."""
    assert opened.targets is not None and opened.rules is not None
    rules = opened.rules
    medium = opened.medium
    labels = opened.labels
    layout = registry.get(rules.layout)
    used = medium.partners_used(records) if partners else []
    if used:
        assert labels is not None
        taken = {}
        for slot in used:
            partner = partners[slot]
            assert partner.labels is not None and partner.targets is not None
            taken[slot] = (partner.labels, partner.targets)
        labels, relabelled = layout.with_partners(labels, taken)
        theirs = [relabelled.get(slot) for slot in range(len(partners))]
        moved = medium.move_targets(records, opened.targets, opened.kernels, theirs)
    else:
        moved = medium.move_targets(records, opened.targets, opened.kernels)
    kept, dropped = medium.filter_targets(moved, rules.bbox, records, layout.min_box_side)
    flipped = bool(rules.flip_pairs) and medium.mirrored(records)
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
    "recipe_settings",
    "targets_of",
    "with_labels",
]
