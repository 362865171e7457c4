"""Layouts with one label file beside each image (yolo, masks): the file format's protocol and
what such layouts share: finding each image's label file, reading it, writing it moved (with
left/right classes swapped on a mirror)."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from augtool.errors import InputError
from augtool.layouts.base import (
    AnnotationError,
    LabelRules,
    Layout,
    Moved,
    Record,
    SourceLabels,
    partners,
)
from augtool.layouts.discovery import (
    FOLLOW_HINT,
    Dataset,
    Skip,
    Source,
    Walk,
    linked_folder,
    sorted_skips,
)
from augtool.media.image.targets import Targets


class LabelFormat:
    """A per-image label file format (one label file beside each image)."""

    name: ClassVar[str]
    #: The folder name that replaces ``images`` in an image's path, and the label file ending.
    folder: ClassVar[str]
    ending: ClassVar[str]

    def __init__(self, names: dict[int, str] | None = None) -> None:
        self.names = names or {}

    @classmethod
    def label_path(cls, image_path: str) -> str | None:
        """``images/train/x.jpg`` -> ``labels/train/x.txt``: the last ``images`` folder becomes
        the format's folder. None when the path has no ``images`` folder."""
        parts = image_path.split("/")
        for index in range(len(parts) - 2, -1, -1):
            if parts[index] == "images":
                parts[index] = cls.folder
                stem = os.path.splitext(parts[-1])[0]
                parts[-1] = stem + cls.ending
                return "/".join(parts)
        return None

    @classmethod
    def label_folder(cls, image_folder: str) -> str | None:
        """``train/images`` -> ``train/labels``: where the labels of a folder's images are."""
        found = cls.label_path(image_folder + "/x")
        return None if found is None else found.rsplit("/", 1)[0]

    def read(self, data: bytes, path: str, size: tuple[int, int]) -> Targets:
        raise NotImplementedError

    def write(self, targets: Targets) -> bytes:
        raise NotImplementedError

    def describe(self, targets: Targets) -> dict[str, Any]:
        """What the manifest says about a written label file (counts, not contents)."""
        return {"objects": len(targets.boxes) + len(targets.polygons)}


@dataclass(frozen=True)
class Prepared:
    """What a label-file layout reads of its dataset before its images: the files copied as
    they are (``data.yaml``), the class names, each split's image folders, the images that
    list files name (image -> split; ``lists``: split -> list file) and the layout's state."""

    extra: tuple[str, ...] = ()
    names: dict[int, str] = field(default_factory=dict)
    folders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    listed: dict[str, str] = field(default_factory=dict)
    lists: dict[str, str] = field(default_factory=dict)
    state: Any = None

    def where(self) -> str:
        """Where the dataset's images are, for the reason an image elsewhere is skipped."""
        places = sorted({f for found in self.folders.values() for f in found})
        places += sorted(self.lists.values())
        return ", ".join(places) if places else "an images/ folder"


class LabelFileLayout(Layout):
    """A layout whose images each have a label file in ``format``, found by
    :meth:`LabelFormat.label_path`."""

    labelled = True
    label_files = True
    format: ClassVar[type[LabelFormat]]
    #: An image without a label file is skipped (masks), not taken as a background image.
    label_required: ClassVar[bool] = False

    def prepare(self, root: Path, split_names: set[str]) -> Prepared:
        """What the layout reads of the dataset before its images. Raises ``InputError`` when
        the layout's own files are missing."""
        return Prepared()

    def split_of(
        self, rel: str, folders: dict[str, tuple[str, ...]], names: set[str]
    ) -> str | bool | None:
        """The image's split; None when the dataset has none; False when it is outside them."""
        raise NotImplementedError

    def discover(
        self,
        root: Path,
        walk: Walk,
        split_names: set[str],
        augmented: set[str],
        follow_links: bool,
    ) -> Dataset:
        prepared = self.prepare(root, split_names)
        folders = prepared.folders
        skipped = list(walk.skipped)
        sources: list[Source] = []
        found: set[str] = set()
        for rel in walk.candidates:
            if self.format.folder in rel.split("/")[:-1]:
                continue  # a label file (a mask is a PNG too), not an image of the dataset
            split = prepared.listed.get(rel) or self.split_of(rel, folders, split_names)
            annotation = self.format.label_path(rel)
            if split is False or annotation is None:
                skipped.append(Skip(rel, f"outside the image folders ({prepared.where()})"))
                continue
            has_label, refusal = _label_file(root, annotation, follow_links)
            if refusal is not None:
                skipped.append(Skip(rel, refusal))
                continue
            if self.label_required and not has_label:
                skipped.append(Skip(rel, f"no mask ({annotation})"))
                continue
            if split is not None:
                found.add(str(split))
            augment = split is None or split in augmented
            split_name = None if split is None else str(split)
            sources.append(
                Source(
                    rel,
                    split_name,
                    None,
                    augment,
                    rel in walk.links,
                    annotation if has_label else None,
                )
            )
        return Dataset(
            root=root,
            layout=self.name,
            splits=tuple(sorted(found)),
            sources=tuple(sources),
            skipped=sorted_skips([*skipped, *_missing(prepared, walk)]),
            extra_files=prepared.extra,
            names=tuple(sorted(prepared.names.items())),
            state=prepared.state,
            split_folders=self._split_folders(prepared, found),
        )

    def _split_folders(
        self, prepared: Prepared, found: set[str]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Each split's image and label folders, when a split's files do not lie in a folder
        named after it at the top or one below (``val: valid/images``); else none, and
        validate looks for the split's name in the path."""
        listed: dict[str, set[str]] = {}
        for image, split in prepared.listed.items():
            listed.setdefault(split, set()).add(posixpath.dirname(image))
        places: dict[str, tuple[str, ...]] = {}
        for split in sorted(found):
            images = {*prepared.folders.get(split, ()), *listed.get(split, ())}
            labels = (self.format.label_folder(f) for f in images)
            places[split] = tuple(sorted({*images, *(f for f in labels if f is not None)}))
        if all(s in f.split("/")[:2] for s, found_in in places.items() for f in found_in):
            return ()
        return tuple(places.items())

    def label_path(self, image_path: str) -> str | None:
        return self.format.label_path(image_path)

    def read(self, labels: SourceLabels, rules: LabelRules, size: tuple[int, int]) -> Targets:
        assert labels.data is not None
        return self.format(dict(rules.vocabulary)).read(labels.data, labels.where, size)

    def with_partners(
        self, labels: SourceLabels, partners: dict[int, tuple[SourceLabels, Targets]]
    ) -> tuple[SourceLabels, dict[int, Targets]]:
        """Each partner's lines follow the source's in the written file, tagged with the
        partner's slot."""
        return labels, {slot: _partner_labels(t, slot) for slot, (_, t) in partners.items()}

    def moved(
        self,
        labels: SourceLabels,
        kept: Targets,
        dropped: list[Any],
        rules: LabelRules,
        flipped: bool,
    ) -> Moved:
        # A dropped object is named by its line and class (and the partner it came from); the
        # format's own flags stay inside.
        named = [
            {k: label[k] for k in ("class", "line", "partner") if k in label} for label in dropped
        ]
        said: Record = {"dropped": sorted(named, key=label_order)}
        clipped = _clipped_lines([*kept.box_labels, *kept.polygon_labels, *dropped])
        if clipped:
            said["clipped"] = clipped
        if flipped and (kept.box_labels or kept.polygon_labels):
            kept, said["flipped_labels"] = _swap_classes(kept, rules)
        label_format = self.format(dict(rules.vocabulary))
        return Moved(kept, label=label_format.write(kept), said=said)


def label_order(label: dict[str, Any]) -> tuple[int, int]:
    """A label line's place in a written file: the source's lines, then each partner's."""
    return (int(label.get("partner", -1)), int(label["line"]))


def _partner_labels(targets: Targets, slot: int) -> Targets:
    """A partner's targets labelled as its lines, from ``slot`` (its clipping said nothing of
    the source's own lines)."""

    def relabel(labels: list[Any]) -> list[Any]:
        return [{**{k: v for k, v in lab.items() if k != "clipped"}, "partner": slot}
                for lab in labels]  # fmt: skip

    return targets.replace(
        box_labels=relabel(targets.box_labels), polygon_labels=relabel(targets.polygon_labels)
    )


def _missing(prepared: Prepared, walk: Walk) -> list[Skip]:
    """The images a list file names that are not among the files read."""
    seen = {*walk.candidates, *(skip.path for skip in walk.skipped)}
    return [
        Skip(image, f"listed in {prepared.lists[split]} but not a readable image file here")
        for image, split in sorted(prepared.listed.items())
        if image not in seen
    ]


def _clipped_lines(labels: list[Any]) -> list[int]:
    """The lines of the objects that reached outside the image as read (clipped to it)."""
    return sorted(
        label["line"] for label in labels if isinstance(label, dict) and label.get("clipped")
    )


def _label_file(root: Path, annotation: str, follow_links: bool) -> tuple[bool, str | None]:
    """Whether the image's label file is there, and why the image is skipped (None: it is
    not)."""
    label_file = root / annotation
    has_label = label_file.is_file() and not label_file.is_symlink()
    if not has_label and os.path.lexists(label_file):
        # A link or a FIFO where the labels should be: never read, and never taken for an
        # image without labels either.
        kind = "a symbolic link" if label_file.is_symlink() else "not a regular file"
        return False, f"its labels {annotation} are {kind}, which is not read"
    behind = None if follow_links else linked_folder(root, annotation)
    if has_label and behind is not None:
        # The walk does not read that folder; the image is not silently left unlabelled.
        reason = f"its labels {annotation} lie behind {behind}, a symbolic link to a folder"
        return True, f"{reason} ({FOLLOW_HINT})"
    return has_label, None


def _swap_classes(kept: Targets, rules: LabelRules) -> tuple[Targets, list[str]]:
    """A label file's classes swapped left for right; the names of the classes swapped."""
    names = dict(rules.vocabulary)
    swap = partners(rules.flip_pairs, {name: cls for cls, name in rules.vocabulary})
    boxes = [{**lab, "class": swap.get(lab["class"], lab["class"])} for lab in kept.box_labels]
    polygons = [
        {**lab, "class": swap.get(lab["class"], lab["class"])} for lab in kept.polygon_labels
    ]
    swapped = kept.replace(box_labels=boxes, polygon_labels=polygons)
    return swapped, sorted({names.get(c, str(c)) for c in swap})


def missing_files(root: Path, message: str) -> InputError:
    """Asked for, a layout whose files are missing is an input error, not an empty dataset with
    every image skipped."""
    return InputError(f"{root}: {message}")


__all__ = ["AnnotationError", "LabelFileLayout", "LabelFormat", "Prepared", "missing_files"]
