"""The layout protocol: what every dataset layout provides, and the label values that cross it.

A layout (flat, imagefolder, yolo, coco, masks...) is one module with one :class:`Layout`
subclass, registered in :mod:`augtool.layouts.registry`. The engine, plan, worker and validate
never name a layout: they ask the registry for the one a dataset (or a manifest header) names,
and call these hooks. What a layout knows of its dataset as a whole (a COCO dataset's JSONs) is
its ``state``, opaque to everyone else; what a source's task carries of its labels besides a
label file is its ``payload``, equally opaque, hashed into the outputs it labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from augtool.canonical import canonical_sha256

if TYPE_CHECKING:
    from augtool.layouts.discovery import Dataset, Walk
    from augtool.media.image.targets import Targets

Record = dict[str, Any]


class AnnotationError(Exception):
    """A label file that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class LabelRules:
    """How labels move besides the steps: the layout (its name, for the registry), its
    vocabulary (what flip pairs name: class names by id, or a COCO dataset's categories) and
    the recipe's ``targets`` rules."""

    layout: str
    vocabulary: tuple[Any, ...] = ()
    bbox: tuple[float, float] = (0.0, 0.0)  # min_visibility, min_area
    flip_pairs: tuple[tuple[str, str], ...] = ()

    def swapped_names(self, flipped: bool) -> dict[str, str]:
        """Each flip-pair name and the one it becomes on a mirrored variant (none unmirrored)."""
        swap: dict[str, str] = {}
        if flipped:
            for left, right in self.flip_pairs:
                swap[left], swap[right] = right, left
        return swap


@dataclass(frozen=True)
class SourceLabels:
    """A source's labels as read: a label file's bytes, or the payload its task carries;
    ``where`` names them in an error."""

    where: str
    data: bytes | None = None
    payload: Any = None
    #: what :meth:`Layout.with_partners` adds of the partners' labels (the objects a
    #: synthesis step brought in; not part of the payload's hash)
    extra: tuple[Any, ...] = ()

    @cached_property
    def payload_sha256(self) -> str | None:
        """The hash the outputs' lines record of the payload they were made from."""
        return None if self.payload is None else canonical_sha256(self.payload)


@dataclass(frozen=True)
class Moved:
    """A variant's labels, as ``expand`` writes them: the kept targets (classes swapped on a
    mirror), a label file's bytes (``label``) and what its line says besides (``said``:
    ``dropped``, ``flipped_labels``), or, for a payload, the fields the image's own line
    records (``image_fields``)."""

    targets: Targets
    label: bytes | None = None
    said: Record = field(default_factory=dict)
    image_fields: Record = field(default_factory=dict)


class Layout:
    """One dataset layout. Every hook has a default that suits a layout without labels."""

    name: ClassVar[str]
    #: Whether a source's labels move with its image (derive reads and moves them).
    labelled: ClassVar[bool] = False
    #: Whether each image has a label file (:meth:`label_path`) that moves along with it.
    label_files: ClassVar[bool] = False
    #: Whether a source's class is the folder it sits in (what folder loaders such as Hugging
    #: Face's read labels from).
    class_folders: ClassVar[bool] = False
    #: Whether its labels are boxes or polygons of objects (which a reflect or wrap border's
    #: copies of objects are not labelled by), rather than pixels or whole-image classes.
    object_labels: ClassVar[bool] = False
    #: After a geometric step, a box thinner than this (pixels, wide or high) is dropped;
    #: None keeps any box with area left.
    min_box_side: ClassVar[float | None] = None
    #: The image line's fields a payload's labels are recorded in; the first one holds
    #: ``from``, the hash of the payload (a changed payload makes the outputs stale).
    record_fields: ClassVar[tuple[str, ...]] = ()
    #: How ``validate --recompute`` names those labels: where a source's are missing from,
    #: and what differs when they do.
    recorded_words: ClassVar[tuple[str, str]] = ("the source's labels", "recorded labels")
    #: Whether each source holds many examples (rows of a file): the plan then writes one
    #: variant file per source, in which the medium puts ``variants`` of every example.
    packs_variants: ClassVar[bool] = False
    #: Where ``auto`` asks this layout (lowest first): layouts that find their own files
    #: (0-49) before those that take any tree of images (50+).
    detect_order: ClassVar[int] = 50
    #: Whether the objects of partner sources (``mosaic``, ``mixup`` …) can join a source's
    #: labels (:meth:`with_partners`); a recipe with synthesis steps refuses a labelled layout
    #: that cannot.
    takes_partners: ClassVar[bool] = False
    #: The kind of target (a column of the targets table) its labels are when some steps
    #: cannot move that kind (``masks``); a recipe whose synthesis step cannot is refused.
    target_kind: ClassVar[str | None] = None
    #: Whether its objects may have outlines (polygons), which ``copy_paste`` cuts them by.
    outlines: ClassVar[bool] = False

    # --- discovery ------------------------------------------------------------------------
    def detect(self, root: Path, candidates: list[str], split_names: set[str]) -> bool:
        """Whether ``input.layout: auto`` takes this layout (asked in the registry's order)."""
        return False

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        """The dataset's sources (each with its split, class and label file) and skips, from
        the common walk. Raises ``InputError`` when the layout's own files are unusable."""
        raise NotImplementedError

    def with_partners(
        self, labels: SourceLabels, partners: dict[int, tuple[SourceLabels, Targets]]
    ) -> tuple[SourceLabels, dict[int, Targets]]:
        """A source's labels joined by the partners' a synthesis step took (by slot: their
        labels and targets as read): the labels :meth:`moved` then writes, and each partner's
        targets relabelled so that every object's label is its own."""
        raise NotImplementedError(f"{self.name} labels cannot take partners' objects")

    # --- plan and worker ------------------------------------------------------------------
    def label_path(self, image_path: str) -> str | None:
        """The label file that goes with an output image (per-image label files), or None."""
        return None

    def payload(self, state: Any, path: str) -> Any:
        """What the task of the source at ``path`` carries of its labels (None: nothing, or
        its label file)."""
        return None

    def vocabulary(self, dataset: Dataset) -> tuple[Any, ...]:
        """What the workers need to move labels besides each source's own (LabelRules)."""
        return tuple(dataset.names)

    def known_names(self, vocabulary: tuple[Any, ...]) -> set[str]:
        """The names a flip pair may use."""
        return {name for _, name in vocabulary}

    def read(self, labels: SourceLabels, rules: LabelRules, size: tuple[int, int]) -> Targets:
        """A source's labels as the targets of an image of ``size`` (height, width). Raises
        :class:`AnnotationError` naming ``labels.where`` when they do not parse."""
        raise NotImplementedError

    def moved(
        self,
        labels: SourceLabels,
        kept: Targets,
        dropped: list[Any],
        rules: LabelRules,
        flipped: bool,
    ) -> Moved:
        """The labels of a variant, from its kept targets and the objects dropped."""
        raise NotImplementedError

    def original_fields(self, labels: SourceLabels | None, size: tuple[int, int]) -> Record:
        """What an original's image line records besides the common fields."""
        return {}

    def label_for(self, label: bytes, image_path: str) -> bytes:
        """A variant's label file as written beside the output image ``image_path``: ``label``
        as :meth:`moved` made it, with the image's name set where the format records it (a VOC
        XML's ``filename``). Unchanged by default."""
        return label

    # --- dataset-level files --------------------------------------------------------------
    def source_licences(self, state: Any) -> dict[str, tuple[str, str | None]]:
        """The licence (an SPDX id where known) and author the dataset's own files state for
        each source path; none by default."""
        return {}

    def derived_names(self, state: Any) -> list[str]:
        """The dataset files the run makes from the image lines (each split's COCO JSON)."""
        return []

    def derived_line(self, record: Record) -> Record | None:
        """What the derived files need of an output's manifest line (None: nothing). By
        default an image line that records the layout's first record field: its ``path``,
        ``image_size`` and that field."""
        field = self.record_fields[0] if self.record_fields else None
        if field is None or record.get("kind") is not None:
            return None
        if not isinstance(record.get(field), dict):
            return None
        return {"path": record.get("path"), "image_size": record.get("image_size"),
                field: record[field]}  # fmt: skip

    def derived_file(self, state: Any, name: str, images: dict[str, list[Record]]) -> bytes | None:
        """The bytes of the derived file ``name`` from the lines of each split (keyed by
        ``str(split)``: ``"None"`` for a dataset without splits; in path order; each as
        :meth:`derived_line` keeps it); None when ``name`` is not one of this dataset's."""
        return None

    def class_counts(self, data: bytes, where: str) -> dict[str, int] | None:
        """How many objects of each class a label or annotations file holds, read from its bytes
        (``output.class_counts``; :mod:`augtool.layouts.class_counts`); None when the layout's
        files name no classes. Raises :class:`AnnotationError` naming ``where``."""
        return None

    # --- validate -------------------------------------------------------------------------
    def in_split(self, path: str, split: Any) -> bool:
        """Whether an output or source ``path`` lies where files of ``split`` go: its top
        folder, or the one below ``images/`` or ``labels/``."""
        return split in path.split("/")[:2]

    def source_rules(self, source_root: Path) -> tuple[tuple[Any, ...], Any]:
        """The vocabulary and the state, read again from the source folder for ``validate
        --recompute``. Raises :class:`AnnotationError` when the dataset files are unusable."""
        return (), None


class EveryName(frozenset[str]):
    """The names of a layout whose labels are named only in each image's own file (read by
    the workers): every flip pair's names are taken as its."""

    def __contains__(self, item: object) -> bool:
        return True


def partners(pairs: tuple[tuple[str, str], ...], ids: dict[Any, Any]) -> dict[Any, Any]:
    """Each id named by a flip pair, mapped to its partner's (pairs naming unknown names
    are left out)."""
    swap = {}
    for left, right in pairs:
        if left in ids and right in ids:
            swap[ids[left]], swap[ids[right]] = ids[right], ids[left]
    return swap


def split_augmented(split: object, augmented: set[str]) -> bool:
    """Whether a split is augmented: no split (the dataset is one, augmented as a whole), a
    split the recipe augments, or one named like it with a year (COCO's ``train2017`` when
    ``train`` is augmented)."""
    if split is None:
        return True
    if not isinstance(split, str):
        return False
    return split in augmented or (split[-4:].isdigit() and split[:-4] in augmented)
